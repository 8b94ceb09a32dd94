import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';
import { CustomerArchiveService, type ErasureCheck } from '../../src/domain/customers/customer-archive.service.js';
import type { CustomerFollow } from '../../src/wecom/client/types.js';
import { FixedClock } from '../../src/shared/clock.js';

/**
 * The full sync stores a page of batch/get_by_user pairs in a few set-based statements
 * (docs/reliability.md §Storing a page of the full sync). Here the same pages, from the sandbox's demo corp plus pairs
 * made for the edge cases, are stored once through the per-pair path the sync used before (below, as it was) and once
 * through CustomerArchiveService.storePairs, over the same starting rows: the tables must come out identical.
 */

const T0 = new Date('2026-12-07T02:00:00.000Z');
const DAY = 86_400_000;

describe.each(testEngines())('storing full-sync pages (%s)', (engine) => {
  let app: ArchiveApp;
  let pages: CustomerFollow[][];

  beforeAll(async () => {
    app = await startArchiveApp(engine, { startServices: false, seed: true });
    // The tag library as the sync's tag phase leaves it, the same for both paths.
    await app.archive.library.reconcile([]);
    const userIds = await app.wecom.getFollowUserList();
    pages = [];
    let cursor: string | undefined;
    do {
      const page = await app.wecom.batchGetByUser({ userIds, cursor, limit: 20 });
      pages.push(page.items);
      cursor = page.nextCursor || undefined;
    } while (cursor);
  }, 120_000);
  afterAll(async () => app?.close());

  const q = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => app.container.db.query<T>(sql, params);

  /** Before this change: each pair's statements one after another, in one transaction per page. */
  async function storePairsOneByOne(pairs: CustomerFollow[], syncRunId: string, erasedAt: ErasureCheck, now: number): Promise<void> {
    const { customers, relations, tags } = app.archive.repos;
    const erased = await erasedAt([...new Set(pairs.map((p) => p.contact.externalUserId))]);
    const kept = pairs.filter((p) => {
      const at = erased.get(p.contact.externalUserId);
      return !(at !== undefined && (!p.followInfo.addedAt || p.followInfo.addedAt.getTime() <= at));
    });
    await app.archive.library.ensureKnown([...new Set(kept.flatMap((p) => p.followInfo.tagIds))]);
    await app.container.db.tx(async (em) => {
      for (const { contact: c, followInfo: f } of kept) {
        const ext = c.externalUserId;
        await customers.upsertProfileInTx(
          em,
          {
            externalUserId: ext,
            name: c.name,
            avatar: c.avatar ?? null,
            type: c.type,
            gender: c.gender,
            unionid: c.unionId ?? null,
            corpName: c.corpName ?? null,
            corpFullName: c.corpFullName ?? null,
            position: c.position ?? null,
          },
          now,
          { firstAddedAt: null },
        );
        await relations.ensureStaffInTx(em, f.userId, now);
        await relations.upsertProfileInTx(
          em,
          {
            userid: f.userId,
            externalUserId: ext,
            remark: f.remark ?? '',
            description: f.description ?? '',
            remarkMobiles: f.remarkMobiles ?? [],
            addWay: f.addWay ?? 0,
            state: f.state ?? null,
            operUserid: f.operUserId ?? null,
            addedAt: f.addedAt ?? null,
          },
          { now, syncRunId },
        );
        await tags.replaceRelationWecomTagsInTx(em, ext, f.userId, f.tagIds, now);
        if (f.addedAt) await customers.noteAddedInTx(em, ext, f.addedAt.getTime());
        await customers.refreshActivityInTx(em, ext, now);
      }
    });
  }

  /** Every row the page store writes, surrogate ids left out but their order kept, remark mobiles decrypted. */
  async function snapshot() {
    const exts = (await q<{ id: string }>('SELECT external_user_id AS id FROM customers ORDER BY external_user_id')).map((r) => r.id);
    const mobiles = new Map<string, string[]>();
    for (const ext of exts) for (const r of await app.archive.repos.relations.listForCustomer(ext)) mobiles.set(`${r.userid}|${ext}`, r.remarkMobiles);
    const relations = (await q<Record<string, unknown>>('SELECT * FROM follow_relations ORDER BY userid, external_user_id')).map(({ id: _id, remark_mobiles_enc: enc, ...r }) => ({
      ...r,
      remarkMobiles: enc === null ? null : mobiles.get(`${String(r.userid)}|${String(r.external_user_id)}`),
    }));
    const norm = (rows: Record<string, unknown>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' || (typeof v === 'string' && /^\d+$/.test(v) && k.endsWith('_at')) ? Number(v) : v])));
    return {
      customers: norm(await q('SELECT * FROM customers ORDER BY external_user_id')),
      relations: norm(relations),
      relationOrder: await q('SELECT userid, external_user_id FROM follow_relations ORDER BY id'),
      tags: norm((await q<Record<string, unknown>>('SELECT * FROM customer_tags ORDER BY external_user_id, tag_id, userid, source')).map(({ id: _id, ...r }) => r)),
      tagOrder: await q('SELECT external_user_id, tag_id, userid, source FROM customer_tags ORDER BY id'),
      staff: norm(await q('SELECT * FROM staff ORDER BY userid')),
    };
  }

  async function reset(): Promise<void> {
    for (const t of ['customer_tags', 'follow_relations', 'customers', 'staff']) await q(`DELETE FROM ${t}`);
  }

  it('leaves the same rows as storing the pairs one by one: new and existing customers, ended relations, changed tags, erasures, two followers, repeats', async () => {
    const all = pages.flat();
    expect(all.length).toBeGreaterThan(200);
    const followers = new Map<string, CustomerFollow[]>();
    for (const p of all) followers.set(p.contact.externalUserId, [...(followers.get(p.contact.externalUserId) ?? []), p]);
    const two = [...followers.values()].filter((f) => f.length === 2);
    expect(two.length).toBeGreaterThan(10);
    const one = [...followers.values()].filter((f) => f.length === 1 && f[0].followInfo.tagIds.length >= 2).map((f) => f[0]);
    expect(one.length).toBeGreaterThan(10);
    const firstHalf = pages.filter((_, i) => i % 2 === 0).flat();
    // The first sync stores every other page; the second all of them.
    const inFirst = new Set(firstHalf.map((p) => `${p.followInfo.userId}|${p.contact.externalUserId}`));
    const stored = (p: CustomerFollow) => inFirst.has(`${p.followInfo.userId}|${p.contact.externalUserId}`);
    const storedOne = one.filter(stored);
    const storedTwo = two.filter((f) => f.every(stored));
    expect(storedOne.length).toBeGreaterThan(6);
    expect(storedTwo.length).toBeGreaterThan(3);
    const library = (await q<{ id: string }>("SELECT id FROM tags WHERE source = 'wecom' AND deleted_at IS NULL ORDER BY id")).map((r) => r.id);
    expect(library.length).toBeGreaterThan(3);

    // Erasures: one customer of one relation (skipped), and a customer of two whose later relation postdates the
    // erasure (only that one is stored).
    const [erasedWhole] = one.filter((p) => !stored(p));
    const [erasedHalf] = two.filter((f) => !f.some(stored) && f[0].followInfo.addedAt!.getTime() !== f[1].followInfo.addedAt!.getTime());
    expect(erasedWhole && erasedHalf).toBeTruthy();
    const [olderOfHalf, newerOfHalf] = [...erasedHalf].sort((a, b) => a.followInfo.addedAt!.getTime() - b.followInfo.addedAt!.getTime());
    const erasures = new Map([
      [erasedWhole.contact.externalUserId, T0.getTime()],
      [erasedHalf[0].contact.externalUserId, olderOfHalf.followInfo.addedAt!.getTime()],
    ]);
    const erasedAt: ErasureCheck = async (ids) => new Map([...erasures].filter(([id]) => ids.includes(id)));

    // Pairs WeCom could answer on a later page: a new follower of an existing customer (a staff member the bot has
    // never seen), repeats of a pair within one page with other fields and tags, a repeat that drops a stored tag and
    // one that puts it back, and a customer's two followers side by side.
    const a = storedOne[0];
    const b = storedOne[1];
    const c = storedOne[2];
    const dormantChurned = storedOne[3];
    const withTags = (p: CustomerFollow, tagIds: string[], more: Partial<CustomerFollow['followInfo']> = {}): CustomerFollow => ({ contact: p.contact, followInfo: { ...p.followInfo, ...more, tagIds } });
    const newFollower = (p: CustomerFollow, userId: string, addedAt: Date): CustomerFollow => ({ contact: p.contact, followInfo: { ...p.followInfo, userId, addedAt, state: undefined, remarkMobiles: ['13900000000'], tagIds: [library[0]] } });
    const extraPage: CustomerFollow[] = [
      withTags(a, [library[0], library[1]], { remark: '第一次', state: 'first' }),
      { contact: { ...a.contact, name: '改名之后' }, followInfo: { ...a.followInfo, remark: '第二次', state: undefined, tagIds: [library[2]] } },
      withTags(b, []),
      withTags(b, b.followInfo.tagIds),
      newFollower(c, 'newcomer', new Date(T0.getTime() - 400 * DAY)),
      withTags(c, c.followInfo.tagIds.slice(1)),
      dormantChurned,
      newFollower(dormantChurned, 'newcomer', new Date(T0.getTime() - DAY)),
      ...storedTwo[0],
      ...storedTwo[1].map((p) => withTags(p, [...p.followInfo.tagIds].reverse())),
      erasedHalf[1],
      erasedHalf[0],
      erasedWhole,
    ];

    /** What happened locally between the two syncs: callbacks, hand edits, the nightly jobs. */
    async function changeLocally(): Promise<void> {
      const now = T0.getTime() - DAY;
      const ext = (p: CustomerFollow) => p.contact.externalUserId;
      const rel = (p: CustomerFollow) => [p.followInfo.userId, ext(p)];
      await q("UPDATE follow_relations SET status = 'deleted_by_staff', status_changed_at = ?, last_event_time = ? WHERE userid = ? AND external_user_id = ?", [now, now, ...rel(storedOne[4])]);
      await q("UPDATE customers SET activity = 'churned' WHERE external_user_id = ?", [ext(storedOne[4])]);
      await q("UPDATE follow_relations SET status = 'deleted_by_customer', status_changed_at = ? WHERE userid = ? AND external_user_id = ?", [now, ...rel(storedTwo[2][0])]);
      // A dormant customer whose only relation the staff member ended: the page's first pair churns them, the new
      // follower after it makes them active again.
      await q("UPDATE follow_relations SET status = 'deleted_by_staff', status_changed_at = ? WHERE userid = ? AND external_user_id = ?", [now, ...rel(dormantChurned)]);
      await q("UPDATE customers SET activity = 'dormant' WHERE external_user_id IN (?, ?)", [ext(dormantChurned), ext(storedOne[5])]);
      await q('UPDATE customers SET first_added_at = ?, note = ?, region = ? WHERE external_user_id = ?', [T0.getTime() - 900 * DAY, '手写备注', '上海', ext(c)]);
      await q('UPDATE customers SET first_added_at = NULL, name = ? WHERE external_user_id = ?', ['旧名字', ext(b)]);
      await q("UPDATE follow_relations SET state = 'kept_state', oper_userid = 'someone', added_at = NULL WHERE userid = ? AND external_user_id = ?", rel(a));
      await q("DELETE FROM customer_tags WHERE source = 'wecom' AND userid = ? AND external_user_id = ?", rel(storedOne[6]));
      await q("INSERT INTO customer_tags (external_user_id, tag_id, userid, source, rule_id, created_at) VALUES (?, ?, ?, 'wecom', NULL, ?)", [ext(storedOne[6]), library[3], storedOne[6].followInfo.userId, now]);
      await q("INSERT INTO customer_tags (external_user_id, tag_id, userid, source, rule_id, created_at) VALUES (?, ?, '', 'manual', NULL, ?)", [ext(b), library[0], now]);
      await q("INSERT INTO customer_tags (external_user_id, tag_id, userid, source, rule_id, created_at) VALUES (?, ?, ?, 'manual', NULL, ?)", [ext(a), library[0], a.followInfo.userId, now]);
      await q('UPDATE staff SET name = ? WHERE userid = ?', ['张三（手改）', a.followInfo.userId]);
    }

    const run = async (store: (pairs: CustomerFollow[], runId: string, now: number) => Promise<void>) => {
      await reset();
      for (const page of pages.filter((_, i) => i % 2 === 0)) await store(page, 'run-one', T0.getTime() - 2 * DAY);
      const first = await snapshot();
      await changeLocally();
      // The dormant customer's pairs come only on the extra page, so both of its refreshes happen within one page.
      for (const page of pages) await store(page.filter((p) => p.contact.externalUserId !== dormantChurned.contact.externalUserId), 'run-two', T0.getTime());
      await store(extraPage, 'run-two', T0.getTime());
      return { first, second: await snapshot() };
    };
    const clock = new FixedClock(T0);
    const { repos, library: tagLibrary } = app.archive;
    const service = new CustomerArchiveService(app.container.db, repos.customers, repos.relations, repos.tags, tagLibrary, app.wecom, clock, erasedAt);

    const before = await run((pairs, runId, now) => storePairsOneByOne(pairs, runId, erasedAt, now));
    const after = await run(async (pairs, runId, now) => {
      clock.set(new Date(now));
      await service.storePairs(pairs, runId);
    });

    // The cases happened: not a comparison of two empty tables.
    const custOf = (s: typeof before.second, p: CustomerFollow) => s.customers.find((r) => r.external_user_id === p.contact.externalUserId);
    const relOf = (s: typeof before.second, userid: string, p: CustomerFollow) => s.relations.find((r) => r.userid === userid && r.external_user_id === p.contact.externalUserId);
    expect(custOf(before.second, erasedWhole)).toBeUndefined();
    expect(relOf(before.second, olderOfHalf.followInfo.userId, olderOfHalf)).toBeUndefined();
    expect(relOf(before.second, newerOfHalf.followInfo.userId, newerOfHalf)?.status).toBe('active');
    expect(custOf(before.second, dormantChurned)?.activity).toBe('active');
    expect(custOf(before.second, storedOne[5])?.activity).toBe('dormant');
    expect(custOf(before.second, storedOne[4])?.activity).toBe('churned');
    expect(relOf(before.second, storedOne[4].followInfo.userId, storedOne[4])).toMatchObject({ status: 'deleted_by_staff', last_seen_sync: 'run-two' });
    expect(custOf(before.second, a)).toMatchObject({ name: '改名之后' });
    expect(relOf(before.second, a.followInfo.userId, a)).toMatchObject({ remark: '第二次', state: 'first' });
    expect(custOf(before.second, c)).toMatchObject({ note: '手写备注', region: '上海', first_added_at: T0.getTime() - 900 * DAY });
    expect(before.second.staff.some((s) => s.userid === 'newcomer')).toBe(true);
    expect(before.second.tags.some((t) => t.source === 'manual')).toBe(true);

    expect(after.first).toEqual(before.first);
    expect(after.second.customers).toEqual(before.second.customers);
    expect(after.second.relations).toEqual(before.second.relations);
    expect(after.second.relationOrder).toEqual(before.second.relationOrder);
    expect(after.second.tags).toEqual(before.second.tags);
    expect(after.second.tagOrder).toEqual(before.second.tagOrder);
    expect(after.second.staff).toEqual(before.second.staff);
  }, 120_000);

  it('stores a page larger than one statement may bind (SQLite: 32,766 variables) in slices', async () => {
    await reset();
    const base = pages.flat().find((p) => p.followInfo.tagIds.length > 0)!;
    const pairs: CustomerFollow[] = Array.from({ length: 2_500 }, (_, i) => ({
      contact: { ...base.contact, externalUserId: `wmBIG${String(i).padStart(6, '0')}` },
      followInfo: { ...base.followInfo, userId: `big${i % 3}`, tagIds: base.followInfo.tagIds },
    }));
    await app.archive.archive.storePairs(pairs, 'run-big');
    const [{ n }] = await q<{ n: number | string }>("SELECT COUNT(*) AS n FROM follow_relations WHERE last_seen_sync = 'run-big' AND status = 'active'");
    expect(Number(n)).toBe(2_500);
    const [{ t }] = await q<{ t: number | string }>("SELECT COUNT(*) AS t FROM customer_tags WHERE source = 'wecom' AND external_user_id LIKE 'wmBIG%'");
    expect(Number(t)).toBe(2_500 * new Set(base.followInfo.tagIds).size);
  }, 120_000);
});
