import type { Db } from '../db.js';
import { sqliteIndexedBy, upsertManySql } from './sql-upsert.js';
import type { NoteRepository } from './note.repository.js';
import type { TimelineRepository } from './timeline.repository.js';
import type { ChurnRisk, ChurnSignals, RiskLevel, RiskReason } from '../../domain/churn/churn-risk.types.js';
import type { Note } from '../../domain/customers/note.types.js';

const DAY_MS = 86_400_000;
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const instant = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const marks = (n: number) => Array(n).fill('?').join(',');
/** Orders it takes before the gaps between them are read (three gaps), and how many of the last gaps are kept. */
const MIN_ORDERS_FOR_GAPS = 4;
const MAX_ORDER_GAPS = 12;

/** Which customers a statement reads, as SQL on a column and its parameters. */
interface Keys {
  sql: string;
  params: string[];
}

/**
 * The customers a read is about: the ids listed (`IN`), or, for ids that are a keyset page in the database's key order
 * (`asPage`), every key from the first to the last, whose rows outside the page the caller skips. A page's reads go by
 * its range: with a list of more than 200 keys MariaDB stops looking at the index for each (eq_range_index_dive_limit)
 * and can guess the whole table, and a join then scans it for every page (docs/churn.md §The nightly job).
 */
function keysOf(col: string, ids: string[], asPage: boolean): Keys {
  return asPage ? { sql: `${col} >= ? AND ${col} <= ?`, params: [ids[0]!, ids[ids.length - 1]!] } : { sql: `${col} IN (${marks(ids.length)})`, params: ids };
}

/** A score to store. */
export interface RiskWrite {
  externalUserId: string;
  score: number;
  level: RiskLevel;
  reasons: RiskReason[];
  /** Since when the customer is 高风险 (epoch ms), null below it. */
  highSince: number | null;
}

/** A warning to write with the scores: the owner's follow-up task, and its line on the timeline. */
export interface RiskWarning {
  note: Note;
  summary: string;
  /** The crossing it is about: one warning per customer and crossing. */
  highSince: number;
}

/**
 * Reads of the signals the churn-risk score is made of, a page of customers at a time, each bounded by `now` so a pass
 * "as of" a moment sees nothing later; and the scores' table (docs/churn.md §Signals). A handful of grouped statements
 * per page, whatever the page size.
 */
export class ChurnRiskRepository {
  constructor(
    private readonly db: Db,
    private readonly notes: Pick<NoteRepository, 'insertInTx'>,
    private readonly timeline: Pick<TimelineRepository, 'addInTx'>,
  ) {}

  /**
   * A page of customers who still follow at least one member, after `afterId` in key order, and where the next page
   * starts (null after the last). Read from the relations' index in key order, which stops after the page; the
   * customers' table only keeps ids it holds (docs/churn.md §The nightly job).
   */
  async page(afterId: string, limit: number): Promise<{ ids: string[]; next: string | null }> {
    const followed = (
      await this.db.query<{ id: string }>(
        "SELECT DISTINCT external_user_id AS id FROM follow_relations WHERE external_user_id > ? AND status = 'active' ORDER BY external_user_id LIMIT ?",
        [afterId, limit],
      )
    ).map((r) => r.id);
    if (followed.length === 0) return { ids: [], next: null };
    const known = new Set(
      (await this.db.query<{ id: string }>('SELECT external_user_id AS id FROM customers WHERE external_user_id >= ? AND external_user_id <= ?', [followed[0], followed[followed.length - 1]])).map((r) => r.id),
    );
    return { ids: followed.filter((id) => known.has(id)), next: followed.length < limit ? null : followed[followed.length - 1]! };
  }

