import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { compileAudience } from '../../src/domain/audiences/audience.compiler.js';
import { matchAudience, parseAudience, resolveAudienceTags, type AudienceExpr, type AudiencePredicate } from '../../src/domain/audiences/index.js';
import { customerFacts } from '../../src/domain/customers/customer-facts.js';
import type { ArchiveModule } from '../../src/container.js';
import { zonedTimeToUtc, addDays } from '../../src/shared/dates.js';
import { createExprGenerator, createRandom } from '../unit/domain/audiences/audience.generator.js';
import { TagRepository } from '../../src/persistence/repositories/tag.repository.js';
import { BroadcastRepository } from '../../src/persistence/repositories/broadcast.repository.js';
import { insertOrders, type OrderSeed } from '../factories/orders.js';

const TZ = 'Asia/Shanghai';
const TODAY = '2026-03-10';
const TAGS = [
  { id: 't1', group: '等级', name: 'VIP' },
  { id: 't2', group: '门店', name: '北京 门店' },
  { id: 't3', group: '门店', name: '上海' },
  { id: 't4', group: 'a', name: 'b/c' },
  { id: 't5', group: 'a/b', name: 'c' },
  { id: 't6', group: '等级', name: 'vip' },
  { id: 't7', group: '意向', name: '询价' },
];
// WeCom userids compare case-insensitively (MySQL's unique key agrees), so owners differ by more than case.
const OWNERS = ['zhangsan', 'lisi', 'zhang_san', 'wangwu'];
const STAGES = ['loyal', 'new', 'Loyal', null];
const RFMS = ['重要价值', '一般', null];
const CHANNELS = [
  { id: 'c0000000-0000-7000-8000-000000000001', name: '春季海报' },
  { id: 'c0000000-0000-7000-8000-000000000002', name: '门店 A' },
];

/** Random audiences over the seeded vocabulary, so many expressions select a real, non-trivial subset. */
function vocabularyGenerator(seed: number) {
  const random = createRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const ops = ['>=', '<=', '>', '<'] as const;
  const pred = (): AudiencePredicate => {
    switch (int(11)) {
      case 0:
        return { type: 'pred', field: 'tag', op: ':', value: pick(TAGS.flatMap((t) => [t.name, `${t.group}/${t.name}`])) };
      case 1:
        return { type: 'pred', field: 'owner', op: ':', value: pick(OWNERS) };
      case 2:
        return { type: 'pred', field: 'stage', op: ':', value: pick(['loyal', 'new', 'Loyal', 'loyal ']) };
      case 3:
        return { type: 'pred', field: 'rfm', op: ':', value: pick(['重要价值', '一般']) };
      case 4:
        return { type: 'pred', field: 'channel', op: ':', value: pick([...CHANNELS.map((c) => c.name), '门店 a']) };
      case 5:
        return { type: 'pred', field: 'activity', op: ':', value: pick(['active', 'dormant', 'churned'] as const) };
      case 6:
        return { type: 'pred', field: 'birthday', op: ':', value: pick(['today', 'this-week', 'this-month', 'none'] as const) };
      case 7:
        return { type: 'pred', field: 'gender', op: ':', value: pick(['male', 'female', 'unknown'] as const) };
      case 8:
        return { type: 'pred', field: 'added', op: pick(ops), value: addDays(TODAY, -int(120)) };
      case 9:
        return { type: 'pred', field: 'silent', op: pick(ops), value: int(90) };
      default:
        return random() < 0.5 ? { type: 'pred', field: 'orders', op: pick(ops), value: int(4) } : { type: 'pred', field: 'spent', op: pick(ops), value: int(300) + pick([0, 0.5, 0.99]) };
    }
  };
  const expr = (depth: number, parent: string | null): AudienceExpr => {
    const roll = depth <= 0 ? int(10) : int(15);
    if (roll < 9) return pred();
    if (roll === 9) return { type: 'all' };
    if (roll < 11) return { type: 'not', item: expr(depth - 1, 'not') };
    const type = parent === 'and' ? 'or' : parent === 'or' ? 'and' : random() < 0.5 ? 'and' : 'or';
    return { type, items: Array.from({ length: 2 + int(2) }, () => expr(depth - 1, type)) };
  };
  return () => expr(3, null);
}

/**
 * Expressions that require two or three tags at the top level next to other terms, the shape MySQL counts from
 * the tags first (docs/audiences.md §Counting from the tags first).
 */
