import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * A 4-step onboarding journey end to end against the sandbox with a fake clock (docs/journeys.md): a customer added
 * through a channel (a real callback over HTTP) gets step 1 at once and step 2 the next day at 10:00, both as mass-send
 * tasks their owner confirms in the sandbox and WeCom reports sent; step 3 is a staff task in the owner's to-do list,
 * done by the owner; an order imported before step 4 exits them with reason `ordered`; the stats show 1 entered,
 * 3 steps done and 1 exit because they ordered. The sidebar's 客户已回复 route ends a second customer's membership.
 */
describe.each(testEngines())('onboarding journey end to end (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-07-01T14:00:00'));
  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${app.url}/sandbox/_control/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as any;
    expect(res.status, JSON.stringify(json)).toBe(200);
    return json;
  };
  const tick = async () => {
    const out = await app.container.scheduling.scheduler.runNow('journeys');
    expect(out.status, JSON.stringify(out)).toBe('done');
    return out.counts as Record<string, number>;
  };
  const ledger = async (journeyId: string) =>
    app.container.db.query<{ id: number | string; status: string; occasion: string; msgid: string | null; text: string; sender_userid: string }>(
      'SELECT id, status, occasion, msgid, text, sender_userid FROM deliveries WHERE source = ? ORDER BY id',
      [`journey:${journeyId}`],
    );
  const confirmAndReport = async (msgid: string, reportAt: string) => {
    expect(await control('groupmsg/confirm', { msgid, userid: 'zhangsan' })).toMatchObject({ sent: 1 });
    clock.set(sh(reportAt));
    expect((await app.container.scheduling.scheduler.runNow('delivery-results')).status).toBe('done');
  };

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
  }, 60_000);
  afterAll(() => app?.close());

  it('welcome at once, guide the next day at 10:00, a staff task, and an order exits them before the offer', async () => {
    // The channel and the journey, over the API. Bad input first: zh-CN errors.
    const channel = await api(app, 'POST', '/api/v1/channels', { name: '门店新客', staff: ['zhangsan'] });
    expect(channel.status, JSON.stringify(channel.body)).toBe(201);
    const bad = await api(app, 'POST', '/api/v1/journeys', { name: '新客旅程', definition: { trigger: { kind: 'channel', channelIds: [] }, steps: [] } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('请至少选择一个渠道');
    expect(JSON.stringify(bad.body)).toContain('至少一个步骤');

    const created = await api(app, 'POST', '/api/v1/journeys', {
      name: '新客四步旅程',
      conversionDays: 14,
      definition: {
        trigger: { kind: 'channel', channelIds: [channel.body.id] },
        steps: [
          { kind: 'message', title: '欢迎', delay: { kind: 'after', minutes: 0 }, text: '{{name}}，欢迎来到门店！我是{{staff}}。' },
          { kind: 'message', title: '产品指南', delay: { kind: 'at', days: 1, time: '10:00' }, text: '{{name}}，这是产品使用指南' },
          { kind: 'task', title: '第3天：亲自问候', delay: { kind: 'at', days: 2, time: '10:00' }, text: '{{name}} 您好，用得还习惯吗？', dueHours: 24 },
          { kind: 'message', title: '第7天优惠', delay: { kind: 'at', days: 4, time: '10:00' }, text: '送您一张新客券' },
        ],
        exits: { replied: true, ordered: true },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const journey = created.body;
    expect(journey).toMatchObject({ status: 'draft', statusWords: '草稿', currentVersion: 1, triggerWords: '通过渠道添加' });
    expect(journey.steps.map((s: any) => `${s.kindWords}/${s.delayWords}`)).toEqual(['自动消息/立即', '自动消息/次日 10:00', '员工任务/2 天后 10:00', '自动消息/4 天后 10:00']);
    expect((await api(app, 'POST', `/api/v1/journeys/${journey.id}/status`, { status: 'active' })).body).toMatchObject({ status: 'active', statusWords: '进行中' });

    // D0 14:00: a customer scans the channel's code and adds 张三 (the sandbox calls back over HTTP).
    const added = await control('customers/add', { userid: 'zhangsan', state: channel.body.state, name: '新客小林' });
    const ext: string = added.externalUserId;
    await app.container.inboxProcessor.drain();
    app.container.sandbox!.clearCalls();
    const first = await tick();
    expect(first).toMatchObject({ entered: 1, claimed: 1, planned: 1 });
    let rows = await ledger(journey.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'submitted', sender_userid: 'zhangsan', text: '新客小林，欢迎来到门店！我是张三。' });
    const tasks = app.container.sandbox!.calls('externalcontact/add_msg_template');
    expect(tasks).toHaveLength(1);
    expect(tasks[0].params).toMatchObject({ sender: 'zhangsan', external_userid: [ext] });

    // 张三 sends it; WeCom reports it sent; the next tick records step 1 done.
    await confirmAndReport(rows[0].msgid!, '2026-07-01T14:20:00');
    expect((await ledger(journey.id))[0].status).toBe('sent');
    await tick();
    const member = (await api(app, 'GET', `/api/v1/journeys/${journey.id}/members`)).body.items[0];
    expect(member).toMatchObject({ externalUserId: ext, ownerUserid: 'zhangsan', status: 'active', currentStep: 1, nextDueAt: sh('2026-07-02T10:00:00').toISOString() });
    let detail = (await api(app, 'GET', `/api/v1/journeys/${journey.id}/members/${member.id}`)).body;
    expect(detail.runs).toMatchObject([{ stepIndex: 0, status: 'done', statusWords: '已完成' }]);

    // D1 09:59: nothing yet. 10:00: the guide.
    clock.set(sh('2026-07-02T09:59:00'));
    await tick();
    expect(await ledger(journey.id)).toHaveLength(1);
    clock.set(sh('2026-07-02T10:00:00'));
    expect(await tick()).toMatchObject({ claimed: 1, planned: 1 });
    rows = await ledger(journey.id);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ status: 'submitted', occasion: `m${member.id}:s1`, text: '新客小林，这是产品使用指南' });
    await confirmAndReport(rows[1].msgid!, '2026-07-02T10:20:00');
    await tick();

    // D3 10:00: the staff task, in 张三's to-do list, with an app-message reminder.
    clock.set(sh('2026-07-04T10:00:00'));
    app.container.sandbox!.clearCalls();
    expect(await tick()).toMatchObject({ claimed: 1, tasks: 1 });
    detail = (await api(app, 'GET', `/api/v1/journeys/${journey.id}/members/${member.id}`)).body;
    const taskRun = detail.runs.find((r: any) => r.stepIndex === 2);
    expect(taskRun).toMatchObject({ kind: 'task', status: 'waiting' });
    const task = (await app.container.todo.tasks.byIds([taskRun.taskId])).get(taskRun.taskId)!;
    expect(task).toMatchObject({ source: 'journey', sourceRef: `${member.id}:2`, userid: 'zhangsan', externalUserId: ext, title: '第3天：亲自问候', text: '新客小林 您好，用得还习惯吗？', status: 'open' });
    expect(app.container.sandbox!.calls('message/send').some((c) => (c.params as { touser?: string }).touser === 'zhangsan')).toBe(true);
    await app.container.todo.tasks.done(task.id, { role: 'staff', userid: 'zhangsan' });
    clock.set(sh('2026-07-04T15:00:00'));
    await tick();

    // D4: the customer orders (imported over the API), before step 4 is due.
    clock.set(sh('2026-07-05T12:30:00'));
    expect((await api(app, 'POST', '/api/v1/orders/import', { orders: [{ orderNo: `J-${engine}-1`, externalUserId: ext, amount: '199.00', orderedAt: '2026-07-05 12:00' }] })).status).toBe(200);

    // D7 10:00: step 4 would be due; they leave with reason `ordered` and get no offer.
    clock.set(sh('2026-07-08T10:00:00'));
    expect(await tick()).toMatchObject({ exited: 1, claimed: 0 });
    expect(await ledger(journey.id)).toHaveLength(2);
    const after = (await api(app, 'GET', `/api/v1/journeys/${journey.id}/members/${member.id}`)).body;
    expect(after).toMatchObject({ status: 'exited', exitReason: 'ordered', exitWords: '客户已下单' });
    expect(after.runs.map((r: any) => r.status)).toEqual(['done', 'done', 'done']);

    const stats = (await api(app, 'GET', `/api/v1/journeys/${journey.id}/stats`)).body;
    expect(stats.treated).toMatchObject({ entered: 1, exited: 1, converted: 1 });
    expect(stats.exitReasons).toEqual({ ordered: 1 });
    expect(stats.steps.reduce((a: number, s: any) => a + s.done, 0)).toBe(3);
    expect(stats.steps.map((s: any) => s.done)).toEqual([1, 1, 1, 0]);
    expect(stats.steps[3].exitedList).toEqual([{ reason: 'ordered', words: '客户已下单', n: 1 }]);
    // Every write over the API is in the audit log.
    const actions = (await app.container.db.query<{ action: string }>("SELECT action FROM audit_log WHERE action LIKE 'journeys.%' ORDER BY id")).map((r) => r.action);
    expect(actions).toEqual(['journeys.create', 'journeys.status']);
  }, 120_000);

  it('staff mark 客户已回复 for their own customer: the membership ends with reason replied; another member gets 404', async () => {
    clock.set(sh('2026-07-10T11:00:00'));
    const created = await api(app, 'POST', '/api/v1/journeys', {
      name: '手动旅程',
      definition: { trigger: { kind: 'manual' }, steps: [{ kind: 'message', title: '问候', delay: { kind: 'after', minutes: 60 }, text: '您好' }] },
    });
    const id = created.body.id;
    await api(app, 'POST', `/api/v1/journeys/${id}/status`, { status: 'active' });
    const added = await control('customers/add', { userid: 'zhangsan', name: '回复客户' });
    await app.container.inboxProcessor.drain();
    const enrol = await api(app, 'POST', `/api/v1/journeys/${id}/enrol`, { externalUserIds: [added.externalUserId, 'wmNoSuchCustomer'] });
    expect(enrol.body).toEqual({ entered: 1, already: 0, unknown: ['wmNoSuchCustomer'] });
    const lisi = await app.container.tokens.create({ name: 'lisi', role: 'staff', userid: 'lisi' });
    expect((await api(app, 'POST', `/api/v1/customers/${added.externalUserId}/replied`, undefined, lisi.token)).status).toBe(404);
    const zhangsan = await app.container.tokens.create({ name: 'zhangsan', role: 'staff', userid: 'zhangsan' });
    const res = await api(app, 'POST', `/api/v1/customers/${added.externalUserId}/replied`, undefined, zhangsan.token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ exited: 1 });
    const m = (await api(app, 'GET', `/api/v1/journeys/${id}/members`)).body.items[0];
    expect(m).toMatchObject({ status: 'exited', exitReason: 'replied', exitWords: '客户已回复' });
  });

  it('a member with an open journey task orders: the task leaves the owner\'s 今日待办 and the completion report does not count it', async () => {
    clock.set(sh('2026-07-12T10:00:00'));
    const created = await api(app, 'POST', '/api/v1/journeys', {
      name: '下单即退出',
      definition: {
        trigger: { kind: 'manual' },
        steps: [
          { kind: 'task', title: '第1天：亲自问候', delay: { kind: 'after', minutes: 0 }, text: '您好', dueHours: 2 },
          { kind: 'message', title: '优惠', delay: { kind: 'after', minutes: 60 * 24 }, text: '送您一张券' },
        ],
        exits: { ordered: true },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id;
    await api(app, 'POST', `/api/v1/journeys/${id}/status`, { status: 'active' });
    const added = await control('customers/add', { userid: 'zhangsan', name: '下单客户' });
    const ext: string = added.externalUserId;
    await app.container.inboxProcessor.drain();
    expect((await api(app, 'POST', `/api/v1/journeys/${id}/enrol`, { externalUserIds: [ext] })).body).toMatchObject({ entered: 1 });
    expect(await tick()).toMatchObject({ tasks: 1 });
    const zhangsan = await app.container.tokens.create({ name: 'zhangsan-todo', role: 'staff', userid: 'zhangsan' });
    const today = async () => (await api(app, 'GET', '/api/v1/todo/today', undefined, zhangsan.token)).body.items.filter((x: any) => x.title === '第1天：亲自问候');
    const open = await today();
    expect(open).toHaveLength(1);
    const taskId: string = open[0].id;

    // Past due and still open: overdue in the report.
    clock.set(sh('2026-07-12T13:00:00'));
    const report = async () => (await api(app, 'GET', '/api/v1/todo/completion?from=2026-07-12&to=2026-07-12')).body.items.find((r: any) => r.userid === 'zhangsan');
    expect(await report()).toMatchObject({ total: 1, overdue: 1, skipped: 0 });

    // The customer orders; the next tick lets them go and withdraws the task.
    expect((await api(app, 'POST', '/api/v1/orders/import', { orders: [{ orderNo: `J-${engine}-task`, externalUserId: ext, amount: '99.00', orderedAt: '2026-07-12 12:30' }] })).status).toBe(200);
    clock.set(sh('2026-07-13T10:00:00'));
    expect(await tick()).toMatchObject({ exited: 1 });
    expect(await today()).toEqual([]);
    const task = (await app.container.todo.tasks.byIds([taskId])).get(taskId)!;
    expect(task).toMatchObject({ status: 'withdrawn', skipReason: '客户已退出旅程（已下单）' });
    // Not the member's skipped or overdue work: the day has nothing on them.
    expect(await report()).toBeUndefined();
    // Tapping it on a stale screen answers why.
    const done = await api(app, 'POST', `/api/v1/todo/tasks/${taskId}/done`, undefined, zhangsan.token);
    expect(done.status).toBe(409);
    expect(JSON.stringify(done.body)).toContain('客户已退出旅程');
    // The step's run ends too (the tick read the task's state back): not left waiting forever.
    const m = (await api(app, 'GET', `/api/v1/journeys/${id}/members`)).body.items[0];
    const runs = (await api(app, 'GET', `/api/v1/journeys/${id}/members/${m.id}`)).body.runs;
    expect(m).toMatchObject({ status: 'exited', exitReason: 'ordered' });
    expect(runs[0]).toMatchObject({ status: 'skipped' });
  });
});
