import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, api, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import type { WecomGateway } from '../../../src/wecom/client/gateway.js';
import { addGroup } from '../../fixtures/groups.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * 客户群群发 over HTTP against the sandbox: the preview counts groups, members and owners (tasks) and warns about the
 * per-group quota; a broadcast to 3 owners' groups creates exactly 3 WeCom tasks, also after a crash between
 * WeCom accepting a task and the ledger recording it; each owner's confirmation shows per owner.
 */
describe.each(testEngines())('group broadcasts on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-07-01T10:00:00'));
  let crashAfterCall: number | null = null;
  const crashingGateway = (real: WecomGateway): WecomGateway =>
    new Proxy(real, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (prop !== 'addMsgTemplate') return typeof v === 'function' ? v.bind(target) : v;
        return async (input: Parameters<WecomGateway['addMsgTemplate']>[0]) => {
          const res = await real.addMsgTemplate(input);
          // The process "dies" right after WeCom accepted the n-th task: the ledger is left as a killed process leaves it.
          if (crashAfterCall !== null && --crashAfterCall === 0) throw new Error('process killed');
          return res;
        };
      },
    });
  const groupTasks = () => app.container.sandbox!.calls('externalcontact/add_msg_template').filter((c) => c.params.chat_type === 'group');
  // Each run stands for its own minute (the job's occasion); a second run in the same minute would be "already ran".
  const runJob = async () => {
    clock.set(new Date(clock.now().getTime() + 60_000));
    return app.container.scheduling.scheduler.runNow('group-broadcasts');
  };
  const groups: Record<string, string[]> = {};

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock, wecom: crashingGateway } });
    for (const owner of ['zhangsan', 'lisi', 'wangwu']) {
      groups[owner] = [await addGroup(app.container, { owner, name: `${owner} 会员一群`, customers: 5 }), await addGroup(app.container, { owner, name: `${owner} 会员二群`, customers: 2 })];
    }
    await addGroup(app.container, { owner: 'zhaoliu', name: '售后交流群', customers: 40 });
  });
  afterAll(() => app?.close());

  it('previews groups, members and one task per owner, filtered by owner, name and member count', async () => {
    const all = await api(app, 'POST', '/api/v1/group-broadcasts/preview', { filter: { namePattern: '会员' } });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ groups: 6, members: 3 * (6 + 3), customers: 3 * 7, tasks: 3 });
    expect(all.body.owners.map((o: { userid: string }) => o.userid).sort()).toEqual(['lisi', 'wangwu', 'zhangsan']);
    expect(all.body.quota).toMatchObject({ rule: 'days_of_month', period: '2026-07', limit: 31, over: 0, exhausted: 0, warning: null });

    const big = await api(app, 'POST', '/api/v1/group-broadcasts/preview', { filter: { minMembers: 6 } });
    expect(big.body).toMatchObject({ groups: 4, tasks: 4 });
    const one = await api(app, 'POST', '/api/v1/group-broadcasts/preview', { filter: { owners: ['lisi'], maxMembers: 3 } });
    expect(one.body).toMatchObject({ groups: 1, members: 3, tasks: 1 });
    // A percent sign is a character to match, not a wildcard.
    expect((await api(app, 'POST', '/api/v1/group-broadcasts/preview', { filter: { namePattern: '%' } })).body.groups).toBe(0);
    const bad = await api(app, 'POST', '/api/v1/group-broadcasts/preview', { filter: { minMembers: 10, maxMembers: 2 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('最少人数不能大于最多人数');
  });

  it("3 owners' groups make exactly 3 tasks, and still 3 after a crash between submit and record", async () => {
    app.container.sandbox!.clearCalls();
    const created = await api(app, 'POST', '/api/v1/group-broadcasts', { name: '七月活动', filter: { namePattern: '会员' }, message: { text: '七月会员日，全场九折', attachments: [] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ groups: 6, owners: 3, status: 'sending', rows: { planned: 6 } });
    const id: string = created.body.id;

    // The second task's call reaches WeCom, then its answer is lost before the ledger records it (the SIGKILL case is
    // test/e2e/group-broadcast-crash.test.ts).
    crashAfterCall = 2;
    await runJob();
    crashAfterCall = null;
    expect(groupTasks()).toHaveLength(3);
    let view = (await api(app, 'GET', `/api/v1/group-broadcasts/${id}`)).body;
    expect(view.rows).toMatchObject({ submitted: 4, submitting: 2, planned: 0 });

    // Within the grace period nothing touches the task: its owner may still be mid-call.
    expect((await runJob()).counts).toMatchObject({ reconciled: 0, submittedTasks: 0 });
    expect(groupTasks()).toHaveLength(3);
    // Restart past the grace: the task is found in get_groupmsg_list_v2 and adopted, not sent again.
    clock.set(sh('2026-07-01T10:05:00'));
    const out = await runJob();
    expect(out.counts).toMatchObject({ reconciled: 1, submittedTasks: 0 });
    expect(groupTasks()).toHaveLength(3);
    expect(new Set(groupTasks().map((c) => c.params.sender))).toEqual(new Set(['zhangsan', 'lisi', 'wangwu']));
    view = (await api(app, 'GET', `/api/v1/group-broadcasts/${id}`)).body;
    expect(view.rows).toMatchObject({ submitted: 6, submitting: 0, planned: 0 });
    expect(view.ownerProgress.map((o: { waitingTasks: number }) => o.waitingTasks)).toEqual([1, 1, 1]);
    // Every chat id went to WeCom exactly once, in its owner's task.
    const sentChats = groupTasks().flatMap((c) => c.params.chat_id_list as string[]);
    expect(sentChats.sort()).toEqual(Object.values(groups).flat().sort());
    for (const c of groupTasks()) expect(groups[c.params.sender as string].sort()).toEqual((c.params.chat_id_list as string[]).sort());

    // lisi confirms in 群发助手; the next poll shows it per owner.
    const store = app.container.sandbox!.store;
    const lisiTask = [...store.massTasks.values()].find((t) => t.chatType === 'group' && t.senders[0].userid === 'lisi')!;
    app.container.sandbox!.confirmGroupMsg({ msgid: lisiTask.msgid, userid: 'lisi' });
    clock.set(sh('2026-07-01T10:20:00'));
    await runJob();
    view = (await api(app, 'GET', `/api/v1/group-broadcasts/${id}`)).body;
    const byOwner = Object.fromEntries(view.ownerProgress.map((o: { userid: string }) => [o.userid, o]));
    expect(byOwner.lisi).toMatchObject({ confirmedTasks: 1, waitingTasks: 0, rows: { sent: 2 } });
    expect(byOwner.zhangsan).toMatchObject({ confirmedTasks: 0, waitingTasks: 1, rows: { submitted: 2 } });

    // 提醒成员群发 reaches the two owners still waiting, with the 1:1 broadcasts' 3-per-24 h rule.
    const remind = await api(app, 'POST', `/api/v1/group-broadcasts/${id}/remind`, {});
    expect(remind.body).toMatchObject({ remindedTasks: 2, remindedMembers: ['wangwu', 'zhangsan'] });
    for (let i = 0; i < 2; i++) await api(app, 'POST', `/api/v1/group-broadcasts/${id}/remind`, { userid: 'zhangsan' });
    const limited = await api(app, 'POST', `/api/v1/group-broadcasts/${id}/remind`, { userid: 'zhangsan' });
    expect(limited.body).toMatchObject({ remindedTasks: 0, limitedTasks: 1 });
    expect(limited.body.message).toContain('24 小时内已提醒 3 次');

    // The quota now counts lisi's two groups as used and the other four as pending.
    const preview = await api(app, 'POST', '/api/v1/group-broadcasts/preview', { filter: { namePattern: '会员' } });
    expect(preview.body.quota.warning).toBeNull();

    const list = await api(app, 'GET', '/api/v1/group-broadcasts');
    expect(list.body.items[0]).toMatchObject({ id, name: '七月活动', rows: { sent: 2, submitted: 4 } });
  });

  it("warns when a send would use up groups' quota, counting members' own sends from get_groupmsg_list_v2", async () => {
    clock.set(sh('2026-07-02T10:00:00'));
    app.container.sandbox!.setClock(sh('2026-07-02T10:00:00'));
    const chatId = await addGroup(app.container, { owner: 'sunqi', name: '额度测试群', customers: 3 });
    // sunqi sends 30 mass messages to the group from the client this month: one of July's 31 is left.
    for (let i = 0; i < 30; i++) app.container.sandbox!.memberGroupSend({ userid: 'sunqi', chatIds: [chatId], text: `每日一贴 ${i}` });
    let preview = await api(app, 'POST', '/api/v1/group-broadcasts/preview', { filter: { owners: ['sunqi'] } });
    // The bot has not read them yet.
    expect(preview.body.quota).toMatchObject({ over: 0, exhausted: 0 });
    const out = await runJob();
    expect(out.counts).toMatchObject({ quotaMemberCreated: 30, quotaReceipts: 30 });
    preview = await api(app, 'POST', '/api/v1/group-broadcasts/preview', { filter: { owners: ['sunqi'] } });
    expect(preview.body.quota).toMatchObject({ exhausted: 1, over: 0, limit: 31, groups: [{ chatId, used: 30, pending: 0, remaining: 1 }] });
    expect(preview.body.quota.warning).toContain('1 个群发送后将用完本期额度');
    // Reading again adds nothing.
    expect((await runJob()).counts).toMatchObject({ quotaReceipts: 0 });

    // One more member send and the bot's broadcast would be over: WeCom answers status 3 for the group.
    app.container.sandbox!.memberGroupSend({ userid: 'sunqi', chatIds: [chatId], text: '第 31 条' });
    await runJob();
    preview = await api(app, 'POST', '/api/v1/group-broadcasts/preview', { filter: { owners: ['sunqi'] } });
    expect(preview.body.quota).toMatchObject({ over: 1 });
    expect(preview.body.quota.warning).toContain('1 个群本期群发额度不足');
    const created = await api(app, 'POST', '/api/v1/group-broadcasts', { name: '超额', filter: { owners: ['sunqi'] }, message: { text: '超额的一条', attachments: [] } });
    await runJob();
    const task = [...app.container.sandbox!.store.massTasks.values()].find((t) => t.chatType === 'group' && t.createType === 0 && t.senders[0].userid === 'sunqi')!;
    app.container.sandbox!.confirmGroupMsg({ msgid: task.msgid, userid: 'sunqi' });
    clock.set(sh('2026-07-02T10:20:00'));
    await runJob();
    const view = (await api(app, 'GET', `/api/v1/group-broadcasts/${created.body.id}`)).body;
    expect(view).toMatchObject({ status: 'done', rows: { over_quota: 1 } });
  });

  it('a group SOP step submits with its own key: the same key again posts nothing new', async () => {
    app.container.sandbox!.clearCalls();
    const svc = app.container.scheduling.groupBroadcasts.service;
    const input = { name: 'SOP 每日一贴', filter: { chatIds: [groups.zhangsan[0], groups.lisi[0]] }, message: { text: 'SOP 第 1 天', attachments: [] } };
    const first = await svc.submit(input, { origin: 'sop:plan-1', requestKey: 'step-1:2026-07-02', createdBy: null });
    const again = await svc.submit(input, { origin: 'sop:plan-1', requestKey: 'step-1:2026-07-02', createdBy: null });
    expect(again).toMatchObject({ isExisting: true, broadcast: { id: first.broadcast.id } });
    expect(first.broadcast).toMatchObject({ groupsCount: 2, ownersCount: 2 });
    await runJob();
    expect(groupTasks()).toHaveLength(2);
  });

  it("a group SOP post step goes out through a group broadcast under its fire's key, once", async () => {
    clock.set(sh('2026-07-03T10:55:00'));
    app.container.sandbox!.setClock(sh('2026-07-03T10:55:00'));
    app.container.sandbox!.clearCalls();
    const target = [groups.zhangsan[1], groups.wangwu[1]];
    const plan = await api(app, 'POST', '/api/v1/group-sops', {
      name: '每日小贴士',
      target: { chatIds: target },
      schedule: { kind: 'recurring', weekdays: [1, 2, 3, 4, 5, 6, 7] },
      steps: [{ time: '11:00', action: 'post', title: '小贴士', text: '今日小贴士：多喝水' }],
    });
    expect(plan.status).toBe(201);
    const fire = async (local: string) => {
      clock.set(sh(local));
      return app.container.scheduling.scheduler.fire('group-sop', sh(local));
    };
    await fire('2026-07-03T11:00:00');
    await fire('2026-07-03T11:01:00');
    const sop = (await api(app, 'GET', '/api/v1/group-broadcasts')).body.items.filter((b: { origin: string }) => b.origin === 'sop');
    expect(sop).toHaveLength(1);
    expect(sop[0]).toMatchObject({ groups: 2, owners: 2, message: { text: '今日小贴士：多喝水' } });
    await runJob();
    expect(groupTasks().map((c) => c.params.chat_id_list)).toEqual(expect.arrayContaining([[groups.zhangsan[1]], [groups.wangwu[1]]]));
    expect(groupTasks()).toHaveLength(2);
    await fire('2026-07-03T11:05:00');
    await runJob();
    expect(groupTasks()).toHaveLength(2);
  });

  it('filters by local group label, and the sandbox refuses groups the sender does not own', async () => {
    const now = clock.now().getTime();
    await app.container.repos.groupLabels.create({ id: 'lbl-gb', name: '重点群', color: '#f5222d' }, now);
    await app.container.repos.groupLabels.assign([groups.zhangsan[0], groups.lisi[1]], ['lbl-gb'], [], now);
    const labelled = await api(app, 'POST', '/api/v1/group-broadcasts/preview', { filter: { labelIds: ['lbl-gb'] } });
    expect(labelled.body).toMatchObject({ groups: 2, tasks: 2 });
    // A member who owns one of two listed groups: the other comes back in fail_list (docs/wecom-protocol.md §Mass messages).
    const res = await app.container.wecom.addMsgTemplate({ chatType: 'group', sender: 'zhangsan', chatIds: [groups.zhangsan[0], groups.lisi[0]], text: '非群主' });
    expect(res.failList).toEqual([groups.lisi[0]]);
    // None of them theirs: refused with 41048.
    await expect(app.container.wecom.addMsgTemplate({ chatType: 'group', sender: 'zhangsan', chatIds: [groups.lisi[0]], text: '非群主' })).rejects.toMatchObject({ errcode: 41048 });
  });

  it('refuses an empty message, template variables and a filter that selects nothing, in zh-CN', async () => {
    const empty = await api(app, 'POST', '/api/v1/group-broadcasts', { name: 'x', filter: {}, message: { text: ' ', attachments: [] } });
    expect(empty).toMatchObject({ status: 400, body: { error: { code: 'empty_message' } } });
    const vars = await api(app, 'POST', '/api/v1/group-broadcasts', { name: 'x', filter: {}, message: { text: '你好 {{name}}', attachments: [] } });
    expect(vars.body.error.message).toContain('不支持模板变量');
    const none = await api(app, 'POST', '/api/v1/group-broadcasts', { name: 'x', filter: { namePattern: '不存在的群' }, message: { text: 'hi', attachments: [] } });
    expect(none.body.error).toMatchObject({ code: 'no_groups', message: expect.stringContaining('没有符合条件的客户群') });
  });
  it('取消群发: planned groups are cancelled, tasks owners have not sent are withdrawn in WeCom, nothing is sent after, and a second cancel is harmless', async () => {
    clock.set(sh('2026-07-04T10:00:00'));
    app.container.sandbox!.setClock(sh('2026-07-04T10:00:00'));
    const mine: Record<string, string[]> = {};
    for (const owner of ['zhangsan', 'lisi', 'wangwu']) mine[owner] = [await addGroup(app.container, { owner, name: `${owner} 取消测试群`, customers: 3 })];
    mine.zhangsan.push(await addGroup(app.container, { owner: 'zhangsan', name: 'zhangsan 取消测试二群', customers: 2 }));
    const cancelCalls = () => app.container.sandbox!.calls('externalcontact/cancel_groupmsg_send');
    app.container.sandbox!.clearCalls();

    // A broadcast due in an hour, cancelled before it is submitted: its rows are cancelled and it never reaches WeCom.
    const later = await api(app, 'POST', '/api/v1/group-broadcasts', { name: '稍后发送', filter: { namePattern: '取消测试' }, message: { text: '稍后的一条', attachments: [] }, sendAt: sh('2026-07-04T11:00:00').toISOString() });
    expect(later.body).toMatchObject({ status: 'sending', rows: { planned: 4 } });
    const c1 = await api(app, 'POST', `/api/v1/group-broadcasts/${later.body.id}/cancel`);
    expect(c1.status).toBe(200);
    expect(c1.body).toMatchObject({ status: 'cancelled', rows: { planned: 0, cancelled: 4 }, cancellation: { cancelledRows: 4, withdrawnTasks: 0 } });
    expect(c1.body.cancellation.message).toContain('4 个群不再发送');
    clock.set(sh('2026-07-04T11:05:00'));
    await runJob();
    expect(groupTasks()).toHaveLength(0);

    // Submitted to 3 owners; zhangsan sends from 群发助手, the other two have not yet.
    const now = await api(app, 'POST', '/api/v1/group-broadcasts', { name: '马上发送', filter: { namePattern: '取消测试' }, message: { text: '马上的一条', attachments: [] } });
    const id: string = now.body.id;
    await runJob();
    expect(groupTasks()).toHaveLength(3);
    const taskOf = (owner: string) => [...app.container.sandbox!.store.massTasks.values()].find((t) => t.chatType === 'group' && t.recipients.some((r) => r.chatId === mine[owner][0]))!;
    app.container.sandbox!.confirmGroupMsg({ msgid: taskOf('zhangsan').msgid, userid: 'zhangsan' });

    // Staff may not cancel, as they may not write other group broadcasts.
    const staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    expect((await api(app, 'POST', `/api/v1/group-broadcasts/${id}/cancel`, undefined, staffToken)).status).toBe(403);

    // (The job also withdraws the earlier tests' tasks nobody sent in 3 days: only calls from here on count.)
    const mineOf = () => cancelCalls().map((c) => c.params.msgid as string).filter((m) => ['zhangsan', 'lisi', 'wangwu'].some((o) => taskOf(o).msgid === m));
    const c2 = await api(app, 'POST', `/api/v1/group-broadcasts/${id}/cancel`);
    expect(c2.status).toBe(200);
    expect(c2.body).toMatchObject({ status: 'cancelled', cancellation: { cancelledRows: 0, withdrawnTasks: 2, withdrawnRows: 2, confirmedTasks: 1, inFlightTasks: 0, failedTasks: 0 } });
    expect(c2.body.cancellation.message).toContain('已撤回 2 个群主尚未发送的群发任务');
    expect(c2.body.cancellation.message).toContain('1 个任务群主已发送，无法撤回');
    expect(mineOf().sort()).toEqual([taskOf('lisi').msgid, taskOf('wangwu').msgid].sort());
    expect(taskOf('lisi').isCancelled).toBe(true);
    expect(taskOf('zhangsan').isCancelled).toBeFalsy();
    // The withdrawn tasks can no longer be sent from 群发助手.
    expect(() => app.container.sandbox!.confirmGroupMsg({ msgid: taskOf('lisi').msgid, userid: 'lisi' })).toThrow();
    const audit = await app.container.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM audit_log WHERE action LIKE '%cancel%' AND target_id = ?", [id]);
    expect(Number(audit[0].n)).toBe(1);

    // The sent task's results are still read; nothing else goes out.
    clock.set(sh('2026-07-04T11:30:00'));
    await runJob();
    let view = (await api(app, 'GET', `/api/v1/group-broadcasts/${id}`)).body;
    expect(view).toMatchObject({ status: 'cancelled', rows: { sent: 2, cancelled: 2, submitted: 0, planned: 0 } });
    expect(groupTasks()).toHaveLength(3);

    // Again: nothing left to withdraw, nothing called, nothing changed.
    const c3 = await api(app, 'POST', `/api/v1/group-broadcasts/${id}/cancel`);
    expect(c3.body).toMatchObject({ status: 'cancelled', cancellation: { cancelledRows: 0, withdrawnTasks: 0, withdrawnRows: 0, inFlightTasks: 0, failedTasks: 0 } });
    expect(mineOf()).toHaveLength(2);
    view = (await api(app, 'GET', `/api/v1/group-broadcasts/${id}`)).body;
    expect(view.rows).toMatchObject({ sent: 2, cancelled: 2 });

    // A finished broadcast cannot be cancelled (409, in zh-CN).
    const done = (await api(app, 'GET', '/api/v1/group-broadcasts', undefined)).body.items.find((b: { status: string }) => b.status === 'done');
    const refused = await api(app, 'POST', `/api/v1/group-broadcasts/${done.id}/cancel`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('群发已完成，无法取消');
    expect((await api(app, 'POST', '/api/v1/group-broadcasts/nope/cancel')).status).toBe(404);
  });
});
