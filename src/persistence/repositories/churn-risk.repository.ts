import type { Db } from '../db.js';
import { upsertManySql } from './sql-upsert.js';
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

  /** A page of customers who still follow at least one member, after `afterId` in key order. */
  async page(afterId: string, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT c.external_user_id AS id FROM customers c
       WHERE c.external_user_id > ? AND EXISTS (SELECT 1 FROM follow_relations r WHERE r.external_user_id = c.external_user_id AND r.status = 'active')
       ORDER BY c.external_user_id LIMIT ?`,
      [afterId, limit],
    );
    return rows.map((r) => r.id);
  }

  /** Each customer's signals as of `now` (docs/churn.md §Signals); complaints count from `complaintsFrom`. */
  async signals(ids: string[], now: number, complaintsFrom: number): Promise<Map<string, ChurnSignals>> {
    const out = new Map<string, ChurnSignals>();
    if (ids.length === 0) return out;
    for (const id of ids) {
      out.set(id, { orders: 0, firstOrderAt: null, lastOrderAt: null, orderGaps: [], recentInteractions: 0, earlierInteractions: 0, lastInteractionAt: null, latestScore: null, openTickets: 0, overdueTicket: false, broadcastsIgnored: 0, ownerResigned: false, ownerResignedAt: null, complaints: 0, lastComplaintAt: null, latestScoreAt: null, interactionsSinceResigned: 0 });
    }
    const recent = now - 30 * DAY_MS;
    // The usual rate is taken over the five months before the last 30 days (docs/churn.md §Signals).
    const window = now - 180 * DAY_MS;
    const seen = (s: ChurnSignals, at: number | null) => {
      if (at !== null && (s.lastInteractionAt === null || at > s.lastInteractionAt)) s.lastInteractionAt = at;
    };
    // Orders: all of them up to now, and how many fell in the last 30 days and the 150 before.
    for (const r of await this.db.query<{ id: string; n: unknown; first_at: unknown; last_at: unknown; rec: unknown; ear: unknown }>(
      `SELECT external_user_id AS id, COUNT(*) AS n, MIN(ordered_at) AS first_at, MAX(ordered_at) AS last_at,
              SUM(CASE WHEN ordered_at > ? THEN 1 ELSE 0 END) AS rec, SUM(CASE WHEN ordered_at > ? AND ordered_at <= ? THEN 1 ELSE 0 END) AS ear
       FROM orders WHERE external_user_id IN (${marks(ids.length)}) AND ordered_at <= ? GROUP BY external_user_id`,
      [recent, window, recent, ...ids, now],
    )) {
      const s = out.get(r.id)!;
      s.orders = num(r.n);
      s.firstOrderAt = instant(r.first_at);
      s.lastOrderAt = instant(r.last_at);
      s.recentInteractions += num(r.rec);
      s.earlierInteractions += num(r.ear);
      seen(s, s.lastOrderAt);
    }
    // The gaps between a buyer's orders, for how steady they are (docs/churn.md §Signals): only customers with four
    // orders or more are read, and only their last gaps are kept.
    const buyers = ids.filter((id) => out.get(id)!.orders >= MIN_ORDERS_FOR_GAPS);
    if (buyers.length > 0) {
      let prev: { id: string; at: number } | null = null;
      for (const r of await this.db.query<{ id: string; at: unknown }>(
        `SELECT external_user_id AS id, ordered_at AS at FROM orders WHERE external_user_id IN (${marks(buyers.length)}) AND ordered_at <= ? ORDER BY external_user_id, ordered_at`,
        [...buyers, now],
      )) {
        const at = num(r.at);
        if (prev && prev.id === r.id) {
          const gaps = out.get(r.id)!.orderGaps;
          gaps.push((at - prev.at) / DAY_MS);
          if (gaps.length > MAX_ORDER_GAPS) gaps.shift();
        }
        prev = { id: r.id, at };
      }
    }
    // The customer's own WeChat-KF messages (origin 3; docs/wecom-protocol.md §WeChat customer service) and the notes
    // staff recorded: what the bot can see of a conversation, since 1:1 chats are invisible to it.
    const activity = [
      {
        sql: `SELECT external_user_id AS id, MAX(occurred_at) AS last_at, SUM(CASE WHEN occurred_at > ? THEN 1 ELSE 0 END) AS rec, SUM(CASE WHEN occurred_at <= ? THEN 1 ELSE 0 END) AS ear
              FROM timeline_entries WHERE external_user_id IN (${marks(ids.length)}) AND source = 'kf' AND data LIKE '%"origin":3%' AND occurred_at > ? AND occurred_at <= ? GROUP BY external_user_id`,
      },
      {
        sql: `SELECT external_user_id AS id, MAX(created_at) AS last_at, SUM(CASE WHEN created_at > ? THEN 1 ELSE 0 END) AS rec, SUM(CASE WHEN created_at <= ? THEN 1 ELSE 0 END) AS ear
              FROM notes WHERE external_user_id IN (${marks(ids.length)}) AND source = 'staff' AND created_at > ? AND created_at <= ? GROUP BY external_user_id`,
      },
    ];
    for (const a of activity) {
      for (const r of await this.db.query<{ id: string; last_at: unknown; rec: unknown; ear: unknown }>(a.sql, [recent, recent, ...ids, window, now])) {
        const s = out.get(r.id)!;
        s.recentInteractions += num(r.rec);
        s.earlierInteractions += num(r.ear);
        seen(s, instant(r.last_at));
      }
    }
    // The latest survey score of the last 90 days.
    const scored = new Map<string, number>();
    for (const r of await this.db.query<{ id: string; kind: string; score: unknown; at: unknown }>(
      `SELECT external_user_id AS id, kind, score, answered_at AS at FROM survey_answers
       WHERE external_user_id IN (${marks(ids.length)}) AND score IS NOT NULL AND kind IN ('nps', 'csat') AND answered_at > ? AND answered_at <= ?`,
      [...ids, now - 90 * DAY_MS, now],
    )) {
      const at = num(r.at);
      if ((scored.get(r.id) ?? -1) >= at) continue;
      scored.set(r.id, at);
      const s = out.get(r.id)!;
      s.latestScore = { kind: r.kind as 'nps' | 'csat', score: num(r.score) };
      s.latestScoreAt = at;
    }
    // Complaints since `complaintsFrom`: ticket causes from a KF message a complaint rule matched, or recorded by staff
    // (docs/feedback.md §Opening a ticket); a detractor score is counted above, not here.
    for (const r of await this.db.query<{ id: string; n: unknown; last_at: unknown }>(
      `SELECT t.external_user_id AS id, COUNT(*) AS n, MAX(e.created_at) AS last_at FROM feedback_tickets t JOIN feedback_ticket_events e ON e.ticket_id = t.id
       WHERE t.external_user_id IN (${marks(ids.length)}) AND (e.source_ref LIKE 'kf:%' OR e.source_ref LIKE 'staff:%') AND e.created_at > ? AND e.created_at <= ?
       GROUP BY t.external_user_id`,
      [...ids, complaintsFrom, now],
    )) {
      const s = out.get(r.id)!;
      s.complaints = num(r.n);
      s.lastComplaintAt = instant(r.last_at);
    }
    // Feedback tickets not yet resolved, and whether one missed its first contact.
    for (const r of await this.db.query<{ id: string; n: unknown; late: unknown }>(
      `SELECT external_user_id AS id, COUNT(*) AS n, MAX(CASE WHEN contacted_at IS NULL AND due_at < ? THEN 1 ELSE 0 END) AS late
       FROM feedback_tickets WHERE external_user_id IN (${marks(ids.length)}) AND status IN ('open', 'contacted') AND opened_at <= ? GROUP BY external_user_id`,
      [now, ...ids, now],
    )) {
      const s = out.get(r.id)!;
      s.openTickets = num(r.n);
      s.overdueTicket = num(r.late) > 0;
    }
    // Broadcasts delivered in the last 60 days; ignored when nothing of the customer's came after.
    for (const r of await this.db.query<{ id: string; at: unknown }>(
      `SELECT external_user_id AS id, sent_at AS at FROM deliveries
       WHERE external_user_id IN (${marks(ids.length)}) AND kind = 'broadcast' AND status = 'sent' AND sent_at > ? AND sent_at <= ?`,
      [...ids, now - 60 * DAY_MS, now],
    )) {
      const s = out.get(r.id)!;
      if (s.lastInteractionAt === null || num(r.at) > s.lastInteractionAt) s.broadcastsIgnored += 1;
    }
    // Every active relation is with a member who left (a transfer moves the relation, which ends this).
    // The latest of their leavings says how long the customer has waited for a handover.
    for (const r of await this.db.query<{ id: string; live: unknown; left_at: unknown }>(
      `SELECT r.external_user_id AS id, SUM(CASE WHEN s.status = 'resigned' THEN 0 ELSE 1 END) AS live, MAX(s.resigned_at) AS left_at
       FROM follow_relations r LEFT JOIN staff s ON s.userid = r.userid
       WHERE r.external_user_id IN (${marks(ids.length)}) AND r.status = 'active' GROUP BY r.external_user_id`,
      ids,
    )) {
      const s = out.get(r.id)!;
      s.ownerResigned = num(r.live) === 0;
      s.ownerResignedAt = s.ownerResigned ? instant(r.left_at) : null;
    }
    // Whether a resigned owner's customer still turns up since the leaving: their own KF messages and orders after it
    // (docs/churn.md §Signals). Only those customers are read, each from their own leaving.
    const orphans = ids.filter((id) => out.get(id)!.ownerResignedAt !== null);
    if (orphans.length > 0) {
      const from = Math.min(...orphans.map((id) => out.get(id)!.ownerResignedAt!));
      const reads = [
        `SELECT external_user_id AS id, occurred_at AS at FROM timeline_entries WHERE external_user_id IN (${marks(orphans.length)}) AND source = 'kf' AND data LIKE '%"origin":3%' AND occurred_at > ? AND occurred_at <= ?`,
        `SELECT external_user_id AS id, ordered_at AS at FROM orders WHERE external_user_id IN (${marks(orphans.length)}) AND ordered_at > ? AND ordered_at <= ?`,
      ];
      for (const sql of reads) {
        for (const r of await this.db.query<{ id: string; at: unknown }>(sql, [...orphans, from, now])) {
          const s = out.get(r.id)!;
          if (num(r.at) > s.ownerResignedAt!) s.interactionsSinceResigned += 1;
        }
      }
    }
    return out;
  }

  /** What staff wrote about each customer after `since` (their own notes, not the bot's), oldest first, with when. */
  async staffNotes(ids: string[], since: number, now: number): Promise<Map<string, Array<{ text: string; at: number }>>> {
    const out = new Map<string, Array<{ text: string; at: number }>>();
    if (ids.length === 0) return out;
    for (const r of await this.db.query<{ id: string; text: string; at: unknown }>(
      `SELECT external_user_id AS id, text, created_at AS at FROM notes WHERE external_user_id IN (${marks(ids.length)}) AND source = 'staff' AND created_at > ? AND created_at <= ? ORDER BY created_at`,
      [...ids, since, now],
    )) {
      (out.get(r.id) ?? out.set(r.id, []).get(r.id)!).push({ text: r.text, at: num(r.at) });
    }
    return out;
  }

  /** Each customer's level and since when they are 高风险, as the last pass left them. */
  async previous(ids: string[]): Promise<Map<string, { level: RiskLevel; highSince: number | null }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<{ id: string; level: string; high_since: unknown }>(`SELECT external_user_id AS id, level, high_since FROM churn_risk WHERE external_user_id IN (${marks(ids.length)})`, ids);
    return new Map(rows.map((r) => [r.id, { level: r.level as RiskLevel, highSince: instant(r.high_since) }]));
  }

  /**
   * Store a page's scores and its warnings in one transaction, so a crash never leaves a crossing recorded without its
   * warning or warned twice. A warning's timeline line is unique per customer and crossing; its note is written only
   * with a new line.
   */
  async write(rows: RiskWrite[], scoredAt: number, warnings: RiskWarning[] = []): Promise<number> {
    if (rows.length === 0) return 0;
    const cols = ['external_user_id', 'score', 'level', 'reasons', 'scored_at', 'high_since'];
    let warned = 0;
    await this.db.tx(async (em) => {
      await em.query(
        upsertManySql(this.db.engine, 'churn_risk', cols, ['external_user_id'], ['score', 'level', 'reasons', 'scored_at', 'high_since'], rows.length),
        rows.flatMap((r) => [r.externalUserId, r.score, r.level, JSON.stringify(r.reasons), scoredAt, r.highSince]),
      );
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

  /** Forget the scores of customers who no longer follow anyone (the pass scores only those who do). */
  async dropUnfollowed(): Promise<number> {
    return this.db.exec(
      "DELETE FROM churn_risk WHERE NOT EXISTS (SELECT 1 FROM follow_relations r WHERE r.external_user_id = churn_risk.external_user_id AND r.status = 'active')",
    );
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
