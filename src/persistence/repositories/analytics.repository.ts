import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { placeholders, upsertManySql, upsertSql } from './sql-upsert.js';
import { periodSql } from './period-sql.js';
import { replaceDayRowsInTx, type DayRowsTable } from './day-rows.js';
import { CounterDeltaRepository } from './counter-delta.repository.js';
import type {
  Granularity,
  GrowthRow,
  GrowthTagRow,
  MixDimension,
  MixRow,
  MixValues,
  StoredMixState,
  TransitionRow,
  RecordedRelationChange,
  RelationChange,
  RelationChangeKind,
  TotalsRow,
} from '../../domain/analytics/analytics.types.js';

type Num = number | string;
const n = (v: Num | null | undefined): number => (v === null || v === undefined ? 0 : Number(v));

/** Rollup column of each change kind (growth table); tags have only the first three. */
const GROWTH_COLUMN: Record<RelationChangeKind, string> = {
  added: 'added',
  lost_by_customer: 'lost_by_customer',
  lost_by_staff: 'lost_by_staff',
  transferred_in: 'transferred_in',
  transferred_out: 'transferred_out',
};
const TAGGED_KINDS = new Set<RelationChangeKind>(['added', 'lost_by_customer', 'lost_by_staff']);

/**
 * Sentinels of the summary rows a rolled day also has (docs/analytics.md §Size): userid '' sums every member, channel_id
 * '*' every channel. A year of a million customers' detail rows is too many to sum per request; the summaries are a
 * few dozen rows a day.
 */
export const ALL_MEMBERS = '';
export const ALL_CHANNELS = '*';

const GROWTH_COLS = [
  'day',
  'userid',
  'channel_id',
  'added',
  'lost_by_customer',
  'lost_by_staff',
  'transferred_in',
  'transferred_out',
  'retained_7d',
  'retained_30d',
  'ordered_30d',
  'revenue_30d_cents',
  'outcomes_through',
] as const;
/** Rows per multi-row INSERT: 13 columns × 500 stays far under SQLite's bound-parameter limit. */
const INSERT_CHUNK = 500;
/** The day rows of growth and tags as the roll replaces them: keyed as their unique keys are, after the day. */
const GROWTH_TABLE: DayRowsTable = { table: 'analytics_daily_growth', key: ['userid', 'channel_id'], values: GROWTH_COLS.slice(3) };
const TAG_TABLE: DayRowsTable = { table: 'analytics_daily_growth_tags', key: ['tag_id', 'userid'], values: ['group_id', 'added', 'lost_by_customer', 'lost_by_staff'] };

/** Filters of a dashboard read; every one optional. */
export interface GrowthFilter {
  userid?: string;
  channelId?: string;
}

/**
 * Analytics (docs/analytics.md): the relation-change ledger, the daily rollups and the nightly snapshot. Dashboard reads
 * touch only the rollups, through `apiRead` (its own deadline, off the event loop on SQLite).
 */
export class AnalyticsRepository {
  /** On MySQL the rollups every add shares are counted through deltas (docs/analytics.md §Counters every add shares). */
  private readonly deltas: CounterDeltaRepository;

  constructor(private readonly db: Db) {
    this.deltas = new CounterDeltaRepository(db);
  }

  // ── Recording, inside the transaction that applied the change ─────────────────────────────────────────────────────

  /** The live tags the customer carries on any relation, each once, with their groups. */
  async customerTagsInTx(em: EntityManager, ext: string): Promise<{ tagId: string; groupId: string }[]> {
    const rows: { tag_id: string; group_id: string }[] = await em.query(
      `SELECT DISTINCT ct.tag_id, t.group_id FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id
        WHERE ct.external_user_id = ? AND t.deleted_at IS NULL ORDER BY ct.tag_id`,
      [ext],
    );
    return rows.map((r) => ({ tagId: r.tag_id, groupId: r.group_id }));
  }