  /**
   * Each customer's signals as of `now` (docs/churn.md §Signals); complaints count from `complaintsFrom`. `asPage`: the
   * ids are a page() in key order, read by their key range (docs/churn.md §The nightly job).
   */
  async signals(ids: string[], now: number, complaintsFrom: number, asPage = false): Promise<Map<string, ChurnSignals>> {
    const out = new Map<string, ChurnSignals>();
    if (ids.length === 0) return out;
    for (const id of ids) {
      out.set(id, { orders: 0, firstOrderAt: null, lastOrderAt: null, orderGaps: [], recentInteractions: 0, earlierInteractions: 0, lastInteractionAt: null, latestScore: null, openTickets: 0, overdueTicket: false, broadcastsIgnored: 0, ownerResigned: false, ownerResignedAt: null, complaints: 0, lastComplaintAt: null, latestScoreAt: null, interactionsSinceResigned: 0 });
    }
    const keys = (col: string, of: string[] = ids) => keysOf(col, of, asPage);
    const recent = now - 30 * DAY_MS;
    // The usual rate is taken over the five months before the last 30 days (docs/churn.md §Signals).
    const window = now - 180 * DAY_MS;
    const seen = (s: ChurnSignals, at: number | null) => {
      if (at !== null && (s.lastInteractionAt === null || at > s.lastInteractionAt)) s.lastInteractionAt = at;
    };
    // Orders up to now, in order per customer: how many, the first and last, how many fell in the last 30 days and the
    // 150 before, and the gaps between a buyer's orders for how steady they are (docs/churn.md §Signals): only those of
    // customers with four orders or more, and only their last gaps.
    {
      const k = keys('external_user_id');
      for (const r of await this.db.query<{ id: string; at: unknown }>(
        `SELECT external_user_id AS id, ordered_at AS at FROM orders WHERE ${k.sql} AND ordered_at <= ? ORDER BY external_user_id, ordered_at`,
        [...k.params, now],
      )) {
        const s = out.get(r.id);
        if (!s) continue;
        const at = num(r.at);
        if (s.lastOrderAt === null) s.firstOrderAt = at;
        else s.orderGaps.push((at - s.lastOrderAt) / DAY_MS);
        s.orders += 1;
        s.lastOrderAt = at;
        if (at > recent) s.recentInteractions += 1;
        else if (at > window) s.earlierInteractions += 1;
      }
      for (const s of out.values()) {
        if (s.orders < MIN_ORDERS_FOR_GAPS) s.orderGaps = [];
        else if (s.orderGaps.length > MAX_ORDER_GAPS) s.orderGaps = s.orderGaps.slice(-MAX_ORDER_GAPS);
        seen(s, s.lastOrderAt);
      }
    }
    // The customer's own WeChat-KF messages (origin 3; docs/wecom-protocol.md §WeChat customer service) and the notes
    // staff recorded: what the bot can see of a conversation, since 1:1 chats are invisible to it.
    const activity = [
      (k: Keys) => `SELECT external_user_id AS id, MAX(occurred_at) AS last_at, SUM(CASE WHEN occurred_at > ? THEN 1 ELSE 0 END) AS rec, SUM(CASE WHEN occurred_at <= ? THEN 1 ELSE 0 END) AS ear
              FROM ${sqliteIndexedBy(this.db.engine, 'timeline_entries', 'ix_timeline_customer')} WHERE ${k.sql} AND source = 'kf' AND data LIKE '%"origin":3%' AND occurred_at > ? AND occurred_at <= ? GROUP BY external_user_id`,
      (k: Keys) => `SELECT external_user_id AS id, MAX(created_at) AS last_at, SUM(CASE WHEN created_at > ? THEN 1 ELSE 0 END) AS rec, SUM(CASE WHEN created_at <= ? THEN 1 ELSE 0 END) AS ear
              FROM notes WHERE ${k.sql} AND source = 'staff' AND created_at > ? AND created_at <= ? GROUP BY external_user_id`,
    ];
    for (const sql of activity) {
      const k = keys('external_user_id');
      for (const r of await this.db.query<{ id: string; last_at: unknown; rec: unknown; ear: unknown }>(sql(k), [recent, recent, ...k.params, window, now])) {
        const s = out.get(r.id);
        if (!s) continue;
        s.recentInteractions += num(r.rec);
        s.earlierInteractions += num(r.ear);
        seen(s, instant(r.last_at));
      }
    }
    // The latest survey score of the last 90 days.
    const scored = new Map<string, number>();
    {
      const k = keys('external_user_id');
      for (const r of await this.db.query<{ id: string; kind: string; score: unknown; at: unknown }>(
        `SELECT external_user_id AS id, kind, score, answered_at AS at FROM ${sqliteIndexedBy(this.db.engine, 'survey_answers', 'ix_survey_answers_customer')}
         WHERE ${k.sql} AND score IS NOT NULL AND kind IN ('nps', 'csat') AND answered_at > ? AND answered_at <= ?`,
        [...k.params, now - 90 * DAY_MS, now],
      )) {
        const s = out.get(r.id);
        if (!s) continue;
        const at = num(r.at);
        if ((scored.get(r.id) ?? -1) >= at) continue;
        scored.set(r.id, at);
        s.latestScore = { kind: r.kind as 'nps' | 'csat', score: num(r.score) };
        s.latestScoreAt = at;
      }
    }
    // Complaints since `complaintsFrom`: ticket causes from a KF message a complaint rule matched, or recorded by staff
    // (docs/feedback.md §Opening a ticket); a detractor score is counted above, not here.
    {
      const k = keys('t.external_user_id');
      for (const r of await this.db.query<{ id: string; n: unknown; last_at: unknown }>(
        `SELECT t.external_user_id AS id, COUNT(*) AS n, MAX(e.created_at) AS last_at FROM feedback_tickets t JOIN feedback_ticket_events e ON e.ticket_id = t.id
         WHERE ${k.sql} AND (e.source_ref LIKE 'kf:%' OR e.source_ref LIKE 'staff:%') AND e.created_at > ? AND e.created_at <= ?
         GROUP BY t.external_user_id`,
        [...k.params, complaintsFrom, now],
      )) {
        const s = out.get(r.id);
        if (!s) continue;
        s.complaints = num(r.n);
        s.lastComplaintAt = instant(r.last_at);
      }
    }
    // Feedback tickets not yet resolved, and whether one missed its first contact.
    {
      const k = keys('external_user_id');
      for (const r of await this.db.query<{ id: string; n: unknown; late: unknown }>(
        `SELECT external_user_id AS id, COUNT(*) AS n, MAX(CASE WHEN contacted_at IS NULL AND due_at < ? THEN 1 ELSE 0 END) AS late
         FROM ${sqliteIndexedBy(this.db.engine, 'feedback_tickets', 'ix_feedback_tickets_customer')} WHERE ${k.sql} AND status IN ('open', 'contacted') AND opened_at <= ? GROUP BY external_user_id`,
        [now, ...k.params, now],
      )) {
        const s = out.get(r.id);
        if (!s) continue;
        s.openTickets = num(r.n);
        s.overdueTicket = num(r.late) > 0;
      }
    }
    // Broadcasts delivered in the last 60 days; ignored when nothing of the customer's came after.
    {
      const k = keys('external_user_id');
      for (const r of await this.db.query<{ id: string; at: unknown }>(
        `SELECT external_user_id AS id, sent_at AS at FROM ${sqliteIndexedBy(this.db.engine, 'deliveries', 'ix_deliveries_customer')}
         WHERE ${k.sql} AND kind = 'broadcast' AND status = 'sent' AND sent_at > ? AND sent_at <= ?`,
        [...k.params, now - 60 * DAY_MS, now],
      )) {
        const s = out.get(r.id);
        if (!s) continue;
        if (s.lastInteractionAt === null || num(r.at) > s.lastInteractionAt) s.broadcastsIgnored += 1;
      }
    }
    // Every active relation is with a member who left (a transfer moves the relation, which ends this).
    // The latest of their leavings says how long the customer has waited for a handover.
    {
      const k = keys('r.external_user_id');
      for (const r of await this.db.query<{ id: string; live: unknown; left_at: unknown }>(
        `SELECT r.external_user_id AS id, SUM(CASE WHEN s.status = 'resigned' THEN 0 ELSE 1 END) AS live, MAX(s.resigned_at) AS left_at
         FROM follow_relations r LEFT JOIN staff s ON s.userid = r.userid
         WHERE ${k.sql} AND r.status = 'active' GROUP BY r.external_user_id`,
        k.params,
      )) {
        const s = out.get(r.id);
        if (!s) continue;
        s.ownerResigned = num(r.live) === 0;
        s.ownerResignedAt = s.ownerResigned ? instant(r.left_at) : null;
      }
    }
    // Whether a resigned owner's customer still turns up since the leaving: their own KF messages and orders after it
    // (docs/churn.md §Signals). Only those customers are read, each from their own leaving.
    const orphans = ids.filter((id) => out.get(id)!.ownerResignedAt !== null);
    if (orphans.length > 0) {
      const from = Math.min(...orphans.map((id) => out.get(id)!.ownerResignedAt!));
      const k = keys('external_user_id', orphans);
      const reads = [
        `SELECT external_user_id AS id, occurred_at AS at FROM ${sqliteIndexedBy(this.db.engine, 'timeline_entries', 'ix_timeline_customer')} WHERE ${k.sql} AND source = 'kf' AND data LIKE '%"origin":3%' AND occurred_at > ? AND occurred_at <= ?`,
        `SELECT external_user_id AS id, ordered_at AS at FROM orders WHERE ${k.sql} AND ordered_at > ? AND ordered_at <= ?`,
      ];
      for (const sql of reads) {
        for (const r of await this.db.query<{ id: string; at: unknown }>(sql, [...k.params, from, now])) {
          const s = out.get(r.id);
          if (!s || s.ownerResignedAt === null) continue;
          if (num(r.at) > s.ownerResignedAt) s.interactionsSinceResigned += 1;
        }
      }
    }
    return out;
  }

