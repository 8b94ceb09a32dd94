import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api as adminApi, startTestApp, waitFor, type TestApp } from '../helpers/app.js';
import type { WecomSandbox } from '../../src/wecom/sandbox/sandbox.js';
import { FieldCipher } from '../../src/shared/field-cipher.js';
import { aad } from '../../src/persistence/sealed-columns.js';

/**
 * Deadline first (docs/inbox.md §Deadline first): an add's welcome goes out from the priority lane, and the rest of
 * its handling (archive, tags, stats) waits its turn in the ordinary lane, so a slow archive path cannot make later
 * customers' welcome_codes (20 s) expire. One slot per lane makes the difference plain.
 */
describe.each(testEngines())('deadline first on %s', (engine) => {
  let app: TestApp;
  let sandbox: WecomSandbox;
  beforeAll(async () => {
    app = await startTestApp(engine, {
      overrides: { inbox: { workers: 1, pollIntervalMs: 100 }, sandbox: { seed: true } },
      build: { sandbox: { callbackRetryDelaysMs: [100, 100, 100] } },
      startServices: true,
    });
    sandbox = app.container.sandbox!;
  });
  afterAll(() => app?.close());

  const api = (method: string, path: string, body?: unknown) => adminApi(app, method, path, body);
  const welcomedCodes = () => new Set(sandbox.calls('externalcontact/send_welcome_msg').filter((c) => c.errcode === 0).map((c) => String(c.params.welcome_code)));
  const addStatus = async (ext: string) =>
    (
      await app.container.db.query<{ status: string }>("SELECT status FROM inbox_events WHERE kind LIKE '%/add_external_contact' AND subject_key = ?", [`customer:${ext}`])
    )[0]?.status;

  it('sends every welcome while the first add’s archive work is still running, and finishes each add in its customer’s order', async () => {
    const staff = [...sandbox.store.staff.keys()][0];
    const created = await api('POST', '/api/v1/channels', { name: '直播间', staff: [staff], tags: ['直播'], welcome: { text: '{{name}}您好' } });
    expect(created.status).toBe(201);
    const way = [...sandbox.store.contactWays.values()].find((w) => w.state === created.body.state)!;
    // The non-urgent part of an add is slow: tagging the customer in WeCom takes 1.5 s.
    sandbox.injectFault({ api: 'externalcontact/mark_tag', latencyMs: 1500 });

    const t0 = Date.now();
    const first = await sandbox.addCustomer({ configId: way.configId, name: '客户甲' });
    // The first add is welcomed, and its archive work (tagging, 1.5 s) has begun, before the others arrive.
    await waitFor(() => welcomedCodes().has(first.welcomeCode), 2000, 'first welcome');
    await new Promise((r) => setTimeout(r, 200));
    expect(await addStatus(first.externalUserId)).toBe('running');
    const later = await Promise.all([
      sandbox.addCustomer({ configId: way.configId, name: '客户乙' }),
      sandbox.addCustomer({ configId: way.configId, name: '客户丙' }),
    ]);
    // An edit of the first customer, stored behind its add: it must be handled after the add is finished.
    await sandbox.editRelation({ userid: staff, externalUserId: first.externalUserId, remark: '老客户' });

    // With one handler slot per lane, each add handled whole would hold the slot through a 1.5 s mark_tag: the third
    // welcome would go out after 3 s. Deadline first sends all three while the first add is still tagging.
    await waitFor(() => [first, ...later].every((a) => welcomedCodes().has(a.welcomeCode)), 1200, 'all three welcomes');
    expect(Date.now() - t0).toBeLessThan(1400);
    expect(await addStatus(first.externalUserId)).not.toBe('done');

    // Everything finishes: archive, tags and the channel's count, one inbox timeline entry per add.
    for (const a of [first, ...later]) await waitFor(async () => (await addStatus(a.externalUserId)) === 'done', 10_000, `add of ${a.externalUserId} done`);
    const stats = await api('GET', `/api/v1/channels/${String(created.body.id)}`);
    expect(stats.body.stats).toEqual([expect.objectContaining({ adds: 3 })]);
    for (const a of [first, ...later]) {
      const c = await api('GET', `/api/v1/customers/${a.externalUserId}`);
      expect(c.status).toBe(200);
      expect((c.body.tags as { name: string }[]).map((t) => t.name)).toContain('直播');
      const timeline = c.body.timeline as { source: string }[];
      expect(timeline.filter((e) => e.source === 'inbox').length).toBeGreaterThanOrEqual(1);
      expect(timeline.some((e) => e.source === 'welcome')).toBe(true);
    }
    // The profile the urgent part kept for the rest is gone from the handled events' payloads.
    const cipher = new FieldCipher(app.config.dataKey!);
    const stored = await app.container.db.query<{ payload: string; dedupe_key: string }>("SELECT payload, dedupe_key FROM inbox_events WHERE kind LIKE '%/add_external_contact'");
    expect(stored.length).toBeGreaterThanOrEqual(3);
    for (const r of stored) expect(Object.keys(JSON.parse(cipher.decrypt(r.payload, aad.inboxPayload(r.dedupe_key))) as object)).not.toContain('__deferred');
    // Each welcome exactly once.
    const sent = sandbox.calls('externalcontact/send_welcome_msg').filter((c) => c.errcode === 0).map((c) => String(c.params.welcome_code));
    expect(sent.sort()).toEqual([first, ...later].map((a) => a.welcomeCode).sort());

    // The edit ran after the add had finished, not alongside its archive work.
    const ofFirst = () =>
      app.container.db.query<{ kind: string; status: string; processed_at: number | string }>(
        'SELECT kind, status, processed_at FROM inbox_events WHERE subject_key = ? ORDER BY id',
        [`customer:${first.externalUserId}`],
      );
    const done = (await waitFor(async () => ((await ofFirst()).every((r) => r.status === 'done') ? ofFirst() : null), 10_000, 'edit handled'))!;
    expect(done.map((r) => r.kind.split('/').pop())).toEqual(['add_external_contact', 'edit_external_contact']);
    expect(Number(done[1].processed_at)).toBeGreaterThanOrEqual(Number(done[0].processed_at));
  });

  it('asks again at once when a welcome’s answer is lost: WeCom takes a welcome_code once, so the customer gets one welcome and the add finishes without a retry of the event', async () => {
    sandbox.clearFaults();
    const staff = [...sandbox.store.staff.keys()][0];
    const created = await api('POST', '/api/v1/channels', { name: '断线重问', staff: [staff], welcome: { text: '{{name}}您好' } });
    expect(created.status).toBe(201);
    const way = [...sandbox.store.contactWays.values()].find((w) => w.state === created.body.state)!;
    // The sandbox sends the welcome, then closes the connection before its answer (docs/wecom-protocol.md §Welcome messages).
    sandbox.injectFault({ api: 'externalcontact/send_welcome_msg', loseAnswer: 1 });
    const added = await sandbox.addCustomer({ configId: way.configId, name: '客户丁' });
    await waitFor(async () => (await addStatus(added.externalUserId)) === 'done', 10_000, 'add done');
    const calls = sandbox.calls('externalcontact/send_welcome_msg').filter((c) => c.params.welcome_code === added.welcomeCode);
    // The first call went through (its answer was lost); the repeat is refused as a used code (41051), not sent again.
    expect(calls.map((c) => c.errcode)).toEqual([0, 41051]);
    expect(calls[1].at - calls[0].at).toBeLessThan(5_000);
    // One handling of the add: the client repeated the call itself, the event was not failed and retried.
    const [row] = await app.container.db.query<{ attempts: number | string; error: string | null }>(
      "SELECT attempts, error FROM inbox_events WHERE kind LIKE '%/add_external_contact' AND subject_key = ?",
      [`customer:${added.externalUserId}`],
    );
    expect({ attempts: Number(row.attempts), error: row.error }).toEqual({ attempts: 1, error: null });
  });
});
