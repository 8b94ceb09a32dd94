import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { api, startTestApp, testConfig, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { buildContainer, type Container } from '../../../src/container.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { addGroup } from '../../fixtures/groups.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * A 群SOP post step end to end against the sandbox (docs/groups.md §Group SOP): two instances fire 20:00 and make one
 * group broadcast, whose sender gives one WeCom task per owner; an owner's confirmation in 群发助手 makes their group
 * done, another owner's groups turn missed when the window passes and late when confirmed after it.
 */
describe.each(testEngines())('group SOP post steps on %s', (engine) => {
  let a: TestApp;
  let b: Container;
  const clockA = new FixedClock(sh('2026-07-01T19:00:00'));
  const clockB = new FixedClock(sh('2026-07-01T19:00:00'));
  const setBoth = (t: Date) => {
    clockA.set(t);
    clockB.set(t);
  };
  const groupTasks = () => a.container.sandbox!.calls('externalcontact/add_msg_template').filter((c) => c.params.chat_type === 'group');
  const confirm = (owner: string) => {
    const task = [...a.container.sandbox!.store.massTasks.values()].find((t) => t.chatType === 'group' && t.senders[0].userid === owner)!;
    a.container.sandbox!.confirmGroupMsg({ msgid: task.msgid, userid: owner });
  };
  const at = async (local: string, ...jobs: string[]) => {
    setBoth(sh(local));
    for (const j of jobs) expect((await a.container.scheduling.scheduler.runNow(j)).status).toBe('done');
  };
  const report = async () => {
    const r = (await api(a, 'GET', `/api/v1/group-sops/${planId}/report?from=2026-07-01&to=2026-07-01`)).body;
    return Object.fromEntries(r.items.map((i: { chatId: string; outcome: string; reason: string | null }) => [i.chatId, [i.outcome, i.reason]]));
  };
  let planId = '';
  const chats: Record<string, string> = {};

  beforeAll(async () => {
    a = await startTestApp(engine, { build: { clock: clockA } });
    b = await buildContainer(testConfig(a.db.url, { publicUrl: a.url }), silentLogger, { clock: clockB, registry: new Registry() });
    b.wecomClient.setApiBase(`${a.url}/sandbox`);
    chats.z1 = await addGroup(a.container, { owner: 'zhangsan', name: '北京门店1群', customers: 4 });
    chats.z2 = await addGroup(a.container, { owner: 'zhangsan', name: '北京门店2群', customers: 2 });
    chats.l1 = await addGroup(a.container, { owner: 'lisi', name: '上海门店群', customers: 3 });
    const res = await api(a, 'POST', '/api/v1/group-sops', {
      name: '每日小贴士',
      target: { namePattern: '门店' },
      schedule: { kind: 'recurring', weekdays: [1, 2, 3, 4, 5, 6, 7] },
      steps: [{ time: '20:00', action: 'post', title: '晚间小贴士', text: '今晚的护肤小贴士：睡前认真卸妆。' }],
    });
    expect(res.status).toBe(201);
    expect(res.body.quota.level).toBe('exhausts');
    // This month's 31 tips (1 July 20:00 on) take each of the 3 groups' 31: the group broadcasts' count says so too.
    expect(res.body.groupsQuota).toMatchObject({ sends: 31, exhausted: 3, over: 0 });
    expect(res.body.groupsQuota.warning).toContain('3 个群发送后将用完本期额度');
    planId = res.body.id;
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('two instances firing 20:00 make one group broadcast, sent as one task per owner', async () => {
    a.container.sandbox!.clearCalls();
    setBoth(sh('2026-07-01T20:00:00'));
    const slot = sh('2026-07-01T20:00:00');
    const outcomes = await Promise.all([a.container.scheduling.scheduler.fire('group-sop', slot), b.scheduling.scheduler.fire('group-sop', slot)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['done', 'skipped']);
    // Even a second pass over the same fires (a watermark moved back) asks for nothing new.
    await a.container.db.query('UPDATE group_sop_plans SET scanned_until = ? WHERE id = ?', [sh('2026-07-01T19:00:00').getTime(), planId]);
    expect((await b.scheduling.groupSop!.runDue(sh('2026-07-01T20:00:30'))).claimed).toBe(0);
    const broadcasts = await a.container.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM group_broadcasts WHERE origin = 'sop'");
    expect(Number(broadcasts[0].n)).toBe(1);

    await at('2026-07-01T20:01:00', 'group-broadcasts');
    expect(groupTasks().map((c) => [c.params.sender, (c.params.chat_id_list as string[]).length]).sort()).toEqual([
      ['lisi', 1],
      ['zhangsan', 2],
    ]);
    expect(groupTasks()[0].params.text).toEqual({ content: '今晚的护肤小贴士：睡前认真卸妆。' });
    expect(Object.values(await report()).map((r) => (r as string[])[0])).toEqual(['pending', 'pending', 'pending']);
  });

  it("an owner's confirmation makes their group done; the others are missed after the window, then late", async () => {
    confirm('lisi');
    await at('2026-07-01T20:30:00', 'group-broadcasts', 'group-sop');
    let r = await report();
    expect(r[chats.l1]).toEqual(['done', null]);
    expect(r[chats.z1]).toEqual(['pending', '等待群主在企业微信确认发送']);

    await at('2026-07-01T22:30:00', 'group-sop');
    r = await report();
    expect(r[chats.z1]).toEqual(['missed', '群主未在窗口内确认发送']);
    expect(r[chats.z2]).toEqual(['missed', '群主未在窗口内确认发送']);

    confirm('zhangsan');
    await at('2026-07-01T22:45:00', 'group-broadcasts', 'group-sop');
    r = await report();
    expect([r[chats.l1][0], r[chats.z1][0], r[chats.z2][0]]).toEqual(['done', 'late', 'late']);
    // Nothing was sent twice: still one task per owner.
    expect(groupTasks()).toHaveLength(2);
  });
});
