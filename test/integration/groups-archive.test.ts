import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api } from '../helpers/app.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';
import type { GroupChatSnapshot, GroupMemberSnapshot } from '../../src/domain/groups/group-chat.types.js';

/**
 * The group archive keeps membership as history (docs/groups.md §Archive): a join opens a spell, a leave closes it, a
 * re-join opens a new one; the same snapshot applied again changes nothing; filters count groups and members.
 */
describe.each(testEngines())('group archive (%s)', (engine) => {
  let app: ArchiveApp;
  beforeAll(async () => {
    app = await startArchiveApp(engine, { startServices: false, seed: false });
  }, 60_000);
  afterAll(() => app?.close());

  const t0 = Date.UTC(2026, 5, 1, 2, 0, 0);
  const member = (memberId: string, joinedAt: number, extra: Partial<GroupMemberSnapshot> = {}): GroupMemberSnapshot => ({
    memberId,
    type: memberId.startsWith('wm') ? 2 : 1,
    joinedAt: new Date(joinedAt),
    joinScene: 3,
    ...extra,
  });
  const snap = (chatId: string, owner: string, members: GroupMemberSnapshot[], extra: Partial<GroupChatSnapshot> = {}): GroupChatSnapshot => ({
    chatId,
    name: `群-${chatId}`,
    owner,
    createdAt: new Date(t0),
    notice: '群公告',
    adminUserIds: [],
    members,
    ...extra,
  });
  const spells = async (chatId: string) =>
    (await app.container.repos.groupChats.history(chatId)).map((s) => `${s.memberId}@${s.joinedAt?.getTime() ?? '-'}${s.leftAt ? `→${s.leftAt.getTime()}/${s.quitScene ?? '-'}` : ''}`);
  const tables = async () =>
    JSON.stringify([
      await app.container.db.query('SELECT * FROM group_chats ORDER BY chat_id'),
      await app.container.db.query('SELECT * FROM group_memberships ORDER BY id'),
      await app.container.db.query("SELECT external_user_id, kind, source_id, occurred_at FROM timeline_entries WHERE source = 'group' ORDER BY source_id"),
    ]);

  it('opens a spell per join, closes it on leave, opens a new one on re-join, and a replay changes nothing', async () => {
    const g = app.container.groups.archive;
    await g.apply(snap('c1', 'zhangsan', [member('zhangsan', t0), member('wmA', t0 + 1000, { state: 'qr-1' }), member('wmB', t0 + 2000)]), t0 + 10_000);
    expect(await app.container.repos.groupChats.members('c1')).toEqual(['wmA', 'wmB', 'zhangsan']);
    // wmA leaves (a del_member named them, QuitScene 0); wmB vanished without an event.
    await g.apply(snap('c1', 'zhangsan', [member('zhangsan', t0)]), t0 + 20_000, { leave: { memberIds: ['wmA'], at: t0 + 15_000, quitScene: 0 } });
    // wmA comes back with a new join time.
    await g.apply(snap('c1', 'zhangsan', [member('zhangsan', t0), member('wmA', t0 + 30_000, { joinScene: 1, invitor: 'zhangsan' })]), t0 + 40_000);
    expect(await spells('c1')).toEqual([`zhangsan@${t0}`, `wmA@${t0 + 1000}→${t0 + 15_000}/0`, `wmB@${t0 + 2000}→${t0 + 20_000}/-`, `wmA@${t0 + 30_000}`]);
    const first = (await app.container.repos.groupChats.history('c1', 'wmA'))[0]!;
    expect(first.state).toBe('qr-1');
    const timeline = await app.container.repos.timeline.listForCustomer('wmA');
    expect(timeline.map((e) => e.kind).sort()).toEqual(['group_join', 'group_join', 'group_leave']);
    expect(timeline.find((e) => e.kind === 'group_leave')!.summary).toBe('退出客户群「群-c1」');

    const before = await tables();
    for (let i = 0; i < 3; i++) {
      await g.apply(snap('c1', 'zhangsan', [member('zhangsan', t0), member('wmA', t0 + 30_000, { joinScene: 1, invitor: 'zhangsan' })]), t0 + 50_000 + i);
    }
    expect(await tables()).toBe(before);
    // A snapshot read before the applied one is ignored.
    await g.apply(snap('c1', 'zhangsan', [member('zhangsan', t0)]), t0 + 35_000);
    expect(await tables()).toBe(before);
  });

  it('groups of a customer, dismissal and filters with counts', async () => {
    const g = app.container.groups.archive;
    const repo = app.container.repos.groupChats;
    await g.apply(snap('c2', 'lisi', [member('lisi', t0), member('wmA', t0), member('wmC', t0)], { name: '上海_VIP 100%' }), t0 + 60_000);
    await g.apply(snap('c3', 'lisi', [member('lisi', t0)], { name: '北京群' }), t0 + 60_000);
    expect((await repo.groupsOfCustomer('wmA')).map((x) => x.chatId).sort()).toEqual(['c1', 'c2']);

    await app.container.repos.groupLabels.create({ id: 'lbl-1', name: '高价值', color: '' }, t0);
    await app.container.repos.groupLabels.assign(['c2', 'c3'], ['lbl-1'], [], t0);
    expect(await repo.count({ owners: ['lisi'] })).toEqual({ groups: 2, members: 4, externalMembers: 2 });
    expect(await repo.count({ labelIds: ['lbl-1'], minMembers: 2 })).toEqual({ groups: 1, members: 3, externalMembers: 2 });
    // `%` and `_` are literal in a name pattern.
    expect((await repo.matching({ namePattern: '_VIP 100%' })).map((x) => x.chatId)).toEqual(['c2']);
    expect((await repo.matching({ namePattern: 'VIP 1000' })).map((x) => x.chatId)).toEqual([]);
    expect((await repo.list({ maxMembers: 1 }, 1, 10)).items.map((x) => x.chatId)).toEqual(['c3']);

    const left = await g.dismiss('c2', t0 + 70_000);
    expect(left).toBe(3);
    expect(await g.dismiss('c2', t0 + 80_000)).toBe(0);
    expect((await repo.groupsOfCustomer('wmA')).map((x) => x.chatId)).toEqual(['c1']);
    expect((await repo.groupsOfCustomer('wmC', { isPastIncluded: true }))[0]).toMatchObject({ chatId: 'c2', isDismissed: true, leftAt: new Date(t0 + 70_000) });
    expect(await repo.count({ labelIds: ['lbl-1'] })).toEqual({ groups: 1, members: 1, externalMembers: 0 });
  });

  it('a del_member handled after a snapshot already showed the member gone gives the spell its time and QuitScene', async () => {
    const g = app.container.groups.archive;
    await g.apply(snap('c9', 'zhangsan', [member('zhangsan', t0), member('wmQ', t0 + 1000)]), t0 + 10_000);
    // An add_member's snapshot, read after wmQ was removed: the spell closes when the bot noticed.
    await g.apply(snap('c9', 'zhangsan', [member('zhangsan', t0)]), t0 + 30_000);
    expect(await spells('c9')).toEqual([`zhangsan@${t0}`, `wmQ@${t0 + 1000}→${t0 + 30_000}/-`]);
    // Then the del_member (removed by the owner at t0+20s) is handled.
    const leave = { memberIds: ['wmQ'], at: t0 + 20_000, quitScene: 1 };
    await g.apply(snap('c9', 'zhangsan', [member('zhangsan', t0)]), t0 + 40_000, { leave });
    expect(await spells('c9')).toEqual([`zhangsan@${t0}`, `wmQ@${t0 + 1000}→${t0 + 20_000}/1`]);
    const line = (await app.container.repos.timeline.listForCustomer('wmQ')).find((e) => e.kind === 'group_leave')!;
    expect({ summary: line.summary, at: line.occurredAt.getTime() }).toEqual({ summary: '退出客户群「群-c9」（被移出）', at: t0 + 20_000 });
    const before = await tables();
    await g.apply(snap('c9', 'zhangsan', [member('zhangsan', t0)]), t0 + 50_000, { leave });
    expect(await tables()).toBe(before);
  });

  it('the API lists groups by filter with counts, shows a group with members, and lets operators label groups; staff see their own', async () => {
    const operator = (await app.container.tokens.create({ role: 'operator' })).token;
    const staff = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    const created = await api(app, 'POST', '/api/v1/group-labels', { name: '活跃群', color: '#409EFF' }, operator);
    expect(created.status).toBe(201);
    expect((await api(app, 'POST', '/api/v1/group-labels', { name: '活跃群' }, operator)).body.error.code).toBe('group_label_exists');
    expect((await api(app, 'POST', '/api/v1/group-labels', { name: '员工标签' }, staff)).status).toBe(403);
    const bad = await api(app, 'POST', '/api/v1/group-labels', { name: '' }, operator);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^请求参数有误/);
    expect((await api(app, 'POST', '/api/v1/group-labels/assign', { chatIds: ['c1', 'nope'], add: [created.body.id] }, operator)).status).toBe(404);
    expect((await api(app, 'POST', '/api/v1/group-labels/assign', { chatIds: ['c1', 'c3'], add: [created.body.id] }, operator)).status).toBe(204);

    const list = await api(app, 'GET', `/api/v1/groups?label=${created.body.id}&minMembers=1`);
    expect(list.body.items.map((g: { chatId: string }) => g.chatId).sort()).toEqual(['c1', 'c3']);
    expect(list.body.counts).toEqual({ groups: 2, members: 3, externalMembers: 1 });
    expect(list.body.items.find((g: { chatId: string }) => g.chatId === 'c1').labels).toEqual([{ id: created.body.id, name: '活跃群', color: '#409EFF' }]);
    expect((await api(app, 'GET', '/api/v1/groups?name=VIP&dismissed=include')).body.items.map((g: { chatId: string }) => g.chatId)).toEqual(['c2']);
    expect((await api(app, 'GET', '/api/v1/groups?status=9')).status).toBe(400);

    const detail = await api(app, 'GET', '/api/v1/groups/c1');
    expect(detail.body.members.map((m: { memberId: string }) => m.memberId)).toEqual(['zhangsan', 'wmA']);
    expect(detail.body.departed.map((m: { memberId: string; quitScene: number | null }) => `${m.memberId}/${m.quitScene}`)).toEqual(['wmB/null', 'wmA/0']);
    // Staff see only the groups they own.
    expect((await api(app, 'GET', '/api/v1/groups', undefined, staff)).body.items.map((g: { chatId: string }) => g.chatId)).toEqual(['c3']);
    expect((await api(app, 'GET', '/api/v1/groups/c1', undefined, staff)).status).toBe(404);
    expect((await api(app, 'GET', '/api/v1/group-labels', undefined, staff)).body.items[0]).toMatchObject({ name: '活跃群', groups: 2 });

    expect((await api(app, 'DELETE', `/api/v1/group-labels/${created.body.id}`, undefined, operator)).status).toBe(204);
    expect((await api(app, 'GET', '/api/v1/groups/c1')).body.labels).toEqual([]);
  });
});
