import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { buildCustomer } from '../../factories/customers.js';
import { addSandboxCustomer, insertStaff } from '../../fixtures/scheduling.js';
import { FixedClock } from '../../../src/shared/clock.js';
import type { NewStaffTask } from '../../../src/domain/todo/staff-task.types.js';

const sh = (local: string) => new Date(`${local}+08:00`);

interface Item {
  key: string;
  kind: string;
  id: string;
  kindWords: string;
  title: string;
  text: string;
  externalUserId: string | null;
  customerName: string | null;
  customerCount: number;
  isOverdue: boolean;
  dueWords: string;
  actions: string[];
}

// docs/todo.md: one list across staff tasks, notes due, feedback tickets and mass tasks waiting in 群发助手, narrowed to
// a customer; done / snooze / skip with a reason by the task's own member only (sidebar and API), audit-logged; the
// operators' completion report.

describe.each(testEngines())('今日待办 API (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-12-07T09:00:00'));
  let cookie = '';
  let lisiCookie = '';
  let zhangToken = '';
  let lisiToken = '';
  let operatorToken = '';
  let massCustomer = '';
  const ids: Record<string, string> = {};

  const sidebar = async (method: string, path: string, body?: unknown, as = cookie) => {
    const res = await fetch(`${app.url}${path}`, {
      method,
      headers: { cookie: as, 'x-requested-with': 'XMLHttpRequest', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const task = (ref: string, over: Partial<NewStaffTask> = {}): NewStaffTask => ({
    source: 'journey',
    sourceRef: ref,
    userid: 'zhangsan',
    externalUserId: 'wmTodoA',
    title: '第3天：亲自问候',
    text: '王女士您好，用得还习惯吗？',
    attachments: [],
    dueAt: sh('2026-12-07T10:00:00'),
    ...over,
  });
  const list = async (q = '', as = cookie) => (await sidebar('GET', `/sidebar/api/todo${q}`, undefined, as)).body as { date: string; items: Item[]; snoozed: (Item & { snoozedUntil: string })[]; counts: Record<string, number>; total: number };

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    await insertStaff(app.container.db, 'zhangsan', '张三');
    await buildCustomer(app.container, { externalUserId: 'wmTodoA', name: '王女士', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmTodoB', name: '李先生', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmTodoL', name: '赵女士', owners: ['lisi'] });
    cookie = `wo_sidebar=${app.container.http!.sidebarAuth.sessions.issue('zhangsan').token}`;
    lisiCookie = `wo_sidebar=${app.container.http!.sidebarAuth.sessions.issue('lisi').token}`;
    zhangToken = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    lisiToken = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    operatorToken = (await app.container.tokens.create({ role: 'operator', userid: 'wangwu' })).token;

    const t = app.container.todo.tasks;
    ids.today = (await t.create(task('m1:2'))).task.id;
    ids.yesterday = (await t.create(task('m2:2', { externalUserId: 'wmTodoB', title: '第7天：问问使用感受', dueAt: sh('2026-12-06T10:00:00') }))).task.id;
    ids.tomorrow = (await t.create(task('m3:2', { dueAt: sh('2026-12-08T10:00:00') }))).task.id;
    ids.lisi = (await t.create(task('m4:2', { userid: 'lisi', externalUserId: 'wmTodoL' }))).task.id;
    const zs = { role: 'staff' as const, userid: 'zhangsan' };
    ids.noteOld = (await app.container.archive.notes.add('wmTodoA', { text: '回访：上次说要考虑一下', dueDate: '2026-12-05' }, zs)).id;
    ids.noteToday = (await app.container.archive.notes.add('wmTodoB', { text: '确认收货地址', dueDate: '2026-12-07' }, zs)).id;
    await app.container.archive.notes.add('wmTodoB', { text: '下周再说', dueDate: '2026-12-09' }, zs);
    await app.container.archive.notes.add('wmTodoL', { text: '李四的', dueDate: '2026-12-07' }, { role: 'staff', userid: 'lisi' });
    const ticket = await app.container.feedback.record('wmTodoB', { text: '收到的杯子有破损', requestId: 'todo-ticket-1' }, zs, 'zhangsan');
    ids.ticket = String(ticket.ticket.id);
    // A broadcast makes a mass task in zhangsan's 群发助手 that waits for their confirmation.
    massCustomer = await addSandboxCustomer(app.container, 'zhangsan', { name: '群发客户' });
    expect((await api(app, 'POST', `/api/v1/customers/${massCustomer}/tags`, { add: ['待办群发'], remove: [] })).status).toBe(200);
    expect((await api(app, 'POST', '/api/v1/broadcasts', { name: '双十二预告', audience: 'tag:待办群发', message: { text: '双十二会员专享' } })).status).toBe(201);
    clock.advance(60_000);
    expect((await app.container.scheduling.scheduler.runNow('broadcasts')).counts).toMatchObject({ submittedTasks: 1 });
  }, 90_000);
  afterAll(() => app?.close());

  it("lists the member's day across sources, overdue first, in zh-CN, and leaves out tomorrow's and others' work", async () => {
    const l = await list();
    expect(l.date).toBe('2026-12-07');
    const keys = l.items.map((i) => i.key);
    expect(keys).toEqual(expect.arrayContaining([`task:${ids.today}`, `task:${ids.yesterday}`, `note:${ids.noteOld}`, `note:${ids.noteToday}`, `ticket:${ids.ticket}`]));
    expect(keys).not.toContain(`task:${ids.tomorrow}`);
    expect(keys).not.toContain(`task:${ids.lisi}`);
    expect(l.items.filter((i) => i.kind === 'note')).toHaveLength(2);
    expect(l.counts).toEqual({ task: 2, note: 2, ticket: 1, mass_task: 1 });
    // Overdue first: yesterday's task and the note due on the 5th.
    expect(l.items.slice(0, 2).map((i) => i.key).sort()).toEqual([`note:${ids.noteOld}`, `task:${ids.yesterday}`].sort());
    const byKey = new Map(l.items.map((i) => [i.key, i]));
    expect(byKey.get(`task:${ids.today}`)).toMatchObject({ kindWords: '旅程任务', title: '第3天：亲自问候', customerName: '王女士', isOverdue: false, dueWords: '今天 10:00 前', actions: ['send', 'done', 'snooze', 'skip'] });
    expect(byKey.get(`task:${ids.yesterday}`)).toMatchObject({ isOverdue: true, dueWords: '已逾期 1 天', customerName: '李先生' });
    expect(byKey.get(`note:${ids.noteOld}`)).toMatchObject({ kindWords: '跟进提醒', isOverdue: true, dueWords: '已逾期 2 天（2026-12-05）', actions: ['note_done'] });
    expect(byKey.get(`ticket:${ids.ticket}`)).toMatchObject({ kindWords: '客户反馈', text: '收到的杯子有破损', actions: ['open_ticket'], customerName: '李先生' });
    const mass = l.items.find((i) => i.kind === 'mass_task')!;
    expect(mass).toMatchObject({ kindWords: '群发待确认', title: '在群发助手中确认发送「群发消息」给 群发客户', text: '双十二会员专享', customerCount: 1, actions: ['remind_mass'] });
  });

  it("narrows to the chat's customer", async () => {
    const a = await list('?externalUserId=wmTodoA');
    expect(a.items.map((i) => i.key).sort()).toEqual([`note:${ids.noteOld}`, `task:${ids.today}`].sort());
    const b = await list('?externalUserId=wmTodoB');
    expect(b.items.map((i) => i.kind).sort()).toEqual(['note', 'task', 'ticket']);
    expect((await list(`?externalUserId=${massCustomer}`)).items.map((i) => i.kind)).toEqual(['mass_task']);
    // Another member's customer shows nothing of zhangsan's.
    expect((await list('?externalUserId=wmTodoL')).items).toEqual([]);
  });

  it("lets no one but the task's member close it, from the sidebar or the API", async () => {
    expect((await sidebar('POST', `/sidebar/api/todo/tasks/${ids.today}/done`, {}, lisiCookie)).status).toBe(404);
    expect((await api(app, 'POST', `/api/v1/todo/tasks/${ids.today}/done`, {}, lisiToken)).status).toBe(404);
    expect((await api(app, 'POST', `/api/v1/todo/tasks/${ids.today}/skip`, { reason: '不想做' }, lisiToken)).status).toBe(404);
    expect((await api(app, 'GET', `/api/v1/todo/tasks/${ids.today}`, undefined, lisiToken)).status).toBe(404);
    const op = await api(app, 'POST', `/api/v1/todo/tasks/${ids.today}/done`, {}, operatorToken);
    expect(op.status).toBe(403);
    expect(op.body.error.message).toBe('只能处理自己的待办');
    // Operators read any member's list; staff only their own.
    expect((await api(app, 'GET', '/api/v1/todo/today?userid=zhangsan', undefined, operatorToken)).body.counts.task).toBe(2);
    expect((await api(app, 'GET', '/api/v1/todo/today?userid=zhangsan', undefined, lisiToken)).body.items.map((i: Item) => i.key)).toEqual([`task:${ids.lisi}`, expect.stringMatching(/^note:/)]);
    expect((await list('', lisiCookie)).items.some((i) => i.key === `task:${ids.today}`)).toBe(false);
    expect((await app.container.todo.tasks.byIds([ids.today])).get(ids.today)!.status).toBe('open');
  });

  it('snoozes a task out of the list until its time, skips one only with a reason, and closes one as done; each audit-logged', async () => {
    const past = await sidebar('POST', `/sidebar/api/todo/tasks/${ids.today}/snooze`, { until: sh('2026-12-07T08:00:00').toISOString() });
    expect(past.status).toBe(400);
    expect(past.body.error.message).toBe('推迟到的时间必须晚于现在');
    const snoozed = await sidebar('POST', `/sidebar/api/todo/tasks/${ids.today}/snooze`, { until: sh('2026-12-07T14:00:00').toISOString() });
    expect(snoozed.status).toBe(200);
    let l = await list();
    expect(l.items.some((i) => i.key === `task:${ids.today}`)).toBe(false);
    expect(l.snoozed.map((i) => [i.key, i.dueWords])).toEqual([[`task:${ids.today}`, '已推迟到 今天 14:00']]);
    clock.set(sh('2026-12-07T14:01:00'));
    l = await list();
    expect(l.items.some((i) => i.key === `task:${ids.today}`)).toBe(true);
    expect(l.snoozed).toEqual([]);

    const noReason = await sidebar('POST', `/sidebar/api/todo/tasks/${ids.yesterday}/skip`, { reason: ' ' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.message).toContain('请填写跳过原因');
    expect(noReason.body.error.details.fields.reason).toContain('请填写跳过原因');
    expect((await sidebar('POST', `/sidebar/api/todo/tasks/${ids.yesterday}/skip`, { reason: '客户出差，下周再联系' })).body).toMatchObject({ status: 'skipped', statusWords: '已跳过', skipReason: '客户出差，下周再联系' });
    expect((await api(app, 'POST', `/api/v1/todo/tasks/${ids.today}/done`, {}, zhangToken)).body).toMatchObject({ status: 'done', statusWords: '已完成' });
    const again = await sidebar('POST', `/sidebar/api/todo/tasks/${ids.today}/done`, {});
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'task_closed', message: '这项待办已完成' });
    // What is left is tomorrow's task, in the list now that it is due within 24 hours.
    expect((await list()).items.filter((i) => i.kind === 'task').map((i) => [i.key, i.dueWords])).toEqual([[`task:${ids.tomorrow}`, '明天 10:00 前']]);

    const audit = await app.container.db.query<{ action: string; target_id: string }>("SELECT action, target_id FROM audit_log WHERE action LIKE 'todo.%' ORDER BY id");
    expect(audit.map((a) => a.action)).toEqual(['todo.task.snooze', 'todo.task.skip', 'todo.task.done']);
  });

  it("marks a note done from the list (the author's own only) and reminds the member of a mass task through WeCom", async () => {
    expect((await sidebar('POST', `/sidebar/api/todo/notes/${ids.noteOld}/done`, {}, lisiCookie)).status).toBe(404);
    expect((await sidebar('POST', `/sidebar/api/todo/notes/${ids.noteOld}/done`, {})).status).toBe(200);
    expect((await list()).items.some((i) => i.key === `note:${ids.noteOld}`)).toBe(false);

    const mass = (await list()).items.find((i) => i.kind === 'mass_task')!;
    expect((await sidebar('POST', `/sidebar/api/todo/mass-tasks/${mass.id}/remind`, {}, lisiCookie)).status).toBe(404);
    const r = await sidebar('POST', `/sidebar/api/todo/mass-tasks/${mass.id}/remind`, {});
    expect(r.body).toMatchObject({ reminded: true });
    expect(r.body.message).toContain('已提醒 1 位成员');
    expect(app.container.sandbox!.calls('externalcontact/remind_groupmsg_send')).toHaveLength(1);
    // Once the member sends it from 群发助手 and the results poll reads it, it leaves the list.
    const msgid = (await app.container.db.query<{ msgid: string }>('SELECT msgid FROM delivery_batches WHERE id = ?', [mass.id]))[0].msgid;
    const res = await fetch(`${app.url}/sandbox/_control/groupmsg/confirm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ msgid, userid: 'zhangsan' }) });
    expect(res.status).toBe(200);
    clock.advance(30 * 60_000);
    await app.container.scheduling.scheduler.runNow('delivery-results');
    expect((await list()).items.some((i) => i.kind === 'mass_task')).toBe(false);
  });

  it('creates a manual task once per request id; staff only for themselves', async () => {
    const body = { requestId: 'manual-req-0001', externalUserId: 'wmTodoA', title: '寄样品', text: '样品已寄出，请查收', dueAt: sh('2026-12-07T18:00:00').toISOString() };
    const first = await api(app, 'POST', '/api/v1/todo/tasks', body, zhangToken);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ source: 'manual', userid: 'zhangsan', created: true });
    const again = await api(app, 'POST', '/api/v1/todo/tasks', body, zhangToken);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: first.body.id, created: false });
    expect((await api(app, 'POST', '/api/v1/todo/tasks', { ...body, requestId: 'manual-req-0002', userid: 'lisi' }, zhangToken)).status).toBe(403);
    // A customer the member does not follow is not theirs to plan for.
    expect((await api(app, 'POST', '/api/v1/todo/tasks', { ...body, requestId: 'manual-req-0003', externalUserId: 'wmTodoL' }, zhangToken)).status).toBe(404);
    const bad = await api(app, 'POST', '/api/v1/todo/tasks', { ...body, requestId: 'manual-req-0004', title: '' }, zhangToken);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('请填写任务标题');
    const byOperator = await api(app, 'POST', '/api/v1/todo/tasks', { ...body, requestId: 'manual-req-0005', userid: 'lisi', externalUserId: 'wmTodoL' }, operatorToken);
    expect(byOperator.body).toMatchObject({ userid: 'lisi', created: true });
    expect((await list()).items.find((i) => i.key === `task:${first.body.id}`)).toMatchObject({ kindWords: '员工任务', title: '寄样品' });
  });

  it('reports completion per member to operators: done, late, skipped, overdue', async () => {
    clock.set(sh('2026-12-09T09:00:00'));
    expect((await api(app, 'GET', '/api/v1/todo/completion?from=2026-12-01&to=2026-12-08', undefined, zhangToken)).status).toBe(403);
    const bad = await api(app, 'GET', '/api/v1/todo/completion?from=2026-12-08&to=2026-12-01', undefined, operatorToken);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('结束日期不能早于开始日期');
    const r = await api(app, 'GET', '/api/v1/todo/completion?from=2026-12-01&to=2026-12-08', undefined, operatorToken);
    expect(r.status).toBe(200);
    const row = (u: string) => (r.body.items as { userid: string }[]).find((x) => x.userid === u);
    // zhangsan: today's (done at 14:01, after 10:00: late), yesterday's (skipped), tomorrow's (open, now past due),
    // the manual one (open, past due).
    expect(row('zhangsan')).toMatchObject({ name: '张三', total: 4, done: 1, late: 1, skipped: 1, overdue: 2, open: 2, donePercent: 25 });
    expect(row('lisi')).toMatchObject({ total: 2, done: 0, overdue: 2 });
    const one = await api(app, 'GET', '/api/v1/todo/completion?from=2026-12-08&to=2026-12-08&userid=zhangsan', undefined, operatorToken);
    expect(one.body.items).toEqual([expect.objectContaining({ userid: 'zhangsan', total: 1, overdue: 1 })]);
  });
});
