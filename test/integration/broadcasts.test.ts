import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { buildContainer } from '../../src/container.js';
import { buildScheduling, type SchedulingModule } from '../../src/container.js';
import { DeliveryLedger } from '../../src/domain/delivery/delivery-ledger.js';
import type { JobContext } from '../../src/jobs/job.types.js';
import { addSandboxCustomer, ledgerOf } from '../fixtures/scheduling.js';

const sh = (local: string) => new Date(`${local}+08:00`);
const TASK_API = 'externalcontact/add_msg_template';

interface Task {
  sender: string;
  externalUserIds: string[];
  text: string;
}

describe.each(testEngines())('broadcasts on %s', (engine) => {
  let app: TestApp;
  let m: SchedulingModule;
  const clock = new FixedClock(sh('2026-09-01T10:00:00'));

  /** A customer in the sandbox and the archive, followed by `userid`, tagged through the API like an operator would. */
  async function customer(userid: string, name: string, tag: string, opts: { optedOut?: boolean } = {}): Promise<string> {
    const id = await addSandboxCustomer(app.container, userid, { name });
    const tagged = await api(app, 'POST', `/api/v1/customers/${id}/tags`, { add: [tag], remove: [] });
    expect(tagged.status).toBe(200);
    if (opts.optedOut) await app.container.db.query('UPDATE customers SET opted_out = 1 WHERE external_user_id = ?', [id]);
    return id;
  }

  /** add_msg_template tasks the sandbox received, from its call log over HTTP. */
  async function tasks(): Promise<Task[]> {
    const res = await fetch(`${app.url}/sandbox/_control/calls?api=${encodeURIComponent(TASK_API)}`);
    const { items } = (await res.json()) as { items: { errcode: number; params: { sender: string; external_userid: string[]; text?: { content: string } } }[] };
    return items
      .filter((c) => c.errcode === 0)
      .map((c) => ({ sender: c.params.sender, externalUserIds: [...c.params.external_userid].sort(), text: c.params.text?.content ?? '' }));
  }

  /** The staff member confirms a task in the WeCom client (群发助手), through the sandbox's control API. */
  async function confirm(msgid: string, userid: string): Promise<{ status: number; body: any }> {
    const res = await fetch(`${app.url}/sandbox/_control/groupmsg/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ msgid, userid }),
    });
    return { status: res.status, body: await res.json() };
  }

  const jobCtx = (label: string): JobContext => ({
    at: clock.now(), clock, occasionKey: label, isDryRun: false, runId: null, log: silentLogger, report: () => undefined,
  });

  /** Run the `broadcasts` job one minute later than the last run (each minute is its own occasion). */
  async function runJob(opts: { isDryRun?: boolean } = {}) {
    clock.advance(60_000);
    return m.scheduler.runNow('broadcasts', opts);
  }

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    m = app.container.scheduling;
  });
  afterAll(() => app?.close());

  it('sends one add_msg_template task per sender with exactly the matching customers; a second run sends nothing more', async () => {
    clock.set(sh('2026-09-01T10:00:00'));
    const a1 = await customer('zhangsan', '春一', '春季促销');
    const a2 = await customer('zhangsan', '春二', '春季促销');
    const b1 = await customer('lisi', '春三', '春季促销');
    await customer('zhangsan', '路人', '其他标签');
    app.container.sandbox!.clearCalls();

    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '春季新品', audience: 'tag:春季促销', message: { text: '春季新品上市，欢迎到店体验！' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: 'scheduled', audienceCount: 3, reachableCount: 3, optedOutCount: 0, tasksEstimate: 2, personalized: false, sender: 'owner',
      sendAt: clock.now().toISOString(), message: { text: '春季新品上市，欢迎到店体验！', attachments: [] },
    });
    const id = created.body.id as string;

    const run = await runJob();
    expect(run.status).toBe('done');
    expect(run.counts).toMatchObject({ due: 1, claimed: 1, planned: 3, skipped: 0, duplicate: 0, submittedTasks: 2, submittedRows: 3 });
    const sent = await tasks();
    expect(sent).toHaveLength(2);
    expect(sent.find((t) => t.sender === 'zhangsan')).toMatchObject({ externalUserIds: [a1, a2].sort(), text: '春季新品上市，欢迎到店体验！' });
    expect(sent.find((t) => t.sender === 'lisi')).toMatchObject({ externalUserIds: [b1] });
    // Each sender is reminded to confirm, and told it is a broadcast, not a care message.
    const reminders = app.container.sandbox!.calls('message/send').map((c) => c.params as { touser?: string; text?: { content: string } });
    expect(reminders.find((r) => r.touser === 'zhangsan')?.text?.content).toContain('2 位客户的群发活动消息');
    expect(reminders.some((r) => r.text?.content.includes('关怀'))).toBe(false);

    const view = await api(app, 'GET', `/api/v1/broadcasts/${id}`);
    expect(view.body).toMatchObject({ status: 'sending', stats: { total: 3, byStatus: { submitted: 3, planned: 0, sent: 0 } } });
    const ledger = await api(app, 'GET', `/api/v1/deliveries?broadcast=${id}`);
    expect(ledger.body.total).toBe(3);
    expect(ledger.body.items.every((d: { kind: string; source: string; broadcastId: string }) => d.kind === 'broadcast' && d.source === `broadcast:${id}` && d.broadcastId === id)).toBe(true);

    // The next minutes plan and send nothing more.
    expect((await runJob()).counts).toMatchObject({ due: 0, planned: 0, submittedTasks: 0 });
    // Even if the broadcast were planned again (bypassing its claim), the ledger's unique key adds nothing.
    await app.container.db.query("UPDATE broadcasts SET status = 'scheduled' WHERE id = ?", [id]);
    expect((await runJob()).counts).toMatchObject({ claimed: 1, planned: 0, duplicate: 3, submittedTasks: 0 });
    expect(await tasks()).toHaveLength(2);
    expect((await api(app, 'GET', `/api/v1/deliveries?broadcast=${id}`)).body.total).toBe(3);

    // The staff members confirm in the client; delivery-results records each recipient as sent.
    for (const d of ledger.body.items as { msgId: string; sender: string }[]) {
      const ok = await confirm(d.msgId, d.sender);
      expect([200, 400]).toContain(ok.status); // a task confirmed once answers 400 for its second row
    }
    clock.advance(20 * 60_000);
    const polled = await m.scheduler.runNow('delivery-results');
    expect(polled.counts).toMatchObject({ results_sent: 3 });
    const finished = await runJob();
    expect(finished.counts).toMatchObject({ finished: 1 });
    const done = await api(app, 'GET', `/api/v1/broadcasts/${id}`);
    expect(done.body).toMatchObject({ status: 'done', stats: { total: 3, byStatus: { sent: 3, submitted: 0 } } });
    expect(done.body.finishedAt).toBeTruthy();
  });

  it('records opted-out customers as skipped with the reason and leaves them out of the task', async () => {
    clock.set(sh('2026-09-02T10:00:00'));
    const yes = await customer('wangwu', '会员甲', '会员日');
    const no = await customer('wangwu', '会员乙', '会员日', { optedOut: true });
    app.container.sandbox!.clearCalls();
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '会员日', audience: 'tag:会员日', message: { text: '会员日全场九折' } });
    expect(created.body).toMatchObject({ audienceCount: 2, optedOutCount: 1, reachableCount: 1, tasksEstimate: 1 });

    expect((await runJob()).counts).toMatchObject({ planned: 1, skipped: 1, submittedTasks: 1 });
    expect(await tasks()).toEqual([{ sender: 'wangwu', externalUserIds: [yes], text: '会员日全场九折' }]);
    const [row] = await ledgerOf(app.container.db, no);
    expect(row.status).toBe('skipped');
    expect(row.reason).toMatch(/^opted_out/);
    const view = await api(app, 'GET', `/api/v1/broadcasts/${created.body.id}`);
    expect(view.body.stats).toMatchObject({ total: 2, byStatus: { skipped: 1, submitted: 1 }, skippedByReason: { opted_out: 1 } });
  });

  it('a text with {{name}} costs one task per customer, and says so when created', async () => {
    clock.set(sh('2026-09-03T10:00:00'));
    const a = await customer('zhaoliu', '小赵', '周年庆');
    const b = await customer('zhaoliu', '小钱', '周年庆');
    app.container.sandbox!.clearCalls();
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '周年庆', audience: 'tag:周年庆', message: { text: '{{name}}，周年庆快乐！—— {{staff}}' } });
    expect(created.body).toMatchObject({ personalized: true, tasksEstimate: 2 });
    expect(created.body.tasksNote).toContain('{{name}}');

    expect((await runJob()).counts).toMatchObject({ planned: 2, submittedTasks: 2 });
    const sent = await tasks();
    expect(sent.map((t) => [t.externalUserIds, t.text])).toEqual(
      expect.arrayContaining([
        [[a], '小赵，周年庆快乐！—— zhaoliu'],
        [[b], '小钱，周年庆快乐！—— zhaoliu'],
      ]),
    );
  });

  it('waits for sendAt, and a dry run prints what it would send and writes nothing', async () => {
    clock.set(sh('2026-09-04T10:00:00'));
    const c = await customer('sunqi', '晚发', '新品预告');
    app.container.sandbox!.clearCalls();
    const sendAt = sh('2026-09-04T15:30:00');
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '新品预告', audience: 'tag:新品预告', message: { text: '下午三点半新品发布' }, sendAt: sendAt.toISOString() });
    expect(created.status).toBe(201);
    expect((await runJob()).counts).toMatchObject({ due: 0, planned: 0 });

    clock.set(sendAt);
    const dry = await m.scheduler.runNow('broadcasts', { isDryRun: true });
    expect(dry.status).toBe('dry-run');
    expect(dry.counts).toMatchObject({ due: 1, claimed: 0, planned: 1, tasks: 1 });
    expect(dry.lines.some((l) => l.includes(c) && l.includes('下午三点半新品发布'))).toBe(true);
    expect(dry.lines.some((l) => l.includes('would submit') && l.includes('sunqi'))).toBe(true);
    expect(await ledgerOf(app.container.db, c)).toHaveLength(0);
    expect((await api(app, 'GET', `/api/v1/broadcasts/${created.body.id}`)).body.status).toBe('scheduled');
    expect(await tasks()).toHaveLength(0);

    expect((await runJob()).counts).toMatchObject({ planned: 1, submittedTasks: 1 });
    expect(await tasks()).toEqual([{ sender: 'sunqi', externalUserIds: [c], text: '下午三点半新品发布' }]);
  });

  it('cancels a broadcast before it is planned: nothing is ever sent; a finished one answers 409', async () => {
    clock.set(sh('2026-09-05T10:00:00'));
    await customer('zhangsan', '取消甲', '取消测试');
    app.container.sandbox!.clearCalls();
    const created = await api(app, 'POST', '/api/v1/broadcasts', {
      name: '取消我', audience: 'tag:取消测试', message: { text: '不会发出' }, sendAt: sh('2026-09-05T11:00:00').toISOString(),
    });
    const id = created.body.id as string;
    const cancelled = await api(app, 'POST', `/api/v1/broadcasts/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancellation: { skippedRows: 0, cancelledTasks: 0 } });
    expect(cancelled.body.cancelledAt).toBeTruthy();

    clock.set(sh('2026-09-05T11:00:00'));
    expect((await runJob()).counts).toMatchObject({ due: 0, planned: 0, submittedTasks: 0 });
    expect(await tasks()).toHaveLength(0);
    expect((await api(app, 'GET', `/api/v1/deliveries?broadcast=${id}`)).body.total).toBe(0);
    // Cancelling again is harmless; an unknown broadcast is a 404.
    expect((await api(app, 'POST', `/api/v1/broadcasts/${id}/cancel`)).status).toBe(200);
    expect((await api(app, 'POST', '/api/v1/broadcasts/00000000-0000-7000-8000-000000000000/cancel')).status).toBe(404);

    const list = await api(app, 'GET', '/api/v1/broadcasts?status=done');
    expect(list.body.total).toBeGreaterThan(0);
    const refused = await api(app, 'POST', `/api/v1/broadcasts/${list.body.items[0].id}/cancel`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('broadcast_finished');
  });

  it('cancels unconfirmed WeCom tasks of a broadcast already sending (cancel_groupmsg_send)', async () => {
    clock.set(sh('2026-09-06T10:00:00'));
    const a = await customer('lisi', '撤回甲', '撤回测试');
    app.container.sandbox!.clearCalls();
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '撤回', audience: 'tag:撤回测试', message: { text: '这条会被撤回' } });
    expect((await runJob()).counts).toMatchObject({ submittedTasks: 1 });
    const [row] = await ledgerOf(app.container.db, a);
    expect(row.status).toBe('submitted');

    const cancelled = await api(app, 'POST', `/api/v1/broadcasts/${created.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancellation: { cancelledTasks: 1, confirmedTasks: 0, inFlightRows: 0 } });
    expect(app.container.sandbox!.calls('externalcontact/cancel_groupmsg_send')).toHaveLength(1);
    const [after] = await ledgerOf(app.container.db, a);
    expect(after).toMatchObject({ status: 'expired' });
    expect(after.reason).toMatch(/^cancelled/);
    // The staff member can no longer send it (WeCom answers 41093).
    const late = await confirm(row.msgid!, 'lisi');
    expect(late.status).not.toBe(200);
    expect(late.body.error.code).toBe('task_cancelled');
  });

  it('answers 400 for a bad audience (with the position), empty or oversized text, unknown variables and a past sendAt; staff may only read', async () => {
    clock.set(sh('2026-09-07T10:00:00'));
    const ok = { name: '校验', audience: 'tag:无人', message: { text: '你好' } };
    const bad = await api(app, 'POST', '/api/v1/broadcasts', { ...ok, audience: 'tag:VIP AND (' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_audience');
    expect(bad.body.error.message).toContain('position 14');
    expect((await api(app, 'POST', '/api/v1/broadcasts', { ...ok, audience: '   ' })).status).toBe(400);
    expect((await api(app, 'POST', '/api/v1/broadcasts', { ...ok, message: { text: '  ' } })).status).toBe(400);
    const long = await api(app, 'POST', '/api/v1/broadcasts', { ...ok, message: { text: '长'.repeat(1334) } }); // 4002 bytes
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('text_too_long');
    expect((await api(app, 'POST', '/api/v1/broadcasts', { ...ok, message: { text: '长'.repeat(1333) } })).status).toBe(201); // 3999 bytes
    const unknown = await api(app, 'POST', '/api/v1/broadcasts', { ...ok, message: { text: '{{姓名}}你好' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('unknown_variable');
    const past = await api(app, 'POST', '/api/v1/broadcasts', { ...ok, sendAt: sh('2026-09-07T09:58:00').toISOString() });
    expect(past.status).toBe(400);
    expect(past.body.error.code).toBe('send_at_in_past');
    expect((await api(app, 'POST', '/api/v1/broadcasts', { ...ok, sendAt: '明天上午' })).status).toBe(400);
    // Within the one-minute grace it is accepted.
    expect((await api(app, 'POST', '/api/v1/broadcasts', { ...ok, sendAt: sh('2026-09-07T09:59:30').toISOString() })).status).toBe(201);

    const staff = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    const operator = (await app.container.tokens.create({ role: 'operator' })).token;
    expect((await api(app, 'POST', '/api/v1/broadcasts', ok, staff)).status).toBe(403);
    const list = await api(app, 'GET', '/api/v1/broadcasts?pageSize=2', undefined, staff);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
    expect(list.body.total).toBeGreaterThan(2);
    // Newest first.
    expect(list.body.items[0].createdAt >= list.body.items[1].createdAt).toBe(true);
    expect((await api(app, 'GET', `/api/v1/broadcasts/${list.body.items[0].id}`, undefined, staff)).status).toBe(200);
    expect((await api(app, 'POST', `/api/v1/broadcasts/${list.body.items[0].id}/cancel`, undefined, staff)).status).toBe(403);
    const byOperator = await api(app, 'POST', '/api/v1/broadcasts', ok, operator);
    expect(byOperator.status).toBe(201);
    expect((await api(app, 'POST', `/api/v1/broadcasts/${byOperator.body.id}/cancel`, undefined, operator)).status).toBe(200);
  });

  it('two instances running the job at the same moment plan a broadcast once', async () => {
    clock.set(sh('2026-09-08T10:00:00'));
    const ids = [await customer('zhangsan', '并发甲', '并发'), await customer('zhangsan', '并发乙', '并发'), await customer('lisi', '并发丙', '并发')];
    // Drain whatever earlier tests left due, so the calls below are this broadcast's alone.
    await runJob();
    app.container.sandbox!.clearCalls();
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '并发', audience: 'tag:并发', message: { text: '并发测试' } });
    const second = buildScheduling(app.container, { clock, instanceId: 'instance-b' });

    // Bypassing the job_runs claim (as two instances whose cron slots differ would), only the broadcast's claim decides.
    const [x, y] = await Promise.all([m.jobs.get('broadcasts').run(jobCtx('a')), second.jobs.get('broadcasts').run(jobCtx('b'))]);
    expect(x.claimed + y.claimed).toBe(1);
    expect(x.planned + y.planned).toBe(3);
    expect(x.duplicate + y.duplicate).toBe(0);
    const sent = await tasks();
    expect(sent).toHaveLength(2);
    expect(sent.flatMap((t) => t.externalUserIds).sort()).toEqual([...ids].sort());
    const rows = await api(app, 'GET', `/api/v1/deliveries?broadcast=${created.body.id}`);
    expect(rows.body.total).toBe(3);
    // The same minute fired on both instances is one run (job_runs), whatever the broadcasts.
    clock.advance(60_000);
    const runs = await Promise.all([m.scheduler.runNow('broadcasts'), second.scheduler.runNow('broadcasts')]);
    expect(runs.map((r) => r.status).sort()).toEqual(['done', 'skipped']);
  });

  it('survives a crash mid-planning: rows stay held, another instance takes over and plans nothing twice', async () => {
    clock.set(sh('2026-09-09T10:00:00'));
    const ids = [await customer('wangwu', '崩溃甲', '崩溃'), await customer('wangwu', '崩溃乙', '崩溃')];
    await runJob();
    app.container.sandbox!.clearCalls();
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '崩溃', audience: 'tag:崩溃', message: { text: '崩溃恢复' } });
    const id = created.body.id as string;

    // A planner whose process dies right after its rows were committed.
    const real = new DeliveryLedger(m.repos.deliveries, m.repos.sendSlots, { massQuotaRule: m.settings.massQuotaRule, perCustomerPerDay: m.settings.perCustomerPerDay }, () => clock.now());
    const dying = buildScheduling(app.container, { clock, instanceId: 'instance-dead' }).broadcasts;
    await dying.planner.planDue({
      now: clock.now(),
      clock: () => clock.now(),
      isDryRun: false,
      sink: {
        plan: (d) => real.plan(d),
        planMany: async (ds) => {
          await real.planMany(ds);
          throw new Error('process killed');
        },
      },
    });
    // Leave the broadcast as a killed process would: still `planning`, its claim no longer renewed.
    await app.container.db.query("UPDATE broadcasts SET status = 'planning', claim_token = 'dead', claimed_by = 'instance-dead', claimed_at = ? WHERE id = ?", [
      clock.now().getTime(),
      id,
    ]);
    const half = await api(app, 'GET', `/api/v1/deliveries?broadcast=${id}`);
    expect(half.body.items.map((d: { status: string }) => d.status)).toEqual(['planned', 'planned']);

    // A dispatcher running meanwhile sends nothing: the rows are held until planning completes.
    clock.advance(60_000);
    expect((await m.scheduler.runNow('delivery-results')).counts).toMatchObject({ submittedTasks: 0 });
    // While the claim is fresh nobody takes over.
    expect((await runJob()).counts).toMatchObject({ claimed: 0, planned: 0 });
    expect(await tasks()).toHaveLength(0);

    clock.advance(11 * 60_000);
    const takeover = await runJob();
    expect(takeover.counts).toMatchObject({ claimed: 1, planned: 0, duplicate: 2, submittedTasks: 1 });
    expect(await tasks()).toEqual([{ sender: 'wangwu', externalUserIds: [...ids].sort(), text: '崩溃恢复' }]);
    const view = await api(app, 'GET', `/api/v1/broadcasts/${id}`);
    expect(view.body).toMatchObject({ status: 'sending', attempts: 2, stats: { total: 2, byStatus: { submitted: 2 } } });
  });

  it('plans an audience over several pages once each (on MySQL the next page is read while the ledger writes this one)', async () => {
    clock.set(sh('2026-09-05T10:00:00'));
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await customer(i % 2 ? 'zhangsan' : 'lisi', `分页${i}`, '分页'));
    await runJob();
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '分页', audience: 'tag:分页', message: { text: '分页计划' } });
    const id = created.body.id as string;
    const paged = buildScheduling(app.container, { settings: { pageSize: 2 }, clock, instanceId: 'instance-paged' }).broadcasts;
    const ledger = new DeliveryLedger(m.repos.deliveries, m.repos.sendSlots, { massQuotaRule: m.settings.massQuotaRule, perCustomerPerDay: m.settings.perCustomerPerDay }, () => clock.now());
    const counts = await paged.planner.planDue({ now: clock.now(), clock: () => clock.now(), isDryRun: false, sink: ledger });
    expect(counts).toMatchObject({ claimed: 1, planned: 7, skipped: 0, duplicate: 0, failed: 0 });
    const rows = await api(app, 'GET', `/api/v1/deliveries?broadcast=${id}&pageSize=50`);
    expect(rows.body.items.map((d: { externalUserId: string }) => d.externalUserId).sort()).toEqual([...ids].sort());
    // A page that fails stops the run without an unhandled read ahead; the broadcast is retried.
    await app.container.db.query("UPDATE broadcasts SET status = 'scheduled', claim_token = NULL WHERE id = ?", [id]);
    let calls = 0;
    const failing = await paged.planner.planDue({
      now: clock.now(), clock: () => clock.now(), isDryRun: false,
      sink: { plan: (d) => ledger.plan(d), planMany: async (ds) => (++calls === 2 ? Promise.reject(new Error('ledger down')) : ledger.planMany(ds)) },
    });
    expect(failing).toMatchObject({ claimed: 1, planned: 0, duplicate: 2, failed: 0 });
  });

  it('fails with a reason, sending nothing, when the bot comes back more than two days after sendAt', async () => {
    clock.set(sh('2026-09-11T10:00:00'));
    const c = await customer('zhaoliu', '过期', '过期测试');
    await runJob();
    app.container.sandbox!.clearCalls();
    const created = await api(app, 'POST', '/api/v1/broadcasts', {
      name: '过期', audience: 'tag:过期测试', message: { text: '来晚了' }, sendAt: sh('2026-09-11T11:00:00').toISOString(),
    });
    // Down from 10:00 on the 11th until the 14th.
    clock.set(sh('2026-09-14T10:00:00'));
    expect((await runJob()).counts).toMatchObject({ claimed: 1, failed: 1, planned: 0, submittedTasks: 0 });
    const view = await api(app, 'GET', `/api/v1/broadcasts/${created.body.id}`);
    expect(view.body.status).toBe('failed');
    expect(view.body.reason).toMatch(/^missed_window/);
    expect(await ledgerOf(app.container.db, c)).toHaveLength(0);
    expect(await tasks()).toHaveLength(0);
  });

  it.runIf(engine === 'mysql')('two processes on one MySQL database run the job concurrently and plan once', async () => {
    clock.set(sh('2026-09-10T10:00:00'));
    const ids = [await customer('zhangsan', '双实例甲', '双实例'), await customer('lisi', '双实例乙', '双实例'), await customer('lisi', '双实例丙', '双实例')];
    await runJob();
    app.container.sandbox!.clearCalls();
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '双实例', audience: 'tag:双实例', message: { text: '两个实例' } });
    // A second container: its own connection pool and scheduler over the same database, talking to the same WeCom.
    const other = await buildContainer(app.config, silentLogger, { clock, registry: new Registry() });
    try {
      other.wecomClient.setApiBase(`${app.url}/sandbox`);
      // Four runs at once, each for its own minute so job_runs lets all of them through: only the broadcast's claim
      // stands between them.
      const at = (minutes: number) => ({ at: new Date(clock.now().getTime() + minutes * 60_000) });
      const runs = await Promise.all([
        m.scheduler.runNow('broadcasts', at(1)),
        other.scheduling.scheduler.runNow('broadcasts', at(2)),
        m.scheduler.runNow('broadcasts', at(3)),
        other.scheduling.scheduler.runNow('broadcasts', at(4)),
      ]);
      expect(runs.map((r) => r.error ?? r.status)).toEqual(['done', 'done', 'done', 'done']);
      expect(runs.reduce((n, r) => n + (r.counts!.claimed ?? 0), 0)).toBe(1);
      expect(runs.reduce((n, r) => n + (r.counts!.planned ?? 0), 0)).toBe(3);
      const sent = await tasks();
      expect(sent).toHaveLength(2);
      expect(sent.flatMap((t) => t.externalUserIds).sort()).toEqual([...ids].sort());
      expect((await api(app, 'GET', `/api/v1/deliveries?broadcast=${created.body.id}`)).body.total).toBe(3);
    } finally {
      await other.close();
    }
  });
});
