import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { placeholders, upsertSql } from './sql-upsert.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import { activeRelationsOfNextCustomers, ALL_CHANNELS, ALL_MEMBERS } from './analytics.repository.js';
import { replaceDayRowsInTx, type DayRowsTable } from './day-rows.js';
import type { ChurnBaseSpec, ChurnBucketRow, CohortDayRow, LossFacts, LossProfile } from '../../domain/analytics/retention.types.js';

type Num = number | string;
const n = (v: Num | null | undefined): number => (v === null || v === undefined ? 0 : Number(v));
const orNull = (v: Num | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

/** The week columns migration 0028 gave analytics_cohort_days (retained_w1 … retained_w12): a fact of the schema. */
const COHORT_WEEK_COLUMNS = 12;
const WEEK_COLS = Array.from({ length: COHORT_WEEK_COLUMNS }, (_, i) => `retained_w${i + 1}`);
const COHORT_COLS = ['day', 'userid', 'channel_id', 'adds', ...WEEK_COLS, 'marks_through'];
const COHORT_TABLE: DayRowsTable = { table: 'analytics_cohort_days', key: ['userid', 'channel_id'], values: ['adds', ...WEEK_COLS, 'marks_through'] };
const CHURN_KEY = ['dimension', 'bucket', 'userid', 'channel_id'];
/** Rows per multi-row INSERT: 17 columns × 500 stays far under SQLite's bound-parameter limit. */
const CHUNK = 500;
/** Rows per transaction when SQLite writes a night's churn base in slices. */
const SLICE = 5000;

/** Which churn table: the losses (events) or the nightly population (snapshot). */
export type ChurnTable = 'analytics_daily_churn' | 'analytics_daily_churn_base';

/** How a churn read is split: one line per bucket, or per member or channel too. */
export interface ChurnReadFilter {
  userid?: string;
  channelId?: string;
  /** Lines per member (userid) or per channel (channel_id) instead of the one the filters leave. */
  split?: 'owner' | 'channel';
  /** Only this dimension's rows. */
  dimension?: string;
}

/**
 * Retention cohorts and churn analysis (docs/analytics.md §Retention cohorts, §Churn analysis): rolled from the
 * relation ledger, the loss profiles recorded at each loss, and a nightly snapshot of active relations. Dashboard reads
 * touch only the rollups, through `apiRead`.
 */
export class AnalyticsRetentionRepository {
  constructor(private readonly db: Db) {}

  // ── Cohorts ───────────────────────────────────────────────────────────────────────────────────────────────────────

  /** A page of the ledger's adds in [from, to), by id. */
  async addsBetween(from: number, to: number, afterId: number, limit: number): Promise<{ id: number; at: number; userid: string; externalUserId: string; channelId: string }[]> {
    const rows = await this.db.query<{ id: Num; occurred_at: Num; userid: string; external_user_id: string; channel_id: string | null }>(
      `SELECT id, occurred_at, userid, external_user_id, channel_id FROM analytics_relation_events
        WHERE occurred_at >= ? AND occurred_at < ? AND id > ? AND kind = 'added' ORDER BY id LIMIT ?`,
      [from, to, afterId, limit],
    );
    return rows.map((r) => ({ id: Number(r.id), at: Number(r.occurred_at), userid: r.userid, externalUserId: r.external_user_id, channelId: r.channel_id ?? '' }));
  }

  /** Every ledger change of these customers in [from, to), in time order. */
  async changesOf(exts: string[], from: number, to: number): Promise<{ id: number; at: number; kind: string; userid: string; externalUserId: string }[]> {
    const out: { id: number; at: number; kind: string; userid: string; externalUserId: string }[] = [];
    for (let i = 0; i < exts.length; i += CHUNK) {
      const chunk = exts.slice(i, i + CHUNK);
      const rows = await this.db.query<{ id: Num; occurred_at: Num; kind: string; userid: string; external_user_id: string }>(
        `SELECT id, occurred_at, kind, userid, external_user_id FROM analytics_relation_events
          WHERE external_user_id IN (${placeholders(chunk.length)}) AND occurred_at >= ? AND occurred_at < ?`,
        [...chunk, from, to],
      );
      for (const r of rows) out.push({ id: Number(r.id), at: Number(r.occurred_at), kind: r.kind, userid: r.userid, externalUserId: r.external_user_id });
    }
    return out.sort((a, b) => a.at - b.at || a.id - b.id);
  }

  /** Replace an add day's cohort rows (detail and summaries) and note how far its marks were counted. */
  async replaceCohortDay(day: string, rows: CohortDayRow[], through: string): Promise<void> {
    await this.db.tx(async (em) => {
      // In place (docs/analytics.md §Rolling in place): most of the 115 days' rows differ only in marks_through.
      await replaceDayRowsInTx(em, this.db.engine, COHORT_TABLE, day, rows.map((r) => [r.userid, r.channelId, r.adds, ...r.retained, r.marksThrough]));
      await em.query(upsertSql(this.db.engine, 'analytics_retention_days', ['day', 'cohorts_through'], ['day'], ['cohorts_through']), [day, through]);
    });
  }

  /** The cohort rows of [from, to] for the filters: one row per day (the summary or detail row that answers). */
  async cohortRows(from: string, to: string, f: { userid?: string; channelId?: string }): Promise<CohortDayRow[]> {
    const rows = await this.db.apiRead<Record<string, Num | string>>(
      `SELECT ${COHORT_COLS.join(', ')} FROM analytics_cohort_days WHERE userid = ? AND channel_id = ? AND day >= ? AND day <= ? ORDER BY day`,
      [f.userid ?? ALL_MEMBERS, f.channelId ?? ALL_CHANNELS, from, to],
    );
    return rows.map((r) => ({
      day: String(r.day),
      userid: String(r.userid),
      channelId: String(r.channel_id),
      adds: n(r.adds as Num),
      retained: WEEK_COLS.map((c) => n(r[c] as Num)),
      marksThrough: String(r.marks_through),
    }));
  }

  /** The add days in [from, to] whose cohorts were rolled, and through which day. */
  async cohortDays(from: string, to: string): Promise<Map<string, string>> {
    const rows = await this.db.apiRead<{ day: string; cohorts_through: string }>(
      'SELECT day, cohorts_through FROM analytics_retention_days WHERE day >= ? AND day <= ? AND cohorts_through IS NOT NULL',
      [from, to],
    );
    return new Map(rows.map((r) => [String(r.day), String(r.cohorts_through)]));
  }

  // ── Losses, as they are recorded ──────────────────────────────────────────────────────────────────────────────────

  /**
   * What the bot knows of a customer at a loss at `at`: the last interaction (else the first add), the last order at
   * or before it, the bot's messages sent in [since, at) (all, and broadcasts) and the customer's KF messages then.
   */
  async lossFactsInTx(em: EntityManager, ext: string, since: number, at: number): Promise<LossFacts> {
    // One statement of scalar subqueries, not four: each is a round trip on MySQL, inside the loss's transaction
    // (docs/inbox.md §Statements per event).
    const [r] = (await em.query(
      `SELECT (SELECT last_interaction_at FROM customers WHERE external_user_id = ?) AS last_interaction_at,
              (SELECT first_added_at FROM customers WHERE external_user_id = ?) AS first_added_at,
              (SELECT MAX(ordered_at) FROM orders WHERE external_user_id = ? AND ordered_at <= ?) AS last_order_at,
              (SELECT COUNT(*) FROM deliveries WHERE external_user_id = ? AND status = 'sent' AND sent_at >= ? AND sent_at < ?) AS bot_messages,
              (SELECT COUNT(*) FROM deliveries WHERE external_user_id = ? AND status = 'sent' AND sent_at >= ? AND sent_at < ? AND kind = 'broadcast') AS broadcasts,
              (SELECT COUNT(*) FROM timeline_entries WHERE external_user_id = ? AND occurred_at >= ? AND occurred_at < ? AND ${KF_FROM_CUSTOMER}) AS kf_messages`,
      [ext, ext, ext, at, ext, since, at, ext, since, at, ext, since, at],
    )) as { last_interaction_at: Num | null; first_added_at: Num | null; last_order_at: Num | null; bot_messages: Num; broadcasts: Num; kf_messages: Num }[];
    return {
      lastInteractionAt: orNull(r?.last_interaction_at),
      firstAddedAt: orNull(r?.first_added_at),
      lastOrderAt: orNull(r?.last_order_at),
      botMessages: n(r?.bot_messages),
      broadcasts: n(r?.broadcasts),
      kfMessages: n(r?.kf_messages),
    };
  }

  /** Whether the day's churn rows were rolled (and so have summary rows). */
  async isChurnRolledInTx(em: EntityManager, day: string): Promise<boolean> {
    return (await em.query('SELECT 1 AS x FROM analytics_retention_days WHERE day = ? AND churn_rolled_at IS NOT NULL', [day])).length > 0;
  }

  /**
   * Keep the loss's profile and count it on its day's churn rows, in the caller's transaction: the detail row of each
   * dimension, and when the day was rolled already its summaries too.
   */
  async recordLossInTx(em: EntityManager, p: LossProfile, buckets: [string, string][], isRolled: boolean, now: number): Promise<void> {
    await em.query(
      `INSERT INTO analytics_loss_profiles (occurred_at, day, kind, userid, channel_id, since_interaction_days, since_order_days, bot_messages_30d, broadcasts_30d, kf_messages_30d, created_at)
       VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
      [p.at, p.day, p.kind, p.userid, p.channelId, p.sinceInteractionDays, p.sinceOrderDays, p.botMessages, p.broadcasts, p.kfMessages, now],
    );
    const col = p.kind === 'lost_by_customer' ? 'lost_by_customer' : 'lost_by_staff';
    const keys: [string, string][] = isRolled
      ? [
          [p.userid, p.channelId],
          [ALL_MEMBERS, p.channelId],
          [p.userid, ALL_CHANNELS],
          [ALL_MEMBERS, ALL_CHANNELS],
        ]
      : [[p.userid, p.channelId]];
    const rows = keys.flatMap(([u, ch]) => buckets.map(([dim, b]) => [p.day, dim, b, u, ch, 1]));
    const cols = ['day', 'dimension', 'bucket', 'userid', 'channel_id', col];
    const insert = `INSERT INTO analytics_daily_churn (${cols.join(', ')}) VALUES ${rows.map(() => `(${placeholders(cols.length)})`).join(', ')}`;
    await em.query(
      this.db.engine === 'mysql'
        ? `${insert} ON DUPLICATE KEY UPDATE ${col} = ${col} + VALUES(${col})`
        : `${insert} ON CONFLICT(day, dimension, bucket, userid, channel_id) DO UPDATE SET ${col} = ${col} + excluded.${col}`,
      rows.flat(),
    );
  }

  // ── Rolling churn days and the nightly base ───────────────────────────────────────────────────────────────────────

  /** The loss profiles of a local day. */
  async profilesOfDay(day: string): Promise<LossProfile[]> {
    const rows = await this.db.query<Record<string, Num | string | null>>(
      `SELECT occurred_at, day, kind, userid, channel_id, since_interaction_days, since_order_days, bot_messages_30d, broadcasts_30d, kf_messages_30d
         FROM analytics_loss_profiles WHERE day = ?`,
      [day],
    );
    return rows.map((r) => ({
      at: Number(r.occurred_at),
      day: String(r.day),
      kind: String(r.kind) as LossProfile['kind'],
      userid: String(r.userid),
      channelId: String(r.channel_id ?? ''),
      sinceInteractionDays: orNull(r.since_interaction_days as Num | null),
      sinceOrderDays: orNull(r.since_order_days as Num | null),
      botMessages: n(r.bot_messages_30d as Num),
      broadcasts: n(r.broadcasts_30d as Num),
      kfMessages: n(r.kf_messages_30d as Num),
    }));
  }

  /** Replace a day's rows of one churn table and note when (rolled for losses, taken for the base). */
  async replaceChurnDay(table: ChurnTable, day: string, rows: ChurnBucketRow[], at: number): Promise<void> {
    const counts = table === 'analytics_daily_churn' ? ['lost_by_customer', 'lost_by_staff'] : ['relations'];
    const cols = ['day', 'dimension', 'bucket', 'userid', 'channel_id', ...counts];
    const stamp = table === 'analytics_daily_churn' ? 'churn_rolled_at' : 'churn_base_at';
    const insert = async (em: EntityManager, part: ChurnBucketRow[]) => {
      for (let i = 0; i < part.length; i += CHUNK) {
        const chunk = part.slice(i, i + CHUNK);
        await em.query(
          `INSERT INTO ${table} (${cols.join(', ')}) VALUES ${chunk.map(() => `(${placeholders(cols.length)})`).join(', ')}`,
          chunk.flatMap((r) => [day, r.dimension, r.bucket, r.userid, r.channelId, ...(table === 'analytics_daily_churn' ? [r.lostByCustomer, r.lostByStaff] : [r.relations])]),
        );
      }
    };
    if (this.db.engine === 'sqlite' && table === 'analytics_daily_churn_base') {
      // A night's base is some 70,000 rows: in one transaction SQLite held the event loop for most of a second
      // (docs/analytics.md §Size). In slices, with a turn for the loop between them; the night's stamp is cleared
      // first and set last, so no reader takes a half-written base for that night's.
      await this.db.tx((em) => em.query(`UPDATE analytics_retention_days SET ${stamp} = NULL WHERE day = ?`, [day]));
      for (;;) {
        await yieldToEventLoop();
        const gone = await this.db.exec(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE day = ? LIMIT ${SLICE})`, [day]);
        if (gone < SLICE) break;
      }
      for (let i = 0; i < rows.length; i += SLICE) {
        await yieldToEventLoop();
        await this.db.tx((em) => insert(em, rows.slice(i, i + SLICE)));
      }
      await this.db.tx((em) => em.query(upsertSql(this.db.engine, 'analytics_retention_days', ['day', stamp], ['day'], [stamp]), [day, at]));
      return;
    }
    await this.db.tx(async (em) => {
      // In place (docs/analytics.md §Rolling in place): the losses were counted as they were recorded, so a re-roll
      // mostly finds its rows as they are.
      await replaceDayRowsInTx(em, this.db.engine, { table, key: CHURN_KEY, values: counts }, day, rows.map((r) => [r.dimension, r.bucket, r.userid, r.channelId, ...(table === 'analytics_daily_churn' ? [r.lostByCustomer, r.lostByStaff] : [r.relations])]));
      await em.query(upsertSql(this.db.engine, 'analytics_retention_days', ['day', stamp], ['day'], [stamp]), [day, at]);
    });
  }

  /**
   * A page of active relations with the contact-way state they came through: those of the next `limit` customers after
   * the cursor's customer (AnalyticsRepository's walk; a (customer, member) keyset made MySQL sort every relation after
   * the cursor for each page, docs/analytics.md §Size).
   */
  async activeRelationsAfter(cursor: { ext: string; userid: string } | null, limit: number): Promise<{ externalUserId: string; userid: string; state: string | null }[]> {
    return activeRelationsOfNextCustomers(this.db, cursor?.ext ?? null, limit);
  }

  /** Every channel's contact-way state (a small table). */
  async channelStates(): Promise<Map<string, string>> {
    const rows = await this.db.query<{ id: string; state: string }>('SELECT id, state FROM channels');
    return new Map(rows.map((r) => [r.state, r.id]));
  }

  /** For a page of customers: what lossFactsInTx reads for one, at `at`, with one statement per table. */
  async factsOf(exts: string[], since: number, at: number): Promise<Map<string, LossFacts>> {
    const out = new Map<string, LossFacts>();
    for (let i = 0; i < exts.length; i += CHUNK) {
      const chunk = exts.slice(i, i + CHUNK);
      const ph = placeholders(chunk.length);
      for (const ext of chunk) out.set(ext, { lastInteractionAt: null, firstAddedAt: null, lastOrderAt: null, botMessages: 0, broadcasts: 0, kfMessages: 0 });
      for (const r of await this.db.query<{ id: string; li: Num | null; fa: Num | null }>(`SELECT external_user_id AS id, last_interaction_at AS li, first_added_at AS fa FROM customers WHERE external_user_id IN (${ph})`, chunk)) {
        const f = out.get(r.id)!;
        f.lastInteractionAt = orNull(r.li);
        f.firstAddedAt = orNull(r.fa);
      }
      for (const r of await this.db.query<{ id: string; last_at: Num | null }>(`SELECT external_user_id AS id, MAX(ordered_at) AS last_at FROM orders WHERE external_user_id IN (${ph}) AND ordered_at <= ? GROUP BY external_user_id`, [...chunk, at])) {
        out.get(r.id)!.lastOrderAt = orNull(r.last_at);
      }
      // The status and source tests are counted, not filtered on: as WHERE terms SQLite (no statistics) reads them through
      // the (status, not_before) and (source, source_id) indexes, every sent message or KF entry of the corp for each
      // chunk (seconds a page at a million customers, docs/analytics.md §Size), rather than these customers' rows.
      for (const r of await this.db.query<{ id: string; n: Num | null; b: Num | null }>(
        `SELECT external_user_id AS id, SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS n, SUM(CASE WHEN status = 'sent' AND kind = 'broadcast' THEN 1 ELSE 0 END) AS b
           FROM deliveries WHERE external_user_id IN (${ph}) AND sent_at >= ? AND sent_at < ? GROUP BY external_user_id`,
        [...chunk, since, at],
      )) {
        const f = out.get(r.id)!;
        f.botMessages = n(r.n);
        f.broadcasts = n(r.b);
      }
      for (const r of await this.db.query<{ id: string; n: Num | null }>(
        `SELECT external_user_id AS id, SUM(CASE WHEN ${KF_FROM_CUSTOMER} THEN 1 ELSE 0 END) AS n FROM timeline_entries
          WHERE external_user_id IN (${ph}) AND occurred_at >= ? AND occurred_at < ? GROUP BY external_user_id`,
        [...chunk, since, at],
      )) {
        out.get(r.id)!.kfMessages = n(r.n);
      }
    }
    return out;
  }

  /** The last of the next `count` customers with an active relation after `afterExt`, in index order; null when none. */
  async activeCustomerSliceEnd(afterExt: string | null, count: number): Promise<string | null> {
    const [r] = await this.db.query<{ last: string | null }>(
      `SELECT MAX(external_user_id) AS last FROM (SELECT DISTINCT external_user_id FROM follow_relations
        WHERE status = 'active'${afterExt === null ? '' : ' AND external_user_id > ?'} ORDER BY external_user_id LIMIT ?) x`,
      afterExt === null ? [count] : [afterExt, count],
    );
    return r?.last ?? null;
  }

  /**
   * The nightly churn base of the customers in (afterExt, lastExt], bucketed in one statement: per member and
   * contact-way state, the active relations and how many fall in each bucket of each dimension, as profileOf and
   * bucketsOf would put them at the spec's instant from what factsOf reads (docs/analytics.md §Churn analysis). A few
   * thousand rows a slice instead of every relation and four reads per page of customers (docs/analytics.md §Size).
   */
  async churnBaseSlice(afterExt: string | null, lastExt: string, spec: ChurnBaseSpec): Promise<{ userid: string; state: string | null; counts: Map<string, number> }[]> {
    const range = (col: string) => (afterExt === null ? `${col} <= ?` : `${col} > ? AND ${col} <= ?`);
    const bounds = afterExt === null ? [lastExt] : [afterExt, lastExt];
    const dayCase = (then: string, dim: 'sinceOrder' | 'sinceInteraction') => {
      const { laterThan, over } = spec.days[dim];
      return {
        sql: `CASE WHEN ${then} IS NULL THEN 'none' ${laterThan.map(([, b]) => `WHEN ${then} > ? THEN '${b}'`).join(' ')} ELSE '${over}' END`,
        params: laterThan.map(([instant]) => instant),
      };
    };
    const sinceOrder = dayCase('o.last_at', 'sinceOrder');
    const sinceInteraction = dayCase('COALESCE(c.last_interaction_at, c.first_added_at)', 'sinceInteraction');
    const column = { botMessages: 'x.bot', broadcasts: 'x.bc', kfMessages: 'x.kf', sinceOrder: 'x.since_order', sinceInteraction: 'x.since_interaction' } as const;
    const cols: { alias: string; key: string; sql: string }[] = [];
    for (const [dim, buckets] of Object.entries(spec.buckets) as [keyof typeof column, readonly string[]][]) {
      for (const b of buckets) {
        const col = column[dim];
        // Count buckets are '0', '1', '2' and 'N+'; day buckets are compared by name.
        const test = dim === 'sinceOrder' || dim === 'sinceInteraction' ? `${col} = '${b}'` : b.endsWith('+') ? `${col} >= ${Number(b.slice(0, -1))}` : `${col} = ${Number(b)}`;
        cols.push({ alias: `c${cols.length}`, key: `${dim}\u0000${b}`, sql: `SUM(CASE WHEN ${test} THEN 1 ELSE 0 END)` });
      }
    }
    // The KF messages are read only for customers whose last interaction is in the window: the KF sync moves
    // last_interaction_at to every message the customer writes, in the message's transaction (kf-sync.service.ts), so
    // a customer silent since before the window wrote none in it. Most customers, most nights: their timeline rows,
    // the largest table, are not read at all (docs/analytics.md §Churn analysis).
    const rows = await this.db.query<Record<string, Num | string | null>>(
      `SELECT x.userid, x.state, COUNT(*) AS n_all, ${cols.map((c) => `${c.sql} AS ${c.alias}`).join(', ')}
         FROM (SELECT r.userid, r.state, COALESCE(d.n, 0) AS bot, COALESCE(d.b, 0) AS bc,
                      CASE WHEN c.last_interaction_at >= ? THEN
                        (SELECT COALESCE(SUM(CASE WHEN ${KF_FROM_CUSTOMER} THEN 1 ELSE 0 END), 0) FROM timeline_entries
                          WHERE external_user_id = r.external_user_id AND occurred_at >= ? AND occurred_at < ?)
                      ELSE 0 END AS kf,
                      ${sinceOrder.sql} AS since_order, ${sinceInteraction.sql} AS since_interaction
                 FROM follow_relations r
                 LEFT JOIN customers c ON c.external_user_id = r.external_user_id
                 LEFT JOIN (SELECT external_user_id, MAX(ordered_at) AS last_at FROM orders WHERE ${range('external_user_id')} AND ordered_at <= ?
                             GROUP BY external_user_id) o ON o.external_user_id = r.external_user_id
                 LEFT JOIN (SELECT external_user_id, SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS n,
                                   SUM(CASE WHEN status = 'sent' AND kind = 'broadcast' THEN 1 ELSE 0 END) AS b
                              FROM deliveries WHERE ${range('external_user_id')} AND sent_at >= ? AND sent_at < ? GROUP BY external_user_id) d
                        ON d.external_user_id = r.external_user_id
                WHERE r.status = 'active' AND ${range('r.external_user_id')}) x
        GROUP BY x.userid, x.state`,
      [spec.since, spec.since, spec.at, ...sinceOrder.params, ...sinceInteraction.params, ...bounds, spec.at, ...bounds, spec.since, spec.at, ...bounds],
    );
    return rows.map((r) => {
      const counts = new Map<string, number>([[`all\u0000all`, n(r.n_all as Num)]]);
      for (const c of cols) counts.set(c.key, n(r[c.alias] as Num));
      return { userid: String(r.userid), state: r.state === null ? null : String(r.state), counts };
    });
  }

  // ── Dashboard reads (rollups only) ────────────────────────────────────────────────────────────────────────────────

  /**
   * Churn rows of [from, to] summed in the statement per dimension, bucket and the split's key (and per day with
   * `perDay`): from the summary rows of days that have them (`summary`), or from the detail rows (days not rolled yet).
   * A year answers in a few hundred rows rather than one per day and key; the indexes of migration 0031 hold what each
   * shape reads (docs/analytics.md §Size).
   */
  async churnSums(table: ChurnTable, from: string, to: string, f: ChurnReadFilter & { perDay?: boolean }, summary: boolean): Promise<(ChurnBucketRow & { day: string | null; key: string })[]> {
    // One day (the base's night) as an equality, so the planner leads with the day rather than a member or channel.
    const where = from === to ? ['day = ?'] : ['day >= ?', 'day <= ?'];
    const params: unknown[] = from === to ? [from] : [from, to];
    const add = (sql: string, v: string) => (where.push(sql), params.push(v));
    if (f.dimension !== undefined) add('dimension = ?', f.dimension);
    if (summary) {
      if (f.userid !== undefined) add('userid = ?', f.userid);
      else add(f.split === 'owner' ? 'userid <> ?' : 'userid = ?', ALL_MEMBERS);
      if (f.channelId !== undefined) add('channel_id = ?', f.channelId);
      else add(f.split === 'channel' ? 'channel_id <> ?' : 'channel_id = ?', ALL_CHANNELS);
    } else {
      add('userid <> ?', ALL_MEMBERS);
      add('channel_id <> ?', ALL_CHANNELS);
      if (f.userid !== undefined) add('userid = ?', f.userid);
      if (f.channelId !== undefined) add('channel_id = ?', f.channelId);
    }
    const keyCol = f.split === 'owner' ? 'userid' : f.split === 'channel' ? 'channel_id' : undefined;
    const groupBy = [...(f.perDay ? ['day'] : []), 'dimension', 'bucket', ...(keyCol ? [keyCol] : [])];
    const counts = table === 'analytics_daily_churn' ? ['lost_by_customer', 'lost_by_staff'] : ['relations'];
    // One day's corp or filtered summary rows are one per bucket already. Without a GROUP BY to order by, SQLite reads
    // them through the (userid, channel_id, day) index rather than every row of the night in (day, dimension, bucket)
    // order; a split keeps it, which leads SQLite with (day, dimension) instead of the split's other column.
    const grouped = !(summary && from === to && f.split === undefined);
    const rows = await this.db.apiRead<Record<string, Num | string | null>>(
      grouped
        ? `SELECT ${groupBy.join(', ')}, ${counts.map((c) => `SUM(${c}) AS ${c}`).join(', ')} FROM ${table} WHERE ${where.join(' AND ')} GROUP BY ${groupBy.join(', ')}`
        : `SELECT ${groupBy.join(', ')}, ${counts.join(', ')} FROM ${table} WHERE ${where.join(' AND ')}`,
      params,
    );
    return rows.map((r) => {
      const key = keyCol ? String(r[keyCol] ?? '') : '';
      return {
        day: f.perDay ? String(r.day) : null,
        key,
        dimension: String(r.dimension),
        bucket: String(r.bucket),
        userid: f.split === 'owner' ? key : '',
        channelId: f.split === 'channel' ? key : '',
        lostByCustomer: n(r.lost_by_customer as Num),
        lostByStaff: n(r.lost_by_staff as Num),
        relations: n(r.relations as Num),
      };
    });
  }

  /** Days in [from, to] whose churn rows were rolled, and those whose base snapshot was taken. */
  async churnDays(from: string, to: string): Promise<{ rolled: Set<string>; based: Set<string> }> {
    const rows = await this.db.apiRead<{ day: string; churn_rolled_at: Num | null; churn_base_at: Num | null }>(
      'SELECT day, churn_rolled_at, churn_base_at FROM analytics_retention_days WHERE day >= ? AND day <= ?',
      [from, to],
    );
    return {
      rolled: new Set(rows.filter((r) => r.churn_rolled_at !== null).map((r) => String(r.day))),
      based: new Set(rows.filter((r) => r.churn_base_at !== null).map((r) => String(r.day))),
    };
  }
}

/**
 * A message the customer wrote through WeChat customer service, as the KF sync keeps it in the timeline: source `kf`
 * and origin 3 (the customer) in the entry's JSON (docs/wecom-protocol.md §WeChat customer service). The data column is
 * plain text on both engines, so a LIKE reads it.
 */
const KF_FROM_CUSTOMER = `source = 'kf' AND data LIKE '%"origin":3%'`;
