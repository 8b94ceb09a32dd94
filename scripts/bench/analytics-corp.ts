/**
 * The generated corp of the analytics benchmark (docs/analytics.md §Size): n customers (default 1,000,000) over two
 * years ending `end`, written in bulk through the engine's own driver (multi-row INSERTs, one transaction per big
 * batch; nothing the product relies on is turned off: unique keys, indexes and the engine's durability stay as they are).
 *
 * Per customer: 1 relation, 1 in 5 a second one with another member up to 30 days later, a quarter of relations lost
 * within 200 days (60 % by the customer); exactly 5 tag links, 10 timeline entries (its adds and losses, its orders, the
 * rest WeChat-KF messages, 60 % from the customer) and 2 ledger rows (care, win-back and broadcasts; sent, skipped by
 * reason, expired unconfirmed, failed, over quota); orders for 40 % of customers. Customers are numbered in the order
 * they were first added, so each day of the two years is generated in turn and its rollup rows written as soon as
 * the day is complete (nothing later can change it): the growth, tag, cohort and churn rows as the roll would have
 * written them from these events, with their summary rows; the nightly snapshots (totals, mix, transitions, churn base)
 * from the running state; WeCom's staff figures and the bot's per member and day; the mass-send batches as the ledger
 * rows of a day are complete. The reach rollup is aggregated from the generated ledger by a grouped INSERT … SELECT; the
 * staff sums per week and month are made by the product's own night step (StaffStatsService.rollPeriods). Never by
 * running 730 rolls.
 *
 * The bulk tables' secondary indexes and unique keys are dropped before the rows go in and added again after them, with
 * the migrations' own definitions read back from the database (as a restore of a dump does): on MariaDB with a buffer
 * pool far smaller than the corp, each row inserted into an index out of its order reads that index's page from disk,
 * where an index added afterwards is sorted once. Adding a unique key back checks it over every row. SQLite keeps the
 * unique keys of its CREATE TABLE (they cannot be dropped) and defers the rest the same way.
 *
 * The newer rollups are generated only when their tables exist (the migrations that bring them may not have landed).
 */
import { randomBytes } from 'node:crypto';
import { createDataSource } from '../../src/persistence/data-source.js';
import { Db } from '../../src/persistence/db.js';
import { StaffStatsRepository } from '../../src/persistence/repositories/staff-stats.repository.js';
import { StaffStatsService } from '../../src/domain/analytics/staff-stats.service.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createPrng } from '../../src/shared/prng.js';
import { addDays, zonedTimeToUtc } from '../../src/shared/dates.js';
import { hashToken } from '../../src/domain/auth/api-token.service.js';
import { ALL_CHANNELS, ALL_MEMBERS } from '../../src/persistence/repositories/analytics.repository.js';
import { RFM_SEGMENTS } from '../../src/domain/scoring/rfm.js';
import { STAGES } from '../../src/domain/scoring/lifecycle.js';
// The product's own buckets: the generated churn rows must fall where the product's would (docs/analytics.md §Churn analysis).
import { bucketsOf } from '../../src/domain/analytics/retention.types.js';
import type { DbEngine } from '../../src/persistence/data-source.js';

export const TZ = 'Asia/Shanghai';
export const DAYS = 730;
const DAY = 86_400_000;
const CHANNELS = 30;
const GROUPS = 10;
const TAGS = 100;
const CARE_RULES = 8;
const WINBACK_RULES = 3;
/** One broadcast every BROADCAST_EVERY days. */
const BROADCAST_EVERY = 3;
const ACTIVITY = ['active', 'dormant', 'churned'];
const COHORT_WEEKS = 12;

export const staffCount = (n: number) => Math.max(10, Math.round(n / 10_000));
export const customerId = (i: number) => `wm${String(i).padStart(10, '0')}`;
export const channelId = (c: number) => `ch-${String(c).padStart(4, '0')}`;

/** Row writer: many rows per statement; a transaction around each flush. */
interface Writer {
  insert(table: string, cols: string[], rows: unknown[][]): Promise<void>;
  exec(sql: string, params?: unknown[]): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  tables(): Promise<Set<string>>;
  begin(): Promise<void>;
  commit(): Promise<void>;
  close(): Promise<void>;
}

