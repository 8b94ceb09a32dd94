import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { StaffTaskService } from '../../../src/domain/todo/staff-task.service.js';
import { StaffTaskRepository } from '../../../src/persistence/repositories/staff-task.repository.js';
import { Db } from '../../../src/persistence/db.js';
import type { NewStaffTask } from '../../../src/domain/todo/staff-task.types.js';

// docs/todo.md §Staff tasks: created once per (source, sourceRef), also from two instances at once; read back by id;
// done, skipped with a reason and snoozed by their member only.

describe.each(testEngines())('staff tasks (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock('2026-12-07T01:00:00Z');
  const zhang = { role: 'staff' as const, userid: 'zhangsan' };
  const li = { role: 'staff' as const, userid: 'lisi' };
  const task = (ref: string, over: Partial<NewStaffTask> = {}): NewStaffTask => ({
    source: 'journey',
    sourceRef: ref,
    userid: 'zhangsan',
    externalUserId: 'wmTaskA',
    title: '第3天：亲自问候',
    text: '王女士您好，用得还习惯吗？',
    attachments: [{ kind: 'link', title: '使用指南', url: 'https://example.com/guide' }],
    dueAt: new Date('2026-12-07T02:00:00Z'),
    ...over,
  });

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
  }, 60_000);
  afterAll(() => app?.close());

  it('creates a task once per source key, also when two instances create it at the same moment', async () => {
    const tasks = app.container.todo.tasks;
    // A second instance: its own Db door on the same database, its own service.
    const other = new StaffTaskService(new StaffTaskRepository(new Db(app.container.dataSource)), clock);
    const [a, b] = await Promise.all([tasks.create(task('m1:2')), other.create(task('m1:2', { title: '另一个标题' }))]);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(a.task.id).toBe(b.task.id);
    const again = await tasks.create(task('m1:2'));
    expect(again).toMatchObject({ created: false, task: { id: a.task.id, status: 'open' } });
    const rows = await app.container.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM staff_tasks WHERE source = 'journey' AND source_ref = 'm1:2'");
    expect(Number(rows[0].n)).toBe(1);
    // The same ref under another source is another task.
    expect((await tasks.create(task('m1:2', { source: 'manual' }))).created).toBe(true);
  });

  it('reads tasks back by id with their content and attachments, leaving unknown ids out', async () => {
    const { task: t } = await app.container.todo.tasks.create(task('m2:0'));
    const got = await app.container.todo.tasks.byIds([t.id, 'no-such-id']);
    expect([...got.keys()]).toEqual([t.id]);
    expect(got.get(t.id)).toMatchObject({
      source: 'journey',
      sourceRef: 'm2:0',
      userid: 'zhangsan',
      externalUserId: 'wmTaskA',
      title: '第3天：亲自问候',
      text: '王女士您好，用得还习惯吗？',
      attachments: [{ kind: 'link', title: '使用指南', url: 'https://example.com/guide' }],
      status: 'open',
      snoozedUntil: null,
      skipReason: null,
      doneAt: null,
    });
    expect(got.get(t.id)!.dueAt.toISOString()).toBe('2026-12-07T02:00:00.000Z');
  });

  it('refuses bad input with a zh-CN message', async () => {
    await expect(app.container.todo.tasks.create(task('m3:0', { title: '  ' }))).rejects.toThrow('请填写任务标题');
    await expect(app.container.todo.tasks.create(task('m3:0', { dueAt: new Date('x') }))).rejects.toThrow('请填写截止时间');
  });

  it('lets only its member close or snooze a task; a closed task stays closed', async () => {
    const tasks = app.container.todo.tasks;
    const { task: t } = await tasks.create(task('m4:0'));
    await expect(tasks.done(t.id, li)).rejects.toThrow('待办不存在');
    await expect(tasks.done(t.id, { role: 'operator', userid: 'wangwu' })).rejects.toThrow('只能处理自己的待办');
    await expect(tasks.skip(t.id, '', zhang)).rejects.toThrow('请填写跳过原因');
    const snoozed = await tasks.snooze(t.id, '2026-12-07T05:00:00Z', zhang);
    expect(snoozed.snoozedUntil?.toISOString()).toBe('2026-12-07T05:00:00.000Z');
    await expect(tasks.snooze(t.id, '2026-12-20T05:00:00Z', zhang)).rejects.toThrow('最多推迟 7 天');
    clock.advance(3 * 3_600_000);
    const done = await tasks.done(t.id, zhang);
    expect(done).toMatchObject({ status: 'done', snoozedUntil: null });
    expect(done.doneAt?.toISOString()).toBe('2026-12-07T04:00:00.000Z');
    await expect(tasks.skip(t.id, '客户出差', zhang)).rejects.toThrow('这项待办已完成');
    const { task: u } = await tasks.create(task('m4:1'));
    expect(await tasks.skip(u.id, '客户出差，下周再联系', zhang)).toMatchObject({ status: 'skipped', skipReason: '客户出差，下周再联系' });
    expect((await tasks.byIds([u.id])).get(u.id)!.status).toBe('skipped');
  });
});
