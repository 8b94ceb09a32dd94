import { describe, expect, it } from 'vitest';
import { buildSandbox, callApi, tokenFor } from './sandbox-harness.js';

describe('WecomSandbox WeChat KF', () => {
  it('returns customer messages through kf/sync_msg with cursor, limit and has_more', async () => {
    const { sut } = buildSandbox();
    const token = await tokenFor(sut);
    for (let i = 0; i < 5; i++) await sut.sendKfMessage({ openKfId: 'wkA', externalUserId: 'wmKf1', text: `消息${i}` });
    await sut.sendKfMessage({ openKfId: 'wkB', externalUserId: 'wmKf2', text: 'other account' });
    const first = await callApi(sut, token, 'kf/sync_msg', { open_kfid: 'wkA', limit: 3 });
    expect(first).toMatchObject({ errcode: 0, has_more: 1 });
    expect(first.msg_list.map((m: any) => m.text.content)).toEqual(['消息0', '消息1', '消息2']);
    expect(first.msg_list[0]).toMatchObject({ open_kfid: 'wkA', external_userid: 'wmKf1', origin: 3, msgtype: 'text', send_time: expect.any(Number) });
    const second = await callApi(sut, token, 'kf/sync_msg', { open_kfid: 'wkA', limit: 3, cursor: first.next_cursor });
    expect(second.has_more).toBe(0);
    expect(second.msg_list.map((m: any) => m.text.content)).toEqual(['消息3', '消息4']);
    const third = await callApi(sut, token, 'kf/sync_msg', { open_kfid: 'wkA', cursor: second.next_cursor });
    expect(third.msg_list).toEqual([]);
  });

  it('accepts the callback token for 10 minutes and answers 95007 after', async () => {
    const { sut, clock } = buildSandbox();
    const { token: msgToken } = await sut.sendKfMessage({ openKfId: 'wkA', text: 'hi' });
    const token = await tokenFor(sut);
    expect((await callApi(sut, token, 'kf/sync_msg', { token: msgToken })).errcode).toBe(0);
    clock.advance(10 * 60_000 + 1);
    expect((await callApi(sut, token, 'kf/sync_msg', { token: msgToken })).errcode).toBe(95007);
  });

  it('starts from the last 3 days when no cursor is given', async () => {
    const { sut, clock } = buildSandbox();
    await sut.sendKfMessage({ openKfId: 'wkA', externalUserId: 'wmOld', text: 'old' });
    clock.advance(3 * 86400_000 + 1000);
    await sut.sendKfMessage({ openKfId: 'wkA', externalUserId: 'wmNew', text: 'new' });
    const res = await callApi(sut, await tokenFor(sut), 'kf/sync_msg', {});
    expect(res.msg_list.map((m: any) => m.text.content)).toEqual(['new']);
  });

  it('allows 5 replies per customer message within 48 h (95001), none after 48 h (95002)', async () => {
    const { sut, clock } = buildSandbox();
    const token = await tokenFor(sut);
    const reply = { touser: 'wmKf1', open_kfid: 'wkA', msgtype: 'text', text: { content: '您好' } };
    expect((await callApi(sut, token, 'kf/send_msg', reply)).errcode).toBe(40096);
    await sut.sendKfMessage({ openKfId: 'wkA', externalUserId: 'wmKf1', text: '在吗' });
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await callApi(sut, token, 'kf/send_msg', reply)).errcode);
    expect(codes).toEqual([0, 0, 0, 0, 0, 95001]);
    expect(sut.store.kfSent).toHaveLength(5);
    clock.advance(48 * 3600_000 + 1000);
    expect((await callApi(sut, await tokenFor(sut), 'kf/send_msg', reply)).errcode).toBe(95002);
  });
});