async function sqliteWriter(file: string): Promise<Writer> {
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('cache_size = -262144');
  const stmts = new Map<string, { run(...p: unknown[]): unknown }>();
  return {
    async insert(table, cols, rows) {
      const per = Math.floor(30_000 / cols.length);
      for (let i = 0; i < rows.length; i += per) {
        const chunk = rows.slice(i, i + per);
        const key = `${table}|${cols.length}|${chunk.length}`;
        let st = stmts.get(key);
        if (!st) {
          const one = `(${cols.map(() => '?').join(',')})`;
          st = db.prepare(`INSERT INTO ${table} (${cols.join(',')}) VALUES ${Array(chunk.length).fill(one).join(',')}`);
          stmts.set(key, st);
        }
        st.run(...chunk.flat());
      }
    },
    async exec(sql, params = []) {
      db.prepare(sql).run(...params);
    },
    async query(sql, params = []) {
      return db.prepare(sql).all(...params) as Record<string, unknown>[];
    },
    async tables() {
      return new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
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

async function mysqlWriter(url: string): Promise<Writer> {
  const mysql = await import('mysql2/promise');
  const conn = await mysql.createConnection({ uri: url });
  return {
    async insert(table, cols, rows) {
      const per = Math.floor(60_000 / cols.length);
      for (let i = 0; i < rows.length; i += per) await conn.query(`INSERT INTO ${table} (${cols.join(',')}) VALUES ?`, [rows.slice(i, i + per)]);
    },
    async exec(sql, params = []) {
      await conn.query(sql, params);
    },
    async query(sql, params = []) {
      const [rows] = await conn.query(sql, params);
      return rows as Record<string, unknown>[];
    },
    async tables() {
      const [rows] = await conn.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()');
      return new Set((rows as { name: string }[]).map((r) => r.name));
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

/** The tables the corp fills in bulk: their secondary indexes (and on MySQL their unique keys) wait for the rows. */
const BULK_TABLES = [
  'customers', 'analytics_customer_states', 'customer_tags', 'orders', 'timeline_entries', 'deliveries', 'delivery_batches', 'follow_relations',
  'analytics_relation_events', 'analytics_daily_growth', 'analytics_daily_growth_tags', 'analytics_cohort_days', 'analytics_daily_churn',
  'analytics_daily_churn_base', 'analytics_loss_profiles', 'analytics_daily_totals', 'analytics_daily_mix', 'analytics_daily_transitions',
  'analytics_staff_behavior', 'analytics_staff_daily', 'analytics_staff_periods', 'analytics_daily_reach',
];

/** A table's deferred indexes: the statement that adds them back. */
interface Deferred {
  table: string;
  indexes: number;
  restore: string[];
}

/**
 * Drop the secondary indexes of `tables` (not the primary keys; on SQLite not the unique keys of CREATE TABLE, which
 * cannot be dropped), remembering their definitions as the migrations made them, to add back after the bulk rows.
 */
async function deferIndexes(engine: DbEngine, w: Writer, tables: string[]): Promise<Deferred[]> {
  const out: Deferred[] = [];
  if (engine === 'sqlite') {
    const rows = await w.query(`SELECT tbl_name AS t, name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${tables.map(() => '?').join(',')})`, tables);
    for (const t of tables) {
      const mine = rows.filter((r) => r.t === t);
      if (mine.length === 0) continue;
      for (const r of mine) await w.exec(`DROP INDEX "${String(r.name)}"`);
      out.push({ table: t, indexes: mine.length, restore: mine.map((r) => String(r.sql)) });
    }
    return out;
  }
  const rows = await w.query(
    `SELECT table_name AS t, index_name AS i, non_unique AS nu, column_name AS c, sub_part AS sp, index_type AS it
       FROM information_schema.statistics
      WHERE table_schema = DATABASE() AND index_name <> 'PRIMARY' AND table_name IN (?)
      ORDER BY table_name, index_name, seq_in_index`,
    [tables],
  );
  for (const t of tables) {
    const byIndex = new Map<string, { unique: boolean; cols: string[]; btree: boolean }>();
    for (const r of rows.filter((x) => x.t === t)) {
      const name = String(r.i);
      let ix = byIndex.get(name);
      if (!ix) byIndex.set(name, (ix = { unique: Number(r.nu) === 0, cols: [], btree: true }));
      ix.cols.push(`\`${String(r.c)}\`${r.sp === null ? '' : `(${Number(r.sp)})`}`);
      if (String(r.it) !== 'BTREE') ix.btree = false;
    }
    const ixs = [...byIndex].filter(([, ix]) => ix.btree);
    if (ixs.length === 0) continue;
    await w.exec(`ALTER TABLE \`${t}\` ${ixs.map(([name]) => `DROP INDEX \`${name}\``).join(', ')}`);
    // One ALTER adds them all back: InnoDB reads the table once and sorts each index.
    out.push({ table: t, indexes: ixs.length, restore: [`ALTER TABLE \`${t}\` ${ixs.map(([name, ix]) => `ADD ${ix.unique ? 'UNIQUE ' : ''}INDEX \`${name}\` (${ix.cols.join(', ')})`).join(', ')}`] });
  }
  return out;
}

/** Add the deferred indexes back, the largest tables first, each writer taking the next table. Seconds per table. */
async function restoreIndexes(ws: Writer[], deferred: Deferred[], rowsOf: Record<string, number>): Promise<Record<string, number>> {
  const queue = [...deferred].sort((a, b) => (rowsOf[b.table] ?? 0) - (rowsOf[a.table] ?? 0));
  const seconds: Record<string, number> = {};
  await Promise.all(
    ws.map(async (w) => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        const t0 = Date.now();
        for (const sql of d.restore) await w.exec(sql);
        seconds[d.table] = Math.round((Date.now() - t0) / 100) / 10;
      }
    }),
  );
  return seconds;
}

/**
 * The staff sums per member and week or month, made by the night's own step (StaffStatsService.rollPeriods, migration
 * 0035) over every generated day, through the product's Db. Returns the rows written.
 */
async function rollStaffPeriods(url: string, first: string, nowMs: number): Promise<number> {
  const ds = createDataSource({ databaseUrl: url });
  await ds.initialize();
  const db = new Db(ds);
  try {
    const unused = { getUserBehaviorData: async () => Promise.reject(new Error('the bench corp pulls nothing from WeCom')) };
    return await new StaffStatsService(new StaffStatsRepository(db), unused, TZ, silentLogger).rollPeriods(first, new Date(nowMs));
  } finally {
    await db.close();
    await ds.destroy();
  }
}

/** What was generated, for the report. */
export interface AnalyticsCorpFacts {
  customers: number;
  staff: number;
  relations: number;
  tagLinks: number;
  timeline: number;
  deliveries: number;
  orders: number;
  ledger: number;
  rollupRows: Record<string, number>;
  /** The newer rollups that had no table and were not generated. */
  missingTables: string[];
  first: string;
  end: string;
  seconds: number;
  /** Where the seconds went: the rows in bulk, the reach rollup, the staff sums, the deferred indexes (and per table). */
  phases: Record<string, number | Record<string, number>>;
  operatorToken: string;
}

/**
 * Buffered rows per table, written once `limit` rows are waiting. One flush is in flight while the next batch is
 * generated (on MySQL the server inserts while this process generates; better-sqlite3 writes at once). With several
 * writers (MySQL: connections of their own) each table always goes through the same one, so its rows are inserted in the
 * same order and get the same ids as through one; a flush writes each writer's tables in a transaction, the writers side
 * by side: MariaDB here waits on its disk (a 128 MB buffer pool, O_DIRECT), and another connection uses the wait.
 */
class Buffers {
  private rows = new Map<string, { cols: string[]; rows: unknown[][] }>();
  private waiting = 0;
  private inflight: Promise<void> = Promise.resolve();
  private readonly laneOf = new Map<string, number>();
  readonly written: Record<string, number> = {};
  constructor(
    private readonly ws: Writer[],
    private readonly present: Set<string>,
    private readonly limit: number,
  ) {}
  /** The writer of a table: the timeline (10 M rows, half the bytes) has the first to itself, the others take turns. */
  private lane(table: string): number {
    let l = this.laneOf.get(table);
    if (l === undefined) {
      const others = this.ws.length - 1;
      l = others === 0 || table === 'timeline_entries' ? 0 : 1 + ([...this.laneOf.keys()].filter((t) => t !== 'timeline_entries').length % others);
      this.laneOf.set(table, l);
    }
    return l;
  }
  async add(table: string, cols: string[], row: unknown[]): Promise<void> {
    if (!this.present.has(table)) return;
    let b = this.rows.get(table);
    if (!b) this.rows.set(table, (b = { cols, rows: [] }));
    b.rows.push(row);
    if (++this.waiting >= this.limit) await this.flush(false);
  }
  /** Hand the waiting rows to the writer; `wait` until every write is done. */
  async flush(wait = true): Promise<void> {
    await this.inflight;
    if (this.waiting > 0) {
      const batch = [...this.rows].filter(([, b]) => b.rows.length > 0).map(([table, b]) => ({ table, cols: b.cols, rows: b.rows }));
      for (const b of this.rows.values()) b.rows = [];
      this.waiting = 0;
      this.inflight = Promise.all(
        this.ws.map(async (w, lane) => {
          const mine = batch.filter((b) => this.lane(b.table) === lane);
          if (mine.length === 0) return;
          await w.begin();
          for (const b of mine) {
            await w.insert(b.table, b.cols, b.rows);
            this.written[b.table] = (this.written[b.table] ?? 0) + b.rows.length;
          }
          await w.commit();
        }),
      ).then(() => undefined);
    }
    if (wait) await this.inflight;
  }
}

const C = {
  customers: ['external_user_id', 'name', 'type', 'gender', 'first_added_at', 'last_interaction_at', 'activity', 'stage', 'rfm', 'opted_out', 'created_at', 'updated_at', 'order_count', 'order_total_cents'],
  relations: ['userid', 'external_user_id', 'add_way', 'state', 'added_at', 'status', 'status_changed_at', 'last_event_time', 'created_at', 'updated_at'],
  tags: ['external_user_id', 'tag_id', 'userid', 'source', 'created_at'],
  timeline: ['external_user_id', 'staff_userid', 'kind', 'summary', 'data', 'source', 'source_id', 'occurred_at', 'created_at'],
  deliveries: ['source', 'external_user_id', 'occasion', 'kind', 'rule_id', 'broadcast_id', 'channel', 'priority', 'sender_userid', 'text', 'local_date', 'not_before', 'expires_at', 'status', 'reason', 'batch_id', 'msgid', 'created_at', 'updated_at', 'submitted_at', 'sent_at'],
  orders: ['id', 'external_user_id', 'order_no', 'amount_cents', 'ordered_at', 'created_at'],
  ledger: ['occurred_at', 'kind', 'userid', 'external_user_id', 'channel_id', 'tag_ids', 'created_at'],
  states: ['external_user_id', 'as_of', 'activity', 'rfm', 'stage', 'prev_as_of', 'prev_activity', 'prev_rfm', 'prev_stage'],
  growth: ['day', 'userid', 'channel_id', 'added', 'lost_by_customer', 'lost_by_staff', 'transferred_in', 'transferred_out', 'retained_7d', 'retained_30d', 'ordered_30d', 'revenue_30d_cents', 'outcomes_through'],
  growthTags: ['day', 'group_id', 'tag_id', 'userid', 'added', 'lost_by_customer', 'lost_by_staff'],
  totals: ['day', 'userid', 'customers', 'taken_at'],
  mix: ['day', 'dimension', 'value', 'userid', 'customers'],
  transitions: ['day', 'dimension', 'from_value', 'to_value', 'userid', 'customers'],
  days: ['day', 'rolled_at', 'snapshot_at'],
  cohort: ['day', 'userid', 'channel_id', 'adds', ...Array.from({ length: COHORT_WEEKS }, (_, k) => `retained_w${k + 1}`), 'marks_through'],
  lossProfiles: ['occurred_at', 'day', 'kind', 'userid', 'channel_id', 'since_interaction_days', 'since_order_days', 'bot_messages_30d', 'broadcasts_30d', 'kf_messages_30d', 'created_at'],
  churn: ['day', 'dimension', 'bucket', 'userid', 'channel_id', 'lost_by_customer', 'lost_by_staff'],
  churnBase: ['day', 'dimension', 'bucket', 'userid', 'channel_id', 'relations'],
  retentionDays: ['day', 'cohorts_through', 'churn_rolled_at', 'churn_base_at'],
  behavior: ['userid', 'day', 'chat_cnt', 'message_cnt', 'reply_percentage_x100', 'avg_reply_time', 'negative_feedback_cnt', 'new_apply_cnt', 'new_contact_cnt', 'pulled_at'],
  staffDaily: ['userid', 'day', 'mass_tasks', 'confirmed_late', 'never_confirmed', 'awaiting', 'followups_due', 'followups_done', 'rolled_at'],
  reachDays: ['day', 'rolled_at', 'outcomes_through'],
  batches: ['id', 'channel', 'sender_userid', 'text', 'status', 'msgid', 'recipients', 'instance_id', 'created_at', 'submitted_at', 'finished_at'],
};

/** The newer rollups' tables: generated when present. */
const NEWER = ['analytics_cohort_days', 'analytics_loss_profiles', 'analytics_daily_churn', 'analytics_daily_churn_base', 'analytics_retention_days', 'analytics_staff_behavior', 'analytics_staff_pulls', 'analytics_staff_daily', 'analytics_staff_periods', 'analytics_daily_reach', 'analytics_reach_days'];

type Counts = number[];
/** A map of counters per key; `sumInto` adds a detail row into its summaries (userid '' and channel '*'). */
class Agg {
  readonly m = new Map<string, { key: string[]; v: Counts }>();
  constructor(private readonly width: number) {}
  bump(key: string[], col: number, by = 1): void {
    const k = key.join('\u0000');
    let e = this.m.get(k);
    if (!e) this.m.set(k, (e = { key, v: Array(this.width).fill(0) }));
    e.v[col] += by;
  }
  add(key: string[], v: Counts): void {
    v.forEach((x, i) => x && this.bump(key, i, x));
  }
}

/** Detail rows keyed [...extra, userid, channel] plus the summaries the rolls write (docs/analytics.md §Size). */
function withSummaries(a: Agg, extra: number): { key: string[]; v: Counts }[] {
  const sums = new Agg(a.m.values().next().value?.v.length ?? 0);
  for (const { key, v } of a.m.values()) {
    const head = key.slice(0, extra);
    const [u, ch] = key.slice(extra);
    for (const [su, sch] of [
      [ALL_MEMBERS, ch],
      [u, ALL_CHANNELS],
      [ALL_MEMBERS, ALL_CHANNELS],
    ]) sums.add([...head, su, sch], v);
  }
  return [...a.m.values(), ...sums.m.values()];
}

/** Fill a migrated, empty database with the analytics corp; `end` is the last generated day (yesterday, usually). */
export async function generateAnalyticsCorp(engine: DbEngine, url: string, n: number, end: string, log: (s: string) => void = () => undefined): Promise<AnalyticsCorpFacts> {
  const t0 = Date.now();
  const w = engine === 'sqlite' ? await sqliteWriter(url.slice('sqlite:'.length)) : await mysqlWriter(url);
  const present = await w.tables();
  // MySQL: two more connections for the bulk rows (Buffers); SQLite has one writer anyway.
  const lanes = engine === 'mysql' ? await Promise.all([mysqlWriter(url), mysqlWriter(url)]) : [];
  const b = new Buffers([w, ...lanes], present, engine === 'sqlite' ? 200_000 : 100_000);
  const deferred = await deferIndexes(engine, w, BULK_TABLES.filter((t) => present.has(t)));
  log(` ${deferred.reduce((k, d) => k + d.indexes, 0)} indexes of ${deferred.length} tables deferred until the rows are in`);
  const rand = createPrng(20261206);
  const first = addDays(end, -(DAYS - 1));
  const dayStart = (d: number) => zonedTimeToUtc(addDays(first, d), '00:00', TZ).getTime();
  const starts = Array.from({ length: DAYS + 1 + 7 * COHORT_WEEKS + 2 }, (_, d) => dayStart(d));
  const endMs = starts[DAYS];
  const dayOf = (t: number) => {
    // Binary search over the day starts: the local day of an instant in the two years.
    let lo = 0;
    let hi = DAYS - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const dayName = Array.from({ length: DAYS }, (_, d) => addDays(first, d));
  const staffN = staffCount(n);
  const staff = Array.from({ length: staffN }, (_, i) => `staff${i}`);
  const groupOf = (t: number) => `grp${t % GROUPS}`;
  const tagId = (t: number) => `tag${String(t).padStart(3, '0')}`;
  const careIds = Array.from({ length: CARE_RULES + WINBACK_RULES }, (_, r) => `rule-${String(r).padStart(4, '0')}`);
  const broadcastId = (k: number) => `bc-${String(k).padStart(5, '0')}`;
  const operatorToken = `bench-operator-${randomBytes(12).toString('hex')}`;
  const facts = { relations: 0, tagLinks: 0, timeline: 0, deliveries: 0, orders: 0, ledger: 0 };

  // ── The corp's fixed rows ───────────────────────────────────────────────────────────────────────────────────────
  await w.begin();
  await w.insert('staff', ['userid', 'name', 'status', 'updated_at'], staff.map((s, i) => [s, `员工${i}`, 'active', 0]));
  await w.insert('channels', ['id', 'name', 'state', 'staff', 'tags', 'created_at', 'updated_at'], Array.from({ length: CHANNELS }, (_, c) => [channelId(c), `渠道${c}`, `st_${c}`, '[]', '[]', 0, 0]));
  await w.insert('tag_groups', ['id', 'name', 'sort_order', 'source', 'updated_at'], Array.from({ length: GROUPS }, (_, g) => [`grp${g}`, `分组${g}`, g, 'wecom', 0]));
  await w.insert('tags', ['id', 'group_id', 'name', 'sort_order', 'source', 'updated_at'], Array.from({ length: TAGS }, (_, t) => [tagId(t), groupOf(t), `标签${t}`, t, 'wecom', 0]));
  await w.insert('api_tokens', ['id', 'name', 'role', 'userid', 'token_hash', 'created_at'], [[`tok-${randomBytes(6).toString('hex')}`, 'analytics bench', 'operator', null, hashToken(operatorToken), 0]]);
  // Rules and broadcasts the ledger rows belong to; disabled, so no job of the running bot plans anything from them.
  await w.insert('care_rules', ['id', 'name', 'kind', 'occasion', 'audience', 'template', 'send_time', 'priority', 'channel', 'enabled', 'created_at', 'updated_at'], careIds.map((id, r) => [id, r < CARE_RULES ? `关怀规则${r}` : `召回规则${r - CARE_RULES}`, r < CARE_RULES ? 'care' : 'winback', JSON.stringify({ type: 'birthday' }), null, '您好', '10:00', 100, 'mass_task', 0, 0, 0]));
  const broadcasts = Math.ceil(DAYS / BROADCAST_EVERY);
  await w.insert('broadcasts', ['id', 'name', 'audience', 'text', 'sender_policy', 'send_at', 'status', 'audience_count', 'created_at', 'updated_at'], Array.from({ length: broadcasts }, (_, k) => [broadcastId(k), `群发${k}`, 'all', '活动通知', 'latest', starts[k * BROADCAST_EVERY] + 10 * 3600_000, 'done', 0, starts[k * BROADCAST_EVERY], starts[k * BROADCAST_EVERY]]));
  await w.commit();

  // Tag popularity falls off as 1/(rank+1)^0.8, as in the audience corp.
  const cumulative: number[] = [];
  Array.from({ length: TAGS }, (_, r) => 1 / (r + 1) ** 0.8).reduce((s, x, i) => (cumulative[i] = s + x), 0);
  const pickTag = () => {
    const x = rand() * cumulative[TAGS - 1];
    let lo = 0;
    let hi = TAGS - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  // ── Per-day aggregates, keyed by day index; a day is written once every add on or before it is generated ──────────
  interface DayAgg {
    growth: Agg; // [userid, channel] → added, lostByCustomer, lostByStaff, _, _, retained7, retained30, ordered30, revenue30
    tags: Agg; // [tag, userid] → added, lostByCustomer, lostByStaff
    cohort: Agg; // [userid, channel] → adds, w1..w12
    churn: Agg; // [dimension, bucket, userid, channel] → lostByCustomer, lostByStaff
    lossesByMember: Map<string, number>;
  }
  const pending = new Map<number, DayAgg>();
  const at = (d: number): DayAgg => {
    let a = pending.get(d);
    if (!a) pending.set(d, (a = { growth: new Agg(9), tags: new Agg(3), cohort: new Agg(1 + COHORT_WEEKS), churn: new Agg(2), lossesByMember: new Map() }));
    return a;
  };
  // Running state for the nightly snapshots.
  const active = new Map<string, number>(); // member → active relations ('' the corp)
  const mix = new Map<string, number>(); // dimension|value|member → customers
  let churnBaseRelations = 0;
  // Mass-send batches per delivery day, until the day is complete: batch id → what the batch row sums.
  const batchesOfDay = new Map<number, Map<string, { sender: string; recipients: number; created: number; submitted: number; finished: number }>>();
  let tlSeq = 0;
  let evSeq = 0;
  let lastLogged = Date.now();

  for (let d = 0; d < DAYS; d++) {
    const from = Math.floor((d * n) / DAYS);
    const to = Math.floor(((d + 1) * n) / DAYS);
    for (let i = from; i < to; i++) {
      const ext = customerId(i);
      const firstAdd = starts[d] + Math.floor(rand() * DAY);
      const owner = staff[i % staffN];
      const rels: { userid: string; at: number; channel: number | null; lostAt: number | null; lossKind: string }[] = [];
      rels.push({ userid: owner, at: firstAdd, channel: rand() < 0.75 ? Math.floor(rand() * CHANNELS) : null, lostAt: null, lossKind: '' });
      if (rand() < 0.2) {
        const second = firstAdd + Math.floor(rand() * 30 * DAY);
        if (second < endMs) rels.push({ userid: staff[(i + 1 + Math.floor(rand() * (staffN - 1))) % staffN], at: second, channel: rand() < 0.5 ? Math.floor(rand() * CHANNELS) : null, lostAt: null, lossKind: '' });
      }
      for (const r of rels) {
        if (rand() < 0.25) {
          const lostAt = r.at + Math.floor(rand() * 200 * DAY);
          if (lostAt < endMs) {
            r.lostAt = lostAt;
            r.lossKind = rand() < 0.6 ? 'lost_by_customer' : 'lost_by_staff';
          }
        }
      }
      const activeUntil = Math.max(...rels.map((r) => r.lostAt ?? endMs));
      const span = Math.max(1, activeUntil - firstAdd);
      // 5 distinct tags on the first relation.
      const myTags = new Set<number>();
      while (myTags.size < 5) myTags.add(pickTag());
      const tagIds = [...myTags].map(tagId);
      for (const t of tagIds) await b.add('customer_tags', C.tags, [ext, t, owner, 'wecom', firstAdd]);
      facts.tagLinks += 5;
      // Orders.
      const orders: { at: number; cents: number }[] = [];
      if (rand() < 0.4) {
        const k = 1 + Math.floor(rand() * 3);
        for (let j = 0; j < k; j++) {
          const oat = firstAdd + Math.floor(rand() * Math.min(span, 180 * DAY));
          if (oat < endMs) orders.push({ at: oat, cents: 1000 + Math.floor(rand() * 99_000) });
        }
        orders.sort((x, y) => x.at - y.at);
        for (const [j, o] of orders.entries()) await b.add('orders', C.orders, [`o${String(i).padStart(10, '0')}-${j}`.padEnd(36, '0'), ext, `NO${String(i).padStart(10, '0')}-${j}`, o.cents, o.at, o.at]);
        facts.orders += orders.length;
      }
      // Timeline: exactly 10 entries; the relation changes and orders first, WeChat-KF messages for the rest.
      const timeline: unknown[][] = [];
      for (const r of rels) {
        timeline.push([ext, r.userid, 'change_external_contact/add_external_contact', '添加了客户', null, 'callback', `ev-${String(++evSeq).padStart(10, '0')}`, r.at, r.at]);
        if (r.lostAt !== null) timeline.push([ext, r.userid, r.lossKind === 'lost_by_customer' ? 'change_external_contact/del_follow_user' : 'change_external_contact/del_external_contact', '删除了好友', null, 'callback', `ev-${String(++evSeq).padStart(10, '0')}`, r.lostAt, r.lostAt]);
      }
      for (const [j, o] of orders.entries()) if (timeline.length < 10) timeline.push([ext, null, 'order', `下单 ¥${(o.cents / 100).toFixed(2)}`, null, 'orders', `NO${String(i).padStart(10, '0')}-${j}`, o.at, o.at]);
      const kfFromCustomer: number[] = [];
      while (timeline.length < 10) {
        const kat = firstAdd + Math.floor(rand() * span);
        const origin = rand() < 0.6 ? 3 : 5;
        if (origin === 3) kfFromCustomer.push(kat);
        timeline.push([ext, origin === 5 ? owner : null, 'kf/text', '微信客服：您好', JSON.stringify({ openKfId: 'wkBench0001', origin, msgType: 'text' }), 'kf', `kf-${String(++tlSeq).padStart(10, '0')}`, kat, kat]);
      }
      for (const row of timeline) await b.add('timeline_entries', C.timeline, row);
      facts.timeline += timeline.length;
      kfFromCustomer.sort((x, y) => x - y);
      // Ledger rows: 2 per customer, within its active time.
      const sent: { at: number; isBroadcast: boolean }[] = [];
      const occasions = new Set<string>();
      for (let j = 0; j < 2; j++) {
        const when = firstAdd + Math.floor(rand() * span);
        const dd = Math.min(DAYS - 1, dayOf(when));
        const k = rand();
        const kind = k < 0.4 ? 'care' : k < 0.5 ? 'winback' : 'broadcast';
        const ruleId = kind === 'care' ? careIds[Math.floor(rand() * CARE_RULES)] : kind === 'winback' ? careIds[CARE_RULES + Math.floor(rand() * WINBACK_RULES)] : null;
        const bcId = kind === 'broadcast' ? broadcastId(Math.floor(dd / BROADCAST_EVERY)) : null;
        const source = `${kind}:${ruleId ?? bcId}`;
        const occasion = kind === 'broadcast' ? 'broadcast' : `day:${dayName[dd]}`;
        if (occasions.has(`${source}|${occasion}`)) continue;
        occasions.add(`${source}|${occasion}`);
        const s = rand();
        const [status, reason] = s < 0.7 ? ['sent', null] : s < 0.76 ? ['skipped', 'daily_cap'] : s < 0.8 ? ['skipped', 'opted_out'] : s < 0.83 ? ['skipped', 'holdout'] : s < 0.9 ? ['expired', 'not_confirmed'] : s < 0.95 ? ['failed', 'not_friend'] : ['over_quota', 'wecom_quota'];
        const notBefore = starts[dd] + 10 * 3600_000;
        const isSubmitted = status === 'sent' || status === 'expired' || status === 'failed';
        const submittedAt = isSubmitted ? notBefore + 60_000 : null;
        const sentAt = status === 'sent' ? notBefore + Math.floor(rand() * 6 * 3600_000) : null;
        const batch = isSubmitted ? `b-${source}-${owner}-${dd}` : null;
        await b.add('deliveries', C.deliveries, [source, ext, occasion, kind, ruleId, bcId, 'mass_task', 100, owner, null, dayName[dd], notBefore, notBefore + 3 * DAY, status, reason, batch, null, notBefore - 3600_000, sentAt ?? submittedAt ?? notBefore, submittedAt, sentAt]);
        facts.deliveries++;
        if (batch !== null) {
          // Its mass-send batch, as an INSERT … SELECT grouping the ledger by batch_id would make it (written when day dd
          // is complete: every delivery of a day comes from a customer added on or before it).
          let ofDay = batchesOfDay.get(dd);
          if (!ofDay) batchesOfDay.set(dd, (ofDay = new Map()));
          const t = ofDay.get(batch);
          const updated = sentAt ?? submittedAt!;
          if (!t) ofDay.set(batch, { sender: owner, recipients: 1, created: notBefore - 3600_000, submitted: submittedAt!, finished: updated });
          else {
            t.recipients++;
            if (updated > t.finished) t.finished = updated;
          }
        }
        if (sentAt !== null) sent.push({ at: sentAt, isBroadcast: kind === 'broadcast' });
      }
      // The customer row, its scores and its snapshot state.
      const activity = ACTIVITY[Math.floor(rand() * 3)];
      const rfm = rand() < 0.6 ? RFM_SEGMENTS[Math.floor(rand() * RFM_SEGMENTS.length)] : null;
      const stage = STAGES[Math.floor(rand() * STAGES.length)];
      const lastKf = kfFromCustomer.length ? kfFromCustomer[kfFromCustomer.length - 1] : null;
      await b.add('customers', C.customers, [ext, `客户${i}`, 1, Math.floor(rand() * 3), firstAdd, lastKf, activity, stage, rfm, 0, firstAdd, firstAdd, orders.length, orders.reduce((s, o) => s + o.cents, 0)]);
      await b.add('analytics_customer_states', C.states, [ext, addDays(end, -1), activity, rfm ?? '', stage, null, '', '', '']);
      for (const [dim, v] of [['activity', activity], ['rfm', rfm ?? ''], ['stage', stage]]) {
        for (const u of [ALL_MEMBERS, ...new Set(rels.map((r) => r.userid))]) mix.set(`${dim}\u0000${v}\u0000${u}`, (mix.get(`${dim}\u0000${v}\u0000${u}`) ?? 0) + 1);
      }
      // Relations, the ledger and the rollups of each change.
      for (const r of rels) {
        const ch = r.channel === null ? '' : channelId(r.channel);
        const status = r.lostAt === null ? 'active' : r.lossKind === 'lost_by_customer' ? 'deleted_by_customer' : 'deleted_by_staff';
        await b.add('follow_relations', C.relations, [r.userid, ext, 1, r.channel === null ? null : `st_${r.channel}`, r.at, status, r.lostAt, r.lostAt ?? r.at, r.at, r.lostAt ?? r.at]);
        facts.relations++;
        await b.add('analytics_relation_events', C.ledger, [r.at, 'added', r.userid, ext, ch || null, JSON.stringify(tagIds), r.at]);
        facts.ledger++;
        const ad = dayOf(r.at);
        const g = at(ad);
        g.growth.bump([r.userid, ch], 0);
        if (r.lostAt === null || r.lostAt - r.at >= 7 * DAY) g.growth.bump([r.userid, ch], 5);
        if (r.lostAt === null || r.lostAt - r.at >= 30 * DAY) g.growth.bump([r.userid, ch], 6);
        const bought = orders.filter((o) => o.at >= r.at && o.at < r.at + 30 * DAY);
        if (bought.length) {
          g.growth.bump([r.userid, ch], 7);
          g.growth.bump([r.userid, ch], 8, bought.reduce((s, o) => s + o.cents, 0));
        }
        for (const t of tagIds) g.tags.bump([t, r.userid], 0);
        const cohort: Counts = [1];
        for (let k = 1; k <= COHORT_WEEKS; k++) {
          if (ad + 7 * k > DAYS - 1) {
            cohort.push(0);
            continue;
          }
          const mark = starts[ad + 7 * k + 1];
          cohort.push(r.lostAt === null || r.lostAt >= mark ? 1 : 0);
        }
        g.cohort.add([r.userid, ch], cohort);
        if (r.lostAt !== null) {
          await b.add('analytics_relation_events', C.ledger, [r.lostAt, r.lossKind, r.userid, ext, ch || null, JSON.stringify(tagIds), r.lostAt]);
          facts.ledger++;
          const ld = dayOf(r.lostAt);
          const l = at(ld);
          const col = r.lossKind === 'lost_by_customer' ? 1 : 2;
          l.growth.bump([r.userid, ch], col);
          for (const t of tagIds) l.tags.bump([t, r.userid], col);
          l.lossesByMember.set(r.userid, (l.lossesByMember.get(r.userid) ?? 0) + 1);
          // The loss profile, from what this customer had then (docs/analytics.md §Churn analysis).
          const since = r.lostAt - 30 * DAY;
          const lastInteraction = kfFromCustomer.filter((x) => x <= r.lostAt!).at(-1) ?? firstAdd;
          const lastOrder = orders.filter((o) => o.at <= r.lostAt!).at(-1)?.at ?? null;
          const inWindow = sent.filter((s) => s.at >= since && s.at < r.lostAt!);
          const p = {
            sinceInteractionDays: Math.floor((r.lostAt - lastInteraction) / DAY),
            sinceOrderDays: lastOrder === null ? null : Math.floor((r.lostAt - lastOrder) / DAY),
            botMessages: inWindow.length,
            broadcasts: inWindow.filter((s) => s.isBroadcast).length,
            kfMessages: kfFromCustomer.filter((x) => x >= since && x < r.lostAt!).length,
          };
          await b.add('analytics_loss_profiles', C.lossProfiles, [r.lostAt, dayName[ld], r.lossKind, r.userid, ch, p.sinceInteractionDays, p.sinceOrderDays, p.botMessages, p.broadcasts, p.kfMessages, r.lostAt]);
          for (const [dim, bucket] of bucketsOf(p)) l.churn.bump([dim, bucket, r.userid, ch], col - 1);
        }
        active.set(r.userid, (active.get(r.userid) ?? 0) + 1);
        active.set(ALL_MEMBERS, (active.get(ALL_MEMBERS) ?? 0) + 1);
        churnBaseRelations++;
      }
    }

    // Day d is complete: its rollup rows, as the roll and that night's snapshots would have written them.
    const g = at(d);
    pending.delete(d);
    for (const [id, t] of batchesOfDay.get(d) ?? []) await b.add('delivery_batches', C.batches, [id, 'mass_task', t.sender, '', 'done', id, t.recipients, 'bench', t.created, t.submitted, t.finished]);
    batchesOfDay.delete(d);
    const day = dayName[d];
    const rolledAt = starts[d + 1] + 20 * 60_000;
    for (const { key, v } of withSummaries(g.growth, 0)) await b.add('analytics_daily_growth', C.growth, [day, key[0], key[1], v[0], v[1], v[2], 0, 0, v[5], v[6], v[7], v[8], end]);
    const tagSums = new Agg(3);
    for (const { key, v } of g.tags.m.values()) {
      await b.add('analytics_daily_growth_tags', C.growthTags, [day, groupOf(Number(key[0].slice(3))), key[0], key[1], ...v]);
      tagSums.add([key[0], ALL_MEMBERS], v);
    }
    for (const { key, v } of tagSums.m.values()) await b.add('analytics_daily_growth_tags', C.growthTags, [day, groupOf(Number(key[0].slice(3))), key[0], key[1], ...v]);
    for (const { key, v } of withSummaries(g.cohort, 0)) await b.add('analytics_cohort_days', C.cohort, [day, key[0], key[1], ...v, end]);
    for (const { key, v } of withSummaries(g.churn, 2)) await b.add('analytics_daily_churn', C.churn, [day, ...key, v[0], v[1]]);
    await b.add('analytics_days', C.days, [day, rolledAt, rolledAt]);
    await b.add('analytics_reach_days', C.reachDays, [day, rolledAt, dayName[Math.min(DAYS - 1, d + 7)]]);
    await b.add('analytics_retention_days', C.retentionDays, [day, end, rolledAt, rolledAt]);
    // Snapshots: the relations lost today leave the totals and the base.
    for (const [u, k] of g.lossesByMember) {
      active.set(u, (active.get(u) ?? 0) - k);
      active.set(ALL_MEMBERS, (active.get(ALL_MEMBERS) ?? 0) - k);
      churnBaseRelations -= k;
    }
    for (const [u, k] of active) await b.add('analytics_daily_totals', C.totals, [day, u, k, rolledAt]);
    for (const [k, v] of mix) {
      const [dim, value, u] = k.split('\u0000');
      await b.add('analytics_daily_mix', C.mix, [day, dim, value, u, v]);
    }
    for (const [fromV, toV] of [['loyal', 'at_risk'], ['at_risk', 'churned'], ['customer', 'loyal'], ['new', 'prospect']]) {
      await b.add('analytics_daily_transitions', C.transitions, [day, 'stage', fromV, toV, ALL_MEMBERS, Math.round(n * 0.002 * rand())]);
      for (const s of staff) await b.add('analytics_daily_transitions', C.transitions, [day, 'stage', fromV, toV, s, Math.round((n * 0.002 * rand()) / staffN)]);
    }
    // The churn base, corp-wide and per channel (a share of the active relations per bucket). Not the per-member and
    // per-(member, channel) rows of every bucket: at a million customers a night writes ~ 22 buckets × (members ×
    // channels) of them, ~ 70,000, too many to generate for two years here; a question reads the base of one day.
    for (const [dim, buckets] of [['all', ['all']], ['botMessages', ['0', '1-2', '3-5']], ['broadcasts', ['0', '1-2']], ['kfMessages', ['0', '1-2', '3-5', '6+']], ['sinceOrder', ['none', '0-30', '31-90', '91-180', '181+']], ['sinceInteraction', ['0-7', '8-30', '31-90', '91+']]] as const) {
      for (const [bi, bucket] of buckets.entries()) {
        const share = dim === 'all' ? 1 : (bi + 1) / ((buckets.length * (buckets.length + 1)) / 2);
        await b.add('analytics_daily_churn_base', C.churnBase, [day, dim, bucket, ALL_MEMBERS, ALL_CHANNELS, Math.round(churnBaseRelations * share)]);
        for (let c = 0; c < CHANNELS; c++) await b.add('analytics_daily_churn_base', C.churnBase, [day, dim, bucket, ALL_MEMBERS, channelId(c), Math.round((churnBaseRelations * share * 0.75) / CHANNELS)]);
        // Per member only the whole ('all'), which is what the split by owner reads.
        if (dim === 'all') for (const s of staff) await b.add('analytics_daily_churn_base', C.churnBase, [day, dim, bucket, s, ALL_CHANNELS, active.get(s) ?? 0]);
      }
    }
    // WeCom's figures per member and day as the nightly pull stores them, and the bot's own.
    for (const s of staff) {
      const chats = Math.floor(rand() * 40);
      await b.add('analytics_staff_behavior', C.behavior, [s, day, chats, chats * 4, chats ? 5000 + Math.floor(rand() * 5000) : null, chats ? 1 + Math.floor(rand() * 60) : null, Math.floor(rand() * 3), Math.floor(rand() * 10), Math.floor(rand() * 8), rolledAt]);
      await b.add('analytics_staff_daily', C.staffDaily, [s, day, Math.floor(rand() * 4), Math.floor(rand() * 2), Math.floor(rand() * 2), 0, Math.floor(rand() * 5), Math.floor(rand() * 4), rolledAt]);
    }
    if (Date.now() - lastLogged > 30_000) {
      lastLogged = Date.now();
      log(` day ${d + 1}/${DAYS}, ${to} customers, ${Math.round((Date.now() - t0) / 1000)} s`);
    }
  }
  for (const s of staff) await b.add('analytics_staff_pulls', ['userid', 'last_day', 'last_pulled_at', 'failures'], [s, addDays(end, -1), endMs - DAY, 0]);
  await b.flush();
  const phases: AnalyticsCorpFacts['phases'] = { rowsSeconds: Math.round((Date.now() - t0) / 1000) };

  // The reach rollup, aggregated from the generated ledger in SQL.
  let t1 = Date.now();
  log(' reach from the ledger');
  await w.begin();
  if (present.has('analytics_daily_reach')) {
    // What followed each message is approximated from its id (orders 1 in 12, KF replies 1 in 9): the shape of the rows
    // is what the questions pay for, and it is as the roll writes it.
    const cols = 'day, kind, source_id, userid, status, reason, messages, submitted, confirmed, matured, ordered, ordered_matured, orders, revenue_cents, replied, replied_matured';
    await w.exec(
      `INSERT INTO analytics_daily_reach (${cols})
       SELECT local_date, kind, COALESCE(rule_id, broadcast_id), COALESCE(sender_userid, ''), status, COALESCE(reason, ''), COUNT(*),
              SUM(CASE WHEN submitted_at IS NOT NULL THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END),
              SUM(CASE WHEN local_date <= ? THEN 1 ELSE 0 END), SUM(CASE WHEN id % 12 = 0 THEN 1 ELSE 0 END),
              SUM(CASE WHEN id % 12 = 0 AND local_date <= ? THEN 1 ELSE 0 END), SUM(CASE WHEN id % 12 = 0 THEN 1 ELSE 0 END),
              SUM(CASE WHEN id % 12 = 0 THEN 1000 + id % 50000 ELSE 0 END), SUM(CASE WHEN id % 9 = 0 THEN 1 ELSE 0 END),
              SUM(CASE WHEN id % 9 = 0 AND local_date <= ? THEN 1 ELSE 0 END)
         FROM deliveries GROUP BY local_date, kind, COALESCE(rule_id, broadcast_id), COALESCE(sender_userid, ''), status, COALESCE(reason, '')`,
      [addDays(end, -7), addDays(end, -7), addDays(end, -7)],
    );
    await w.exec(
      `INSERT INTO analytics_daily_reach (${cols})
       SELECT day, kind, source_id, '*', status, reason, SUM(messages), SUM(submitted), SUM(confirmed), SUM(matured), SUM(ordered), SUM(ordered_matured),
              SUM(orders), SUM(revenue_cents), SUM(replied), SUM(replied_matured)
         FROM analytics_daily_reach WHERE userid <> '*' GROUP BY day, kind, source_id, status, reason`,
    );
  }
  await w.commit();
  phases.reachSeconds = Math.round((Date.now() - t1) / 1000);
  const extra: Record<string, number> = {};
  if (present.has('analytics_staff_periods')) {
    t1 = Date.now();
    extra.analytics_staff_periods = await rollStaffPeriods(url, first, endMs);
    phases.staffPeriodsSeconds = Math.round((Date.now() - t1) / 1000);
  }
  t1 = Date.now();
  log(' adding the deferred indexes');
  phases.indexTableSeconds = await restoreIndexes([w, ...lanes], deferred, b.written);
  phases.indexSeconds = Math.round((Date.now() - t1) / 1000);
  for (const x of lanes) await x.close();
  await w.close();
  const rollupRows = Object.fromEntries(Object.entries(b.written).filter(([t]) => t.startsWith('analytics_')));
  for (const [k, v] of Object.entries(extra)) rollupRows[k] = v;
  return {
    customers: n,
    staff: staffN,
    ...facts,
    rollupRows,
    missingTables: NEWER.filter((t) => !present.has(t)),
    first,
    end,
    seconds: Math.round((Date.now() - t0) / 1000),
    phases,
    operatorToken,
  };
}