  /**
   * An add's facts in one round trip: whether a transfer to `userid` explains it (isTakeoverInTx's rule), and the
   * customer's live tags as customerTagsInTx reads them. Every add asks both, and on MySQL each statement is a round
   * trip the surge pays 100 times a second (docs/inbox.md §Statements per event).
   */
  async addFactsInTx(em: EntityManager, ext: string, userid: string, at: number, windowMs: number): Promise<{ isTakeover: boolean; tags: { tagId: string; groupId: string }[] }> {
    const rows: { tag_id: string | null; group_id: string | null; takeover: number | string }[] = await em.query(
      `SELECT DISTINCT ct.tag_id AS tag_id, t.group_id AS group_id, 0 AS takeover FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id
        WHERE ct.external_user_id = ? AND t.deleted_at IS NULL
       UNION ALL
       SELECT NULL, NULL, 1 FROM transfers WHERE external_user_id = ? AND takeover_userid = ? AND requested_at <= ? AND status IN ('requested', 'waiting', 'done')
         AND (COALESCE(takeover_at, finished_at) BETWEEN ? AND ? OR (takeover_at IS NULL AND finished_at IS NULL AND requested_at >= ?))
       ORDER BY tag_id`,
      [ext, ext, userid, at, at - windowMs, at + windowMs, at - windowMs - 86_400_000],
    );
    const tags = rows
      .filter((r) => Number(r.takeover) === 0 && r.tag_id !== null)
      .map((r) => ({ tagId: r.tag_id!, groupId: r.group_id! }));
    return { isTakeover: rows.some((r) => Number(r.takeover) === 1), tags };
  }

  /** The channel whose contact way carries this state, or null. */
  async channelIdByStateInTx(em: EntityManager, state: string): Promise<string | null> {
    const rows: { id: string }[] = await em.query('SELECT id FROM channels WHERE state = ?', [state]);
    return rows[0]?.id ?? null;
  }

  /**
   * Whether a transfer to `userid` explains an add of `ext` at `at`: one whose takeover (done, or expected) is within
   * `windowMs` of it, or one requested without a takeover time yet within `windowMs` plus WeCom's 24 hours before it
   * (docs/wecom-protocol.md §Customer transfers). An old transfer left open does not make a later add a transfer.
   */
  async isTakeoverInTx(em: EntityManager, ext: string, userid: string, at: number, windowMs: number): Promise<boolean> {
    const rows = await em.query(
      `SELECT 1 AS x FROM transfers WHERE external_user_id = ? AND takeover_userid = ? AND requested_at <= ? AND status IN ('requested', 'waiting', 'done')
         AND (COALESCE(takeover_at, finished_at) BETWEEN ? AND ? OR (takeover_at IS NULL AND finished_at IS NULL AND requested_at >= ?))
       LIMIT 1`,
      [ext, userid, at, at - windowMs, at + windowMs, at - windowMs - 86_400_000],
    );
    return rows.length > 0;
  }

  /**
   * Append the change to the ledger and count it on its day's rollup rows (the growth row, and one row per tag), in
   * the caller's transaction: the change and its counts commit together or not at all.
   */
  async recordInTx(em: EntityManager, c: RelationChange, day: string, tags: { tagId: string; groupId: string }[], now: number, isRolled: boolean): Promise<void> {
    const inserted = (await em.query(
      'INSERT INTO analytics_relation_events (occurred_at, kind, userid, external_user_id, channel_id, tag_ids, created_at) VALUES (?,?,?,?,?,?,?)',
      [c.occurredAt.getTime(), c.kind, c.userid, c.externalUserId, c.channelId, JSON.stringify(tags.map((t) => t.tagId)), now],
    )) as { insertId?: number | string };
    const col = GROWTH_COLUMN[c.kind];
    const channel = c.channelId ?? '';
    // A day already rolled has summary rows, which a late change must count too; today's have none until the night's
    // roll builds them, so the common case touches no row shared by every add.
    const keys: [string, string][] = isRolled
      ? [
          [c.userid, channel],
          [ALL_MEMBERS, channel],
          [c.userid, ALL_CHANNELS],
          [ALL_MEMBERS, ALL_CHANNELS],
        ]
      : [[c.userid, channel]];
    const members = isRolled ? [c.userid, ALL_MEMBERS] : [c.userid];
    const tagged = TAGGED_KINDS.has(c.kind) ? tags : [];
    if (this.deltas.isDeferred) {
      // MySQL: every add through one QR code updates the same rows; append deltas instead of locking them until the
      // commit. Each names this change, so a night that rebuilds the day from the ledger drops what it counted.
      const ledgerId = Number(inserted.insertId);
      await this.deltas.addInTx(em, [
        ...keys.map(([u, ch]) => ({ target: 'growth' as const, day, userid: u, channelId: ch, col, delta: 1, ledgerId })),
        ...members.flatMap((u) => tagged.map((t) => ({ target: 'growth_tags' as const, day, groupId: t.groupId, tagId: t.tagId, userid: u, col, delta: 1, ledgerId }))),
      ]);
      return;
    }
    await em.query(this.incrementSql('analytics_daily_growth', ['day', 'userid', 'channel_id'], col, keys.length), keys.flatMap(([u, ch]) => [day, u, ch, 1]));
    if (tagged.length > 0) {
      await em.query(
        this.incrementSql('analytics_daily_growth_tags', ['day', 'group_id', 'tag_id', 'userid'], col, tags.length * members.length, ['day', 'tag_id', 'userid']),
        members.flatMap((u) => tags.flatMap((t) => [day, t.groupId, t.tagId, u, 1])),
      );
    }
  }

