import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_CORP } from '../../../src/wecom/sandbox-identity.js';
import { http, startMountedSandbox } from './harness.js';

/**
 * The sandbox plays 群活码 and group welcome templates as WeCom does: their limits and refusals over HTTP, scans that
 * fill groups and open rooms, and welcomes (docs/wecom-protocol.md §Group join ways, §Group welcome templates).
 */
describe('sandbox 群活码 and group welcome templates', () => {
  let env: Awaited<ReturnType<typeof startMountedSandbox>>;
  let token = '';
  let chats: { chatId: string; owner: string }[] = [];
  const cgi = async (api: string, json: unknown) => (await http(`${env.base}/cgi-bin/externalcontact/${api}?access_token=${token}`, { json })).body;
  const control = (path: string, json?: unknown) => http(`${env.base}/_control/${path}`, json === undefined ? {} : { json });

  beforeAll(async () => {
    env = await startMountedSandbox();
  });
  afterAll(() => env.close());
  beforeEach(async () => {
    await control('seed', {});
    token = (await http(`${env.base}/cgi-bin/gettoken?corpid=${SANDBOX_CORP.corpId}&corpsecret=${SANDBOX_CORP.secret}`)).body.access_token;
    chats = [...env.sandbox.store.groupChats.values()].map((c) => ({ chatId: c.chatId, owner: c.owner }));
  });

  it('refuses join ways outside the limits with WeCom’s codes', async () => {
    const six = [...chats.map((c) => c.chatId), 'wrX1', 'wrX2', 'wrX3'].slice(0, 6);
    expect((await cgi('groupchat/add_join_way', { scene: 2, chat_id_list: six })).errcode).toBe(40058);
    expect((await cgi('groupchat/add_join_way', { scene: 2, chat_id_list: [] })).errcode).toBe(40063);
    expect((await cgi('groupchat/add_join_way', { scene: 3, chat_id_list: [chats[0].chatId] })).errcode).toBe(40058);
    expect((await cgi('groupchat/add_join_way', { scene: 2, chat_id_list: ['wrNOPE'] })).errcode).toBe(40050);
    expect((await cgi('groupchat/add_join_way', { scene: 2, chat_id_list: [chats[0].chatId], state: 'x'.repeat(31) })).errcode).toBe(40058);
    expect((await cgi('groupchat/add_join_way', { scene: 2, chat_id_list: [chats[0].chatId], room_base_name: '群'.repeat(41) })).errcode).toBe(40058);
    expect((await cgi('groupchat/get_join_way', { config_id: 'nope' })).errcode).toBe(40058);
  });

  it('stores, reads, overwrites and deletes a join way; the remark is cut at 30 characters', async () => {
    const added = await cgi('groupchat/add_join_way', { scene: 2, chat_id_list: [chats[0].chatId], state: 'gq_test', remark: '备'.repeat(35), room_base_name: '福利群', room_base_id: 3 });
    expect(added).toMatchObject({ errcode: 0, config_id: expect.any(String) });
    const got = (await cgi('groupchat/get_join_way', { config_id: added.config_id })).join_way;
    expect(got).toMatchObject({ scene: 2, state: 'gq_test', auto_create_room: 1, room_base_name: '福利群', room_base_id: 3, chat_id_list: [chats[0].chatId] });
    expect(got.remark).toBe('备'.repeat(30));
    expect(got.qr_code).toMatch(/\/qr\/.+\.png$/);
    expect((await fetch(got.qr_code)).headers.get('content-type')).toBe('image/png');
    expect((await cgi('groupchat/update_join_way', { config_id: added.config_id, scene: 2, chat_id_list: [chats[1].chatId], auto_create_room: 0 })).errcode).toBe(0);
    expect((await cgi('groupchat/get_join_way', { config_id: added.config_id })).join_way).toMatchObject({ chat_id_list: [chats[1].chatId], auto_create_room: 0 });
    expect((await cgi('groupchat/del_join_way', { config_id: added.config_id })).errcode).toBe(0);
    expect((await cgi('groupchat/del_join_way', { config_id: added.config_id })).errcode).toBe(40058);
  });

  it('fills the listed group, then opens base name + next id when all are full, and greets joiners with the owner’s template', async () => {
    await control('config', { roomFullSize: 15 });
    const chat = env.sandbox.store.groupChats.get(chats[0].chatId)!;
    const room = 15 - chat.members.length;
    const { config_id } = await cgi('groupchat/add_join_way', { scene: 2, chat_id_list: [chat.chatId], state: 'gq_full', room_base_name: '福利群', room_base_id: 10 });
    const { template_id } = await cgi('group_welcome_template/add', { text: { content: '欢迎 %NICKNAME% 入群' }, notify: 1 });
    // Only the owner (or an admin) may choose the group's welcome in the client.
    expect((await control('groups/apply-welcome-template', { userid: chats[1].owner === chat.owner ? 'nobody' : chats[1].owner, chatId: chat.chatId, templateId: template_id })).status).toBe(403);
    expect((await control('groups/apply-welcome-template', { userid: chat.owner, chatId: chat.chatId, templateId: template_id })).status).toBe(200);

    const joins = [];
    for (let i = 0; i < room + 2; i++) joins.push((await control('groups/join-by-code', { configId: config_id, name: `扫码${i}` })).body);
    expect(joins.slice(0, room).every((j) => j.chatId === chat.chatId && j.openedChatId === null)).toBe(true);
    const opened = joins[room].openedChatId as string;
    expect(opened).toBeTruthy();
    expect(joins[room + 1]).toMatchObject({ chatId: opened, openedChatId: null });
    const newRoom = env.sandbox.store.groupChats.get(opened)!;
    expect(newRoom).toMatchObject({ name: '福利群10', owner: chat.owner });
    expect((await cgi('groupchat/get_join_way', { config_id })).join_way.chat_id_list).toEqual([chat.chatId, opened]);

    // The member carries the code's state and join_scene 3; the event says JoinScene 3 with the member's id.
    const detail = (await cgi('groupchat/get', { chat_id: opened })).group_chat;
    expect(detail.member_list.at(-1)).toMatchObject({ userid: joins[room + 1].externalUserId, join_scene: 3, state: 'gq_full', type: 2 });
    const xmls = env.sandbox.callbacks().map((c) => c.xml);
    expect(xmls.some((x) => x.includes(`<ChatId><![CDATA[${opened}]]></ChatId><ChangeType><![CDATA[create]]></ChangeType>`))).toBe(true);
    expect(xmls.at(-1)).toContain('<UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>3</JoinScene><MemChangeCnt>1</MemChangeCnt>');

    // Every joiner was greeted with the applied template, in both rooms.
    const welcomes = (await control('groups/welcomes')).body.items as { chatId: string; templateId: string; text: string }[];
    expect(welcomes).toHaveLength(room + 2);
    expect(welcomes.every((w) => w.templateId === template_id)).toBe(true);
    expect(welcomes[0].text).toBe('欢迎 扫码0 入群');
    expect(welcomes.at(-1)?.chatId).toBe(opened);
  });

  it('stops admitting when every group is full and auto-create is off', async () => {
    await control('config', { roomFullSize: 13 });
    const chat = env.sandbox.store.groupChats.get(chats[0].chatId)!;
    const { config_id } = await cgi('groupchat/add_join_way', { scene: 2, chat_id_list: [chat.chatId], auto_create_room: 0 });
    expect(chat.members.length).toBe(13);
    expect((await control('groups/join-by-code', { configId: config_id })).status).toBe(409);
  });

  it('keeps group welcome templates within 100, 3000 bytes and one attachment of each kind', async () => {
    expect((await cgi('group_welcome_template/add', {})).errcode).toBe(40063);
    expect((await cgi('group_welcome_template/add', { text: { content: '字'.repeat(1001) } })).errcode).toBe(40058);
    expect((await cgi('group_welcome_template/add', { link: { title: 't' } })).errcode).toBe(40063);
    expect((await cgi('group_welcome_template/add', { image: { media_id: 'expired' } })).errcode).toBe(40007);
    const full = await cgi('group_welcome_template/add', { text: { content: '字'.repeat(1000) }, link: { title: '活动', url: 'https://example.com' }, notify: 0 });
    expect(full).toMatchObject({ errcode: 0, template_id: expect.any(String) });
    expect(await cgi('group_welcome_template/get', { template_id: full.template_id })).toMatchObject({ text: { content: '字'.repeat(1000) }, link: { title: '活动' } });
    expect((await cgi('group_welcome_template/edit', { template_id: full.template_id, text: { content: '新的' } })).errcode).toBe(0);
    expect(await cgi('group_welcome_template/get', { template_id: full.template_id })).toMatchObject({ text: { content: '新的' }, link: { title: '活动' } });
    for (let i = 1; i < 100; i++) expect((await cgi('group_welcome_template/add', { text: { content: `第${i}个` } })).errcode).toBe(0);
    expect((await cgi('group_welcome_template/add', { text: { content: '第101个' } })).errcode).toBe(40058);
    expect((await cgi('group_welcome_template/del', { template_id: full.template_id })).errcode).toBe(0);
    expect((await cgi('group_welcome_template/add', { text: { content: '删掉一个后可以再加' } })).errcode).toBe(0);
  });
});
