/**
 * A generated corp for the audience benchmark (docs/audiences.md §Benchmark): BENCH_AUDIENCE_CUSTOMERS customers
 * (default 1,000,000), about 1.35 follow relations each, about 5 tag links each (a tag is per relation, so a customer
 * followed by two staff often carries the same tag twice), 100 tags in 10 groups with a skewed popularity, and orders
 * for 40 % of the customers. The same seed gives the same corp on both engines.
 *
 * Rows go straight in through the engine's own driver, many per statement and many statements per transaction: this
 * is test data, not a product path, and 9 million rows through the ORM would take longer than the measurement.
 */
import { randomBytes } from 'node:crypto';
import { createPrng } from '../../src/shared/prng.js';
import { zonedTimeToUtc } from '../../src/shared/dates.js';
import { hashToken } from '../../src/domain/auth/api-token.service.js';
import type { DbEngine } from '../../src/persistence/data-source.js';

export const STAFF = 50;
export const GROUPS = 10;
export const TAGS_PER_GROUP = 10;
export const TZ = 'Asia/Shanghai';

/** The tag at popularity rank r (0 = most used) is `分组{g}/标签{rr}`. */
export function tagName(rank: number): { id: string; group: string; name: string; groupId: string } {
  const g = rank % GROUPS;
  return { id: `etAJ2GCAAA${String(rank).padStart(22, '0')}`, group: `分组${g}`, name: `标签${String(rank).padStart(2, '0')}`, groupId: `grp${g}` };
}

/**
 * WeCom's ids are 32 characters that share a corp-wide prefix (external_userid `wmAJ2GCAAA…`, corp tag id
 * `etAJ2GCAAA…`), and an index entry's size, so what a count reads, follows from them: shorter ids would flatter
 * every figure.
 */
export const customerId = (i: number) => `wmAJ2GCAAA${String(i).padStart(22, '0')}`;

/** Row writer: `insert(table, columns, rows)` many rows per statement; `tx` groups statements. */
export interface Writer {
  insert(table: string, cols: string[], rows: unknown[][]): Promise<void>;
  begin(): Promise<void>;
  commit(): Promise<void>;
  close(): Promise<void>;
}

export async function sqliteWriter(file: string): Promise<Writer> {
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const stmts = new Map<string, { run(...p: unknown[]): unknown }>();
  return {
    async insert(table, cols, rows) {
      // 999 variables at most in older SQLite builds; better-sqlite3 allows 32,766, so ~ 30,000 / cols rows a statement.
      const per = Math.floor(30_000 / cols.length);
      for (let i = 0; i < rows.length; i += per) {
        const chunk = rows.slice(i, i + per);
        const key = `${table}|${chunk.length}`;
        let st = stmts.get(key);
        if (!st) {
          const one = `(${cols.map(() => '?').join(',')})`;
          st = db.prepare(`INSERT INTO ${table} (${cols.join(',')}) VALUES ${Array(chunk.length).fill(one).join(',')}`);
          stmts.set(key, st);
        }
        st.run(...chunk.flat());
      }
    },
    async begin() {
      db.exec('BEGIN');
    },
    async commit() {
      db.exec('COMMIT');
    },
    async close() {
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    },
  };
}

export async function mysqlWriter(url: string): Promise<Writer> {
  const mysql = await import('mysql2/promise');
  const conn = await mysql.createConnection({ uri: url, multipleStatements: false });
  await conn.query('SET SESSION unique_checks = 0, foreign_key_checks = 0');
  return {
    async insert(table, cols, rows) {
      const per = Math.floor(40_000 / cols.length);
      for (let i = 0; i < rows.length; i += per) {
        const chunk = rows.slice(i, i + per);
        // Escaped client-side by mysql2 (`VALUES ?` with an array of rows): one round trip per chunk.
        await conn.query(`INSERT INTO ${table} (${cols.join(',')}) VALUES ?`, [chunk]);
      }
    },
    async begin() {
      await conn.query('START TRANSACTION');
    },
    async commit() {
      await conn.query('COMMIT');
    },
    async close() {
      await conn.end();
    },
  };
}

/** Figures of the generated corp. */
export interface CorpFacts {
  customers: number;
  relations: number;
  tagLinks: number;
  orders: number;
  /** Customers carrying each tag (by id), for choosing and describing the benchmark's expressions. */
  tagCustomers: Map<string, number>;
  seedMs: number;
  /** An operator token for the HTTP API. */
  operatorToken: string;
}

