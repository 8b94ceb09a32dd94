import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { buildScheduling, type SchedulingModule } from '../../../src/container.js';
import { addSandboxCustomer, ledgerOf } from '../../fixtures/scheduling.js';

const sh = (local: string) => new Date(`${local}+08:00`);

describe.each(testEngines())('care job on %s', (engine) => {
  let app: TestApp;
  let m: SchedulingModule;
  const clock = new FixedClock(sh('2026-03-15T09:00:00'));
  const calls = (api: string) => app.container.sandbox!.calls(api);

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    m = app.container.scheduling;
  });
  afterAll(() => app?.close());

  it('plans a solar birthday, submits one mass task for the owner, and a second run of the occasion sends nothing', async () => {
    clock.set(sh('2026-03-15T09:00:00'));
    const id = await addSandboxCustomer(app.container, 'zhangsan', { name: '王小明', birthday: { calendar: 'solar', month: 3, day: 15 } });
    app.container.sandbox!.clearCalls();

    const first = await m.scheduler.runNow('care');
    expect(first.status).toBe('done');
    expect(first.occasionKey).toBe('2026-03-15');
    const tasks = calls('externalcontact/add_msg_template');
    expect(tasks).toHaveLength(1);
    expect(tasks[0].params).toMatchObject({ sender: 'zhangsan', external_userid: [id] });
    expect(JSON.stringify(tasks[0].params.text)).toContain('王小明，生日快乐');
    // The owner is reminded by app message to confirm the task (docs/wecom-protocol.md §App messages to staff).
    expect(calls('message/send').some((c) => (c.params as { touser?: string }).touser === 'zhangsan')).toBe(true);
    const [row] = await ledgerOf(app.container.db, id);
    expect(row).toMatchObject({ status: 'submitted', occasion: 'birthday:2026' });
    expect(row.msgid).toBeTruthy();

    // Again by hand, and as a (late) cron fire of the same slot: the occasion is already claimed.
    expect((await m.scheduler.runNow('care')).status).toBe('skipped');
    expect((await m.scheduler.fire('care', sh('2026-03-15T09:00:00'))).status).toBe('skipped');
    // Even bypassing the claim, the ledger's unique key plans nothing new and nothing is sent twice.
    const again = await m.jobs.get('care').run({
      at: clock.now(), clock, occasionKey: '2026-03-15', isDryRun: false, runId: null, log: app.log, report: () => undefined,
    });
    expect(again).toMatchObject({ planned: 0, duplicate: 1, submittedTasks: 0 });
    expect(calls('externalcontact/add_msg_template')).toHaveLength(1);
    expect(await ledgerOf(app.container.db, id)).toHaveLength(1);
  });

  it('a dry run prints what it would send and sends and records nothing', async () => {
    clock.set(sh('2026-04-02T09:00:00'));
    const id = await addSandboxCustomer(app.container, 'lisi', { name: '陈晨', birthday: { calendar: 'solar', month: 4, day: 2 } });
    app.container.sandbox!.clearCalls();

    const out = await m.scheduler.runNow('care', { isDryRun: true });
    expect(out.status).toBe('dry-run');
    expect(out.lines.some((l) => l.includes(id) && l.includes('陈晨，生日快乐'))).toBe(true);
    expect(await ledgerOf(app.container.db, id)).toHaveLength(0);
    expect(calls('externalcontact/add_msg_template')).toHaveLength(0);
    expect(await m.repos.jobRuns.findByOccasion('care', '2026-04-02')).toBeNull();
    // The real run afterwards still happens (the dry run claimed nothing).
    expect((await m.scheduler.runNow('care')).status).toBe('done');
    expect(calls('externalcontact/add_msg_template')).toHaveLength(1);
  });

  it('quiet hours hold due messages until the window ends', async () => {
    const quiet = buildScheduling(app.container, { settings: { quietHours: { start: '21:00', end: '09:30' } }, instanceId: 'quiet-test' });
    clock.set(sh('2026-05-06T09:10:00'));
    const id = await addSandboxCustomer(app.container, 'wangwu', { name: '赵敏', birthday: { calendar: 'solar', month: 5, day: 6 } });
    app.container.sandbox!.clearCalls();

    const run = await quiet.scheduler.runNow('care');
    expect(run.counts).toMatchObject({ planned: 1, deferredQuiet: 1, submittedTasks: 0 });
    expect((await ledgerOf(app.container.db, id))[0].status).toBe('planned');
    expect(calls('externalcontact/add_msg_template')).toHaveLength(0);

    clock.set(sh('2026-05-06T09:32:00'));
    const later = await quiet.scheduler.runNow('delivery-results');
    expect(later.counts).toMatchObject({ submittedTasks: 1 });
    expect((await ledgerOf(app.container.db, id))[0].status).toBe('submitted');
  });

  it('when two rules hit one customer the same day the higher priority wins; the other is skipped with the reason', async () => {
    clock.set(sh('2026-10-01T09:00:00'));
    const id = await addSandboxCustomer(app.container, 'zhaoliu', { name: '国庆生', birthday: { calendar: 'solar', month: 10, day: 1 } });
    await m.scheduler.runNow('care');
    const rows = await ledgerOf(app.container.db, id);
    const birthday = rows.find((r) => r.occasion === 'birthday:2026')!;
    const holiday = rows.find((r) => r.occasion === 'holiday:national-day:2026')!;
    expect(birthday.status).toBe('submitted');
    expect(holiday.status).toBe('skipped');
    expect(holiday.reason).toMatch(/^daily_cap/);
  });

  it("WeCom's per-customer quota (one per day) skips the second message with the reason", async () => {
    const oneADay = buildScheduling(app.container, { settings: { perCustomerPerDay: 5, massQuotaRule: 'one_per_day' }, instanceId: 'quota-test' });
    clock.set(sh('2027-10-01T09:00:00'));
    const id = await addSandboxCustomer(app.container, 'sunqi', { name: '配额君', birthday: { calendar: 'solar', month: 10, day: 1 } });
    await oneADay.scheduler.runNow('care');
    const rows = await ledgerOf(app.container.db, id);
    expect(rows.find((r) => r.occasion === 'birthday:2027')?.status).toBe('submitted');
    const holiday = rows.find((r) => r.occasion === 'holiday:national-day:2027')!;
    expect(holiday.status).toBe('skipped');
    expect(holiday.reason).toMatch(/^wecom_quota.*one_per_day/);
  });

  it("records the sandbox's confirmation: sent, and quota status 3 as over_quota", async () => {
    clock.set(sh('2026-06-10T09:00:00'));
    const a = await addSandboxCustomer(app.container, 'lisi', { name: '甲', birthday: { calendar: 'solar', month: 6, day: 10 } });
    const b = await addSandboxCustomer(app.container, 'lisi', { name: '乙', birthday: { calendar: 'solar', month: 6, day: 10 } });
    // b already received this month's allowance from other mass messages (docs/wecom-protocol.md §Mass message quota:
    // days of month).
    app.container.sandbox!.store.massReceipts.set(b, Array.from({ length: 30 }, () => clock.now().getTime() - 3600_000));
    await m.scheduler.runNow('care');
    for (const id of [a, b]) {
      const [row] = await ledgerOf(app.container.db, id);
      expect(row.status).toBe('submitted');
      app.container.sandbox!.confirmGroupMsg({ msgid: row.msgid!, userid: 'lisi' });
    }
    clock.set(sh('2026-06-10T09:20:00'));
    const polled = await m.scheduler.runNow('delivery-results');
    expect(polled.counts).toMatchObject({ results_sent: 1, results_overQuota: 1 });
    expect((await ledgerOf(app.container.db, a))[0].status).toBe('sent');
    const [over] = await ledgerOf(app.container.db, b);
    expect(over.status).toBe('over_quota');
    expect(over.reason).toContain('status 3');
  });

  it('a KF care rule replies inside the open 48 h window and skips a customer whose window is closed', async () => {
    clock.set(sh('2026-05-20T09:00:00'));
    const created = await api(app, 'POST', '/api/v1/care-rules', {
      name: '客服生日问候',
      occasion: { type: 'birthday' },
      template: '{{name}}，生日快乐！客服小助手祝你开心。',
      channel: 'kf',
      priority: 900,
      sendTime: '09:00',
    });
    expect(created.status).toBe(201);
    const talking = await addSandboxCustomer(app.container, 'zhangsan', { name: '客服甲', birthday: { calendar: 'solar', month: 5, day: 20 } });
    const silent = await addSandboxCustomer(app.container, 'zhangsan', { name: '客服乙', birthday: { calendar: 'solar', month: 5, day: 20 } });
    // 客服甲 wrote to the KF account yesterday evening: the window is open
    // (docs/wecom-protocol.md §WeChat customer service: 48 h after a message).
    clock.set(sh('2026-05-19T20:00:00'));
    await app.container.sandbox!.sendKfMessage({ openKfId: 'wkSandboxKf01', externalUserId: talking, text: '你好，在吗？' });
    await app.container.inboxProcessor.drain();
    clock.set(sh('2026-05-20T09:00:00'));
    app.container.sandbox!.clearCalls();

    expect((await m.scheduler.runNow('care')).status).toBe('done');
    const sent = calls('kf/send_msg');
    expect(sent).toHaveLength(1);
    expect(sent[0].params).toMatchObject({ touser: talking, open_kfid: 'wkSandboxKf01' });
    expect(JSON.stringify(sent[0].params)).toContain('客服甲，生日快乐！客服小助手祝你开心。');
    const kfRule = created.body.id as string;
    const talkingRows = (await ledgerOf(app.container.db, talking)).filter((r) => r.source === `care:${kfRule}`);
    expect(talkingRows).toMatchObject([{ status: 'sent' }]);
    const silentRows = (await ledgerOf(app.container.db, silent)).filter((r) => r.source === `care:${kfRule}`);
    expect(silentRows).toHaveLength(1);
    expect(silentRows[0].status).toBe('skipped');
    expect(silentRows[0].reason).toContain('48');
  });

  it('reminds the note\'s staff member on its due date once, and again after the note is moved to a new date', async () => {
    clock.set(sh('2026-07-14T08:00:00'));
    const id = await addSandboxCustomer(app.container, 'wangwu', { name: '周周' });
    const note = await api(app, 'POST', `/api/v1/customers/${id}/notes`, { text: '回访试用感受', dueDate: '2026-07-14', userid: 'wangwu' });
    expect(note.status).toBe(201);
    const reminders = () => calls('message/send').filter((c) => JSON.stringify(c.params).includes('回访试用感受'));

    clock.set(sh('2026-07-14T09:00:00'));
    expect((await m.scheduler.runNow('care')).status).toBe('done');
    const first = (await ledgerOf(app.container.db, id)).filter((r) => r.occasion.startsWith('note:'));
    expect(first).toHaveLength(1);
    expect(reminders().length).toBeGreaterThan(0);
    expect(reminders().every((c) => (c.params as { touser?: string }).touser === 'wangwu')).toBe(true);
    const sentOnce = reminders().length;

    // Not done yet: the staff member moves it two days on. The new date is a new reminder; the old one stays single.
    expect((await api(app, 'PATCH', `/api/v1/notes/${note.body.id}`, { dueDate: '2026-07-16' })).status).toBe(200);
    clock.set(sh('2026-07-16T09:00:00'));
    await m.scheduler.runNow('care');
    await m.jobs.get('care').run({ at: clock.now(), clock, occasionKey: '2026-07-16', isDryRun: false, runId: null, log: app.log, report: () => undefined });
    const rows = (await ledgerOf(app.container.db, id)).filter((r) => r.occasion.startsWith('note:'));
    expect(rows.map((r) => r.occasion)).toEqual([`note:${note.body.id}:2026-07-14`, `note:${note.body.id}:2026-07-16`]);
    expect(reminders().length).toBe(sentOnce * 2);
  });
});
