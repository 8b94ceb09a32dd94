import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { placeholders, upsertSql } from './sql-upsert.js';
import type { DeliveryKind, DeliveryStatus } from '../../domain/delivery/delivery.types.js';
import type { ReachLedgerRow, ReachRow } from '../../domain/analytics/reach.types.js';

type Num = number | string;
const n = (v: Num | null | undefined): number => (v === null || v === undefined ? 0 : Number(v));

const REACH_COLS = [
  'day',
  'kind',
  'source_id',
  'userid',
  'status',
  'reason',
  'messages',
  'submitted',
  'confirmed',
  'matured',
  'ordered',
  'ordered_matured',
  'orders',
  'revenue_cents',
  'replied',
  'replied_matured',
] as const;
/** Rows per multi-row statement: 16 columns × 500 stays far under SQLite's bound-parameter limit. */
const CHUNK = 500;

/**
 * The source a ledger row counts toward (docs/analytics.md §Care and campaign results): the rule of a care or win-back
 * row, the broadcast of a broadcast row, and for the others what follows the kind in the row's `source`: the survey's
 * id of `survey:<id>`, `tier` of `loyalty:tier`.
 */
function reachSourceId(kind: DeliveryKind, r: Record<string, Num | string | null>): string {
  if (kind === 'broadcast') return String(r.broadcast_id ?? '');
  if (kind === 'care' || kind === 'winback') return String(r.rule_id ?? '');
  const source = String(r.source ?? '');
  return source.startsWith(`${kind}:`) ? source.slice(kind.length + 1) : '';
}

/** Filters of a dashboard read. */
export interface ReachFilter {
  /** One member's rows, or the all-senders summary ('*'). */
  userid: string;
  kind?: DeliveryKind;
  sourceId?: string;
}

/**
 * Care and campaign results (docs/analytics.md §Care and campaign results): a day's roll reads the delivery ledger by
 * `local_date`, with the orders and WeChat-KF messages of its customers; dashboards read only `analytics_daily_reach`
 * (through `apiRead`).
 */
export class ReachRepository {
  constructor(private readonly db: Db) {}

