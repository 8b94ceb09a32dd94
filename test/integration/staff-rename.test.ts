import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, waitFor } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';

/**
 * An admin changes a member's account in WeCom (修改账号, once per member): the 通讯录 callback carries NewUserID
 * (docs/wecom-protocol.md §Member events) and WeCom's APIs answer with the new userid from then on. The archive must
 * follow, or the member's customers stay "active" under a userid WeCom no longer knows, and the next sync adds them all
 * a second time.
 */
describe.each(testEngines())('a member whose userid changes in WeCom (%s)', (engine) => {
  let app: ArchiveApp;
  beforeAll(async () => {
    app = await startArchiveApp(engine);
    await app.archive.fullSync.run();
  }, 60_000);
  afterAll(() => app?.close());

  const relations = async (userid: string) =>
    (await app.container.db.query<{ external_user_id: string; status: string }>('SELECT external_user_id, status FROM follow_relations WHERE userid = ? ORDER BY external_user_id', [userid])).map(
      (r) => `${r.external_user_id}:${r.status}`,
    );
  const audience = async (expr: string) =>
    ((await api(app, 'GET', `/api/v1/customers?pageSize=500&audience=${encodeURIComponent(expr)}`)).body.items as { externalUserId: string }[]).map((i) => i.externalUserId).sort();

  it('moves relations, remark mobiles, tags, notes and planned sends to the new userid; a later sync adds nobody twice', async () => {
    const c = app.container;
    const before = await relations('zhangsan');
    expect(before.length).toBeGreaterThan(5);
    const owned = await audience('owner:zhangsan');
    const withMobiles = app.sandbox.store.relationsOfUser('zhangsan').find((r) => r.remarkMobiles.length > 0)!;
    const [{ n: tagsBefore }] = await c.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM customer_tags WHERE userid = 'zhangsan'");
    expect(Number(tagsBefore)).toBeGreaterThan(0);
    const ext = withMobiles.externalUserId;
    await app.archive.notes.add(ext, { text: '改账号前的跟进', userid: 'zhangsan' }, { role: 'admin', userid: null });
    const now = new Date();
    await c.scheduling.ledger.plan({
      source: 'care:rename-test', kind: 'care', externalUserId: ext, occasion: 'birthday:rename', channel: 'mass_task', priority: 1, senderUserid: 'zhangsan',
      text: '生日快乐', attachments: [], localDate: '2026-04-01', notBefore: new Date(now.getTime() + 86_400_000), expiresAt: new Date(now.getTime() + 2 * 86_400_000),
    });

    // zhangsan has the sidebar open (a session signed for the old userid).
    const session = c.sidebar.sessions.issue('zhangsan').token;
    const me = () => fetch(`${app.url}/sidebar/api/me`, { headers: { cookie: `wo_sidebar=${session}`, 'x-requested-with': 'XMLHttpRequest' } });
    expect((await me()).status).toBe(200);

    // WeCom: the account changes and the callback arrives over HTTP, encrypted, like any other.
    await app.sandbox.renameStaff({ userid: 'zhangsan', newUserid: 'zhangsan01' });
    await waitFor(async () => ((await relations('zhangsan')).length === 0 ? true : null), 10_000, 'relations moved');

    expect(await relations('zhangsan01')).toEqual(before);
    expect(await audience('owner:zhangsan01')).toEqual(owned);
    const archive = await api<{ followUsers: { userid: string; remarkMobiles: string[] }[]; notes: { userid: string; text: string }[] }>(app, 'GET', `/api/v1/customers/${ext}`);
    expect(archive.body.followUsers.find((f) => f.userid === 'zhangsan01')?.remarkMobiles).toEqual(withMobiles.remarkMobiles);
    expect(archive.body.notes).toEqual(expect.arrayContaining([expect.objectContaining({ userid: 'zhangsan01', text: '改账号前的跟进' })]));
    const [{ n: tagsAfter }] = await c.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM customer_tags WHERE userid = 'zhangsan01'");
    expect(Number(tagsAfter)).toBe(Number(tagsBefore));
    expect(await c.db.query("SELECT sender_userid FROM deliveries WHERE source = 'care:rename-test'")).toEqual([{ sender_userid: 'zhangsan01' }]);
    const staff = (await api(app, 'GET', '/api/v1/staff?pageSize=100')).body.items as { userid: string; name: string }[];
    expect(staff.map((s) => s.userid)).not.toContain('zhangsan');
    expect(staff.find((s) => s.userid === 'zhangsan01')?.name).toBe('张三');
    // The open session would show nobody's customers: it ends, and the next sign-in carries the new userid.
    expect((await me()).status).toBe(401);

    // The nightly sync now reads the member under the new userid and finds exactly what the archive holds.
    const report = await app.archive.fullSync.run();
    expect(report.vanished).toBe(0);
    expect(await relations('zhangsan01')).toEqual(before);
    expect(await relations('zhangsan')).toEqual([]);
  });
});
