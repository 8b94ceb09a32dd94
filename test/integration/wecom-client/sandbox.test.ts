import axios from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/shared/logger.js';
import { WecomClient, type WecomClientOptions } from '../../../src/wecom/client/wecom.client.js';
import { SANDBOX_CORP } from '../../../src/wecom/sandbox-identity.js';
import { startSandboxServer, type RunningSandbox } from '../../../src/wecom/sandbox/server.js';
import { maxInWindow } from '../../helpers/wecom-stub.js';

/** The client against the teammate's WecomSandbox over real HTTP, driven through its /_control API. */
describe(`${WecomClient.name} against the sandbox`, () => {
  let running: RunningSandbox;
  let sut: WecomClient;

  const control = {
    fault: (spec: object) => axios.post(`${running.url}/_control/faults`, spec),
    clearFaults: () => axios.delete(`${running.url}/_control/faults`),
    calls: async (api: string) =>
      (await axios.get<{ items: Array<{ api: string; at: number; errcode: number }> }>(`${running.url}/_control/calls`, { params: { api } })).data.items,
    clearCalls: () => axios.delete(`${running.url}/_control/calls`),
  };

  const clientWith = (overrides: Partial<WecomClientOptions> = {}) =>
    new WecomClient({
      apiBase: running.url,
      corpId: SANDBOX_CORP.corpId,
      secret: SANDBOX_CORP.secret,
      kfSecret: SANDBOX_CORP.kfSecret,
      agentId: SANDBOX_CORP.agentId,
      logger: silentLogger,
      retry: { maxAttempts: 5, baseMs: 5, maxMs: 20 },
      blockMs45009: 100,
      ...overrides,
    });

  beforeAll(async () => {
    running = await startSandboxServer({ port: 0, seed: true });
  });
  afterAll(async () => {
    await running.close();
  });
  afterEach(async () => {
    sut?.close();
    await control.clearFaults();
    await control.clearCalls();
  });

  it('reads the seeded corp: staff, every customer page, a customer and the tag library', async () => {
    sut = clientWith();

    const staff = await sut.getFollowUserList();
    const pairs = [];
    for await (const page of sut.iterateBatchGetByUser(staff, { limit: 50 })) pairs.push(...page.items);
    const someone = pairs[0].contact.externalUserId;
    const detail = await sut.getExternalContact(someone);
    const tags = await sut.getCorpTagList();

    expect(staff.length).toBeGreaterThan(0);
    expect(pairs.length).toBeGreaterThan(50);
    expect(detail.followUsers.map((f) => f.userId).sort()).toEqual(pairs.filter((p) => p.contact.externalUserId === someone).map((p) => p.followInfo.userId).sort());
    expect(tags.flatMap((g) => g.tags).length).toBeGreaterThan(0);
  });

  it('refreshes once when the sandbox invalidates every token mid-run', async () => {
    sut = clientWith();
    await sut.getFollowUserList();

    await control.fault({ invalidateTokens: true });
    const results = await Promise.all(Array.from({ length: 20 }, () => sut.getFollowUserList()));

    expect(results.every((r) => r.length > 0)).toBe(true);
    expect(await control.calls('gettoken')).toHaveLength(2);
  });

  it('backs off a burst through injected 45009s and completes it', async () => {
    sut = clientWith({ limits: { 'externalcontact/list': { perMinute: 10_000, concurrency: 2 } } });
    await control.fault({ api: 'externalcontact/list', errcode: 45009, count: 3 });

    const lists = await Promise.all(Array.from({ length: 10 }, () => sut.listExternalContacts('zhangsan')));

    expect(lists.every((l) => l.length > 0)).toBe(true);
    const calls = await control.calls('externalcontact/list');
    expect(calls.filter((c) => c.errcode === 45009)).toHaveLength(3);
    expect(calls.filter((c) => c.errcode === 0)).toHaveLength(10);
  });

  it('stays within the configured rate by the sandbox call log', async () => {
    const windowMs = 400;
    const perWindow = 20;
    sut = clientWith({ rateWindowMs: windowMs, rateGuardMs: 80, limits: { 'externalcontact/list': { perMinute: perWindow, concurrency: 5 } } });

    await Promise.all(Array.from({ length: 50 }, () => sut.listExternalContacts('lisi')));

    const arrivals = (await control.calls('externalcontact/list')).map((c) => c.at);
    expect(arrivals).toHaveLength(50);
    expect(maxInWindow(arrivals, windowMs)).toBeLessThanOrEqual(perWindow);
  });

  it('pulls WeChat-KF messages with the KF token', async () => {
    sut = clientWith();
    const sent = await axios.post<{ token?: string }>(`${running.url}/_control/kf/message`, { openKfId: 'wkSandboxKf', text: '在吗' });

    const batch = await sut.kfSyncMsg({ token: sent.data.token, openKfId: 'wkSandboxKf' });

    expect(batch.messages.some((m) => m.msgType === 'text' && (m.body as { content?: string }).content === '在吗')).toBe(true);
  });
});