  /** Whether the day has been rolled (and so has summary rows). */
  async isRolledInTx(em: EntityManager, day: string): Promise<boolean> {
    return (await em.query('SELECT 1 AS x FROM analytics_days WHERE day = ? AND rolled_at IS NOT NULL', [day])).length > 0;
  }

  /** `INSERT … (keys, col) VALUES … ` adding to `col` when the row exists. */
  private incrementSql(table: string, keys: string[], col: string, rows: number, conflict: string[] = keys): string {
    const cols = [...keys, col];
    const insert = `INSERT INTO ${table} (${cols.join(', ')}) VALUES ${Array(rows).fill(`(${cols.map(() => '?').join(', ')})`).join(', ')}`;
    // An add counted on a day already rolled has no outcomes yet: the row says so until the day is rolled again.
    const reset = table === 'analytics_daily_growth' && col === 'added' ? ', outcomes_through = NULL' : '';
    return this.db.engine === 'mysql'
      ? `${insert} ON DUPLICATE KEY UPDATE ${col} = ${col} + VALUES(${col})${reset}`
      : `${insert} ON CONFLICT(${conflict.join(', ')}) DO UPDATE SET ${col} = ${col} + excluded.${col}${reset}`;
  }

  // ── Rolling a day from the ledger ─────────────────────────────────────────────────────────────────────────────────

