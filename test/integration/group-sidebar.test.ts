import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';
import { setUpGroupSidebar, type GroupSidebarWorld } from '../fixtures/group-sidebar.js';

interface Member {
  memberId: string;
  kind: string;
  name: string;
  isMine: boolean;
  tags: { name: string; group: string }[];
}

/**
 * GET /sidebar/api/groups/:chatId (docs/groups.md §Sidebar in a group chat) over HTTP with a sidebar session: the group,
 * its members with which are customers and their tags, and today's SOP steps; only for a member who owns, administers
 * or is in the group, the same 404 otherwise (both engines).
 */
describe.each(testEngines())('the sidebar in a group chat (%s)', (engine) => {
  let app: TestApp;
  let w: GroupSidebarWorld;
  // 10:00 in Shanghai: the 20:00 step is still to come.
  const clock = new FixedClock('2026-06-10T02:00:00Z');
  const get = async (userid: string | null, chatId: string) => {
    const headers: Record<string, string> = {};
    if (userid) headers.cookie = `wo_sidebar=${app.container.http!.sidebarAuth.sessions.issue(userid).token}`;
    const res = await fetch(`${app.url}/sidebar/api/groups/${encodeURIComponent(chatId)}`, { headers });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    await app.container.services.find((s) => s.name === 'inbox-workers')!.start();
    w = await setUpGroupSidebar(app);
  });
  afterAll(() => app?.close());

  it('shows the owner the group: members (owner, staff, customers, a stranger), customers\' tags, and today\'s SOP step', async () => {
    const r = await get('zhangsan', w.chatId);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ chatId: w.chatId, name: '新品体验群', owner: 'zhangsan', ownerName: '张三', notice: '每晚 8 点分享新品', memberCount: 5, customerCount: 2, isArchived: true });
    const members = r.body.members as Member[];
    expect(members.map((m) => [m.memberId, m.kind, m.isMine])).toEqual([
      ['zhangsan', 'staff', false],
      ['wangwu', 'staff', false],
      [w.mine, 'customer', true],
      [w.theirs, 'customer', false],
      [w.stranger, 'external', false],
    ]);
    const mine = members.find((m) => m.memberId === w.mine)!;
    expect(mine.name).toBe('顾客甲');
    expect(mine.tags).toEqual([expect.objectContaining({ name: 'VIP' })]);
    expect(members.find((m) => m.memberId === w.stranger)!.name).toBe('路人');
    expect(r.body.sop).toEqual([expect.objectContaining({ planName: '晚间小贴士', title: '每日小贴士', action: 'post', outcome: 'upcoming', dueAt: '2026-06-10T12:00:00.000Z' })]);
  });

  it('a staff member in the group sees it too, as themselves (no customer of theirs here)', async () => {
    const r = await get('wangwu', w.chatId);
    expect(r.status).toBe(200);
    expect((r.body.members as Member[]).filter((m) => m.isMine)).toEqual([]);
  });

  it('anyone else gets the same 404 as for a group that does not exist; no session is 401', async () => {
    // 李四 follows a customer in the group but is not in it.
    const outsider = await get('lisi', w.chatId);
    const missing = await get('lisi', 'wrNoSuchGroup');
    expect(outsider.status).toBe(404);
    expect(outsider.body).toEqual(missing.body);
    expect(outsider.body.error).toEqual({ code: 'group_not_found', message: '没有找到这个客户群，或你不在群中' });
    expect((await get(null, w.chatId)).status).toBe(401);
  });

  it('a group the archive has not synced yet is read from WeCom, with the same rule', async () => {
    const r = await get('zhangsan', w.unsyncedChatId);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: '只在企业微信里的群', isArchived: false, memberCount: 5, customerCount: 2, sop: [] });
    expect((await get('lisi', w.unsyncedChatId)).status).toBe(404);
  });
});
