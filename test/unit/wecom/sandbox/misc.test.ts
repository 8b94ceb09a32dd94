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