/** Fill a migrated, empty database with the generated corp. */
export async function seedCorp(engine: DbEngine, url: string, n: number, log: (s: string) => void = () => undefined): Promise<CorpFacts> {
  const t0 = Date.now();
  const w = engine === 'sqlite' ? await sqliteWriter(url.slice('sqlite:'.length)) : await mysqlWriter(url);
  const rand = createPrng(20260317);
  const tagCustomers = new Map<string, number>();
  let relations = 0;
  let tagLinks = 0;
  let orders = 0;
  try {
    await w.begin();
    await w.insert('staff', ['userid', 'name', 'status', 'updated_at'], Array.from({ length: STAFF }, (_, i) => [`staff${i}`, `员工${i}`, 'active', 0]));
    await w.insert('tag_groups', ['id', 'name', 'sort_order', 'source', 'updated_at'], Array.from({ length: GROUPS }, (_, g) => [`grp${g}`, `分组${g}`, g, 'wecom', 0]));
    const tags = Array.from({ length: GROUPS * TAGS_PER_GROUP }, (_, r) => tagName(r));
    await w.insert('tags', ['id', 'group_id', 'name', 'sort_order', 'source', 'updated_at'], tags.map((t, r) => [t.id, t.groupId, t.name, r, 'wecom', 0]));
    const operatorToken = `bench-operator-${randomBytes(12).toString('hex')}`;
    await w.insert('api_tokens', ['id', 'name', 'role', 'userid', 'token_hash', 'created_at'], [[`tok-${randomBytes(6).toString('hex')}`, 'audience bench', 'operator', null, hashToken(operatorToken), 0]]);
    await w.commit();

    // Popularity falls off as 1/(rank+1)^0.8: the most used tag is on ~ 40 % of customers, the 50th on ~ 2.5 %.
    const weights = tags.map((_, r) => 1 / (r + 1) ** 0.8);
    const cumulative: number[] = [];
    weights.reduce((s, x, i) => (cumulative[i] = s + x), 0);
    const total = cumulative[cumulative.length - 1];
    const pickTag = () => {
      const x = rand() * total;
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid] < x) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const day0 = zonedTimeToUtc('2023-01-01', '09:00', TZ).getTime();
    const DAY = 86_400_000;
    const batch = 20_000;
    for (let start = 0; start < n; start += batch) {
      const cust: unknown[][] = [];
      const rel: unknown[][] = [];
      const links: unknown[][] = [];
      const ords: unknown[][] = [];
      for (let i = start; i < Math.min(n, start + batch); i++) {
        const id = customerId(i);
        const added = day0 + Math.floor(rand() * 1100) * DAY + Math.floor(rand() * DAY);
        const last = rand() < 0.75 ? added + Math.floor(rand() * 300) * DAY : null;
        const a = rand();
        const activity = a < 0.5 ? 'active' : a < 0.8 ? 'dormant' : 'churned';
        const hasBirthday = rand() < 0.6;
        cust.push([
          id, `客户${i}`, 1, Math.floor(rand() * 3), activity, hasBirthday ? 'solar' : null, hasBirthday ? 1 + Math.floor(rand() * 12) : null,
          hasBirthday ? 1 + Math.floor(rand() * 28) : null, 0, added, last, rand() < 0.02 ? 1 : 0, added, added,
        ]);
        const r = rand();
        const owners = r < 0.7 ? 1 : r < 0.95 ? 2 : 3;
        const first = Math.floor(rand() * STAFF);
        const ownerIds: string[] = [];
        for (let k = 0; k < owners; k++) {
          const userid = `staff${(first + k * 7) % STAFF}`;
          ownerIds.push(userid);
          rel.push([userid, id, 1, added + k * DAY, rand() < 0.95 ? 'active' : 'deleted_by_customer', 0, 0]);
        }
        relations += owners;
        // 1–7 distinct tags, each on the first relation and, for 3 in 4, on every other relation too.
        const want = 1 + Math.floor(rand() * 7);
        const chosen = new Set<number>();
        for (let tries = 0; chosen.size < want && tries < 50; tries++) chosen.add(pickTag());
        for (const rank of chosen) {
          const tagId = tags[rank].id;
          tagCustomers.set(tagId, (tagCustomers.get(tagId) ?? 0) + 1);
          for (let k = 0; k < owners; k++) {
            if (k > 0 && rand() >= 0.75) continue;
            links.push([id, tagId, ownerIds[k], 'wecom', added]);
          }
        }
        // The customer's order count and total go on its row, as the order import keeps them
        // (docs/audiences.md §Order totals on the customer).
        const totals = [0, 0];
        cust[cust.length - 1].push(totals);
        if (rand() < 0.4) {
          const count = 1 + Math.floor(rand() * 4);
          for (let k = 0; k < count; k++) {
            const no = `${id}-${k}`;
            const cents = 1000 + Math.floor(rand() * 300_00);
            ords.push([`o${String(i).padStart(10, '0')}-${k}`.padEnd(36, '0'), id, no, cents, added + k * 7 * DAY, added]);
            totals[0] += 1;
            totals[1] += cents;
          }
        }
      }
      tagLinks += links.length;
      orders += ords.length;
      await w.begin();
      await w.insert(
        'customers',
        ['external_user_id', 'name', 'type', 'gender', 'activity', 'birthday_calendar', 'birthday_month', 'birthday_day', 'birthday_leap', 'first_added_at', 'last_interaction_at', 'opted_out', 'created_at', 'updated_at', 'order_count', 'order_total_cents'],
        cust.map((row) => [...row.slice(0, -1), ...(row.at(-1) as number[])]),
      );
      await w.insert('follow_relations', ['userid', 'external_user_id', 'add_way', 'added_at', 'status', 'created_at', 'updated_at'], rel);
      await w.insert('customer_tags', ['external_user_id', 'tag_id', 'userid', 'source', 'created_at'], links);
      if (ords.length > 0) await w.insert('orders', ['id', 'external_user_id', 'order_no', 'amount_cents', 'ordered_at', 'created_at'], ords);
      await w.commit();
      if ((start / batch) % 10 === 9) log(`  seeded ${start + batch} customers in ${Math.round((Date.now() - t0) / 1000)} s`);
    }
    return { customers: n, relations, tagLinks, orders, tagCustomers, seedMs: Date.now() - t0, operatorToken };
  } finally {
    await w.close();
  }
}