  /** A page of the ledger in [from, to), by id. */
  async changesBetween(from: number, to: number, afterId: number, limit: number): Promise<RecordedRelationChange[]> {
    const rows = await this.db.query<{ id: Num; occurred_at: Num; kind: RelationChangeKind; userid: string; external_user_id: string; channel_id: string | null; tag_ids: string | null }>(
      `SELECT id, occurred_at, kind, userid, external_user_id, channel_id, tag_ids FROM analytics_relation_events
        WHERE occurred_at >= ? AND occurred_at < ? AND id > ? ORDER BY id LIMIT ?`,
      [from, to, afterId, limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      occurredAt: new Date(Number(r.occurred_at)),
      kind: r.kind,
      userid: r.userid,
      externalUserId: r.external_user_id,
      channelId: r.channel_id,
      tagIds: r.tag_ids ? (JSON.parse(r.tag_ids) as string[]) : [],
    }));
  }

  /** Deletions (either side) of these customers' relations in [from, to). */
  async lossesOf(exts: string[], from: number, to: number): Promise<{ userid: string; externalUserId: string; at: number }[]> {
    if (exts.length === 0) return [];
    const rows = await this.db.query<{ userid: string; external_user_id: string; occurred_at: Num }>(
      `SELECT userid, external_user_id, occurred_at FROM analytics_relation_events
        WHERE external_user_id IN (${placeholders(exts.length)}) AND occurred_at >= ? AND occurred_at < ? AND kind IN ('lost_by_customer', 'lost_by_staff')`,
      [...exts, from, to],
    );
    return rows.map((r) => ({ userid: r.userid, externalUserId: r.external_user_id, at: Number(r.occurred_at) }));
  }

  /** These customers' orders in [from, to). */
  async ordersOf(exts: string[], from: number, to: number): Promise<{ externalUserId: string; at: number; amountCents: number }[]> {
    if (exts.length === 0) return [];
    const rows = await this.db.query<{ external_user_id: string; ordered_at: Num; amount_cents: Num }>(
      `SELECT external_user_id, ordered_at, amount_cents FROM orders WHERE external_user_id IN (${placeholders(exts.length)}) AND ordered_at >= ? AND ordered_at < ?`,
      [...exts, from, to],
    );
    return rows.map((r) => ({ externalUserId: r.external_user_id, at: Number(r.ordered_at), amountCents: Number(r.amount_cents) }));
  }

  /** The group of each tag id that still has a row (deleted tags keep theirs). */
  async groupsOf(tagIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < tagIds.length; i += INSERT_CHUNK) {
      const ids = tagIds.slice(i, i + INSERT_CHUNK);
      for (const r of await this.db.query<{ id: string; group_id: string }>(`SELECT id, group_id FROM tags WHERE id IN (${placeholders(ids.length)})`, ids)) out.set(r.id, r.group_id);
    }
    return out;
  }

  /**
   * Replace a day's rollup rows with these, in one transaction, and note when it was rolled. The rows count the
   * ledger's changes up to `ledgerThroughId`; on MySQL their deltas still waiting are dropped with them.
   */
  async replaceDay(day: string, growth: GrowthRow[], tags: GrowthTagRow[], rolledAt: number, ledgerThroughId = 0): Promise<void> {
    await this.db.tx(async (em) => {
      await this.deltas.dropCountedInTx(em, day, ledgerThroughId);
      // In place (docs/analytics.md §Rolling in place): a re-roll mostly finds the rows the handlers counted.
      await replaceDayRowsInTx(em, this.db.engine, GROWTH_TABLE, day, growth.map((r) => [r.userid, r.channelId, r.added, r.lostByCustomer, r.lostByStaff, r.transferredIn, r.transferredOut, r.retained7d, r.retained30d, r.ordered30d, r.revenue30dCents, r.outcomesThrough]));
      await replaceDayRowsInTx(em, this.db.engine, TAG_TABLE, day, tags.map((r) => [r.tagId, r.userid, r.groupId, r.added, r.lostByCustomer, r.lostByStaff]));
      await em.query(upsertSql(this.db.engine, 'analytics_days', ['day', 'rolled_at'], ['day'], ['rolled_at']), [day, rolledAt]);
    });
  }

  // ── The nightly snapshot ──────────────────────────────────────────────────────────────────────────────────────────

  /**
   * A page of active relations: those of the next `limit` customers (by id) after the cursor's customer, ordered by
   * customer and member. Whole customers, so the cursor's customer is done and a page has at least `limit` rows unless
   * it is the last. Not a (customer, member) keyset: no index orders relations that way, so MySQL sorted every relation
   * after the cursor for each page, a night quadratic in the relations (docs/analytics.md §Size).
   */
  async activeRelationsAfter(cursor: { ext: string; userid: string } | null, limit: number): Promise<{ externalUserId: string; userid: string }[]> {
    return (await activeRelationsOfNextCustomers(this.db, cursor?.ext ?? null, limit)).map((r) => ({ externalUserId: r.externalUserId, userid: r.userid }));
  }

  /** Replace a day's snapshot with these rows and note when it was taken. */
  async replaceTotals(day: string, rows: TotalsRow[], takenAt: number): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query('DELETE FROM analytics_daily_totals WHERE day = ?', [day]);
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const chunk = rows.slice(i, i + INSERT_CHUNK);
        await em.query(
          `INSERT INTO analytics_daily_totals (day, userid, customers, taken_at) VALUES ${chunk.map(() => '(?,?,?,?)').join(', ')}`,
          chunk.flatMap((r) => [r.day, r.userid, r.customers, takenAt]),
        );
      }
      await em.query(upsertSql(this.db.engine, 'analytics_days', ['day', 'snapshot_at'], ['day'], ['snapshot_at']), [day, takenAt]);
    });
  }

  // ── The nightly mix snapshot (客户结构) ──────────────────────────────────────────────────────────────────────────────

  /** A page of customers after `after` (by id), with their values now and what the last snapshot stored of them. */
  async customersWithStatesAfter(after: string | null, limit: number): Promise<{ externalUserId: string; values: MixValues; state: StoredMixState | null }[]> {
    const rows = await this.db.query<Record<string, string | null>>(
      `SELECT c.external_user_id AS ext, c.activity, c.rfm, c.stage, s.as_of, s.activity AS s_activity, s.rfm AS s_rfm, s.stage AS s_stage,
              s.prev_as_of, s.prev_activity, s.prev_rfm, s.prev_stage
         FROM customers c LEFT JOIN analytics_customer_states s ON s.external_user_id = c.external_user_id
        ${after === null ? '' : 'WHERE c.external_user_id > ?'} ORDER BY c.external_user_id LIMIT ?`,
      after === null ? [limit] : [after, limit],
    );
    return rows.map((r) => ({
      externalUserId: String(r.ext),
      values: { activity: r.activity ?? '', rfm: r.rfm ?? '', stage: r.stage ?? '' },
      state:
        r.as_of === null
          ? null
          : {
              externalUserId: String(r.ext),
              asOf: String(r.as_of),
              values: { activity: r.s_activity ?? '', rfm: r.s_rfm ?? '', stage: r.s_stage ?? '' },
              prevAsOf: r.prev_as_of === null ? null : String(r.prev_as_of),
              prev: r.prev_as_of === null ? null : { activity: r.prev_activity ?? '', rfm: r.prev_rfm ?? '', stage: r.prev_stage ?? '' },
            },
    }));
  }

  /** The members each customer has (or had) a relation with. */
  async membersOf(exts: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (let i = 0; i < exts.length; i += INSERT_CHUNK) {
      const chunk = exts.slice(i, i + INSERT_CHUNK);
      const rows = await this.db.query<{ external_user_id: string; userid: string }>(
        `SELECT DISTINCT external_user_id, userid FROM follow_relations WHERE external_user_id IN (${placeholders(chunk.length)})`,
        chunk,
      );
      for (const r of rows) out.set(r.external_user_id, [...(out.get(r.external_user_id) ?? []), r.userid]);
    }
    return out;
  }

  /** Store what this snapshot saw of these customers (and what the one before saw). */
  async saveStates(rows: StoredMixState[]): Promise<void> {
    const cols = ['external_user_id', 'as_of', 'activity', 'rfm', 'stage', 'prev_as_of', 'prev_activity', 'prev_rfm', 'prev_stage'];
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      await this.db.query(
        upsertManySql(this.db.engine, 'analytics_customer_states', cols, ['external_user_id'], cols.slice(1), chunk.length),
        chunk.flatMap((r) => [r.externalUserId, r.asOf, r.values.activity, r.values.rfm, r.values.stage, r.prevAsOf, r.prev?.activity ?? '', r.prev?.rfm ?? '', r.prev?.stage ?? '']),
      );
    }
  }

  /** Replace a night's mix and transitions with these rows. */
  async replaceMix(day: string, mix: MixRow[], transitions: TransitionRow[]): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query('DELETE FROM analytics_daily_mix WHERE day = ?', [day]);
      await em.query('DELETE FROM analytics_daily_transitions WHERE day = ?', [day]);
      for (let i = 0; i < mix.length; i += INSERT_CHUNK) {
        const chunk = mix.slice(i, i + INSERT_CHUNK);
        await em.query(
          `INSERT INTO analytics_daily_mix (day, dimension, value, userid, customers) VALUES ${chunk.map(() => '(?,?,?,?,?)').join(', ')}`,
          chunk.flatMap((r) => [r.day, r.dimension, r.value, r.userid, r.customers]),
        );
      }
      for (let i = 0; i < transitions.length; i += INSERT_CHUNK) {
        const chunk = transitions.slice(i, i + INSERT_CHUNK);
        await em.query(
          `INSERT INTO analytics_daily_transitions (day, dimension, from_value, to_value, userid, customers) VALUES ${chunk.map(() => '(?,?,?,?,?,?)').join(', ')}`,
          chunk.flatMap((r) => [r.day, r.dimension, r.from, r.to, r.userid, r.customers]),
        );
      }
    });
  }

  /** Mix snapshot rows of one dimension in [from, to], of one member or the corp (''). */
  async mixByDay(from: string, to: string, dimension: MixDimension, userid: string): Promise<MixRow[]> {
    const rows = await this.db.apiRead<{ day: string; value: string; customers: Num }>(
      'SELECT day, value, customers FROM analytics_daily_mix WHERE dimension = ? AND userid = ? AND day >= ? AND day <= ? ORDER BY day, value',
      [dimension, userid, from, to],
    );
    return rows.map((r) => ({ day: String(r.day), dimension, value: r.value ?? '', userid, customers: n(r.customers) }));
  }

  /** Transition rows of one dimension in [from, to], of one member or the corp (''), optionally one pair's side. */
  async transitionsByDay(from: string, to: string, dimension: MixDimension, userid: string, f: { fromValue?: string; toValue?: string }): Promise<TransitionRow[]> {
    const where = ['dimension = ?', 'userid = ?', 'day >= ?', 'day <= ?'];
    const params: unknown[] = [dimension, userid, from, to];
    if (f.fromValue !== undefined) (where.push('from_value = ?'), params.push(f.fromValue));
    if (f.toValue !== undefined) (where.push('to_value = ?'), params.push(f.toValue));
    const rows = await this.db.apiRead<{ day: string; from_value: string; to_value: string; customers: Num }>(
      `SELECT day, from_value, to_value, customers FROM analytics_daily_transitions WHERE ${where.join(' AND ')} ORDER BY day`,
      params,
    );
    return rows.map((r) => ({ day: String(r.day), dimension, from: r.from_value ?? '', to: r.to_value ?? '', userid, customers: n(r.customers) }));
  }

  // ── Dashboard reads (rollups only) ────────────────────────────────────────────────────────────────────────────────

  /**
   * Growth rollup rows in [from, to] (local days), summed per day and the chosen key: from the summary rows of rolled
   * days (`summary`), or from the detail rows of days not rolled yet.
   */
  /**
   * With `g` (and no outcomes) the rows are summed per period in the statement and `day` holds the period's label
   * (periodOf's): a year split by member is about 1,300 rows instead of 36,500 (docs/analytics.md §Size).
   */
  async growthByDay(from: string, to: string, key: 'none' | 'channel' | 'staff', f: GrowthFilter, summary: boolean, withOutcomes = false, g?: Granularity): Promise<(GrowthRow & { key: string })[]> {
    // Counts still waiting as deltas (MySQL) are added first, so the answer has every committed change.
    await this.deltas.foldIfPending();
    const where = ['day >= ?', 'day <= ?'];
    const params: unknown[] = [from, to];
    const eq = (col: string, v: string) => (where.push(`${col} = ?`), params.push(v));
    const ne = (col: string, v: string) => (where.push(`${col} <> ?`), params.push(v));
    if (!summary) {
      ne('userid', ALL_MEMBERS);
      ne('channel_id', ALL_CHANNELS);
      if (f.userid !== undefined) eq('userid', f.userid);
      if (f.channelId !== undefined) eq('channel_id', f.channelId);
    } else {
      // Members: one member's rows, each member's (split by member), or the all-members summary.
      if (f.userid !== undefined) eq('userid', f.userid);
      else if (key === 'staff') ne('userid', ALL_MEMBERS);
      else eq('userid', ALL_MEMBERS);
      // Channels: one channel's rows, each channel's (split by channel), or the all-channels summary.
      if (f.channelId !== undefined) eq('channel_id', f.channelId);
      else if (key === 'channel') ne('channel_id', ALL_CHANNELS);
      else eq('channel_id', ALL_CHANNELS);
    }
    const keyCol = key === 'channel' ? 'channel_id' : key === 'staff' ? 'userid' : "''";
    // A summary row is already the sum of its (day, key): it is read as it is, with no grouping to do. Detail rows
    // of a day are summed per key. Callers bucket and sort, so no order is asked for.
    const perPeriod = g !== undefined && !withOutcomes;
    const col = (c: string, as: string) => (summary && !perPeriod ? `${c} AS ${as}` : `SUM(${c}) AS ${as}`);
    const outcomes = withOutcomes
      ? `, ${col('retained_7d', 'r7')}, ${col('retained_30d', 'r30')}, ${col('ordered_30d', 'o30')}, ${col('revenue_30d_cents', 'rev')}, ` +
        (summary ? 'outcomes_through AS thru, 1 AS rolled, 1 AS rows_n' : 'MIN(outcomes_through) AS thru, COUNT(outcomes_through) AS rolled, COUNT(*) AS rows_n')
      : '';
    const rows = await this.db.apiRead<Record<string, Num | null>>(
      `SELECT ${perPeriod ? `${periodSql(this.db.engine, g)} AS p` : 'day AS p'}, ${keyCol} AS k, ${col('added', 'added')}, ${col('lost_by_customer', 'lbc')}, ${col('lost_by_staff', 'lbs')},
              ${col('transferred_in', 'tin')}, ${col('transferred_out', 'tout')}${outcomes}
         FROM analytics_daily_growth WHERE ${where.join(' AND ')}${summary && !perPeriod ? '' : ` GROUP BY p${keyCol === "''" ? '' : `, ${keyCol}`}`}`,
      params,
    );
    return rows.map((r) => ({
      day: String(r.p),
      key: String(r.k ?? ''),
      userid: key === 'staff' ? String(r.k) : '',
      channelId: key === 'channel' ? String(r.k) : '',
      added: n(r.added),
      lostByCustomer: n(r.lbc),
      lostByStaff: n(r.lbs),
      transferredIn: n(r.tin),
      transferredOut: n(r.tout),
      retained7d: n(r.r7),
      retained30d: n(r.r30),
      ordered30d: n(r.o30),
      revenue30dCents: n(r.rev),
      // A row counted after the day's roll has no outcomes yet: the group's outcomes are then not complete.
      outcomesThrough: withOutcomes && n(r.rolled) === n(r.rows_n) && r.thru !== null && r.thru !== undefined ? String(r.thru) : null,
    }));
  }

  /** Tag rollup rows in [from, to], summed per day and tag: summary rows of rolled days, or detail rows. */
  async growthTagsByDay(from: string, to: string, f: { userid?: string; groupId?: string }, summary: boolean): Promise<GrowthTagRow[]> {
    await this.deltas.foldIfPending();
    const where = ['day >= ?', 'day <= ?'];
    const params: unknown[] = [from, to];
    if (f.groupId !== undefined) (where.push('group_id = ?'), params.push(f.groupId));
    if (f.userid !== undefined) (where.push('userid = ?'), params.push(f.userid));
    else (where.push(summary ? 'userid = ?' : 'userid <> ?'), params.push(ALL_MEMBERS));
    // One member's rows and the summary rows are one per (day, tag) already; only every member's detail is summed.
    const isOnePerTag = summary || f.userid !== undefined;
    const rows = await this.db.apiRead<Record<string, Num>>(
      isOnePerTag
        ? `SELECT day, group_id, tag_id, added, lost_by_customer AS lbc, lost_by_staff AS lbs FROM analytics_daily_growth_tags WHERE ${where.join(' AND ')}`
        : `SELECT day, group_id, tag_id, SUM(added) AS added, SUM(lost_by_customer) AS lbc, SUM(lost_by_staff) AS lbs
             FROM analytics_daily_growth_tags WHERE ${where.join(' AND ')} GROUP BY day, group_id, tag_id`,
      params,
    );
    return rows.map((r) => ({ day: String(r.day), groupId: String(r.group_id), tagId: String(r.tag_id), userid: '', added: n(r.added), lostByCustomer: n(r.lbc), lostByStaff: n(r.lbs) }));
  }

  /** Snapshot rows in [from, to] of one member, or of the corp (''). */
  async totals(from: string, to: string, userid: string): Promise<TotalsRow[]> {
    const rows = await this.db.apiRead<{ day: string; customers: Num }>(
      'SELECT day, customers FROM analytics_daily_totals WHERE userid = ? AND day >= ? AND day <= ? ORDER BY day',
      [userid, from, to],
    );
    return rows.map((r) => ({ day: String(r.day), userid, customers: n(r.customers) }));
  }

  /** Per member, the snapshot rows in [from, to] (staff split of the totals), or only those of the nights given. */
  async totalsByStaff(from: string, to: string, nights?: string[]): Promise<TotalsRow[]> {
    const rows = await this.db.apiRead<{ day: string; userid: string; customers: Num }>(
      `SELECT day, userid, customers FROM analytics_daily_totals WHERE userid <> '' AND day >= ? AND day <= ?${nights ? ` AND day IN (${nights.map(() => '?').join(',')})` : ''}
       ORDER BY day, userid`,
      [from, to, ...(nights ?? [])],
    );
    return rows.map((r) => ({ day: String(r.day), userid: r.userid, customers: n(r.customers) }));
  }

  /** The days in [from, to] that have been rolled (and so have summary rows). */
  async rolledDays(from: string, to: string): Promise<Set<string>> {
    const rows = await this.db.apiRead<{ day: string }>('SELECT day FROM analytics_days WHERE day >= ? AND day <= ? AND rolled_at IS NOT NULL', [from, to]);
    return new Set(rows.map((r) => String(r.day)));
  }

  /** When the days in [from, to] were last rolled and snapshotted. */
  async days(from: string, to: string): Promise<{ day: string; rolledAt: number | null; snapshotAt: number | null }[]> {
    const rows = await this.db.apiRead<{ day: string; rolled_at: Num | null; snapshot_at: Num | null }>(
      'SELECT day, rolled_at, snapshot_at FROM analytics_days WHERE day >= ? AND day <= ? ORDER BY day',
      [from, to],
    );
    return rows.map((r) => ({ day: String(r.day), rolledAt: r.rolled_at === null ? null : Number(r.rolled_at), snapshotAt: r.snapshot_at === null ? null : Number(r.snapshot_at) }));
  }

  /** Display names: channels, members, tags and tag groups, by id (small tables, read whole or by id). */
  async channelNames(ids: string[]): Promise<Map<string, string>> {
    return this.names('SELECT id, name FROM channels WHERE id IN', ids);
  }

  async staffNames(ids: string[]): Promise<Map<string, string>> {
    return this.names('SELECT userid AS id, name FROM staff WHERE userid IN', ids);
  }

  async tagNames(ids: string[]): Promise<Map<string, string>> {
    return this.names('SELECT id, name FROM tags WHERE id IN', ids);
  }

  async tagGroupNames(ids: string[]): Promise<Map<string, string>> {
    return this.names('SELECT id, name FROM tag_groups WHERE id IN', ids);
  }

  /** Whether a tag group exists (deleted or not). */
  async hasTagGroup(id: string): Promise<boolean> {
    return (await this.db.apiRead('SELECT 1 AS x FROM tag_groups WHERE id = ?', [id])).length > 0;
  }

  private async names(sqlHead: string, ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const wanted = [...new Set(ids.filter((i) => i !== ''))];
    for (let i = 0; i < wanted.length; i += INSERT_CHUNK) {
      const chunk = wanted.slice(i, i + INSERT_CHUNK);
      for (const r of await this.db.apiRead<{ id: string; name: string }>(`${sqlHead} (${placeholders(chunk.length)})`, chunk)) out.set(r.id, r.name);
    }
    return out;
  }
}

