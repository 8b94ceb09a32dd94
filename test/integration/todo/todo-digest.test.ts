import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { buildCustomer } from '../../factories/customers.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { buildScheduling } from '../../../src/container.js';
import { STAFF_MESSAGE_CAPS } from '../../../src/domain/notify/staff-messenger.js';

const sh = (local: string) => new Date(`${local}+08:00`);

// docs/todo.md §Morning digest: "今天有 N 项待办" to each member with items, once per member per day across instances
// (two schedulings on one database run the job and the service at the same moment), through the member's budget.

describe.each(testEngines())('今日待办 morning digest (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-12-07T09:30:00'));
  const digests = (userid: string) =>
    app.container.sandbox!.store.appMessages.filter((m) => m.touser.includes(userid) && !m.dropped.includes(userid)).map((m) => String((m.payload as { content: string }).content)).filter((t) => t.startsWith('【今日待办】'));

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    await buildCustomer(app.container, { externalUserId: 'wmDgA', name: '甲', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmDgB', name: '乙', owners: ['lisi'] });
    const t = app.container.todo.tasks;
    const base = { source: 'journey' as const, text: '', attachments: [], title: '问候' };
    await t.create({ ...base, sourceRef: 'd1', userid: 'zhangsan', externalUserId: 'wmDgA', dueAt: sh('2026-12-07T11:00:00') });
    await t.create({ ...base, sourceRef: 'd2', userid: 'zhangsan', externalUserId: 'wmDgA', dueAt: sh('2026-12-06T11:00:00') });
    // Tomorrow's is not today's.
    await t.create({ ...base, sourceRef: 'd3', userid: 'zhangsan', externalUserId: 'wmDgA', dueAt: sh('2026-12-08T11:00:00') });
    await t.create({ ...base, sourceRef: 'd4', userid: 'lisi', externalUserId: 'wmDgB', dueAt: sh('2026-12-07T15:00:00') });
    await app.container.archive.notes.add('wmDgA', { text: '回访', dueDate: '2026-12-07' }, { role: 'staff', userid: 'zhangsan' });
  }, 60_000);
  afterAll(() => app?.close());

  it('is scheduled at 09:30 by default, at another time when the settings say so', () => {
    expect(app.container.scheduling.jobs.all().find((j) => j.name === 'todo-digest')?.schedule).toBe('30 9 * * *');
    const c = app.container;
    const eight = buildScheduling(c, { instanceId: 'configured', clock, settings: { schedules: { ...c.scheduling.settings.schedules, 'todo-digest': '0 8 * * *' } } });
    expect(eight.jobs.all().find((j) => j.name === 'todo-digest')?.schedule).toBe('0 8 * * *');
  });

  it('sends each member one digest a day, however many instances run it at once', async () => {
    const c = app.container;
    const other = buildScheduling(c, { instanceId: 'second-instance', clock });
    await Promise.all([c.scheduling.scheduler.runNow('todo-digest'), other.scheduler.runNow('todo-digest'), c.todo.service.sendDigests('third'), c.todo.service.sendDigests('fourth')]);
    expect(digests('zhangsan')).toEqual(['【今日待办】今天有 3 项待办：任务 2 项、跟进提醒 1 项。打开与客户的聊天，在侧边栏「今日待办」中处理。']);
    expect(digests('lisi')).toEqual(['【今日待办】今天有 1 项待办：任务 1 项。打开与客户的聊天，在侧边栏「今日待办」中处理。']);
    const rows = await c.db.query<{ userid: string; local_date: string; item_count: number | string; outcome: string }>('SELECT userid, local_date, item_count, outcome FROM todo_digests ORDER BY userid');
    expect(rows.map((r) => [r.userid, r.local_date, Number(r.item_count), r.outcome])).toEqual([
      ['lisi', '2026-12-07', 1, 'sent'],
      ['zhangsan', '2026-12-07', 3, 'sent'],
    ]);
    // Later the same day: nothing new.
    clock.set(sh('2026-12-07T16:00:00'));
    expect(await c.todo.service.sendDigests('later')).toMatchObject({ sent: 0, already: 2 });
    expect(digests('zhangsan')).toHaveLength(1);
  });

  it('sends again the next day, with that day\'s count', async () => {
    clock.set(sh('2026-12-08T09:30:00'));
    await app.container.scheduling.scheduler.runNow('todo-digest');
    // zhangsan: the two of yesterday (still open, overdue), tomorrow's which is now today's, and the overdue note.
    expect(digests('zhangsan').at(-1)).toBe('【今日待办】今天有 4 项待办：任务 3 项、跟进提醒 1 项。打开与客户的聊天，在侧边栏「今日待办」中处理。');
    expect(digests('zhangsan')).toHaveLength(2);
  });

  it("waits in the member's staff digest when they are over their app message cap, never dropped", async () => {
    clock.set(sh('2026-12-09T09:30:00'));
    const c = app.container;
    // lisi has had 15 app messages this minute: WeCom's per-member cap as the messenger counts it.
    for (let i = 0; i < 15; i++) expect(await c.repos.staffMessages.reserve('lisi', clock.now().getTime(), STAFF_MESSAGE_CAPS)).toBe(true);
    const before = digests('lisi').length;
    await c.scheduling.scheduler.runNow('todo-digest');
    expect(digests('lisi')).toHaveLength(before);
    const [row] = await c.db.query<{ outcome: string }>("SELECT outcome FROM todo_digests WHERE userid = 'lisi' AND local_date = '2026-12-09'");
    expect(row.outcome).toBe('deferred');
    // The next minute the staff digest job sends what waited.
    clock.advance(60_000);
    await c.scheduling.scheduler.runNow('staff-digest');
    const all = c.sandbox!.store.appMessages.filter((m) => m.touser.includes('lisi')).map((m) => String((m.payload as { content: string }).content));
    expect(all.at(-1)).toContain('今天有 1 项待办');
  });
});
