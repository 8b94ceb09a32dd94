import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { buildGroup } from '../../factories/groups.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/** 群SOP's API (docs/groups.md §Group SOP): plans, their zh-CN errors, pause and resume, relative plans, quota, today's steps. */
describe.each(testEngines())('group SOP API on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-04-06T08:00:00'));
  const tip = { time: '20:00', action: 'post', title: '每日小贴士', text: '今天的护肤小贴士：早晚清洁。' };

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    await buildGroup(app.container, { chatId: 'wrOld', name: '老客福利群', owner: 'zhangsan', createdAt: sh('2026-01-10T09:00:00'), members: 80 });
    await buildGroup(app.container, { chatId: 'wrNew', name: '新客福利群', owner: 'zhangsan', createdAt: sh('2026-04-05T15:00:00'), members: 8 });
    await buildGroup(app.container, { chatId: 'wrLi', name: '会员100%群', owner: 'lisi', createdAt: sh('2026-04-05T16:00:00'), members: 3 });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('creates a plan with its group count and, for a daily tip, the warning that it uses the whole quota', async () => {
    const res = await api(app, 'POST', '/api/v1/group-sops', { name: '每日小贴士', target: { owners: ['zhangsan'] }, schedule: { kind: 'recurring', weekdays: [7, 1, 2, 3, 4, 5, 6, 1] }, steps: [tip] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: '每日小贴士', isPaused: false, groupCount: 2, windowMinutes: 120, schedule: { kind: 'recurring', weekdays: [1, 2, 3, 4, 5, 6, 7] } });
    expect(res.body.steps[0].id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.quota.level).toBe('exhausts');
    expect(res.body.quota.warning).toContain('将用完每个群的全部额度');
    // The editor's check of an unsaved plan: weekdays only leave room.
    const q = await api(app, 'POST', '/api/v1/group-sops/quota', { schedule: { kind: 'recurring', weekdays: [1, 2, 3, 4, 5] }, steps: [tip] });
    expect(q.status).toBe(200);
    expect(q.body).toMatchObject({ level: 'ok', warning: null });
  });

  it('answers bad input with zh-CN messages per field', async () => {
    const bad = await api(app, 'POST', '/api/v1/group-sops', { name: '', target: {}, schedule: { kind: 'recurring', weekdays: [] }, steps: [{ ...tip, time: '25:00' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields).toMatchObject({ name: '请填写计划名称', 'schedule.weekdays': '至少选择一天', 'steps.0.time': '时间应为 HH:mm，例如 20:00' });
    const relative = await api(app, 'POST', '/api/v1/group-sops', { name: '新群欢迎', target: {}, schedule: { kind: 'relative' }, steps: [tip] });
    expect(relative.status).toBe(400);
    expect(relative.body.error.details.fields['steps.0.day']).toBe('按建群天数的计划，每个步骤都要填写第几天');
    const range = await api(app, 'POST', '/api/v1/group-sops', { name: 'x', target: { minMembers: 50, maxMembers: 10 }, schedule: { kind: 'relative' }, steps: [{ ...tip, day: 1 }] });
    expect(range.body.error.details.fields['target.minMembers']).toBe('最少人数不能大于最多人数');
    expect((await api(app, 'GET', '/api/v1/group-sops/nope')).status).toBe(404);
  });

  it('targets by name (literally, % included), member counts and local labels; an empty list narrows nothing', async () => {
    const byName = await api(app, 'POST', '/api/v1/group-sops', { name: '会员群', target: { namePattern: '100%' }, schedule: { kind: 'relative' }, steps: [{ ...tip, day: 1 }] });
    expect(byName.body.groupCount).toBe(1);
    const bySize = await api(app, 'POST', '/api/v1/group-sops', { name: '小群', target: { maxMembers: 10, owners: [] }, schedule: { kind: 'relative' }, steps: [{ ...tip, day: 1 }] });
    expect(bySize.body.groupCount).toBe(2);
    // Local group labels (the archive's): groups carrying any of them.
    const now = clock.now().getTime();
    await app.container.repos.groupLabels.create({ id: 'lbl-vip', name: '高价值群', color: '#f5222d' }, now);
    await app.container.repos.groupLabels.assign(['wrOld', 'wrLi'], ['lbl-vip'], [], now);
    const byLabel = await api(app, 'POST', '/api/v1/group-sops', { name: '高价值群', target: { labelIds: ['lbl-vip'], owners: ['zhangsan'] }, schedule: { kind: 'relative' }, steps: [{ ...tip, day: 1 }] });
    expect(byLabel.body.groupCount).toBe(1);
    for (const id of [byName.body.id, bySize.body.id, byLabel.body.id]) expect((await api(app, 'DELETE', `/api/v1/group-sops/${id}`)).status).toBe(204);
    expect((await api(app, 'GET', `/api/v1/group-sops/${byName.body.id}`)).status).toBe(404);
  });

  it("lists today's steps for a group: a relative plan's day 1 for yesterday's group, not for an old one", async () => {
    const res = await api(app, 'POST', '/api/v1/group-sops', {
      name: '新群欢迎',
      target: { owners: ['zhangsan'] },
      schedule: { kind: 'relative' },
      steps: [
        { day: 1, time: '10:00', action: 'remind', operation: 'notice', title: '第1天 群公告', text: '欢迎加入！群规：……' },
        { day: 3, time: '10:00', action: 'remind', operation: 'at_all', title: '第3天 @所有人', text: '本周福利……' },
      ],
    });
    expect(res.status).toBe(201);
    const due = await app.container.groupSop.service.dueToday('wrNew');
    expect(due.map((d) => [d.planName, d.title, d.dueAt.toISOString(), d.outcome])).toEqual([
      ['新群欢迎', '第1天 群公告', sh('2026-04-06T10:00:00').toISOString(), 'upcoming'],
      ['每日小贴士', '每日小贴士', sh('2026-04-06T20:00:00').toISOString(), 'upcoming'],
    ]);
    expect((await app.container.groupSop.service.dueToday('wrOld')).map((d) => d.title)).toEqual(['每日小贴士']);
    // A plan made after a step's time today does not list it: that time is not the plan's and never fires.
    const late = await api(app, 'POST', '/api/v1/group-sops', { name: '早间', target: { chatIds: ['wrOld'] }, schedule: { kind: 'recurring', weekdays: [1, 2, 3, 4, 5, 6, 7] }, steps: [{ ...tip, time: '07:00' }] });
    expect((await app.container.groupSop.service.dueToday('wrOld')).map((d) => d.title)).toEqual(['每日小贴士']);
    expect((await api(app, 'DELETE', `/api/v1/group-sops/${late.body.id}`)).status).toBe(204);
    // lisi's group is in no plan.
    expect(await app.container.groupSop.service.dueToday('wrLi')).toEqual([]);

    // At 10:00 the reminder goes to zhangsan; the sidebar list then shows it pending.
    app.container.sandbox!.clearCalls();
    clock.set(sh('2026-04-06T10:00:00'));
    expect((await app.container.scheduling.scheduler.fire('group-sop', sh('2026-04-06T10:00:00'))).counts).toMatchObject({ claimed: 1, reminded: 1 });
    expect(app.container.sandbox!.calls('message/send').map((c) => (c.params as { touser: string }).touser)).toEqual(['zhangsan']);
    expect((await app.container.groupSop.service.dueToday('wrNew'))[0].outcome).toBe('pending');
  });

  it('pausing stops the fires; resuming fires from then on and does not report the paused days as missed', async () => {
    const [plan] = (await api(app, 'GET', '/api/v1/group-sops')).body.items.filter((p: { name: string }) => p.name === '每日小贴士');
    expect((await api(app, 'PATCH', `/api/v1/group-sops/${plan.id}`, { isPaused: true })).body.isPaused).toBe(true);
    clock.set(sh('2026-04-06T20:00:00'));
    const paused = await app.container.scheduling.scheduler.fire('group-sop', sh('2026-04-06T20:00:00'));
    expect(paused.counts).toMatchObject({ claimed: 0, missed: 0 });
    clock.set(sh('2026-04-08T12:00:00'));
    const resumed = await api(app, 'PATCH', `/api/v1/group-sops/${plan.id}`, { isPaused: false, steps: [{ ...plan.steps[0], text: '改过的小贴士' }] });
    expect(resumed.body.steps[0].id).toBe(plan.steps[0].id);
    clock.set(sh('2026-04-08T20:00:00'));
    const fired = await app.container.scheduling.scheduler.fire('group-sop', sh('2026-04-08T20:00:00'));
    // The tip's two groups; the one missed is 新群欢迎's day-3 reminder at 10:00, which no run saw inside its window.
    expect(fired.counts).toMatchObject({ claimed: 2, missed: 1 });
    const report = (await api(app, 'GET', `/api/v1/group-sops/${plan.id}/report?from=2026-04-06&to=2026-04-08`)).body;
    expect(report.items.map((i: { chatId: string; fireAt: string }) => [i.chatId, i.fireAt])).toEqual([
      ['wrNew', sh('2026-04-08T20:00:00').toISOString()],
      ['wrOld', sh('2026-04-08T20:00:00').toISOString()],
    ]);
    expect(report.steps).toEqual([expect.objectContaining({ title: '每日小贴士', action: 'post' })]);
    const tooLong = await api(app, 'GET', `/api/v1/group-sops/${plan.id}/report?from=2026-01-01&to=2026-04-08`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.message).toContain('报告最多 62 天');
  });
  it('`job run group-sop --dry-run` lists what a run would do and writes nothing', async () => {
    const fires = async () => Number((await app.container.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM group_sop_fires'))[0].n);
    const before = await fires();
    clock.set(sh('2026-04-09T20:00:00'));
    const out = await app.container.scheduling.scheduler.runNow('group-sop', { at: sh('2026-04-09T20:00:00'), isDryRun: true });
    expect(out.status).toBe('dry-run');
    expect(out.lines.filter((l) => l.startsWith('每日小贴士'))).toHaveLength(2);
    expect(await fires()).toBe(before);
  });
});
