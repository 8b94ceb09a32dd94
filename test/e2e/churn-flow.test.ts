import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';
import { addSandboxCustomer } from '../fixtures/scheduling.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * 流失预警 end to end against the sandbox with a fake clock (docs/churn.md): a customer whose orders come every 30 days
 * stops ordering; the nightly score rises past the threshold; the owner gets one warning task in the sidebar, and the
 * care run's app message within their cap; the customer enters the win-back campaign that enrols by churn risk; they
 * delete the member (the sandbox sends the callback over HTTP), and the loss's cause is recorded and counted.
 */
describe.each(testEngines())('流失预警 end to end (%s)', (engine) => {
  let app: TestApp;
  let ext = '';
  let campaign = '';
  const clock = new FixedClock(sh('2026-01-01T10:00:00'));
  const job = (name: string) => app.container.scheduling.scheduler.runNow(name);
  const risk = async () => (await api(app, 'GET', `/api/v1/customers/${ext}/churn-risk`)).body as { score: number; level: string; reasons: { code: string; text: string }[] };
  const sidebarNotes = async () => {
    const cookie = `wo_sidebar=${app.container.http!.sidebarAuth.sessions.issue('zhangsan').token}`;
    const res = await fetch(`${app.url}/sidebar/api/customers/${ext}/notes`, { headers: { cookie, 'x-requested-with': 'XMLHttpRequest' } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: { text: string; dueDate: string | null }[] }).items;
  };

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    ext = await addSandboxCustomer(app.container, 'zhangsan', { name: '月度客户', firstAddedAt: new Date('2025-12-01T02:00:00Z') });
    const orders = ['2026-01-01', '2026-01-31', '2026-03-02', '2026-04-01', '2026-05-01'].map((d, i) => ({ orderNo: `CF-${i}`, externalUserId: ext, amount: 128, orderedAt: `${d} 12:00` }));
    expect((await api(app, 'POST', '/api/v1/orders/import', { orders })).status).toBe(200);
    const created = await api(app, 'POST', '/api/v1/care-rules', {
      name: '流失预警挽回',
      sendTime: '10:00',
      occasion: { type: 'winback', entry: 'churn_risk', steps: [{ day: 0, channel: 'mass_task', template: '{{name}}您好，好久不见，给您留了一份回归礼' }] },
      template: '{{name}}您好，好久不见，给您留了一份回归礼',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    campaign = created.body.id;
  }, 60_000);
  afterAll(() => app?.close());

  it('warns the owner, enrols the customer in win-back, and records why they left', async () => {
    // On time: nothing to warn about.
    clock.set(sh('2026-05-20T03:45:00'));
    expect((await job('churn')).status).toBe('done');
    expect((await risk()).level).toBe('low');

    // Three orders missed and silent since: the score crosses the threshold, with its reasons in zh-CN.
    clock.set(sh('2026-07-31T03:45:00'));
    expect((await job('churn')).status).toBe('done');
    const r = await risk();
    expect(r.level).toBe('high');
    expect(r.reasons[0]).toMatchObject({ code: 'order_overdue' });
    expect(r.reasons[0].text).toMatch(/^距上次下单 91 天，平时约 30 天下一单/);

    // The owner's task, in the sidebar, due today; the care run tells them by app message.
    const tasks = (await sidebarNotes()).filter((n) => n.text.startsWith('【流失预警】'));
    expect(tasks).toEqual([expect.objectContaining({ dueDate: '2026-07-31' })]);
    clock.set(sh('2026-07-31T09:00:00'));
    expect((await job('care')).status).toBe('done');
    const told = app.container.sandbox!.calls('message/send').filter((c) => JSON.stringify(c.params).includes('流失预警'));
    expect(told.map((c) => (c.params as { touser?: string }).touser)).toEqual(['zhangsan']);

    // The win-back campaign that enrols by churn risk takes the customer in, and plans its first step.
    clock.set(sh('2026-07-31T10:00:00'));
    expect((await job('winback')).status).toBe('done');
    const planned = await app.container.db.query<{ text: string; channel: string }>('SELECT text, channel FROM deliveries WHERE source = ?', [`winback:${campaign}`]);
    expect(planned).toEqual([{ text: '月度客户您好，好久不见，给您留了一份回归礼', channel: 'mass_task' }]);

    // The customer deletes the member in WeChat: the sandbox's callback over HTTP, handled by the inbox.
    clock.set(sh('2026-08-05T15:00:00'));
    const res = await fetch(`${app.url}/sandbox/_control/customers/delete-staff`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userid: 'zhangsan', externalUserId: ext }) });
    expect(res.status).toBe(200);
    await app.container.inboxProcessor.drain();
    const losses = (await api(app, 'GET', `/api/v1/customers/${ext}/churn-causes`)).body.items as { cause: string; causeWords: string; lostByWords: string; score: number }[];
    expect(losses).toEqual([expect.objectContaining({ cause: 'order_overdue', causeWords: '久未复购', lostByWords: '客户删除了员工', score: r.score })]);
    const counts = (await api(app, 'GET', '/api/v1/analytics/churn-causes?from=2026-08-01&to=2026-08-31')).body;
    expect(counts).toMatchObject({ losses: 1, byCause: [{ cause: 'order_overdue', words: '久未复购', count: 1 }], unrecorded: 1 });
  });
});
