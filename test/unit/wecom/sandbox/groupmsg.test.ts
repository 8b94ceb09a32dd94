import { describe, expect, it } from 'vitest';
import { buildSandbox, callApi, tokenFor } from './sandbox-harness.js';

async function seeded(overrides = {}) {
  const { sut, clock } = buildSandbox(overrides);
  sut.seed();
  return { sut, clock, token: await tokenFor(sut) };
}

describe('WecomSandbox mass messages', () => {
  it('rejects more than 10,000 external_userid with 40058', async () => {
    const { sut, token } = await seeded();
    const ids = Array.from({ length: 10_001 }, (_, i) => `wm${i}`);
    expect((await callApi(sut, token, 'externalcontact/add_msg_template', { external_userid: ids, text: { content: 'hi' } })).errcode).toBe(40058);
  });

  it('creates unsent per-sender tasks and lists unknown ids in fail_list', async () => {
    const { sut, token } = await seeded();
    const targets = sut.store.relationsOfUser('zhangsan').slice(0, 3).map((r) => r.externalUserId);
    const res = await callApi(sut, token, 'externalcontact/add_msg_template', { external_userid: [...targets, 'wmGhost'], sender: 'zhangsan', text: { content: '新品上市' } });
    expect(res).toMatchObject({ errcode: 0, fail_list: ['wmGhost'], msgid: expect.any(String) });
    const task = await callApi(sut, token, 'externalcontact/get_groupmsg_task', { msgid: res.msgid });
    expect(task.task_list).toEqual([{ userid: 'zhangsan', status: 0 }]);
    const result = await callApi(sut, token, 'externalcontact/get_groupmsg_send_result', { msgid: res.msgid, userid: 'zhangsan' });
    expect(result.send_list.map((r: any) => r.status)).toEqual([0, 0, 0]);
  });

  it('answers 41048 when nobody is sendable and 40063 when external_userid and sender are both empty', async () => {
    const { sut, token } = await seeded();
    expect((await callApi(sut, token, 'externalcontact/add_msg_template', { external_userid: ['wmGhost'], text: { content: 'x' } })).errcode).toBe(41048);
    expect((await callApi(sut, token, 'externalcontact/add_msg_template', { text: { content: 'x' } })).errcode).toBe(40063);
  });

  it('filters by tag_filter: OR within a group, AND across groups', async () => {
    const { sut, token } = await seeded();
    const [vip] = sut.store.tagGroups[0].tags;
    const [inquiry, bought] = sut.store.tagGroups[1].tags;
    const res = await callApi(sut, token, 'externalcontact/add_msg_template', {
      sender: 'zhangsan',
      tag_filter: { group_list: [{ tag_list: [vip.id] }, { tag_list: [inquiry.id, bought.id] }] },
      text: { content: 'VIP 专享' },
    });
    const expected = sut.store
      .relationsOfUser('zhangsan')
      .filter((r) => r.tagIds.includes(vip.id) && (r.tagIds.includes(inquiry.id) || r.tagIds.includes(bought.id)))
      .map((r) => r.externalUserId);
    expect(expected.length).toBeGreaterThan(0);
    expect(sut.store.massTasks.get(res.msgid)?.recipients.map((r) => r.externalUserId)).toEqual(expected);
  });

  it('sends on confirmation and gives status 3 to customers over the quota', async () => {
    const { sut, clock, token } = await seeded({ massQuota: 'one_per_day' });
    const targets = sut.store.relationsOfUser('lisi').slice(0, 2).map((r) => r.externalUserId);
    const first = await callApi(sut, token, 'externalcontact/add_msg_template', { external_userid: [targets[0]], sender: 'lisi', text: { content: '一' } });
    expect(sut.confirmGroupMsg({ msgid: first.msgid })).toEqual({ sent: 1, overQuota: 0, notFriend: 0 });
    clock.advance(3600_000);
    const second = await callApi(sut, token, 'externalcontact/add_msg_template', { external_userid: targets, sender: 'lisi', text: { content: '二' } });
    expect(sut.confirmGroupMsg({ msgid: second.msgid, userid: 'lisi' })).toEqual({ sent: 1, overQuota: 1, notFriend: 0 });
    const result = await callApi(sut, token, 'externalcontact/get_groupmsg_send_result', { msgid: second.msgid, userid: 'lisi' });
    const byId = Object.fromEntries(result.send_list.map((r: any) => [r.external_userid, r]));
    expect(byId[targets[0]]).toEqual({ external_userid: targets[0], userid: 'lisi', status: 3 });
    expect(byId[targets[1]]).toMatchObject({ status: 1, send_time: Math.floor(clock.now().getTime() / 1000) });
    const task = await callApi(sut, token, 'externalcontact/get_groupmsg_task', { msgid: second.msgid });
    expect(task.task_list[0]).toMatchObject({ userid: 'lisi', status: 2 });
  });

  it('gives status 2 to customers who deleted the member before confirmation', async () => {
    const { sut, token } = await seeded();
    const [target] = sut.store.relationsOfUser('wangwu').map((r) => r.externalUserId);
    const { msgid } = await callApi(sut, token, 'externalcontact/add_msg_template', { external_userid: [target], sender: 'wangwu', text: { content: 'x' } });
    await sut.customerDeletesStaff({ userid: 'wangwu', externalUserId: target });
    expect(sut.confirmGroupMsg({ msgid })).toEqual({ sent: 0, overQuota: 0, notFriend: 1 });
  });

  it('allows 3 reminders per 24 h (then 41094) and cancels once (then 41093)', async () => {
    const { sut, clock, token: firstToken } = await seeded();
    let token = firstToken;
    const { msgid } = await callApi(sut, token, 'externalcontact/add_msg_template', { sender: 'zhaoliu', text: { content: 'x' } });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await callApi(sut, token, 'externalcontact/remind_groupmsg_send', { msgid })).errcode);
    expect(codes).toEqual([0, 0, 0, 41094]);
    clock.advance(24 * 3600_000);
    token = await tokenFor(sut); // the first token expired after 7200 s
    expect((await callApi(sut, token, 'externalcontact/remind_groupmsg_send', { msgid })).errcode).toBe(0);
    expect((await callApi(sut, token, 'externalcontact/cancel_groupmsg_send', { msgid })).errcode).toBe(0);
    expect((await callApi(sut, token, 'externalcontact/cancel_groupmsg_send', { msgid })).errcode).toBe(41093);
    expect(() => sut.confirmGroupMsg({ msgid })).toThrow(/cancelled/);
  });

  it('answers 41063 right after creation when groupMsgDispatchMs is set', async () => {
    const { sut, clock, token } = await seeded({ groupMsgDispatchMs: 1000 });
    const { msgid } = await callApi(sut, token, 'externalcontact/add_msg_template', { sender: 'sunqi', text: { content: 'x' } });
    expect((await callApi(sut, token, 'externalcontact/get_groupmsg_task', { msgid })).errcode).toBe(41063);
    clock.advance(1000);
    expect((await callApi(sut, token, 'externalcontact/get_groupmsg_task', { msgid })).errcode).toBe(0);
  });

  it('lists tasks in a time range of at most one month', async () => {
    const { sut, clock, token } = await seeded();
    const { msgid } = await callApi(sut, token, 'externalcontact/add_msg_template', { sender: 'sunqi', text: { content: 'x' } });
    const nowS = Math.floor(clock.now().getTime() / 1000);
    const list = await callApi(sut, token, 'externalcontact/get_groupmsg_list_v2', { chat_type: 'single', start_time: nowS - 60, end_time: nowS + 60 });
    expect(list.group_msg_list).toEqual([{ msgid, create_time: String(nowS), create_type: 0, text: { content: 'x' } }]);
    expect((await callApi(sut, token, 'externalcontact/get_groupmsg_list_v2', { start_time: nowS - 40 * 86400, end_time: nowS })).errcode).toBe(40058);
  });
});
