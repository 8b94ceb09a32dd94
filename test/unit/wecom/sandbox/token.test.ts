import { describe, expect, it } from 'vitest';
import { SANDBOX_CORP } from '../../../../src/wecom/sandbox-identity.js';
import { buildSandbox, callApi, tokenFor } from './sandbox-harness.js';

describe('WecomSandbox access tokens', () => {
  it('issues a token with expires_in from tokenTtlSeconds', async () => {
    const { sut } = buildSandbox({ tokenTtlSeconds: 600 });
    const res = await sut.invoke('GET', 'gettoken', { corpid: SANDBOX_CORP.corpId, corpsecret: SANDBOX_CORP.secret });
    expect(res.body).toMatchObject({ errcode: 0, errmsg: 'ok', expires_in: 600 });
    expect(typeof res.body.access_token).toBe('string');
  });

  it('answers 40001 for a wrong secret and 40013 for a wrong corp id', async () => {
    const { sut } = buildSandbox();
    expect((await sut.invoke('GET', 'gettoken', { corpid: SANDBOX_CORP.corpId, corpsecret: 'nope' })).body.errcode).toBe(40001);
    expect((await sut.invoke('GET', 'gettoken', { corpid: 'wwother', corpsecret: SANDBOX_CORP.secret })).body.errcode).toBe(40013);
  });

  it('answers 41001 when the token is missing or only in the body', async () => {
    const { sut } = buildSandbox();
    const token = await tokenFor(sut);
    const missing = await sut.invoke('GET', 'externalcontact/get_follow_user_list', {});
    const inBody = await sut.invoke('POST', 'externalcontact/get_corp_tag_list', {}, { access_token: token });
    expect(missing.body.errcode).toBe(41001);
    expect(inBody.body.errcode).toBe(41001);
  });

  it('answers 40014 for an unknown token and 42001 once the token has expired', async () => {
    const { sut, clock } = buildSandbox({ tokenTtlSeconds: 7200 });
    const token = await tokenFor(sut);
    expect((await callApi(sut, 'bogus', 'externalcontact/get_follow_user_list')).errcode).toBe(40014);
    clock.advance(7199 * 1000);
    expect((await callApi(sut, token, 'externalcontact/get_follow_user_list')).errcode).toBe(0);
    clock.advance(1000);
    expect((await callApi(sut, token, 'externalcontact/get_follow_user_list')).errcode).toBe(42001);
  });

  it('invalidates every token early on the invalidateTokens fault, and a fresh token works', async () => {
    const { sut } = buildSandbox();
    const token = await tokenFor(sut);
    sut.injectFault({ invalidateTokens: true });
    expect((await callApi(sut, token, 'externalcontact/get_follow_user_list')).errcode).toBe(40014);
    expect((await callApi(sut, await tokenFor(sut), 'externalcontact/get_follow_user_list')).errcode).toBe(0);
  });

  it('keeps KF-secret tokens out of customer-contact APIs (48002) but lets them pull kf/sync_msg', async () => {
    const { sut } = buildSandbox();
    const kfToken = await tokenFor(sut, SANDBOX_CORP.kfSecret);
    expect((await callApi(sut, kfToken, 'externalcontact/get_follow_user_list')).errcode).toBe(48002);
    expect((await callApi(sut, kfToken, 'kf/sync_msg', {})).errcode).toBe(0);
  });

  it('serves the corp ticket and the agent_config ticket, which requires type=agent_config', async () => {
    const { sut } = buildSandbox();
    const token = await tokenFor(sut);
    expect(await callApi(sut, token, 'get_jsapi_ticket')).toMatchObject({ errcode: 0, expires_in: 7200 });
    expect(await callApi(sut, token, 'ticket/get', undefined, { type: 'agent_config' })).toMatchObject({ errcode: 0, expires_in: 7200 });
    expect((await callApi(sut, token, 'ticket/get')).errcode).toBe(40058);
  });

  it('exchanges an OAuth code once and only within 5 minutes (40029)', async () => {
    const { sut, clock } = buildSandbox();
    sut.seed();
    const token = await tokenFor(sut);
    const code = sut.issueOauthCode('zhangsan');
    expect(await callApi(sut, token, 'auth/getuserinfo', undefined, { code })).toMatchObject({ errcode: 0, userid: 'zhangsan' });
    expect((await callApi(sut, token, 'auth/getuserinfo', undefined, { code })).errcode).toBe(40029);
    const late = sut.issueOauthCode('lisi');
    clock.advance(5 * 60 * 1000 + 1);
    expect((await callApi(sut, token, 'auth/getuserinfo', undefined, { code: late })).errcode).toBe(40029);
  });
});