function tagIntersectionGenerator(seed: number) {
  const random = createRandom(seed);
  const others = vocabularyGenerator(seed + 1);
  const tag = (): AudiencePredicate => ({ type: 'pred', field: 'tag', op: ':', value: TAGS.flatMap((t) => [t.name, `${t.group}/${t.name}`])[Math.floor(random() * TAGS.length * 2)] });
  return (): AudienceExpr => {
    const items: AudienceExpr[] = Array.from({ length: 2 + Math.floor(random() * 2) }, tag);
    for (let k = Math.floor(random() * 3); k > 0; k--) items.push(others());
    return { type: 'and', items };
  };
}

/**
 * Expressions whose top level holds an `OR` of tags and no required tag (MySQL counts them as a union of disjoint
 * index ranges), or one required tag next to covered terms (the plain statement on the covering index).
 */
function tagUnionGenerator(seed: number) {
  const random = createRandom(seed);
  const others = vocabularyGenerator(seed + 1);
  const values = TAGS.flatMap((t) => [t.name, `${t.group}/${t.name}`]);
  const tag = (): AudiencePredicate => ({ type: 'pred', field: 'tag', op: ':', value: values[Math.floor(random() * values.length)] });
  const covered = (): AudienceExpr =>
    random() < 0.5
      ? { type: 'pred', field: 'activity', op: ':', value: (['active', 'dormant', 'churned'] as const)[Math.floor(random() * 3)] }
      : { type: 'pred', field: 'spent', op: '>=', value: Math.floor(random() * 300) };
  return (): AudienceExpr => {
    const roll = random();
    const first: AudienceExpr = roll < 0.7 ? { type: 'or', items: Array.from({ length: 2 + Math.floor(random() * 3) }, tag) } : tag();
    const items: AudienceExpr[] = [first];
    for (let k = Math.floor(random() * 3); k > 0; k--) items.push(random() < 0.6 ? covered() : others());
    if (random() < 0.3) items.push({ type: 'not', item: covered() });
    return items.length === 1 ? first : { type: 'and', items };
  };
}

