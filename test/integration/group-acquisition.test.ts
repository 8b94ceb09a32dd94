import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from './../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';
import { externalChatEventXml } from '../../src/wecom/sandbox/callback-xml.js';

/**
 * 群活码 and 入群欢迎语 through the API over HTTP (docs/groups.md): a code WeCom does not take is parked with its reason
 * and retried; edits and deletion reach WeCom; leaves and re-joins are counted once on their Shanghai day; templates keep
 * WeCom's limits with zh-CN errors before WeCom is asked.
 */
describe.each(testEngines())('group acquisition API (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(new Date('2026-04-01T02:00:00Z'));
  const control = (path: string, body: unknown) => fetch(`${app.url}/sandbox/_control/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
  }, 60_000);
  afterAll(() => app?.close());

  it('parks a code WeCom refuses for a reason the form cannot fix, retries it, edits and deletes it in WeCom', async () => {
    const sandbox = app.container.sandbox!;
    const [a, b] = [...sandbox.store.groupChats.values()];
    sandbox.injectFault({ api: 'externalcontact/groupchat/add_join_way', errcode: 48002, count: 1 });
    const parked = await api(app, 'POST', '/api/v1/group-codes', { name: '门店群码', chatIds: [a.chatId], autoCreateRoom: false });
    expect(parked.status).toBe(201);
    expect(parked.body).toMatchObject({ status: 'failed', statusWords: '创建失败，待重试', configId: null, lastError: expect.stringContaining('48002') });
    expect((await api(app, 'GET', '/api/v1/group-codes')).body.items[0]).toMatchObject({ id: parked.body.id, status: 'failed' });

    const retried = await api(app, 'POST', `/api/v1/group-codes/${parked.body.id}/retry`);
    expect(retried.body).toMatchObject({ status: 'active', lastError: null, configId: expect.any(String) });
    const configId = retried.body.configId as string;
    expect(sandbox.store.joinWays.get(configId)).toMatchObject({ state: parked.body.state, chatIds: [a.chatId], autoCreateRoom: false, remark: '门店群码' });

    const edited = await api(app, 'PATCH', `/api/v1/group-codes/${parked.body.id}`, { chatIds: [a.chatId, b.chatId], autoCreateRoom: true, roomBaseName: '门店群' });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(sandbox.store.joinWays.get(configId)).toMatchObject({ chatIds: [a.chatId, b.chatId], autoCreateRoom: true, roomBaseName: '门店群' });

    expect((await api(app, 'DELETE', `/api/v1/group-codes/${parked.body.id}`)).status).toBe(204);
    expect(sandbox.store.joinWays.has(configId)).toBe(false);
    expect((await api(app, 'GET', `/api/v1/group-codes/${parked.body.id}`)).status).toBe(404);
  });

  it('counts a leave and a re-join through the code once each, on their Shanghai days, however often events repeat', async () => {
    const sandbox = app.container.sandbox!;
    const chat = [...sandbox.store.groupChats.values()].find((c) => c.owner === 'lisi')!;
    const code = (await api(app, 'POST', '/api/v1/group-codes', { name: '新品体验', chatIds: [chat.chatId], autoCreateRoom: false })).body;
    const joined = (await (await control('groups/join-by-code', { configId: code.configId, name: '小王' })).json()) as { externalUserId: string };
    await app.container.inboxProcessor.drain();

    // The customer leaves at 2026-04-02 23:30 Shanghai (15:30 UTC): the sandbox's event, sent twice.
    clock.set(new Date('2026-04-02T15:30:00Z'));
    chat.members = chat.members.filter((m) => m.userid !== joined.externalUserId);
    const leave = externalChatEventXml({ corpId: sandbox.options.corp.corpId, createTime: Math.floor(clock.now().getTime() / 1000), chatId: chat.chatId, changeType: 'update', updateDetail: 'del_member', quitScene: 0, memberIds: [joined.externalUserId] });
    await sandbox.deliverCallback(leave);
    await sandbox.deliverCallback(leave);
    await app.container.inboxProcessor.drain();

    // They scan again the next morning.
    clock.set(new Date('2026-04-03T01:00:00Z'));
    await control('groups/join-by-code', { configId: code.configId, externalUserId: joined.externalUserId });
    await app.container.inboxProcessor.drain();

    const stats = (await api(app, 'GET', `/api/v1/group-codes/${code.id}/daily?from=2026-04-01&to=2026-04-03`)).body;
    expect(stats.days).toEqual([
      { day: '2026-04-01', joins: 1, leaves: 0, net: 1 },
      { day: '2026-04-02', joins: 0, leaves: 1, net: -1 },
      { day: '2026-04-03', joins: 1, leaves: 0, net: 1 },
    ]);
    expect(stats.byGroup).toEqual([{ chatId: chat.chatId, name: chat.name, joins: 2, leaves: 1, net: 1, current: 1 }]);
    expect((await api(app, 'GET', `/api/v1/group-codes/${code.id}/daily?from=2026-04-01&to=2026-03-01`)).body.error.message).toContain('开始日期不能晚于结束日期');
  });

  it('keeps group welcome templates within WeCom’s limits, in zh-CN', async () => {
    const tooLong = await api(app, 'POST', '/api/v1/group-welcome-templates', { name: '太长', text: '字'.repeat(1001) });
    expect(tooLong.status).toBe(400);
    expect(JSON.stringify(tooLong.body)).toContain('欢迎语文字最多 3000 字节');
    const empty = await api(app, 'POST', '/api/v1/group-welcome-templates', { name: '空的', text: '  ' });
    expect(JSON.stringify(empty.body)).toContain('请填写欢迎语文字或至少一个附件');
    const twoImages = await api(app, 'POST', '/api/v1/group-welcome-templates', { name: '两张图', text: 'hi', attachments: { image: { picUrl: 'https://a.example/1.png' }, images: [] } });
    expect(JSON.stringify(twoImages.body)).toContain('每种最多一个');

    const first = await api(app, 'POST', '/api/v1/group-welcome-templates', { name: '新人', text: '欢迎 %NICKNAME%', attachments: { link: { title: '新人礼', url: 'https://shop.example/new' } }, notify: false });
    expect(first.body).toMatchObject({ status: 'active', notify: false });
    const inWecom = app.container.sandbox!.store.groupWelcomeTemplates.get(first.body.templateId)!;
    expect(inWecom).toMatchObject({ notify: false, content: { text: { content: '欢迎 %NICKNAME%' }, link: { title: '新人礼', url: 'https://shop.example/new' } } });
    expect((await api(app, 'PATCH', `/api/v1/group-welcome-templates/${first.body.id}`, { text: '欢迎新朋友 %NICKNAME%' })).status).toBe(200);
    expect(inWecom.content.text).toEqual({ content: '欢迎新朋友 %NICKNAME%' });

    for (let i = 1; i < 100; i++) expect((await api(app, 'POST', '/api/v1/group-welcome-templates', { name: `第${i}条`, text: `欢迎 ${i}` })).status).toBe(201);
    const over = await api(app, 'POST', '/api/v1/group-welcome-templates', { name: '第101条', text: '欢迎' });
    expect(over.status).toBe(409);
    expect(over.body.error.message).toBe('每个企业最多 100 条入群欢迎语，请先删除不用的');
    expect((await api(app, 'DELETE', `/api/v1/group-welcome-templates/${first.body.id}`)).status).toBe(204);
    expect(app.container.sandbox!.store.groupWelcomeTemplates.has(first.body.templateId)).toBe(false);
    expect((await api(app, 'GET', '/api/v1/group-welcome-templates')).body.total).toBe(99);
  }, 60_000);
});