  /**
   * What staff wrote about each customer after `since` (their own notes, not the bot's), oldest first, with when.
   * `asPage` as for signals().
   */
  async staffNotes(ids: string[], since: number, now: number, asPage = false): Promise<Map<string, Array<{ text: string; at: number }>>> {
    const out = new Map<string, Array<{ text: string; at: number }>>();
    if (ids.length === 0) return out;
    const wanted = new Set(ids);
    const k = keysOf('external_user_id', ids, asPage);
    for (const r of await this.db.query<{ id: string; text: string; at: unknown }>(
      `SELECT external_user_id AS id, text, created_at AS at FROM notes WHERE ${k.sql} AND source = 'staff' AND created_at > ? AND created_at <= ? ORDER BY created_at`,
      [...k.params, since, now],
    )) {
      if (!wanted.has(r.id)) continue;
      (out.get(r.id) ?? out.set(r.id, []).get(r.id)!).push({ text: r.text, at: num(r.at) });
    }
    return out;
  }

  /** Each customer's level and since when they are 高风险, as the last pass left them. `asPage` as for signals(). */
  async previous(ids: string[], asPage = false): Promise<Map<string, { level: RiskLevel; highSince: number | null }>> {
    if (ids.length === 0) return new Map();
    const wanted = new Set(ids);
    const k = keysOf('external_user_id', ids, asPage);
    const rows = await this.db.query<{ id: string; level: string; high_since: unknown }>(`SELECT external_user_id AS id, level, high_since FROM churn_risk WHERE ${k.sql}`, k.params);
    return new Map(rows.filter((r) => wanted.has(r.id)).map((r) => [r.id, { level: r.level as RiskLevel, highSince: instant(r.high_since) }]));
  }

