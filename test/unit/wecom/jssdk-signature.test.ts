import { describe, expect, it } from 'vitest';
import { jsapiSignature, newNonceStr, signJsapi, signableUrl } from '../../../src/wecom/jssdk-signature.js';

// The official test vector of "JS-SDK 签名算法" (doc path/96909; docs/wecom-protocol.md §JS-SDK tickets and signatures).
const VECTOR = {
  nonceStr: 'Wm3WZYTPz0wzccnW',
  ticket: 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg',
  timestamp: 1414587457,
  url: 'http://mp.weixin.qq.com?params=value',
  signature: '0f9de62fce790f9a083d5c99e95740ceb90c27ed',
};

describe('jsapiSignature', () => {
  it('reproduces the official WeCom test vector', () => {
    const sut = jsapiSignature({ ticket: VECTOR.ticket, nonceStr: VECTOR.nonceStr, timestamp: VECTOR.timestamp, url: VECTOR.url });
    expect(sut).toBe(VECTOR.signature);
  });

  it('accepts the timestamp as a string, as the page echoes it', () => {
    expect(jsapiSignature({ ...VECTOR, timestamp: String(VECTOR.timestamp) })).toBe(VECTOR.signature);
  });

  it('signs the URL without the # fragment', () => {
    expect(jsapiSignature({ ...VECTOR, url: `${VECTOR.url}#/customers/1` })).toBe(VECTOR.signature);
  });

  it('signs the URL as given: no URL-encoding, and the query is part of it', () => {
    // The WeChat-MP variant of the vector (url without the query) has a different, also published signature.
    expect(jsapiSignature({ ...VECTOR, url: 'http://mp.weixin.qq.com' })).toBe('f4d90daf4b3bca3078ab155816175ba34c443a7b');
    expect(jsapiSignature({ ...VECTOR, url: 'http://mp.weixin.qq.com?params%3Dvalue' })).not.toBe(VECTOR.signature);
  });
});

describe('signableUrl', () => {
  it('drops # and everything after it, and nothing else', () => {
    expect(signableUrl('https://ops.example.com/sidebar/?a=1&b=中#x#y')).toBe('https://ops.example.com/sidebar/?a=1&b=中');
    expect(signableUrl('https://ops.example.com/sidebar/')).toBe('https://ops.example.com/sidebar/');
  });
});

describe('signJsapi', () => {
  it('signs with second timestamps and a fresh 16-character alphanumeric nonce', () => {
    const a = signJsapi('ticket-1', 'https://ops.example.com/sidebar/', 1_700_000_000_999);
    const b = signJsapi('ticket-1', 'https://ops.example.com/sidebar/', 1_700_000_000_999);
    expect(a.timestamp).toBe(1_700_000_000);
    expect(a.nonceStr).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(a.nonceStr).not.toBe(b.nonceStr);
    expect(a.signature).toBe(jsapiSignature({ ticket: 'ticket-1', nonceStr: a.nonceStr, timestamp: a.timestamp, url: 'https://ops.example.com/sidebar/' }));
    expect(newNonceStr(24)).toMatch(/^[A-Za-z0-9]{24}$/);
  });
});
