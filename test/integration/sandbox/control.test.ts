import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CORP } from '../../../src/wecom/sandbox-identity.js';
import { startSandboxServer, type RunningSandbox } from '../../../src/wecom/sandbox/server.js';
import { http, startMountedSandbox } from './harness.js';

describe('sandbox control endpoints over HTTP', () => {
  let env: Awaited<ReturnType<typeof startMountedSandbox>>;
  const token = async () => (await http(`${env.base}/cgi-bin/gettoken?corpid=${SANDBOX_CORP.corpId}&corpsecret=${SANDBOX_CORP.secret}`)).body.access_token as string;

  beforeAll(async () => {
    env = await startMountedSandbox();
  });
  afterAll(() => env.close());

  it('seeds, summarises and resets', async () => {
    expect((await http(`${env.base}/_control/seed`, { json: {} })).body).toMatchObject({ staff: 5, customers: 200 });
    expect((await http(`${env.base}/_control/summary`)).body).toMatchObject({ staff: 5, customers: 200 });
    await http(`${env.base}/_control/reset`, { json: {} });
    expect((await http(`${env.base}/_control/summary`)).body).toMatchObject({ staff: 0, customers: 0 });
    expect((await http(`${env.base}/_control/seed`, { json: { large: 500 } })).body).toMatchObject({ customers: 700 });
  });

  it('injects, lists and clears faults, including token invalidation', async () => {
    await http(`${env.base}/_control/seed`, { json: {} });
    const t = await token();
    const injected = await http(`${env.base}/_control/faults`, { json: { api: 'externalcontact/get_follow_user_list', errcode: -1, count: 1 } });
    expect(injected.body.counted['externalcontact/get_follow_user_list']).toEqual([{ errcode: -1, remaining: 1 }]);
    expect((await http(`${env.base}/cgi-bin/externalcontact/get_follow_user_list?access_token=${t}`)).body.errcode).toBe(-1);
    await http(`${env.base}/_control/faults`, { json: { errorRate: 1 } });
    expect((await http(`${env.base}/cgi-bin/externalcontact/get_follow_user_list?access_token=${t}`)).body.errcode).toBe(-1);
    expect((await http(`${env.base}/_control/faults`, { method: 'DELETE' })).status).toBe(200);
    expect((await http(`${env.base}/cgi-bin/externalcontact/get_follow_user_list?access_token=${t}`)).body.errcode).toBe(0);
    await http(`${env.base}/_control/faults`, { json: { invalidateTokens: true } });
    expect((await http(`${env.base}/cgi-bin/externalcontact/get_follow_user_list?access_token=${t}`)).body.errcode).toBe(40014);
  });

  it('serves the call log filtered by api', async () => {
    await http(`${env.base}/_control/calls`, { method: 'DELETE' });
    const t = await token();
    await http(`${env.base}/cgi-bin/externalcontact/list?access_token=${t}&userid=lisi`);
    const { body } = await http(`${env.base}/_control/calls?api=externalcontact/list`);
    expect(body.items).toEqual([{ api: 'externalcontact/list', at: env.clock.now().getTime(), errcode: 0, params: { userid: 'lisi' } }]);
  });

  it('answers control errors as { error: { code, message } } with 400/404/409', async () => {
    await http(`${env.base}/_control/seed`, { json: {} });
    expect(await http(`${env.base}/_control/customers/add`, { json: { state: 'x' } })).toMatchObject({ status: 400, body: { error: { code: 'validation_error' } } });
    expect(await http(`${env.base}/_control/customers/add`, { json: { userid: 'ghost' } })).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    const { body: added } = await http(`${env.base}/_control/customers/add`, { json: { userid: 'lisi' } });
    const again = await http(`${env.base}/_control/customers/add`, { json: { userid: 'lisi', externalUserId: added.externalUserId } });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect((await http(`${env.base}/_control/faults`, { json: { nonsense: true } })).status).toBe(400);
    expect((await http(`${env.base}/_control/nope`)).status).toBe(404);
  });

  it('leaves paths outside its prefix to the rest of the app', async () => {
    const res = await http(env.base.replace(/\/sandbox$/, '/cgi-bin/gettoken'));
    expect(res).toMatchObject({ status: 404, body: { error: { message: 'bot route' } } });
  });
});

describe('startSandboxServer', () => {
  let running: RunningSandbox;
  beforeAll(async () => {
    running = await startSandboxServer({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => running.close());

  it('serves the seeded demo corp at the root', async () => {
    const tokenRes = await http(`${running.url}/cgi-bin/gettoken?corpid=${SANDBOX_CORP.corpId}&corpsecret=${SANDBOX_CORP.secret}`);
    expect(tokenRes.body.errcode).toBe(0);
    const staff = await http(`${running.url}/cgi-bin/externalcontact/get_follow_user_list?access_token=${tokenRes.body.access_token}`);
    expect(staff.body.follow_user).toHaveLength(5);
  });
});