  /**
   * Store a page's scores and its warnings in one transaction, so a crash never leaves a crossing recorded without its
   * warning or warned twice. A warning's timeline line is unique per customer and crossing; its note is written only
   * with a new line. `span`: the keys the page covered, after `after` through `through` (null: to the end); the scores
   * there of customers not in the page (they follow no one any more) are dropped with it, a page's worth at a time
   * rather than in one statement over the whole table at the end (docs/churn.md §The nightly job).
   */
  async write(rows: RiskWrite[], scoredAt: number, warnings: RiskWarning[] = [], span?: { after: string; through: string | null }): Promise<number> {
    if (rows.length === 0 && !span) return 0;
    const cols = ['external_user_id', 'score', 'level', 'reasons', 'scored_at', 'high_since'];
    let warned = 0;
    await this.db.tx(async (em) => {
      if (rows.length > 0) {
        await em.query(
          upsertManySql(this.db.engine, 'churn_risk', cols, ['external_user_id'], ['score', 'level', 'reasons', 'scored_at', 'high_since'], rows.length),
          rows.flatMap((r) => [r.externalUserId, r.score, r.level, JSON.stringify(r.reasons), scoredAt, r.highSince]),
        );
      }
      if (span) {
        const where = ['external_user_id > ?'];
        const params: unknown[] = [span.after];
        if (span.through !== null) {
          where.push('external_user_id <= ?');
          params.push(span.through);
        }
        if (rows.length > 0) {
          where.push(`external_user_id NOT IN (${marks(rows.length)})`);
          params.push(...rows.map((r) => r.externalUserId));
        }
        await em.query(`DELETE FROM churn_risk WHERE ${where.join(' AND ')}`, params);
      }
      for (const w of warnings) {
        const isNew = await this.timeline.addInTx(
          em,
          {
            externalUserId: w.note.externalUserId,
            staffUserid: w.note.userid,
            kind: 'churn_warning',
            summary: w.summary.slice(0, 500),
            data: { noteId: w.note.id, dueDate: w.note.dueDate },
            source: 'churn',
            sourceId: `warn:${w.note.externalUserId}:${w.highSince}`,
            occurredAt: w.note.createdAt,
          },
          w.note.createdAt,
        );
        if (!isNew) continue;
        await this.notes.insertInTx(em, w.note);
        warned += 1;
      }
    });
    return warned;
  }

  /** One customer's latest score, if scored. */
  async get(externalUserId: string): Promise<ChurnRisk | null> {
    const [r] = await this.db.query<{ external_user_id: string; score: unknown; level: string; reasons: string | RiskReason[]; scored_at: unknown }>(
      'SELECT external_user_id, score, level, reasons, scored_at FROM churn_risk WHERE external_user_id = ?',
      [externalUserId],
    );
    if (!r) return null;
    return { externalUserId: r.external_user_id, score: num(r.score), level: r.level as RiskLevel, reasons: typeof r.reasons === 'string' ? (JSON.parse(r.reasons) as RiskReason[]) : r.reasons, scoredAt: new Date(num(r.scored_at)) };
  }

  /** Since when each of these customers is 高风险 (epoch ms), for those who are. */
  async highSince(ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<{ id: string; at: unknown }>(`SELECT external_user_id AS id, high_since AS at FROM churn_risk WHERE external_user_id IN (${marks(ids.length)}) AND high_since IS NOT NULL`, ids);
    return new Map(rows.map((r) => [r.id, num(r.at)]));
  }

  /** How many customers score at or above `threshold`. */
  async countAtLeast(threshold: number): Promise<number> {
    const [r] = await this.db.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM churn_risk WHERE score >= ?', [threshold]);
    return num(r?.n);
  }
}
