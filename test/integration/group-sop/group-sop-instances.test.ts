import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { api, startTestApp, testConfig, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { buildContainer, type Container } from '../../../src/container.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { buildGroup } from '../../factories/groups.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * 群SOP across instances (docs/groups.md §Once per fire): instance A is a full test app (HTTP + the in-process
 * sandbox), instance B a second container on the same database whose WeCom client talks to A's sandbox, so the
 * sandbox's call log sees both instances' app messages. Both fire the `group-sop` job's 09:00 slot, as node-cron does
 * on every instance.
 */
describe.each(testEngines())('group SOP across instances on %s', (engine) => {
  let a: TestApp;
  let b: Container;
  const clockA = new FixedClock(sh('2026-03-15T08:00:00'));
  const clockB = new FixedClock(sh('2026-03-15T08:00:00'));
  const setBoth = (t: Date) => {
    clockA.set(t);
    clockB.set(t);
  };
  const reminders = () =>
    a.container.sandbox!.calls('message/send').map((c) => c.params as { touser: string; msgtype: string; textcard?: { title: string; description: string; url: string }; text?: { content: string } });
  let planId = '';

  beforeAll(async () => {
    a = await startTestApp(engine, { build: { clock: clockA } });
    // B serves no HTTP, so it learns no origin: it is told A's, as PUBLIC_URL tells every instance in production.
    b = await buildContainer(testConfig(a.db.url, { publicUrl: a.url }), silentLogger, { clock: clockB, registry: new Registry() });
    b.wecomClient.setApiBase(`${a.url}/sandbox`);
    const created = sh('2026-03-01T10:00:00');
    for (const [chatId, name, owner, members] of [
      ['wrSopA', '北京门店1群', 'zhangsan', 30],
      ['wrSopB', '北京门店2群', 'zhangsan', 12],
      ['wrSopC', '上海门店群', 'lisi', 40],
      ['wrSopD', '员工内部群', 'lisi', 5],
    ] as const) {
      await buildGroup(a.container, { chatId, name, owner, members, createdAt: created });
    }
    const res = await api(a, 'POST', '/api/v1/group-sops', {
      name: '每日群公告',
      target: { namePattern: '门店' },
      schedule: { kind: 'recurring', weekdays: [1, 2, 3, 4, 5, 6, 7] },
      windowMinutes: 120,
      steps: [{ time: '09:00', action: 'remind', operation: 'notice', title: '早安公告', text: '今日门店活动：满100减20，欢迎到店。' }],
    });
    expect(res.status).toBe(201);
    expect(res.body.groupCount).toBe(3);
    planId = res.body.id;
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('two instances firing the 09:00 slot remind each owner once, and each (step, group, 09:00) has one fire', async () => {
    a.container.sandbox!.clearCalls();
    const slot = sh('2026-03-15T09:00:00');
    setBoth(slot);
    const outcomes = await Promise.all([a.container.scheduling.scheduler.fire('group-sop', slot), b.scheduling.scheduler.fire('group-sop', slot)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['done', 'skipped']);
    // One reminder per owner: zhangsan's two store groups in one message, lisi's one (员工内部群 is not a 门店 group).
    expect(reminders().map((r) => r.touser).sort()).toEqual(['lisi', 'zhangsan']);
    const card = reminders().find((r) => r.touser === 'zhangsan')!.textcard!;
    expect(card.title).toContain('发布群公告');
    expect(card.description).toContain('北京门店1群、北京门店2群');
    const rows = await a.container.db.query<{ chat_id: string; status: string; n: number }>(
      'SELECT chat_id, status, COUNT(*) AS n FROM group_sop_fires WHERE plan_id = ? GROUP BY chat_id, status ORDER BY chat_id',
      [planId],
    );
    expect(rows.map((r) => [r.chat_id, r.status, Number(r.n)])).toEqual([
      ['wrSopA', 'reminded', 1],
      ['wrSopB', 'reminded', 1],
      ['wrSopC', 'reminded', 1],
    ]);
  });

  it('a later run on the other instance, and a run after a restart, find the fire taken and send nothing', async () => {
    a.container.sandbox!.clearCalls();
    setBoth(sh('2026-03-15T09:01:00'));
    expect((await b.scheduling.scheduler.fire('group-sop', sh('2026-03-15T09:01:00'))).status).toBe('done');
    // A fresh instance on the same database (a restart): the plan is there, its 09:00 fires are taken.
    const c = await buildContainer(testConfig(a.db.url), silentLogger, { clock: clockB, registry: new Registry() });
    try {
      c.wecomClient.setApiBase(`${a.url}/sandbox`);
      expect((await c.groupSop.service.list()).map((p) => p.name)).toEqual(['每日群公告']);
      // Even with its watermark moved back, the per-fire claims hold: nothing is claimed twice.
      await a.container.db.query('UPDATE group_sop_plans SET scanned_until = ? WHERE id = ?', [sh('2026-03-15T08:00:00').getTime(), planId]);
      const counts = await c.scheduling.groupSop!.runDue(sh('2026-03-15T09:02:00'));
      expect(counts.claimed).toBe(0);
    } finally {
      await c.close();
    }
    expect(reminders()).toEqual([]);
  });

  it("the owner's link shows the content; confirming one group makes it done, the other is missed after the window, then late", async () => {
    // The link zhangsan got at 09:00 (the call log was cleared since): the same URL, built from the fire's link id.
    setBoth(sh('2026-03-15T09:30:00'));
    const [fire] = await a.container.db.query<{ link_id: string }>("SELECT link_id FROM group_sop_fires WHERE plan_id = ? AND chat_id = 'wrSopA'", [planId]);
    const url = a.container.groupSop.links.urlOf(fire.link_id, sh('2026-03-22T09:00:00'));
    expect(url).toMatch(/\/sop\/g1\./);
    const path = new URL(url!).pathname;
    const page = await fetch(`${a.url}${path}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('今日门店活动：满100减20');
    expect(html).toContain('北京门店1群');
    expect(html).toContain('北京门店2群');
    const confirmed = await fetch(`${a.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'chat=wrSopA' });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('已记录');

    setBoth(sh('2026-03-15T11:30:00'));
    let report = (await api(a, 'GET', `/api/v1/group-sops/${planId}/report?from=2026-03-15&to=2026-03-15`)).body;
    const outcome = (r: typeof report, chat: string) => r.items.find((i: { chatId: string }) => i.chatId === chat)?.outcome;
    expect([outcome(report, 'wrSopA'), outcome(report, 'wrSopB'), outcome(report, 'wrSopC')]).toEqual(['done', 'missed', 'missed']);
    expect(report.steps[0]).toMatchObject({ title: '早安公告', done: 1, missed: 2, late: 0, pending: 0 });
    expect(report.items.find((i: { chatId: string }) => i.chatId === 'wrSopB').reason).toBe('群主未在窗口内确认完成');

    // Confirming every remaining group of the link after the window: late.
    await fetch(`${a.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    report = (await api(a, 'GET', `/api/v1/group-sops/${planId}/report?from=2026-03-15&to=2026-03-15`)).body;
    expect([outcome(report, 'wrSopA'), outcome(report, 'wrSopB'), outcome(report, 'wrSopC')]).toEqual(['done', 'late', 'missed']);

    // A tampered link opens nothing.
    expect((await fetch(`${a.url}${path.slice(0, -3)}xyz`)).status).toBe(403);
  });

  it('after downtime across the next 09:00 and its window, the fire is recorded missed and nobody is reminded late', async () => {
    a.container.sandbox!.clearCalls();
    // Nothing ran between 09:02 on the 15th and 12:00 on the 16th.
    setBoth(sh('2026-03-16T12:00:00'));
    const [ra] = await Promise.all([a.container.scheduling.scheduler.fire('group-sop', sh('2026-03-16T12:00:00'))]);
    expect(ra.status).toBe('done');
    expect(reminders()).toEqual([]);
    const report = (await api(a, 'GET', `/api/v1/group-sops/${planId}/report?from=2026-03-16&to=2026-03-16`)).body;
    expect(report.items.map((i: { outcome: string; reason: string }) => [i.outcome, i.reason])).toEqual([
      ['missed', '到点时服务未运行，已过执行窗口'],
      ['missed', '到点时服务未运行，已过执行窗口'],
      ['missed', '到点时服务未运行，已过执行窗口'],
    ]);
  });
  it("a WeCom error on the reminder leaves the fires claimed; 5 minutes on, still in the window, another instance takes them over and reminds once", async () => {
    // 48002 (API forbidden) is not retried by the client: the run's call fails for both owners.
    a.container.sandbox!.injectFault({ api: 'message/send', errcode: 48002, count: 2 });
    setBoth(sh('2026-03-17T09:00:00'));
    expect((await a.container.scheduling.scheduler.fire('group-sop', sh('2026-03-17T09:00:00'))).counts).toMatchObject({ claimed: 3, reminded: 0 });
    const states = async () =>
      (await a.container.db.query<{ status: string; attempts: number }>("SELECT status, attempts FROM group_sop_fires WHERE plan_id = ? AND fire_at = ? ORDER BY chat_id", [planId, sh('2026-03-17T09:00:00').getTime()])).map(
        (r) => `${r.status}/${Number(r.attempts)}`,
      );
    expect(await states()).toEqual(['claimed/1', 'claimed/1', 'claimed/1']);
    a.container.sandbox!.clearCalls();
    // Too soon: the instance that claimed them may still be working.
    setBoth(sh('2026-03-17T09:03:00'));
    expect((await b.scheduling.scheduler.fire('group-sop', sh('2026-03-17T09:03:00'))).counts).toMatchObject({ takenOver: 0 });
    setBoth(sh('2026-03-17T09:06:00'));
    const [ra, rb] = await Promise.all([a.container.scheduling.scheduler.fire('group-sop', sh('2026-03-17T09:06:00')), b.scheduling.scheduler.fire('group-sop', sh('2026-03-17T09:06:00'))]);
    expect([ra, rb].find((o) => o.status === 'done')!.counts).toMatchObject({ takenOver: 3, reminded: 3 });
    expect(reminders().map((r) => r.touser).sort()).toEqual(['lisi', 'zhangsan']);
    expect(await states()).toEqual(['reminded/2', 'reminded/2', 'reminded/2']);
  });
});