  /**
   * A page of one local day's ledger rows, by id: one range of ix_deliveries_local_date, whose entries are
   * (local_date, id), in order; the longer (local_date, updated_at) index would sort the day for every page
   * (docs/analytics.md §Care and campaign results).
   */
  async ledgerPage(day: string, afterId: number, limit: number): Promise<ReachLedgerRow[]> {
    const rows = await this.db.query<Record<string, Num | string | null>>(
      `SELECT id, source, kind, rule_id, broadcast_id, external_user_id, sender_userid, status, reason, not_before, submitted_at, sent_at
         FROM deliveries WHERE local_date = ? AND id > ? ORDER BY id LIMIT ?`,
      [day, afterId, limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      kind: r.kind as DeliveryKind,
      sourceId: reachSourceId(r.kind as DeliveryKind, r),
      externalUserId: String(r.external_user_id),
      userid: r.sender_userid === null ? '' : String(r.sender_userid),
      status: r.status as DeliveryStatus,
      reason: r.reason === null ? null : String(r.reason),
      notBefore: Number(r.not_before),
      submittedAt: r.submitted_at === null ? null : Number(r.submitted_at),
      sentAt: r.sent_at === null ? null : Number(r.sent_at),
    }));
  }

  /** These customers' orders in [from, to). */
  async ordersOf(exts: string[], from: number, to: number): Promise<{ externalUserId: string; at: number; amountCents: number }[]> {
    const out: { externalUserId: string; at: number; amountCents: number }[] = [];
    for (let i = 0; i < exts.length; i += CHUNK) {
      const chunk = exts.slice(i, i + CHUNK);
      const rows = await this.db.query<{ external_user_id: string; ordered_at: Num; amount_cents: Num }>(
        `SELECT external_user_id, ordered_at, amount_cents FROM orders WHERE external_user_id IN (${placeholders(chunk.length)}) AND ordered_at >= ? AND ordered_at < ?`,
        [...chunk, from, to],
      );
      for (const r of rows) out.push({ externalUserId: r.external_user_id, at: Number(r.ordered_at), amountCents: Number(r.amount_cents) });
    }
    return out;
  }

  /**
   * When these customers wrote to WeChat-KF in [from, to): the timeline's KF entries (source `kf`) whose origin is the
   * customer (3), docs/wecom-protocol.md §WeChat customer service. 1:1 chat content is not visible to the bot.
   */
  async kfRepliesOf(exts: string[], from: number, to: number): Promise<{ externalUserId: string; at: number }[]> {
    const out: { externalUserId: string; at: number }[] = [];
    for (let i = 0; i < exts.length; i += CHUNK) {
      const chunk = exts.slice(i, i + CHUNK);
      const rows = await this.db.query<{ external_user_id: string; occurred_at: Num; data: string | null }>(
        // `source` is tested in a CASE so that SQLite (no statistics) reads these customers' entries by
        // (external_user_id, occurred_at), not every KF entry of the corp through (source, source_id) for each chunk.
        `SELECT external_user_id, occurred_at, data FROM timeline_entries
          WHERE external_user_id IN (${placeholders(chunk.length)}) AND occurred_at >= ? AND occurred_at < ? AND CASE WHEN source = 'kf' THEN 1 ELSE 0 END = 1`,
        [...chunk, from, to],
      );
      for (const r of rows) {
        let origin: unknown;
        try {
          origin = r.data ? (JSON.parse(r.data) as { origin?: unknown }).origin : undefined;
        } catch {
          origin = undefined;
        }
        if (Number(origin) === 3) out.push({ externalUserId: r.external_user_id, at: Number(r.occurred_at) });
      }
    }
    return out;
  }

  /**
   * When a local day's ledger last changed (the newest `updated_at` of its rows, through
   * `ix_deliveries_local_date_updated`), null for a day without rows: the live pass recounts a day only after this moved.
   */
  async lastChange(day: string): Promise<number | null> {
    const [r] = await this.db.query<{ at: Num | null }>('SELECT MAX(updated_at) AS at FROM deliveries WHERE local_date = ?', [day]);
    return r?.at === null || r?.at === undefined ? null : Number(r.at);
  }

  /**
   * Replace the rows of a day the nightly job has not rolled (today) with its live funnel: false, and nothing written,
   * once the day has been rolled (its rows are the roll's, with the outcomes).
   */
  async replaceLive(day: string, rows: ReachRow[]): Promise<boolean> {
    return this.db.tx(async (em) => {
      if ((await em.query('SELECT 1 AS x FROM analytics_reach_days WHERE day = ?', [day])).length > 0) return false;
      await em.query('DELETE FROM analytics_daily_reach WHERE day = ?', [day]);
      await this.insertRows(em, rows);
      return true;
    });
  }

  private async insertRows(em: EntityManager, rows: ReachRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      await em.query(
        `INSERT INTO analytics_daily_reach (${REACH_COLS.join(', ')}) VALUES ${chunk.map(() => `(${placeholders(REACH_COLS.length)})`).join(', ')}`,
        chunk.flatMap((r) => [
          r.day,
          r.kind,
          r.sourceId,
          r.userid,
          r.status,
          r.reason,
          r.messages,
          r.submitted,
          r.confirmed,
          r.matured,
          r.ordered,
          r.orderedMatured,
          r.orders,
          r.revenueCents,
          r.replied,
          r.repliedMatured,
        ]),
      );
    }
  }

  /**
   * Replace a day's rows with these, in one transaction, and note when it was rolled, its outcomes' end and when the
   * last 7-day window of its rows ends.
   */
  async replaceDay(day: string, rows: ReachRow[], rolledAt: number, outcomesThrough: string, windowsEnd: number): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query('DELETE FROM analytics_daily_reach WHERE day = ?', [day]);
      await this.insertRows(em, rows);
      await em.query(upsertSql(this.db.engine, 'analytics_reach_days', ['day', 'rolled_at', 'outcomes_through', 'windows_end'], ['day'], ['rolled_at', 'outcomes_through', 'windows_end']), [day, rolledAt, outcomesThrough, windowsEnd]);
    });
  }

  /** The last roll of each of these days: when, the day its outcomes were counted through, when its windows end. */
  async rollsOf(from: string, to: string): Promise<Map<string, { rolledAt: number; outcomesThrough: string; windowsEnd: number | null }>> {
    const rows = await this.db.query<{ day: string; rolled_at: Num; outcomes_through: string; windows_end: Num | null }>('SELECT day, rolled_at, outcomes_through, windows_end FROM analytics_reach_days WHERE day >= ? AND day <= ?', [from, to]);
    return new Map(rows.map((r) => [String(r.day), { rolledAt: Number(r.rolled_at), outcomesThrough: String(r.outcomes_through), windowsEnd: r.windows_end === null ? null : Number(r.windows_end) }]));
  }

  /** Whether a local day's ledger rows changed at or after `since` (through `ix_deliveries_local_date_updated`). */
  async changedSince(day: string, since: number): Promise<boolean> {
    return (await this.db.query('SELECT 1 AS x FROM deliveries WHERE local_date = ? AND updated_at >= ? LIMIT 1', [day, since])).length > 0;
  }

  /** The orders recorded at or after `since`, when recorded and when placed (through `ix_orders_created`): late imports. */
  async ordersRecordedSince(since: number): Promise<{ createdAt: number; orderedAt: number }[]> {
    const rows = await this.db.query<{ created_at: Num; ordered_at: Num }>('SELECT created_at, ordered_at FROM orders WHERE created_at >= ?', [since]);
    return rows.map((r) => ({ createdAt: Number(r.created_at), orderedAt: Number(r.ordered_at) }));
  }

  // ── Dashboard reads (the rollup only) ─────────────────────────────────────────────────────────────────────────────

  /**
   * Rollup rows in [from, to] of one member (or '*'), optionally one kind and source. With `byMonth`, on SQLite, the
   * statement sums each month's days into one row (its `day` the month's first day in the range): a year is some
   * 30,000 daily rows, which SQLite sums faster than it hands them over from its reader thread. MySQL reads them from
   * the covering index faster than it groups them (docs/analytics.md §Size).
   */
  async rows(from: string, to: string, f: ReachFilter, opts: { byMonth?: boolean } = {}): Promise<ReachRow[]> {
    const where = ['userid = ?', 'day >= ?', 'day <= ?'];
    const params: unknown[] = [f.userid, from, to];
    if (f.kind !== undefined) (where.push('kind = ?'), params.push(f.kind));
    if (f.sourceId !== undefined) (where.push('source_id = ?'), params.push(f.sourceId));
    const keys = ['kind', 'source_id', 'userid', 'status', 'reason'];
    const sql = opts.byMonth && this.db.engine === 'sqlite'
      ? `SELECT MIN(day) AS day, ${keys.join(', ')}, ${REACH_COLS.filter((c) => c !== 'day' && !keys.includes(c))
          .map((c) => `SUM(${c}) AS ${c}`)
          .join(', ')} FROM analytics_daily_reach WHERE ${where.join(' AND ')} GROUP BY SUBSTR(day, 1, 7), ${keys.join(', ')}`
      : `SELECT ${REACH_COLS.join(', ')} FROM analytics_daily_reach WHERE ${where.join(' AND ')}`;
    const rows = await this.db.apiRead<Record<string, Num | null>>(sql, params);
    return rows.map((r) => ({
      day: String(r.day),
      kind: String(r.kind) as DeliveryKind,
      sourceId: String(r.source_id),
      userid: String(r.userid),
      status: String(r.status) as DeliveryStatus,
      reason: String(r.reason ?? ''),
      messages: n(r.messages),
      submitted: n(r.submitted),
      confirmed: n(r.confirmed),
      matured: n(r.matured),
      ordered: n(r.ordered),
      orderedMatured: n(r.ordered_matured),
      orders: n(r.orders),
      revenueCents: n(r.revenue_cents),
      replied: n(r.replied),
      repliedMatured: n(r.replied_matured),
    }));
  }

  /** The rolled days in [from, to], with the day their outcomes were counted through. */
  async rolledDays(from: string, to: string): Promise<Map<string, string>> {
    const rows = await this.db.apiRead<{ day: string; outcomes_through: string }>('SELECT day, outcomes_through FROM analytics_reach_days WHERE day >= ? AND day <= ?', [from, to]);
    return new Map(rows.map((r) => [String(r.day), String(r.outcomes_through)]));
  }

  /** Survey names by id (as text, the reach rows' source id); a deleted survey has none. */
  async surveyNames(ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const numeric = ids.filter((id) => /^\d{1,12}$/.test(id));
    for (let i = 0; i < numeric.length; i += CHUNK) {
      const chunk = numeric.slice(i, i + CHUNK);
      for (const r of await this.db.apiRead<{ id: Num; name: string }>(`SELECT id, name FROM surveys WHERE id IN (${placeholders(chunk.length)})`, chunk.map(Number))) out.set(String(r.id), r.name);
    }
    return out;
  }

  /** Names and holdout shares of the sources: care and win-back rules, broadcasts (deleted ones have none). */
  async sources(ids: { rules: string[]; broadcasts: string[]; journeys?: string[] }): Promise<Map<string, { name: string; holdoutPercent: number }>> {
    const out = new Map<string, { name: string; holdoutPercent: number }>();
    for (const [table, list] of [
      ['care_rules', ids.rules],
      ['broadcasts', ids.broadcasts],
      ['journeys', ids.journeys ?? []],
    ] as const) {
      for (let i = 0; i < list.length; i += CHUNK) {
        const chunk = list.slice(i, i + CHUNK);
        for (const r of await this.db.apiRead<{ id: string; name: string; holdout_percent?: Num }>(`SELECT id, name, holdout_percent FROM ${table} WHERE id IN (${placeholders(chunk.length)})`, chunk)) {
          out.set(r.id, { name: r.name, holdoutPercent: n(r.holdout_percent) });
        }
      }
    }
    return out;
  }

  /** Whether a source exists: a care or win-back rule of that kind, a broadcast, a journey, a survey, or the tier congratulations. */
  async sourceExists(kind: DeliveryKind, id: string): Promise<boolean> {
    if (kind === 'loyalty') return id === 'tier';
    if (kind === 'survey') return (await this.surveyNames([id])).size > 0;
    if (kind === 'broadcast') return (await this.db.apiRead('SELECT 1 AS x FROM broadcasts WHERE id = ?', [id])).length > 0;
    if (kind === 'journey') return (await this.db.apiRead('SELECT 1 AS x FROM journeys WHERE id = ?', [id])).length > 0;
    const rows = await this.db.apiRead<{ kind: string }>('SELECT kind FROM care_rules WHERE id = ?', [id]);
    return rows.length > 0 && (kind === 'winback') === (rows[0].kind === 'winback');
  }
}

