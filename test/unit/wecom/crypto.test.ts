import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CallbackCryptoError, decryptMessage, encryptMessage, signCallback, verifySignature } from '../../../src/wecom/crypto.js';
import { OFFICIAL } from '../../fixtures/official-vectors.js';

const KEY = OFFICIAL.encodingAesKey;
const CORP = OFFICIAL.corpId;

/** Encrypt a hand-built plaintext buffer (so tests can forge bad padding or length prefixes). */
function rawEncrypt(plain: Buffer): string {
  const key = Buffer.from(`${KEY}=`, 'base64');
  const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  c.setAutoPadding(false);
  return Buffer.concat([c.update(plain), c.final()]).toString('base64');
}

function layout(msg: Buffer, id: string, lenOverride?: number): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(lenOverride ?? msg.length);
  return Buffer.concat([Buffer.alloc(16, 0x61), len, msg, Buffer.from(id)]);
}

function pad32(b: Buffer, padValue?: number): Buffer {
  const n = 32 - (b.length % 32);
  return Buffer.concat([b, Buffer.alloc(n, padValue ?? n)]);
}

describe('WeCom callback crypto', () => {
  describe('official vectors (docs/wecom-protocol.md §Official test vectors)', () => {
    it('verifies and decrypts vector A (URL check echostr)', () => {
      const e = OFFICIAL.echo;
      expect(() => verifySignature(OFFICIAL.token, e.timestamp, e.nonce, e.echostr, e.msg_signature)).not.toThrow();
      expect(decryptMessage(KEY, e.echostr, CORP).message).toBe(e.plain);
    });

    it('decrypts vector B whose pad is 22 (> 16, which Node auto-padding rejects)', () => {
      const encrypt = /<Encrypt><!\[CDATA\[(.*?)\]\]>/.exec(OFFICIAL.post.body)![1];
      expect(signCallback(OFFICIAL.token, OFFICIAL.post.timestamp, OFFICIAL.post.nonce, encrypt)).toBe(OFFICIAL.post.msg_signature);
      const out = decryptMessage(KEY, encrypt, CORP);
      expect(out.message).toBe(OFFICIAL.post.plain);
      expect(out.random.toString()).toBe('694ce5a83ae07fe3');
    });

    it('reproduces vector C byte for byte with a fixed random prefix', () => {
      const enc = encryptMessage(KEY, OFFICIAL.post.plain, CORP, Buffer.from('0123456789abcdef'));
      expect(enc).toBe(OFFICIAL.sealed.encrypt);
      expect(signCallback(OFFICIAL.token, OFFICIAL.post.timestamp, OFFICIAL.post.nonce, enc)).toBe(OFFICIAL.sealed.signature);
    });
  });

  describe('round trip', () => {
    it('keeps Chinese text intact (msg_len counts bytes, not characters)', () => {
      const msg = '<xml><Content><![CDATA[你好，企业微信！🎉 价格多少钱？]]></Content></xml>';
      expect(decryptMessage(KEY, encryptMessage(KEY, msg, CORP), CORP).message).toBe(msg);
    });

    it('handles plaintexts whose padded length is an exact multiple of 32 (a full block of pad 32)', () => {
      // 16 random + 4 length + msg + 18-byte corp id = 64 bytes when msg is 26 bytes.
      const msg = 'x'.repeat(64 - 16 - 4 - CORP.length);
      const enc = encryptMessage(KEY, msg, CORP);
      expect(Buffer.from(enc, 'base64').length).toBe(96);
      expect(decryptMessage(KEY, enc, CORP).message).toBe(msg);
    });

    it('survives every length modulo 32', () => {
      for (let n = 0; n < 96; n++) {
        const msg = '中'.repeat(n % 7) + 'a'.repeat(n);
        expect(decryptMessage(KEY, encryptMessage(KEY, msg, CORP), CORP).message).toBe(msg);
      }
    });
  });

  describe('checks @wecom/crypto lacks', () => {
    const reason = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as CallbackCryptoError).reason;
      }
      return 'no error';
    };

    it('rejects a pad byte of 0 and of 33', () => {
      const body = layout(Buffer.from('hello'), CORP);
      const padded = pad32(body);
      const zero = Buffer.from(padded);
      zero[zero.length - 1] = 0;
      expect(reason(() => decryptMessage(KEY, rawEncrypt(zero), CORP))).toBe('bad_padding');
      const big = Buffer.from(padded);
      big.fill(33, big.length - 1);
      expect(reason(() => decryptMessage(KEY, rawEncrypt(big), CORP))).toBe('bad_padding');
    });

    it('rejects a length prefix larger than the plaintext', () => {
      expect(reason(() => decryptMessage(KEY, rawEncrypt(pad32(layout(Buffer.from('hi'), CORP, 5000))), CORP))).toBe('bad_length');
    });

    it('rejects a receive id other than WECOM_CORP_ID', () => {
      expect(reason(() => decryptMessage(KEY, encryptMessage(KEY, 'x', 'wwSomeoneElse'), CORP))).toBe('wrong_receive_id');
    });

    it('rejects ciphertext that is not whole 32-byte blocks', () => {
      expect(reason(() => decryptMessage(KEY, Buffer.alloc(48).toString('base64'), CORP))).toBe('bad_ciphertext');
      expect(reason(() => decryptMessage(KEY, 'not base64!!', CORP))).toBe('bad_ciphertext');
    });

    it('compares signatures in constant time and rejects a missing one', () => {
      const e = OFFICIAL.echo;
      expect(reason(() => verifySignature(OFFICIAL.token, e.timestamp, e.nonce, e.echostr, undefined))).toBe('missing_signature');
      expect(reason(() => verifySignature(OFFICIAL.token, e.timestamp, e.nonce, e.echostr, e.msg_signature.replace(/.$/, '0')))).toBe('bad_signature');
      expect(reason(() => verifySignature(OFFICIAL.token, e.timestamp, e.nonce, e.echostr, 'short'))).toBe('bad_signature');
    });
  });
});