/**
 * The active relations of the next `limit` customers after `afterExt` that have one (by id; the customers through the
 * (external_user_id, status) index in its order, then their relations), ordered by customer and member. Shared by the
 * nightly snapshots that walk every active relation (totals, the churn base).
 */
export async function activeRelationsOfNextCustomers(db: Db, afterExt: string | null, limit: number): Promise<{ externalUserId: string; userid: string; state: string | null }[]> {
  const ids = (
    await db.query<{ external_user_id: string }>(
      `SELECT DISTINCT external_user_id FROM follow_relations WHERE status = 'active'${afterExt === null ? '' : ' AND external_user_id > ?'} ORDER BY external_user_id LIMIT ?`,
      afterExt === null ? [limit] : [afterExt, limit],
    )
  ).map((r) => r.external_user_id);
  if (ids.length === 0) return [];
  const order = new Map(ids.map((id, i) => [id, i]));
  const rows: { externalUserId: string; userid: string; state: string | null }[] = [];
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const found = await db.query<{ external_user_id: string; userid: string; state: string | null }>(
      `SELECT external_user_id, userid, state FROM follow_relations WHERE status = 'active' AND external_user_id IN (${placeholders(chunk.length)})`,
      chunk,
    );
    for (const r of found) rows.push({ externalUserId: r.external_user_id, userid: r.userid, state: r.state });
  }
  return rows.sort((a, b) => order.get(a.externalUserId)! - order.get(b.externalUserId)! || (a.userid < b.userid ? -1 : a.userid > b.userid ? 1 : 0));
}
