import { describe, expect, it } from 'vitest';
import { buildSandbox, callApi, tokenFor } from './sandbox-harness.js';

describe('WecomSandbox faults, limits and the call log', () => {
  it('answers an injected errcode for exactly the next N calls of that api', async () => {
    const { sut } = buildSandbox();
    sut.seed();
    const token = await tokenFor(sut);
    sut.injectFault({ api: 'externalcontact/get_follow_user_list', errcode: 45033, count: 2 });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await callApi(sut, token, 'externalcontact/get_follow_user_list')).errcode);
    expect(codes).toEqual([45033, 45033, 0]);
    // Other APIs are untouched.
    expect((await callApi(sut, token, 'externalcontact/get_corp_tag_list', {})).errcode).toBe(0);
  });

  it('answers -1 at the configured errorRate using the injected random source', async () => {
    const { sut } = buildSandbox({ random: () => 0.1 });
    const token = await tokenFor(sut);
    sut.injectFault({ errorRate: 0.5, api: 'externalcontact/get_follow_user_list' });
    expect((await callApi(sut, token, 'externalcontact/get_follow_user_list')).errcode).toBe(-1);
    sut.injectFault({ errorRate: 0.05, api: 'externalcontact/get_follow_user_list' });
    expect((await callApi(sut, token, 'externalcontact/get_follow_user_list')).errcode).toBe(0);
    sut.injectFault({ errorRate: 1 });
    expect((await callApi(sut, token, 'externalcontact/get_corp_tag_list', {})).errcode).toBe(-1);
    sut.clearFaults();
    expect((await callApi(sut, token, 'externalcontact/get_corp_tag_list', {})).errcode).toBe(0);
  });

  it('delays answers by latencyMs', async () => {
    const { sut } = buildSandbox();
    const token = await tokenFor(sut);
    sut.injectFault({ latencyMs: 60, api: 'externalcontact/get_follow_user_list' });
    const started = performance.now();
    await callApi(sut, token, 'externalcontact/get_follow_user_list');
    expect(performance.now() - started).toBeGreaterThanOrEqual(50);
  });

  it('answers 45009 over the per-minute limit and recovers when the window passes', async () => {
    const { sut, clock } = buildSandbox({ rateLimits: { 'externalcontact/get_follow_user_list': 3 } });
    const token = await tokenFor(sut);
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await callApi(sut, token, 'externalcontact/get_follow_user_list')).errcode);
    expect(codes).toEqual([0, 0, 0, 45009]);
    clock.advance(60_000);
    expect((await callApi(sut, token, 'externalcontact/get_follow_user_list')).errcode).toBe(0);
  });

  it('counts in aligned windows when told to: a new window starts at the boundary, not a window after the first call', async () => {
    // 02:00:00 is a multiple of 2 s; the first call lands 1.5 s into the window.
    const { sut, clock } = buildSandbox({ rateLimits: { 'externalcontact/get_follow_user_list': 2 }, rateWindow: { windowMs: 2000, aligned: true } });
    const token = await tokenFor(sut);
    clock.advance(1500);
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await callApi(sut, token, 'externalcontact/get_follow_user_list')).errcode);
    expect(codes).toEqual([0, 0, 45009]);
    // 0.5 s later the aligned window has turned (a sliding one would still be full).
    clock.advance(500);
    expect((await callApi(sut, token, 'externalcontact/get_follow_user_list')).errcode).toBe(0);
  });

  it('applies the "*" rate limit to every api', async () => {
    const { sut } = buildSandbox({ rateLimits: { '*': 1 } });
    expect((await sut.invoke('GET', 'gettoken', { corpid: sut.options.corp.corpId, corpsecret: sut.options.corp.secret })).body.errcode).toBe(0);
    expect((await sut.invoke('GET', 'gettoken', { corpid: sut.options.corp.corpId, corpsecret: sut.options.corp.secret })).body.errcode).toBe(45009);
  });

  it('logs every call with clock time, errcode and params minus access_token', async () => {
    const { sut, clock } = buildSandbox();
    sut.seed();
    const token = await tokenFor(sut);
    clock.advance(1234);
    await callApi(sut, token, 'externalcontact/list', undefined, { userid: 'nobody' });
    const [call] = sut.calls('externalcontact/list');
    expect(call).toEqual({ api: 'externalcontact/list', at: new Date('2026-03-10T02:00:01.234Z').getTime(), errcode: 40003, params: { userid: 'nobody' } });
    expect(sut.calls().map((c) => c.api)).toEqual(['gettoken', 'externalcontact/list']);
  });

  it('rejects GET on a POST api with 40035', async () => {
    const { sut } = buildSandbox();
    const token = await tokenFor(sut);
    expect((await sut.invoke('GET', 'externalcontact/get_corp_tag_list', { access_token: token })).body.errcode).toBe(40035);
  });
});
