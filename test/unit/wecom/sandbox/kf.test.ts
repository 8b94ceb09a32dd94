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

  it('ends a session with a session_status_change event whose msg_code lets one reply through within 20 s', async () => {
    const { sut, clock } = buildSandbox();
    const token = await tokenFor(sut);
    await sut.sendKfMessage({ openKfId: 'wkA', externalUserId: 'wmKf1', text: '在吗' });
    const first = await callApi(sut, token, 'kf/sync_msg', { open_kfid: 'wkA' });
    const ended = await sut.endKfSession({ openKfId: 'wkA', externalUserId: 'wmKf1', servicerUserid: 'zhangsan' });
    expect(ended.callback.status).toBeDefined();
    const page = await callApi(sut, token, 'kf/sync_msg', { open_kfid: 'wkA', cursor: first.next_cursor });
    expect(page.msg_list).toHaveLength(1);
    expect(page.msg_list[0]).toMatchObject({
      origin: 4,
      msgtype: 'event',
      external_userid: 'wmKf1',
      event: { event_type: 'session_status_change', change_type: 3, old_servicer_userid: 'zhangsan', msg_code: ended.msgCode, open_kfid: 'wkA', external_userid: 'wmKf1' },
    });
    // After the end kf/send_msg is refused (95018) …
    const reply = { touser: 'wmKf1', open_kfid: 'wkA', msgtype: 'text', text: { content: '您好' } };
    expect((await callApi(sut, token, 'kf/send_msg', reply)).errcode).toBe(95018);
    // … an event reply with the code goes through once, with the caller's msgid …
    clock.advance(19_000);
    const onEvent = { code: ended.msgCode, msgid: 'wo-delivery-1', msgtype: 'text', text: { content: '请为本次服务打分' } };
    expect(await callApi(sut, token, 'kf/send_msg_on_event', onEvent)).toMatchObject({ errcode: 0, msgid: 'wo-delivery-1' });
    expect((await callApi(sut, token, 'kf/send_msg_on_event', onEvent)).errcode).toBe(95007);
    expect(sut.store.kfSent).toEqual([expect.objectContaining({ externalUserId: 'wmKf1', openKfId: 'wkA', via: 'event', msgid: 'wo-delivery-1', body: { content: '请为本次服务打分' } })]);
    // … and once the customer writes again, kf/send_msg works again.
    await sut.sendKfMessage({ openKfId: 'wkA', externalUserId: 'wmKf1', text: '还有个问题' });
    expect((await callApi(sut, token, 'kf/send_msg', reply)).errcode).toBe(0);
  });

  it('refuses an event reply after 20 s, after the session moved on, with an unknown code or a wrong msgtype', async () => {
    const { sut, clock } = buildSandbox();
    const token = await tokenFor(sut);
    await sut.sendKfMessage({ openKfId: 'wkA', externalUserId: 'wmLate', text: 'hi' });
    await sut.sendKfMessage({ openKfId: 'wkA', externalUserId: 'wmAgain', text: 'hi' });
    const late = await sut.endKfSession({ openKfId: 'wkA', externalUserId: 'wmLate' });
    const again = await sut.endKfSession({ openKfId: 'wkA', externalUserId: 'wmAgain' });
    const text = { msgtype: 'text', text: { content: '评价' } };
    expect((await callApi(sut, token, 'kf/send_msg_on_event', { code: late.msgCode, msgtype: 'image', image: { media_id: 'm' } })).errcode).toBe(40008);
    expect((await callApi(sut, token, 'kf/send_msg_on_event', { code: 'MSGCODEnope', ...text })).errcode).toBe(95007);
    await sut.sendKfMessage({ openKfId: 'wkA', externalUserId: 'wmAgain', text: '我又来了' });
    expect((await callApi(sut, token, 'kf/send_msg_on_event', { code: again.msgCode, ...text })).errcode).toBe(95018);
    clock.advance(20_001);
    expect((await callApi(sut, token, 'kf/send_msg_on_event', { code: late.msgCode, ...text })).errcode).toBe(95007);
    await expect(sut.endKfSession({ openKfId: 'wkA', externalUserId: 'wmLate' })).rejects.toThrow(/already ended/);
    await expect(sut.endKfSession({ openKfId: 'wkA', externalUserId: 'wmNobody' })).rejects.toThrow(/no KF conversation/);
    expect(sut.store.kfSent).toEqual([]);
  });
});