describe.each(testEngines())('compileAudience agrees with matchAudience (%s)', (engine) => {
  let app: TestApp;
  let archive: ArchiveModule;
  const ids: string[] = [];

  beforeAll(async () => {
    app = await startTestApp(engine);
    archive = (app.container as unknown as { archive: ArchiveModule }).archive;
    const random = createRandom(42);
    const int = (n: number) => Math.floor(random() * n);
    const db = app.container.db;
    for (const g of new Set(TAGS.map((t) => t.group))) await db.query('INSERT INTO tag_groups (id, name, sort_order, source, updated_at) VALUES (?,?,?,?,?)', [`g:${g}`, g, 0, 'wecom', 0]);
    for (const t of TAGS) await db.query('INSERT INTO tags (id, group_id, name, sort_order, source, updated_at) VALUES (?,?,?,?,?,?)', [t.id, `g:${t.group}`, t.name, 0, 'wecom', 0]);
    await db.query('INSERT INTO tags (id, group_id, name, sort_order, source, deleted_at, updated_at) VALUES (?,?,?,?,?,?,?)', ['tdead', 'g:等级', 'VIP', 0, 'wecom', 1, 0]);
    for (const ch of CHANNELS) await db.query("INSERT INTO channels (id, name, state, staff, tags, created_at, updated_at) VALUES (?,?,?,'[]','[]',0,0)", [ch.id, ch.name, ch.id.slice(-8)]);
    const midnight = (d: string) => zonedTimeToUtc(d, '00:00', TZ).getTime();
    const orders: OrderSeed[] = [];
    for (let i = 0; i < 80; i++) {
      const ext = `wmCmp${String(i).padStart(4, '0')}`;
      ids.push(ext);
      const added = midnight(addDays(TODAY, -int(150))) + int(86_400_000);
      const lastAt = random() < 0.3 ? null : midnight(addDays(TODAY, -int(100))) + pickEdge(random, int);
      const birthday = random() < 0.3 ? null : random() < 0.6 ? { cal: 'solar', m: 3, d: 1 + int(31) } : { cal: random() < 0.5 ? 'lunar' : 'solar', m: 1 + int(12), d: 1 + int(28) };
      await db.query(
        `INSERT INTO customers (external_user_id, name, type, gender, activity, stage, rfm, channel_id, first_added_at, last_interaction_at,
           birthday_calendar, birthday_month, birthday_day, birthday_leap, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
        [
          ext, `客户${i}`, 1, int(3), ['active', 'dormant', 'churned'][int(3)], STAGES[int(4)], RFMS[int(3)], random() < 0.5 ? CHANNELS[int(2)].id : null,
          random() < 0.1 ? null : added, lastAt, birthday?.cal ?? null, birthday?.m ?? null, birthday?.d ?? null, 0, added - 1000, added,
        ],
      );
      for (const o of OWNERS) if (random() < 0.35) await db.query('INSERT INTO follow_relations (userid, external_user_id, add_way, status, created_at, updated_at) VALUES (?,?,?,?,?,?)', [o, ext, 1, random() < 0.8 ? 'active' : 'deleted_by_customer', 0, 0]);
      for (const t of [...TAGS.map((x) => x.id), 'tdead']) {
        if (random() >= 0.25) continue;
        await db.query('INSERT INTO customer_tags (external_user_id, tag_id, userid, source, created_at) VALUES (?,?,?,?,?)', [ext, t, '', 'manual', 0]);
        // The same tag on a relation as well: a customer carries a tag once, however many links say so.
        if (random() < 0.3) await db.query('INSERT INTO customer_tags (external_user_id, tag_id, userid, source, created_at) VALUES (?,?,?,?,?)', [ext, t, OWNERS[0], 'wecom', 0]);
      }
      for (let k = int(4); k > 0; k--) orders.push({ externalUserId: ext, orderNo: `${ext}-${k}`, amountCents: int(20000) });
    }
    // Through the order writer, which keeps each customer's stored count and total; the facts count the orders.
    await insertOrders(db, orders);
  });
  afterAll(async () => app?.close());

  function pickEdge(random: () => number, int: (n: number) => number): number {
    // Instants near local midnight catch any UTC/local slip.
    return random() < 0.5 ? int(60_000) : 86_400_000 - 1 - int(60_000);
  }

  async function factsById() {
    const customers = await archive.repos.customers.findMany(ids);
    const tags = await archive.repos.tags.listForCustomers(ids);
    const owners = await archive.repos.relations.activeOwnersOf(ids);
    const orders = await app.container.db.query<{ external_user_id: string; n: number | string; s: number | string }>(
      'SELECT external_user_id, COUNT(*) AS n, SUM(amount_cents) AS s FROM orders GROUP BY external_user_id',
    );
    const byOrder = new Map(orders.map((o) => [o.external_user_id, o]));
    return customers.map((c) => ({
      id: c.externalUserId,
      facts: customerFacts(
        c,
        {
          tags: tags.get(c.externalUserId) ?? [],
          owners: owners.get(c.externalUserId) ?? [],
          channelName: CHANNELS.find((ch) => ch.id === c.channelId)?.name ?? null,
          orderCount: Number(byOrder.get(c.externalUserId)?.n ?? 0),
          spentCents: Number(byOrder.get(c.externalUserId)?.s ?? 0),
        },
        { today: TODAY, timezone: TZ },
      ),
    }));
  }

  /**
   * The customers the compiled statement selects, checked in both shapes: tags matched by name inside the
   * statement, and tag names resolved to ids first (resolveAudienceTags, docs/audiences.md §Tag names become ids).
   */
  async function sqlIds(expr: AudienceExpr): Promise<string[]> {
    const db = app.container.db;
    const select = async (w: { sql: string; params: unknown[] }) => {
      expect(w.sql).not.toMatch(/VIP|北京|zhangsan|重要价值|DROP/);
      const rows = await db.query<{ id: string }>(`SELECT c.external_user_id AS id FROM customers c WHERE ${w.sql} ORDER BY c.external_user_id`, w.params);
      return rows.map((r) => r.id);
    };
    const byName = await select(compileAudience(expr, { engine, today: TODAY, timezone: TZ }));
    const tagIds = await resolveAudienceTags((values) => new TagRepository(db).liveTagsNamed(values), expr);
    const compiled = compileAudience(expr, { engine, today: TODAY, timezone: TZ, tagIds });
    const byId = await select(compiled);
    expect(byId, `resolved tag ids ${JSON.stringify([...tagIds])}`).toEqual(byName);
    // MySQL's count shape (tags intersected first, docs/audiences.md §Counting from the tags first) counts the same.
    if (compiled.count) {
      countShapes++;
      const [{ n }] = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${compiled.count.from} WHERE ${compiled.count.where}`, compiled.count.params);
      expect(Number(n), `count shape of ${JSON.stringify(expr)}`).toBe(byName.length);
    }
    // …and the intersection, as pages and joins read it, selects the same customers.
    if (compiled.narrowed) {
      narrowedShapes++;
      const rows = await db.query<{ id: string }>(`SELECT c.external_user_id AS id FROM ${compiled.narrowed.from} WHERE ${compiled.narrowed.where} ORDER BY c.external_user_id`, compiled.narrowed.params);
      expect(rows.map((r) => r.id), `narrowed shape of ${JSON.stringify(expr)}`).toEqual(byName);
    }
    return byName;
  }
  let countShapes = 0;
  let narrowedShapes = 0;

  it('selects exactly the customers the matcher selects, for 400 random audiences over the seeded vocabulary', async () => {
    const all = await factsById();
    const next = vocabularyGenerator(7);
    let nonTrivial = 0;
    for (let i = 0; i < 400; i++) {
      const expr = next();
      const expected = all.filter((x) => matchAudience(expr, x.facts, { today: TODAY })).map((x) => x.id).sort();
      const actual = await sqlIds(expr);
      if (expected.length > 0 && expected.length < all.length) nonTrivial++;
      expect(actual, JSON.stringify(expr)).toEqual(expected);
    }
    expect(nonTrivial).toBeGreaterThan(200);
  });

  it('selects exactly the matcher\'s customers when two or three tags are required next to other terms (MySQL: counted from the tags first)', async () => {
    const all = await factsById();
    const next = tagIntersectionGenerator(5);
    countShapes = 0;
    narrowedShapes = 0;
    for (let i = 0; i < 150; i++) {
      const expr = next();
      const expected = all.filter((x) => matchAudience(expr, x.facts, { today: TODAY })).map((x) => x.id).sort();
      expect(await sqlIds(expr), JSON.stringify(expr)).toEqual(expected);
    }
    if (engine === 'mysql') expect(countShapes).toBeGreaterThan(100);
    if (engine === 'mysql') expect(narrowedShapes).toBeGreaterThan(100);
  });

  it('selects exactly the matcher\'s customers for an OR of tags or one tag next to other terms (MySQL: a union of disjoint ranges, the covering index)', async () => {
    const all = await factsById();
    const next = tagUnionGenerator(11);
    countShapes = 0;
    for (let i = 0; i < 150; i++) {
      const expr = next();
      const expected = all.filter((x) => matchAudience(expr, x.facts, { today: TODAY })).map((x) => x.id).sort();
      expect(await sqlIds(expr), JSON.stringify(expr)).toEqual(expected);
    }
    if (engine === 'mysql') expect(countShapes).toBeGreaterThan(60);
  });

  it('resolves tag names to live tag ids with the matcher\'s rule: exact case and spaces, name or group/name, never a deleted tag', async () => {
    const db = app.container.db;
    const expr = parseAudience('tag:VIP OR tag:"等级/VIP" OR tag:vip OR tag:"VIP " OR tag:"a/b/c" OR tag:"b/c" OR tag:"门店/北京 门店" OR tag:无此标签');
    const ids = await resolveAudienceTags((values) => new TagRepository(db).liveTagsNamed(values), expr);
    expect(Object.fromEntries(ids)).toEqual({
      VIP: ['t1'],
      '等级/VIP': ['t1'],
      vip: ['t6'],
      'VIP ': [],
      'a/b/c': ['t4', 't5'],
      'b/c': ['t4'],
      '门店/北京 门店': ['t2'],
      无此标签: [],
    });
    const w = compileAudience(parseAudience('tag:VIP AND NOT tag:无此标签'), { engine, today: TODAY, timezone: TZ, tagIds: ids });
    expect(w.sql).not.toMatch(/FROM tags/);
    expect(w.params).toEqual(['t1']);
    // Tag terms of one OR share a semi-join over the union of their tags.
    const or = compileAudience(parseAudience('tag:VIP OR activity:active OR tag:"a/b/c" OR NOT tag:vip'), { engine, today: TODAY, timezone: TZ, tagIds: ids });
    expect(or.sql.match(/FROM customer_tags/g)).toHaveLength(2);
    expect(or.params).toEqual(['t1', 't4', 't5', 'active', 't6']);
  });

  it('selects hand-picked customers by id (id:a,b) exactly as the matcher does, alone and with other terms', async () => {
    const all = await factsById();
    const random = createRandom(3);
    const others = vocabularyGenerator(13);
    // Seeded ids, the same ids in another case (another customer for the matcher; MySQL's collation would fold them),
    // and ids no customer has.
    const pool = [...ids.slice(0, 30), 'WMCMP0001', 'wmcmp0002', 'wmNobody', "wm'); --"];
    const idTerm = (): AudiencePredicate => ({
      type: 'pred',
      field: 'id',
      op: ':',
      value: Array.from({ length: 1 + Math.floor(random() * 12) }, () => pool[Math.floor(random() * pool.length)]).join(','),
    });
    for (let i = 0; i < 120; i++) {
      const roll = random();
      const expr: AudienceExpr =
        roll < 0.3 ? idTerm() : roll < 0.5 ? { type: 'not', item: idTerm() } : { type: random() < 0.5 ? 'and' : 'or', items: [idTerm(), others(), ...(random() < 0.3 ? [idTerm()] : [])] };
      const expected = all.filter((x) => matchAudience(expr, x.facts, { today: TODAY })).map((x) => x.id).sort();
      expect(await sqlIds(expr), JSON.stringify(expr)).toEqual(expected);
    }
    expect(await sqlIds(parseAudience(`id:${ids[3]},${ids[5]},WMCMP0001`))).toEqual([ids[3], ids[5]]);
  });

  it('stays correct and injection-safe on adversarial values from the parser test generator', async () => {
    const all = await factsById();
    const next = createExprGenerator(11);
    for (let i = 0; i < 150; i++) {
      const expr = next();
      const expected = all.filter((x) => matchAudience(expr, x.facts, { today: TODAY })).map((x) => x.id).sort();
      expect(await sqlIds(expr), JSON.stringify(expr)).toEqual(expected);
    }
    expect(await sqlIds(parseAudience(`tag:"x'; DROP TABLE customers; --"`))).toEqual([]);
    expect((await app.container.db.query('SELECT COUNT(*) AS n FROM customers'))[0]).toBeTruthy();
  });

  it('counts an audience for a new broadcast as the matcher selects it: size, opted out, reachable, and each follower\'s reachable customers', async () => {
    // docs/audiences.md §Creating a broadcast to a million: the per-follower count is read from the customers' side.
    const db = app.container.db;
    const optedOut = ids.filter((_, i) => i % 7 === 3);
    const marks = optedOut.map(() => '?').join(',');
    await db.query(`UPDATE customers SET opted_out = 1 WHERE external_user_id IN (${marks})`, optedOut);
    try {
      const all = await factsById();
      const repo = new BroadcastRepository(db);
      const next = vocabularyGenerator(17);
      let shared = 0;
      for (let i = 0; i < 80; i++) {
        const expr = i === 0 ? parseAudience('all') : next();
        const chosen = all.filter((x) => matchAudience(expr, x.facts, { today: TODAY }));
        const reachable = chosen.filter((x) => !optedOut.includes(x.id) && x.facts.owners.length > 0);
        const perFollower = OWNERS.map((o) => reachable.filter((x) => x.facts.owners.includes(o)).length).filter((n) => n > 0);
        shared += reachable.filter((x) => x.facts.owners.length > 1).length;
        const tagIds = await resolveAudienceTags((values) => new TagRepository(db).liveTagsNamed(values), expr);
        const summary = await repo.summarizeAudience(compileAudience(expr, { engine, today: TODAY, timezone: TZ, tagIds }), { perFollower: true });
        expect(summary, JSON.stringify(expr)).toEqual({
          count: chosen.length,
          optedOut: chosen.filter((x) => optedOut.includes(x.id)).length,
          reachable: reachable.length,
          perFollower: expect.any(Array),
        });
        expect([...summary.perFollower].sort((a, b) => a - b), JSON.stringify(expr)).toEqual(perFollower.sort((a, b) => a - b));
      }
      // Customers followed by several members count once for each of them, and some audiences held such customers.
      expect(shared).toBeGreaterThan(20);
    } finally {
      await db.query(`UPDATE customers SET opted_out = 0 WHERE external_user_id IN (${marks})`, optedOut);
    }
  });
});
