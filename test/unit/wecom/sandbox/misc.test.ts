import { describe, expect, it } from 'vitest';
import { buildSandbox, callApi, tokenFor } from './sandbox-harness.js';

describe('WecomSandbox app messages and group chats', () => {
  it('logs message/send and returns unknown userids in invaliduser', async () => {
    const { sut } = buildSandbox();
    sut.seed();
    const token = await tokenFor(sut);
    const res = await callApi(sut, token, 'message/send', { touser: 'zhangsan|ghost', msgtype: 'text', agentid: sut.options.corp.agentId, text: { content: '今日待跟进 3 位客户' } });
    expect(res).toMatchObject({ errcode: 0, invaliduser: 'ghost', msgid: expect.any(String) });
    expect(sut.store.appMessages).toEqual([expect.objectContaining({ touser: ['zhangsan'], invaliduser: ['ghost'], msgtype: 'text' })]);
    expect((await callApi(sut, token, 'message/send', { touser: 'ghost', msgtype: 'text', agentid: sut.options.corp.agentId, text: { content: 'x' } })).errcode).toBe(81013);
    expect((await callApi(sut, token, 'message/send', { touser: 'zhangsan', msgtype: 'text', agentid: 1, text: { content: 'x' } })).errcode).toBe(40056);
  });

  it('answers ok but does not deliver a member\'s 31st app message within a minute, like WeCom', async () => {
    const { sut, clock } = buildSandbox();
    sut.seed();
    const token = await tokenFor(sut);
    const send = (touser: string) => callApi(sut, token, 'message/send', { touser, msgtype: 'text', agentid: sut.options.corp.agentId, text: { content: '删人提醒' } });
    for (let i = 0; i < 30; i++) {
      expect((await send('zhangsan')).errcode).toBe(0);
      clock.advance(1000);
    }
    // Still errcode 0: the caller cannot tell. lisi is under his own cap and gets it.
    expect((await send('zhangsan|lisi')).errcode).toBe(0);
    expect(sut.store.appMessages.at(-1)).toMatchObject({ touser: ['zhangsan', 'lisi'], dropped: ['zhangsan'] });
    // A minute after the first one, the oldest has left the window.
    clock.advance(31_000);
    await send('zhangsan');
    expect(sut.store.appMessages.at(-1)!.dropped).toEqual([]);
  });

  it('pages group chats and returns member names only with need_name', async () => {
    const { sut } = buildSandbox();
    sut.seed();
    const token = await tokenFor(sut);
    expect((await callApi(sut, token, 'externalcontact/groupchat/list', {})).errcode).toBe(40058);
    const page1 = await callApi(sut, token, 'externalcontact/groupchat/list', { limit: 2 });
    const page2 = await callApi(sut, token, 'externalcontact/groupchat/list', { limit: 2, cursor: page1.next_cursor });
    expect([...page1.group_chat_list, ...page2.group_chat_list]).toHaveLength(3);
    expect(page2.next_cursor).toBe('');
    const chatId = page1.group_chat_list[0].chat_id;
    const withNames = await callApi(sut, token, 'externalcontact/groupchat/get', { chat_id: chatId, need_name: 1 });
    expect(withNames.group_chat.member_list[0]).toHaveProperty('name');
    const without = await callApi(sut, token, 'externalcontact/groupchat/get', { chat_id: chatId });
    expect(without.group_chat.member_list[0]).not.toHaveProperty('name');
    expect((await callApi(sut, token, 'externalcontact/groupchat/get', { chat_id: 'wrNope' })).errcode).toBe(40050);
  });
});
