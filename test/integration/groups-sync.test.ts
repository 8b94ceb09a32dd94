import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, waitFor } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';
import { FullSyncService } from '../../src/domain/customers/full-sync.service.js';
import { GroupSyncService } from '../../src/domain/groups/group-sync.service.js';
import { GroupArchiveService } from '../../src/domain/groups/group-archive.service.js';
import type { WecomGateway } from '../../src/wecom/client/gateway.js';
import { silentLogger } from '../../src/shared/logger.js';

/**
 * Customer groups stay true to WeCom (docs/groups.md §Callbacks, §Full sync): people create groups, join and leave
 * them in the client (the sandbox sends the real change_external_chat callbacks over HTTP); replaying every group
 * callback three times changes nothing; members who joined or left behind the bot's back are healed by the next full
 * sync; a sync killed mid-way resumes without duplicating anything.
 */
describe.each(testEngines())('customer groups: callbacks and full sync (%s)', (engine) => {
  let app: ArchiveApp;
  beforeAll(async () => {
    app = await startArchiveApp(engine);
    await app.archive.fullSync.run();
  }, 120_000);
  afterAll(() => app?.close());

  const control = async (path: string, body: unknown) => {
    const res = await api(app, 'POST', `/sandbox/_control/${path}`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const idle = () =>
    waitFor(async () => {
      const [{ n }] = await app.container.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM inbox_events WHERE status IN ('pending', 'running')");
      return Number(n) === 0;
    }, 20_000, 'the inbox to be idle');
  const groupTables = async () =>
    JSON.stringify({
      chats: await app.container.db.query('SELECT * FROM group_chats ORDER BY chat_id'),
      spells: await app.container.db.query('SELECT * FROM group_memberships ORDER BY id'),
      labels: await app.container.db.query('SELECT * FROM group_chat_labels ORDER BY chat_id, label_id'),
      timeline: await app.container.db.query("SELECT external_user_id, kind, summary, source_id, occurred_at FROM timeline_entries WHERE source = 'group' ORDER BY source_id"),
    });
  const archived = async (chatId: string) => (await app.container.repos.groupChats.members(chatId)).join(',');
  const inWeCom = (chatId: string) =>
    app.sandbox.store.groupChats
      .get(chatId)!
      .members.map((m) => m.userid)
      .sort()
      .join(',');
  const customers = () => [...app.sandbox.store.customers.keys()].sort();
  let firstChat = '';

  it('create, joins (with scene, invitor and state), leaves, renames, notice, new owner and dismissal arrive by callback; replaying them 3× changes nothing', async () => {
    const [c1, c2, c3, c4, c5] = customers();
    const { chatId } = await control('groups/create', { owner: 'zhangsan', name: '售后群', externalUserIds: [c1, c2] });
    firstChat = chatId;
    await waitFor(async () => (await archived(chatId)) === inWeCom(chatId), 10_000, 'the new group');

    await control('groups/join', { chatId, externalUserIds: [c3, c4], joinScene: 3, state: 'qr-spring' });
    await control('groups/join', { chatId, externalUserIds: [c5], joinScene: 2, invitor: 'zhangsan' });
    await control('groups/leave', { chatId, memberIds: [c1], quitScene: 1 });
    await control('groups/leave', { chatId, memberIds: [c2], quitScene: 0 });
    // The leaves are read before the rename, so their timeline lines name the group as it was.
    await idle();
    await control('groups/change', { chatId, name: '售后服务群', notice: '工作日 9:00–18:00 在线' });
    await app.sandbox.store.groupChats.get(chatId)!.members.push({ userid: 'lisi', type: 1, joinTime: 1, joinScene: 1, groupNickname: '', name: '李四' });
    await control('groups/change', { chatId, owner: 'lisi' });
    const other = await control('groups/create', { owner: 'wangwu', name: '临时群', externalUserIds: [c1] });
    await waitFor(async () => (await archived(other.chatId)) === inWeCom(other.chatId), 10_000, 'the second group');
    await control('groups/dismiss', { chatId: other.chatId });
    await idle();

    expect(await archived(chatId)).toBe(inWeCom(chatId));
    const g = (await api(app, 'GET', `/api/v1/groups/${chatId}`)).body;
    expect(g).toMatchObject({ name: '售后服务群', owner: 'lisi', notice: '工作日 9:00–18:00 在线', memberCount: 5 });
    const history = await app.container.repos.groupChats.history(chatId);
    expect(history.find((s) => s.memberId === c3)).toMatchObject({ joinScene: 3, state: 'qr-spring', invitor: null, leftAt: null });
    expect(history.find((s) => s.memberId === c5)).toMatchObject({ joinScene: 2, invitor: 'zhangsan' });
    expect(history.find((s) => s.memberId === c1)).toMatchObject({ quitScene: 1 });
    expect(history.find((s) => s.memberId === c1)!.leftAt).not.toBeNull();
    expect(history.find((s) => s.memberId === c2)).toMatchObject({ quitScene: 0 });
    expect((await app.container.repos.groupChats.find(other.chatId))!.dismissedAt).not.toBeNull();
    expect(await archived(other.chatId)).toBe('');
    const timeline = (await api(app, 'GET', `/api/v1/customers/${c1}`)).body.timeline as { kind: string; summary: string }[];
    expect(timeline.filter((e) => e.kind === 'group_leave').map((e) => e.summary).sort()).toEqual(['退出客户群「临时群」（群已解散）', '退出客户群「售后群」（被移出）']);

    const events = (await app.container.db.query<{ id: number | string }>("SELECT id FROM inbox_events WHERE kind LIKE 'event/change_external_chat%' ORDER BY id")).map((r) => Number(r.id));
    expect(events.length).toBeGreaterThanOrEqual(9);
    const before = await groupTables();
    for (let i = 0; i < 3; i++) {
      for (const id of events) {
        await app.container.inbox.replay(id);
        await app.container.inboxProcessor.drain();
      }
    }
    expect(await groupTables()).toBe(before);
    expect(await app.container.db.query("SELECT id, error FROM inbox_events WHERE status = 'failed'")).toEqual([]);
  });

  it('audience terms group:<chat id> and ingroup:<owner> select the customers in the group now', async () => {
    const audience = async (expr: string) =>
      ((await api(app, 'GET', `/api/v1/customers?pageSize=500&audience=${encodeURIComponent(expr)}`)).body.items as { externalUserId: string }[]).map((i) => i.externalUserId).sort();
    const inGroup = (chatId: string) => app.sandbox.store.groupChats.get(chatId)!.members.filter((m) => m.type === 2).map((m) => m.userid).sort();
    expect(await audience(`group:${firstChat}`)).toEqual(inGroup(firstChat));
    expect(await audience(`group:${firstChat.toLowerCase()}`)).toEqual([]);
    const lisis = [...new Set([...app.sandbox.store.groupChats.values()].filter((g) => g.owner === 'lisi').flatMap((g) => inGroup(g.chatId)))].sort();
    expect(lisis.length).toBeGreaterThan(0);
    expect(await audience('ingroup:lisi')).toEqual(lisis);
    const all = await audience('id:' + customers().slice(0, 5).join(','));
    expect(await audience(`id:${customers().slice(0, 5).join(',')} AND NOT group:${firstChat}`)).toEqual(all.filter((id) => !inGroup(firstChat).includes(id)));
    const preview = await api(app, 'POST', '/api/v1/audiences/preview', { audience: `ingroup:lisi AND group:${firstChat}` });
    expect(preview.body.count).toBe(inGroup(firstChat).length);
  });

  it('a full sync heals joins and leaves made behind the bot’s back, and resumes after a crash without duplicating', async () => {
    await control('groups/seed', { groups: 60, membersPerGroup: 20 });
    const first = await app.archive.fullSync.run();
    expect(first.chats.listed).toBe(app.sandbox.store.groupChats.size);
    const changed = (await control('groups/behind-back', { joins: 15, leaves: 15 })) as { joins: { chatId: string; memberId: string }[]; leaves: { chatId: string; memberId: string }[] };
    expect(changed.joins).toHaveLength(15);
    expect(changed.leaves).toHaveLength(15);
    await idle();
    expect(app.sandbox.calls().length).toBeGreaterThan(0);

    // The sync dies after 40 groupchat/get calls; a second run resumes it.
    let gets = 0;
    const crashing = new Proxy(app.wecom, {
      get(target, prop, receiver) {
        if (prop === 'groupChatGet') {
          return async (...args: Parameters<WecomGateway['groupChatGet']>) => {
            if (++gets === 40) throw new Error('simulated crash');
            return target.groupChatGet(...args);
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const c = app.container;
    const a = app.archive;
    const groupSync = new GroupSyncService(c.repos.groupChats, new GroupArchiveService(c.db, c.repos.groupChats, c.repos.timeline, crashing, c.clock), crashing, silentLogger);
    const sync = new FullSyncService(c.db, a.repos.syncRuns, a.staff, a.repos.customers, a.repos.relations, a.archive, a.library, crashing, c.clock, silentLogger, undefined, undefined, groupSync);
    await expect(sync.run()).rejects.toThrow('simulated crash');
    const getsBefore = app.sandbox.calls().filter((x) => x.api === 'externalcontact/groupchat/get').length;
    const report = await a.fullSync.run();
    const getsAfter = app.sandbox.calls().filter((x) => x.api === 'externalcontact/groupchat/get').length;
    expect(report.resumed).toBe(true);
    // Only the groups the crashed run had not applied were read again.
    expect(getsAfter - getsBefore).toBeLessThan(app.sandbox.store.groupChats.size);
    expect(report.chats.listed).toBe(app.sandbox.store.groupChats.size);

    for (const j of changed.joins) {
      const spells = await c.repos.groupChats.history(j.chatId, j.memberId);
      expect(spells.filter((s) => s.leftAt === null)).toHaveLength(1);
    }
    for (const l of changed.leaves) {
      const spells = await c.repos.groupChats.history(l.chatId, l.memberId);
      expect(spells.at(-1)!.leftAt).not.toBeNull();
      expect(spells.filter((s) => s.leftAt === null)).toHaveLength(0);
    }
    for (const chatId of app.sandbox.store.groupChats.keys()) expect(await archived(chatId)).toBe(inWeCom(chatId));
    // Nothing twice: at most one open spell per member and group, and one timeline line per spell event.
    const [dupes] = await c.db.query<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM (SELECT chat_id, member_id FROM group_memberships WHERE current_mark = 1 GROUP BY chat_id, member_id HAVING COUNT(*) > 1) d',
    );
    expect(Number(dupes.n)).toBe(0);
    const [counts] = await c.db.query<{ n: number | string; m: number | string }>('SELECT SUM(member_count) AS n, (SELECT COUNT(*) FROM group_memberships WHERE current_mark = 1) AS m FROM group_chats');
    expect(Number(counts.n)).toBe(Number(counts.m));

    // A second sync with nothing changed changes nothing.
    const before = await groupTables();
    const again = await a.fullSync.run();
    expect({ joined: again.chats.joined, left: again.chats.left }).toEqual({ joined: 0, left: 0 });
    const strip = (s: string) => s.replace(/"(last_seen_sync|synced_at)":("[^"]*"|\d+|null)/g, '');
    expect(strip(await groupTables())).toBe(strip(before));
  }, 300_000);

  it('groupchat/list refused with 81017 is read per 100 owners instead', async () => {
    await api(app, 'POST', '/sandbox/_control/faults', { api: 'externalcontact/groupchat/list', errcode: 81017, count: 1 });
    const report = await app.archive.fullSync.run();
    expect(report.chats.listed).toBe(app.sandbox.store.groupChats.size);
    const lists = app.sandbox.calls().filter((x) => x.api === 'externalcontact/groupchat/list');
    expect(lists.at(-1)!.params).toHaveProperty('owner_filter');
  }, 120_000);
});
