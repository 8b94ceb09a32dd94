import { describe, expect, it } from 'vitest';
import { handleAuthorize } from '../../../../src/wecom/sandbox/oauth-authorize.js';
import { SANDBOX_CORP } from '../../../../src/wecom/sandbox-identity.js';
import { jsapiSignature } from '../../../../src/wecom/jssdk-signature.js';
import { buildSandbox, callApi, tokenFor } from './sandbox-harness.js';

/** The bot's own origin: the only place the stand-in sends codes (docs/security.md §Sandbox exposure). */
const SITE = ['http://127.0.0.1:3000'];

const authorize = (extra: Record<string, string> = {}) => ({
  appid: SANDBOX_CORP.corpId,
  redirect_uri: 'http://127.0.0.1:3000/sidebar/oauth/callback?x=1',
  response_type: 'code',
  scope: 'snsapi_base',
  state: 'abc123',
  agentid: String(SANDBOX_CORP.agentId),
  ...extra,
});

describe('WecomSandbox OAuth authorize stand-in (docs/wecom-protocol.md §Staff sign-in for web pages)', () => {
  it('without a chosen identity shows a zh-CN page listing the members', () => {
    const { sut } = buildSandbox();
    sut.seed();
    const res = handleAuthorize(sut, authorize(), SITE);
    expect(res.httpStatus).toBe(200);
    expect(res.html).toContain('lang="zh-CN"');
    expect(res.html).toContain('张三');
    expect(res.html).toContain('userid=zhangsan');
  });

  it('redirects back with a single-use code for the chosen member and the state unchanged', async () => {
    const { sut } = buildSandbox();
    sut.seed();
    const res = handleAuthorize(sut, authorize({ userid: 'lisi' }), SITE);
    expect(res.httpStatus).toBe(302);
    const back = new URL(res.location!);
    expect(`${back.origin}${back.pathname}`).toBe('http://127.0.0.1:3000/sidebar/oauth/callback');
    expect(back.searchParams.get('x')).toBe('1');
    expect(back.searchParams.get('state')).toBe('abc123');
    const token = await tokenFor(sut);
    const code = back.searchParams.get('code')!;
    expect(await callApi(sut, token, 'auth/getuserinfo', undefined, { code })).toMatchObject({ errcode: 0, userid: 'lisi' });
    expect((await callApi(sut, token, 'auth/getuserinfo', undefined, { code })).errcode).toBe(40029);
  });

  it('a non-member gets openid (and external_userid) and no userid', async () => {
    const { sut } = buildSandbox();
    sut.seed();
    const res = handleAuthorize(sut, authorize({ external: '1', external_userid: 'wmGuest01' }), SITE);
    const code = new URL(res.location!).searchParams.get('code')!;
    const info = await callApi(sut, await tokenFor(sut), 'auth/getuserinfo', undefined, { code });
    expect(info).toMatchObject({ errcode: 0, external_userid: 'wmGuest01' });
    expect(info.openid).toMatch(/^o/);
    expect(info.userid).toBeUndefined();
  });

  it('refuses what WeCom refuses: wrong appid or agentid, bad state, bad scope, no redirect_uri, unknown member', () => {
    const { sut } = buildSandbox();
    sut.seed();
    for (const bad of <Record<string, string>[]>[
      { appid: 'wwother' },
      { agentid: '999' },
      { state: 'has-dash' },
      { state: 'a'.repeat(129) },
      { scope: 'snsapi_userinfo' },
      { scope: 'snsapi_privateinfo', agentid: '' },
      { response_type: 'token' },
      { redirect_uri: 'javascript:alert(1)' },
      { redirect_uri: '' },
    ]) {
      expect(handleAuthorize(sut, authorize(bad), SITE).httpStatus, JSON.stringify(bad)).toBe(400);
    }
    expect(handleAuthorize(sut, authorize({ userid: 'nobody' }), SITE).httpStatus).toBe(404);
  });
});

describe('WecomSandbox JS-SDK signature check (docs/wecom-protocol.md §JS-SDK tickets and signatures)', () => {
  it('accepts a config signed with a live corp ticket and an agentConfig signed with a live app ticket, nothing crossed', async () => {
    const { sut, clock } = buildSandbox();
    const token = await tokenFor(sut);
    const corp = (await callApi(sut, token, 'get_jsapi_ticket')).ticket as string;
    const agent = (await callApi(sut, token, 'ticket/get', undefined, { type: 'agent_config' })).ticket as string;
    const url = 'http://127.0.0.1:3000/sidebar/?externalUserId=wm1';
    const sign = (ticket: string) => ({ url: `${url}#frag`, timestamp: 1773108000, nonceStr: 'Wm3WZYTPz0wzccnW', signature: jsapiSignature({ ticket, nonceStr: 'Wm3WZYTPz0wzccnW', timestamp: 1773108000, url }) });
    expect(sut.verifyJsapiSignature({ kind: 'config', ...sign(corp) })).toEqual({ ok: true, errcode: 0 });
    expect(sut.verifyJsapiSignature({ kind: 'agentConfig', ...sign(agent) })).toEqual({ ok: true, errcode: 0 });
    expect(sut.verifyJsapiSignature({ kind: 'agentConfig', ...sign(corp) })).toEqual({ ok: false, errcode: 40093 });
    expect(sut.verifyJsapiSignature({ kind: 'config', ...sign(agent) })).toEqual({ ok: false, errcode: 40093 });
    clock.advance(7200 * 1000);
    expect(sut.verifyJsapiSignature({ kind: 'config', ...sign(corp) }).ok).toBe(false);
  });
});
