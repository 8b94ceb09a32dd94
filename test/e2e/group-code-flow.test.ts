import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';

/**
 * 群活码 end to end against the sandbox (docs/groups.md §Group QR codes): a code with auto-create over the owner's group;
 * 250 customers scan it; the sandbox fills the group to 200 and opens the second room; every join reaches the bot as a
 * callback over HTTP and is attributed to the code (250 joins over 2 groups on the Asia/Shanghai day); the new room is
 * picked up in the code's list; and every joiner got the welcome template the owner applied in the client.
 */
describe.each(testEngines())('群活码 end to end (%s)', (engine) => {
  let app: TestApp;
  // 2026-03-10 01:30 in Shanghai is still 2026-03-09 in UTC: the day must be Shanghai's.
  const clock = new FixedClock(new Date('2026-03-09T17:30:00Z'));
  const control = async (path: string, body?: unknown) => {
    const res = await fetch(`${app.url}/sandbox/_control/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
  }, 60_000);
  afterAll(() => app?.close());

  it('fills the first group to 200, opens the second, attributes all 250 joins, and the owner’s template greets them', async () => {
    const sandbox = app.container.sandbox!;
    const first = [...sandbox.store.groupChats.values()].find((c) => c.owner === 'zhangsan')!;
    const already = first.members.length;

    // Refusals in zh-CN before WeCom is asked.
    const six = await api(app, 'POST', '/api/v1/group-codes', { name: '太多群', chatIds: ['a', 'b', 'c', 'd', 'e', 'f'] });
    expect(six.status).toBe(400);
    expect(JSON.stringify(six.body)).toContain('一个群活码最多 5 个群');
    const noBase = await api(app, 'POST', '/api/v1/group-codes', { name: '缺前缀', chatIds: [first.chatId], autoCreateRoom: true });
    expect(JSON.stringify(noBase.body)).toContain('开启自动建群时请填写群名前缀');
    const unknown = await api(app, 'POST', '/api/v1/group-codes', { name: '不存在的群', chatIds: ['wrNOSUCHGROUP'], autoCreateRoom: false });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('企业微信找不到所选的群');

    // The welcome template, in WeCom's library; the owner applies it to the group in the client.
    const template = await api(app, 'POST', '/api/v1/group-welcome-templates', { name: '入群欢迎', text: '欢迎 %NICKNAME% 加入福利群，群公告里有新人券', notify: true });
    expect(template.status, JSON.stringify(template.body)).toBe(201);
    expect(template.body).toMatchObject({ status: 'active', templateId: expect.any(String), statusWords: '已加入素材库' });
    expect((await control('groups/apply-welcome-template', { userid: 'zhangsan', chatId: first.chatId, templateId: template.body.templateId })).status).toBe(200);

    const created = await api(app, 'POST', '/api/v1/group-codes', { name: '三月福利群', chatIds: [first.chatId], autoCreateRoom: true, roomBaseName: '福利群', roomBaseId: 2 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const code = created.body;
    expect(code).toMatchObject({ status: 'active', statusWords: '使用中', chatIds: [first.chatId], qrCode: expect.stringMatching(/\.png$/) });
    expect(code.state.length).toBeLessThanOrEqual(30);

    // 250 customers scan the code (the sandbox sends each change_external_chat to the bot over HTTP).
    const joins: { chatId: string; openedChatId: string | null }[] = [];
    for (let i = 0; i < 250; i++) {
      const res = await control('groups/join-by-code', { configId: code.configId, name: `扫码客户${i}` });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      joins.push(res.body);
    }
    await app.container.inboxProcessor.drain();

    const inFirst = 200 - already;
    expect(joins.filter((j) => j.chatId === first.chatId)).toHaveLength(inFirst);
    const opened = joins.find((j) => j.openedChatId)!.openedChatId!;
    expect(joins.indexOf(joins.find((j) => j.openedChatId)!)).toBe(inFirst);
    expect(sandbox.store.groupChats.get(opened)).toMatchObject({ name: '福利群2', owner: 'zhangsan' });
    expect(sandbox.store.groupChats.get(first.chatId)!.members).toHaveLength(200);

    // Every join is the code's: 250 on the Shanghai day, over the two groups; the new room is in the code's list.
    const stats = (await api(app, 'GET', `/api/v1/group-codes/${code.id}/daily?from=2026-03-09&to=2026-03-10`)).body;
    expect(stats.total).toEqual({ joins: 250, leaves: 0, net: 250 });
    expect(stats.days).toEqual([
      { day: '2026-03-09', joins: 0, leaves: 0, net: 0 },
      { day: '2026-03-10', joins: 250, leaves: 0, net: 250 },
    ]);
    expect(stats.byGroup).toEqual([
      { chatId: first.chatId, name: first.name, joins: inFirst, leaves: 0, net: inFirst, current: inFirst },
      { chatId: opened, name: '福利群2', joins: 250 - inFirst, leaves: 0, net: 250 - inFirst, current: 250 - inFirst },
    ]);
    expect((await api(app, 'GET', `/api/v1/group-codes/${code.id}`)).body.chatIds).toEqual([first.chatId, opened]);

    // The owner's template greeted every joiner, in both rooms, with the nickname filled in.
    const welcomes = (await control('groups/welcomes')).body.items as { chatId: string; templateId: string; text: string }[];
    expect(welcomes).toHaveLength(250);
    expect(new Set(welcomes.map((w) => w.templateId))).toEqual(new Set([template.body.templateId]));
    expect(welcomes.filter((w) => w.chatId === opened)).toHaveLength(250 - inFirst);
    expect(welcomes[0].text).toBe('欢迎 扫码客户0 加入福利群，群公告里有新人券');

    // Replaying the group callbacks changes nothing; a member who leaves is counted once, on the code.
    const callbacks = sandbox.callbacks().filter((c) => c.xml.includes('change_external_chat'));
    for (const cb of callbacks.slice(-20)) await sandbox.deliverCallback(cb.xml);
    await app.container.inboxProcessor.drain();
    expect((await api(app, 'GET', `/api/v1/group-codes/${code.id}/daily?from=2026-03-10&to=2026-03-10`)).body.total).toEqual({ joins: 250, leaves: 0, net: 250 });
  }, 240_000);
});
