import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { buildScheduling } from '../../../src/container.js';
import { addSandboxCustomer } from '../../fixtures/scheduling.js';
import { journeyInput } from '../../../src/domain/journeys/journey.schema.js';
import type { JourneyMembership } from '../../../src/domain/journeys/journey.types.js';

const sh = (local: string) => new Date(`${local}+08:00`);
const TITLE = '第1天：亲自问候';

/**
 * A journey task's reminder is owed by its row (docs/todo.md §Reminders): an instance that died after making the task
 * and before sending the reminder leaves it to the next tick's sweep; a send that died after its claim is sent again
 * once the claim is stale; two instances sweeping together send each once; a task closed first gets none. Counted in
 * the app messages WeCom (the sandbox, which has no duplicate check) received.
 */
describe.each(testEngines())('journey task reminders on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-06-01T11:00:00'));

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
  });
  afterAll(() => app?.close());

  const journey = async (name: string) => {
    const svc = app.container.journeys.service;
    const j = await svc.create(
      journeyInput.parse({
        name,
        definition: { trigger: { kind: 'manual' }, steps: [{ kind: 'task', title: TITLE, delay: { kind: 'after', minutes: 0 }, text: '{{name}} 您好，用得还习惯吗？', dueHours: 24 }] },
      }),
      'test',
    );
    await svc.setStatus(j.id, 'active');
    return j;
  };
  const enrol = async (journeyId: string, customers: { userid: string; name: string }[]): Promise<JourneyMembership[]> => {
    const ids: string[] = [];
    for (const c of customers) ids.push(await addSandboxCustomer(app.container, c.userid, { name: c.name }));
    expect(await app.container.journeys.service.enrol(journeyId, ids)).toMatchObject({ entered: ids.length });
    return (await app.container.journeys.service.members(journeyId, { page: 1, pageSize: 50 })).items;
  };
  /** What a dead instance did before it died: claimed the step and made its task, reminder owed, not sent. */
  const diedAfterTask = async (m: JourneyMembership, name: string) => {
    expect(await app.container.journeys.repo.claim(m, 0, 'task', 'dead-instance', clock.now())).not.toBeNull();
    const made = await app.container.journeys.tasks!.create({
      source: 'journey',
      sourceRef: `${m.id}:0`,
      userid: m.ownerUserid!,
      externalUserId: m.externalUserId,
      title: TITLE,
      text: `${name} 您好，用得还习惯吗？`,
      attachments: [],
      dueAt: new Date(clock.now().getTime() + 86_400_000),
      remind: true,
    });
    expect(made.created).toBe(true);
    return made.id;
  };
  /** The reminders of a journey WeCom received, as (recipient, text). */
  const reminders = (journeyName: string) =>
    app.container
      .sandbox!.store.appMessages.map((m) => ({ to: m.touser.join('|'), text: String((m.payload as { content?: string }).content ?? '') }))
      .filter((m) => m.text.startsWith(`【客户旅程】${journeyName}：`));
  const nameOf = async (ext: string) => (await app.container.db.query<{ name: string }>('SELECT name FROM customers WHERE external_user_id = ?', [ext]))[0].name;
  const state = async (taskId: string) =>
    (await app.container.db.query<{ reminder: string | null; reminded_at: number | string | null }>('SELECT reminder, reminded_at FROM staff_tasks WHERE id = ?', [taskId]))[0];

  it('a task made by an instance that died before its reminder gets exactly one, from the next tick, and the takeover sends none', async () => {
    clock.set(sh('2026-06-01T11:00:00'));
    const j = await journey('崩溃后提醒');
    const [m] = await enrol(j.id, [{ userid: 'zhangsan', name: '提醒客户' }]);
    const taskId = await diedAfterTask(m, '提醒客户');
    expect(reminders(j.name)).toEqual([]);

    const runner = app.container.scheduling.journeys!;
    expect(await runner.tick(clock.now())).toMatchObject({ takenOver: 0, tasks: 0, reminded: 1 });
    expect(reminders(j.name)).toEqual([{ to: 'zhangsan', text: `【客户旅程】崩溃后提醒：${TITLE}\n客户：提醒客户\n请在侧边栏「今日待办」中完成。` }]);
    expect((await state(taskId)).reminder).toBe('sent');

    // The dead claim goes stale and is taken over: the task is found again, its reminder is already sent.
    clock.set(sh('2026-06-01T11:06:00'));
    expect(await runner.tick(clock.now())).toMatchObject({ takenOver: 1, tasks: 1, reminded: 0 });
    await buildScheduling(app.container, { instanceId: 'second' }).journeys!.tick(clock.now());
    expect(reminders(j.name)).toHaveLength(1);
  });

  it('a send that died after its claim is sent once the claim is stale, not before, and once', async () => {
    clock.set(sh('2026-06-02T11:00:00'));
    const j = await journey('发送中断');
    await enrol(j.id, [{ userid: 'zhangsan', name: '中断客户' }]);
    const runner = app.container.scheduling.journeys!;
    const send = vi.spyOn(app.container.archive.messenger, 'send').mockRejectedValueOnce(new Error('connection reset'));
    try {
      expect(await runner.tick(clock.now())).toMatchObject({ claimed: 1, tasks: 1, reminded: 0 });
    } finally {
      send.mockRestore();
    }
    const [task] = await app.container.db.query<{ id: string }>("SELECT id FROM staff_tasks WHERE source = 'journey' AND title = ? AND external_user_id IN (SELECT external_user_id FROM journey_memberships WHERE journey_id = ?)", [TITLE, j.id]);
    expect((await state(task.id)).reminder).toBe('owed');
    expect(reminders(j.name)).toEqual([]);

    clock.set(sh('2026-06-02T11:02:00'));
    expect(await runner.tick(clock.now())).toMatchObject({ reminded: 0 });
    clock.set(sh('2026-06-02T11:06:00'));
    expect(await runner.tick(clock.now())).toMatchObject({ reminded: 1 });
    clock.set(sh('2026-06-02T11:12:00'));
    expect(await runner.tick(clock.now())).toMatchObject({ reminded: 0 });
    expect(reminders(j.name)).toEqual([{ to: 'zhangsan', text: `【客户旅程】发送中断：${TITLE}\n客户：中断客户\n请在侧边栏「今日待办」中完成。` }]);
    expect((await state(task.id)).reminder).toBe('sent');
  });

  it('two instances ticking together send each task one reminder, owed ones from a dead instance included', async () => {
    clock.set(sh('2026-06-03T11:00:00'));
    const j = await journey('双实例提醒');
    const customers = Array.from({ length: 8 }, (_, i) => ({ userid: i % 2 ? 'zhangsan' : 'lisi', name: `双实例客户${i}` }));
    const ms = await enrol(j.id, customers);
    // Half the tasks a dead instance made; the other half the two instances make now.
    for (const m of ms.slice(0, 4)) await diedAfterTask(m, await nameOf(m.externalUserId));
    const a = app.container.scheduling.journeys!;
    const b = buildScheduling(app.container, { instanceId: 'instance-b' }).journeys!;
    const [ca, cb] = await Promise.all([a.tick(clock.now()), b.tick(clock.now())]);
    expect(ca.reminded + cb.reminded).toBe(8);
    await Promise.all([a.tick(clock.now()), b.tick(clock.now())]);
    clock.set(sh('2026-06-03T11:07:00'));
    await Promise.all([a.tick(clock.now()), b.tick(clock.now())]);
    const got = reminders(j.name);
    expect(got).toHaveLength(8);
    const refs = ms.map((m) => `${m.id}:0`);
    const tasks = await app.container.db.query<{ reminder: string }>(`SELECT reminder FROM staff_tasks WHERE source = 'journey' AND source_ref IN (${refs.map(() => '?').join(',')})`, refs);
    expect(tasks).toHaveLength(8);
    expect(tasks.every((t) => t.reminder === 'sent')).toBe(true);
    // One per customer, each to the customer's owner.
    for (const m of ms) {
      const name = await nameOf(m.externalUserId);
      expect(got.filter((r) => r.text.includes(`客户：${name}\n`))).toEqual([{ to: m.ownerUserid, text: expect.any(String) }]);
    }
  });

  it('a task done before its reminder went out gets none, and its reminder is dropped', async () => {
    clock.set(sh('2026-06-04T11:00:00'));
    const j = await journey('先完成');
    const [m] = await enrol(j.id, [{ userid: 'zhangsan', name: '先完成客户' }]);
    const taskId = await diedAfterTask(m, '先完成客户');
    await app.container.todo.tasks.done(taskId, { role: 'staff', userid: 'zhangsan' });
    expect(await app.container.scheduling.journeys!.tick(clock.now())).toMatchObject({ reminded: 0 });
    clock.set(sh('2026-06-04T11:06:00'));
    expect(await app.container.scheduling.journeys!.tick(clock.now())).toMatchObject({ reminded: 0 });
    expect(reminders(j.name)).toEqual([]);
    expect(await state(taskId)).toMatchObject({ reminder: 'dropped', reminded_at: null });
  });
});
