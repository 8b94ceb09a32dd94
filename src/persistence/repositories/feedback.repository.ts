import type { EntityManager } from 'typeorm';
import { execIn, type Db } from '../db.js';
import { NotFoundError } from '../../shared/errors.js';
import type {
  CustomerScore,
  FeedbackRule,
  FeedbackTicket,
  TicketEvent,
  TicketEventKind,
  TicketQuery,
  TicketSource,
  TicketStatus,
} from '../../domain/feedback/feedback.types.js';

type Num = number | string;

interface TicketRow {
  id: Num;
  external_user_id: string;
  source: TicketSource;
  status: TicketStatus;
  category: string | null;
  summary: string;
  score: Num | null;
  score_kind: 'nps' | 'csat' | null;
  owner_userid: string | null;
  opened_at: Num;
  reopened_at: Num | null;
  reopen_count: Num;
  due_at: Num;
  contacted_at: Num | null;
  resolved_at: Num | null;
  resolution_note: string | null;
  notified_at: Num | null;
  escalated_at: Num | null;
  created_by: string;
  updated_at: Num;
}

interface EventRow {
  id: Num;
  ticket_id: Num;
  kind: TicketEventKind;
  actor: string;
  note: string | null;
  source_ref: string | null;
  created_at: Num;
}

interface RuleRow {
  id: string;
  name: string;
  pattern: string;
  match_type: FeedbackRule['matchType'];
  category: string;
  opens_ticket: Num | boolean;
  enabled: Num | boolean;
  created_at: Num;
  updated_at: Num;
}

const when = (v: Num | null): Date | null => (v === null ? null : new Date(Number(v)));

function toTicket(r: TicketRow): FeedbackTicket {
  return {
    id: Number(r.id),
    externalUserId: r.external_user_id,
    source: r.source,
    status: r.status,
    category: r.category,
    summary: r.summary,
    score: r.score === null ? null : Number(r.score),
    scoreKind: r.score_kind,
    ownerUserid: r.owner_userid,
    openedAt: new Date(Number(r.opened_at)),
    reopenedAt: when(r.reopened_at),
    reopenCount: Number(r.reopen_count),
    dueAt: new Date(Number(r.due_at)),
    contactedAt: when(r.contacted_at),
    resolvedAt: when(r.resolved_at),
    resolutionNote: r.resolution_note,
    notifiedAt: when(r.notified_at),
    escalatedAt: when(r.escalated_at),
    createdBy: r.created_by,
    updatedAt: new Date(Number(r.updated_at)),
  };
}

function toEvent(r: EventRow): TicketEvent {
  return { id: Number(r.id), ticketId: Number(r.ticket_id), kind: r.kind, actor: r.actor, note: r.note, sourceRef: r.source_ref, createdAt: new Date(Number(r.created_at)) };
}

function toRule(r: RuleRow): FeedbackRule {
  return {
    id: r.id,
    name: r.name,
    pattern: r.pattern,
    matchType: r.match_type,
    category: r.category,
    opensTicket: Boolean(Number(r.opens_ticket)),
    isEnabled: Boolean(Number(r.enabled)),
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

const marks = (n: number) => Array.from({ length: n }, () => '?').join(',');

/** A ticket to insert. */
export interface NewTicket {
  externalUserId: string;
  source: TicketSource;
  category: string | null;
  summary: string;
  score: number | null;
  scoreKind: 'nps' | 'csat' | null;
  ownerUserid: string | null;
  dueAt: Date;
  createdBy: string;
  /** Set when nobody needs telling (a member's own record), so the `feedback` job never picks it up. */
  notifiedAt?: number | null;
}

/** An event to append. */
export interface NewTicketEvent {
  ticketId: number;
  kind: TicketEventKind;
  actor: string;
  note: string | null;
  sourceRef: string | null;
}

/** A ticket's figures for the analysis (docs/feedback.md §Analysis). */
export interface TicketFacts {
  id: number;
  externalUserId: string;
  source: TicketSource;
  status: TicketStatus;
  category: string | null;
  ownerUserid: string | null;
  scoreKind: 'nps' | 'csat' | null;
  score: number | null;
  events: { kind: TicketEventKind; at: number }[];
}

/** Feedback tickets, their events and the category rules (migration 0041). */
export class FeedbackRepository {
  constructor(private readonly db: Db) {}

  private async insertId(em: EntityManager, sql: string, params: unknown[]): Promise<number> {
    if (this.db.engine === 'sqlite') {
      const rows = (await em.query(`${sql} RETURNING id`, params)) as { id: Num }[];
      return Number(rows[0].id);
    }
    const res = (await em.query(sql, params)) as { insertId: Num };
    return Number(res.insertId);
  }

  /** Whether a cause (`answer:<id>`, `kf:<msgid>`…) has acted already. */
  async hasEventInTx(em: EntityManager, sourceRef: string): Promise<boolean> {
    const rows = (await em.query('SELECT id FROM feedback_ticket_events WHERE source_ref = ?', [sourceRef])) as unknown[];
    return rows.length > 0;
  }

  /** The ticket a cause acted on, with its customer, or null. */
  async ticketOfCauseInTx(em: EntityManager, sourceRef: string): Promise<{ ticketId: number; externalUserId: string } | null> {
    const rows = (await em.query(
      'SELECT e.ticket_id AS id, t.external_user_id AS ext FROM feedback_ticket_events e JOIN feedback_tickets t ON t.id = e.ticket_id WHERE e.source_ref = ?',
      [sourceRef],
    )) as { id: Num; ext: string }[];
    return rows[0] ? { ticketId: Number(rows[0].id), externalUserId: rows[0].ext } : null;
  }

  /** The customer's open or contacted ticket, locked for this transaction on MySQL. */
  async findActiveInTx(em: EntityManager, ext: string): Promise<FeedbackTicket | null> {
    const lock = this.db.engine === 'mysql' ? ' FOR UPDATE' : '';
    const rows = (await em.query(`SELECT * FROM feedback_tickets WHERE active_key = ?${lock}`, [ext])) as TicketRow[];
    return rows[0] ? toTicket(rows[0]) : null;
  }

  /** The customer's most recently resolved ticket. */
  async findLatestResolvedInTx(em: EntityManager, ext: string): Promise<FeedbackTicket | null> {
    const lock = this.db.engine === 'mysql' ? ' FOR UPDATE' : '';
    const rows = (await em.query(`SELECT * FROM feedback_tickets WHERE external_user_id = ? AND status = 'resolved' ORDER BY resolved_at DESC, id DESC LIMIT 1${lock}`, [ext])) as TicketRow[];
    return rows[0] ? toTicket(rows[0]) : null;
  }

  /** Insert an open ticket; a second active ticket for the customer is a duplicate-key error (the caller retries). */
  async insertTicketInTx(em: EntityManager, t: NewTicket, now: number): Promise<number> {
    return this.insertId(
      em,
      `INSERT INTO feedback_tickets (external_user_id, active_key, source, status, category, summary, score, score_kind, owner_userid, opened_at, reopen_count, due_at, notified_at, created_by, updated_at)
       VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
      [t.externalUserId, t.externalUserId, t.source, t.category, t.summary.slice(0, 500), t.score, t.scoreKind, t.ownerUserid, now, t.dueAt.getTime(), t.notifiedAt ?? null, t.createdBy, now],
    );
  }

  /** Open a resolved ticket again with the new score; false when it is no longer resolved. */
  async reopenInTx(
    em: EntityManager,
    id: number,
    ext: string,
    c: { summary: string; score: number | null; scoreKind: 'nps' | 'csat' | null; ownerUserid: string | null; dueAt: Date; category: string | null },
    now: number,
  ): Promise<boolean> {
    return (
      (await execIn(
        em,
        `UPDATE feedback_tickets SET status = 'open', active_key = ?, summary = ?, score = ?, score_kind = ?, owner_userid = COALESCE(?, owner_userid),
                category = COALESCE(?, category), reopened_at = ?, reopen_count = reopen_count + 1, due_at = ?, contacted_at = NULL, resolved_at = NULL,
                resolution_note = NULL, notified_at = NULL, escalated_at = NULL, updated_at = ?
          WHERE id = ? AND status = 'resolved'`,
        [ext, c.summary.slice(0, 500), c.score, c.scoreKind, c.ownerUserid, c.category, now, c.dueAt.getTime(), now, id],
      )) > 0
    );
  }

  /** Append an event; a repeated cause (source_ref) is a duplicate-key error. */
  async addEventInTx(em: EntityManager, e: NewTicketEvent, now: number): Promise<number> {
    return this.insertId(em, 'INSERT INTO feedback_ticket_events (ticket_id, kind, actor, note, source_ref, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
      e.ticketId,
      e.kind,
      e.actor.slice(0, 100),
      e.note?.slice(0, 500) ?? null,
      e.sourceRef?.slice(0, 128) ?? null,
      now,
    ]);
  }

  /** open → contacted; false when it was not open. */
  async markContactedInTx(em: EntityManager, id: number, now: number): Promise<boolean> {
    return (await execIn(em, "UPDATE feedback_tickets SET status = 'contacted', contacted_at = ?, updated_at = ? WHERE id = ? AND status = 'open'", [now, now, id])) > 0;
  }

  /** open or contacted → resolved, with the note and the category; false when it was resolved already. */
  async resolveInTx(em: EntityManager, id: number, note: string, category: string | null, now: number): Promise<boolean> {
    return (
      (await execIn(
        em,
        `UPDATE feedback_tickets SET status = 'resolved', active_key = NULL, resolved_at = ?, resolution_note = ?, category = COALESCE(?, category),
                contacted_at = COALESCE(contacted_at, ?), updated_at = ?
          WHERE id = ? AND status <> 'resolved'`,
        [now, note.slice(0, 500), category, now, now, id],
      )) > 0
    );
  }

  /** The ticket, or null. */
  async find(id: number): Promise<FeedbackTicket | null> {
    const rows = await this.db.query<TicketRow>('SELECT * FROM feedback_tickets WHERE id = ?', [id]);
    return rows[0] ? toTicket(rows[0]) : null;
  }

  /** The ticket, or NotFoundError. */
  async get(id: number): Promise<FeedbackTicket> {
    const t = await this.find(id);
    if (!t) throw new NotFoundError('反馈工单不存在', 'ticket_not_found');
    return t;
  }

  /** The ticket inside a transaction, locked on MySQL, or null. */
  async findInTx(em: EntityManager, id: number): Promise<FeedbackTicket | null> {
    const lock = this.db.engine === 'mysql' ? ' FOR UPDATE' : '';
    const rows = (await em.query(`SELECT * FROM feedback_tickets WHERE id = ?${lock}`, [id])) as TicketRow[];
    return rows[0] ? toTicket(rows[0]) : null;
  }

  /** A ticket's events, oldest first. */
  async eventsOf(ticketId: number): Promise<TicketEvent[]> {
    return (await this.db.query<EventRow>('SELECT * FROM feedback_ticket_events WHERE ticket_id = ? ORDER BY id', [ticketId])).map(toEvent);
  }

  /** A page of tickets, newest first (open ones before the rest when no status is asked for). */
  async list(q: TicketQuery, now: number): Promise<{ items: FeedbackTicket[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.status) where.push('t.status = ?'), params.push(q.status);
    if (q.source) where.push('t.source = ?'), params.push(q.source);
    if (q.category) where.push('t.category = ?'), params.push(q.category);
    if (q.ownerUserid) where.push('t.owner_userid = ?'), params.push(q.ownerUserid);
    if (q.externalUserId) where.push('t.external_user_id = ?'), params.push(q.externalUserId);
    if (q.isOverdue) where.push("t.status = 'open' AND t.due_at <= ?"), params.push(now);
    if (q.followedBy) {
      where.push("EXISTS (SELECT 1 FROM follow_relations r WHERE r.external_user_id = t.external_user_id AND r.userid = ? AND r.status = 'active')");
      params.push(q.followedBy);
    }
    const sqlWhere = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ n }] = await this.db.query<{ n: Num }>(`SELECT COUNT(*) AS n FROM feedback_tickets t ${sqlWhere}`, params);
    const rows = await this.db.query<TicketRow>(
      `SELECT t.* FROM feedback_tickets t ${sqlWhere}
        ORDER BY CASE t.status WHEN 'open' THEN 0 WHEN 'contacted' THEN 1 ELSE 2 END, t.updated_at DESC, t.id DESC LIMIT ? OFFSET ?`,
      [...params, q.pageSize, (q.page - 1) * q.pageSize],
    );
    return { items: rows.map(toTicket), total: Number(n) };
  }

  /** Customers' display names (empty for unknown ones). */
  async customerNames(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<{ external_user_id: string; name: string | null }>(`SELECT external_user_id, name FROM customers WHERE external_user_id IN (${marks(ids.length)})`, ids);
    return new Map(rows.map((r) => [r.external_user_id, r.name ?? '']));
  }

  /** Members' display names (a member without one, or unknown to the archive, is left out). */
  async staffNames(userids: string[]): Promise<Map<string, string>> {
    if (userids.length === 0) return new Map();
    const rows = await this.db.query<{ userid: string; name: string | null }>(`SELECT userid, name FROM staff WHERE userid IN (${marks(userids.length)})`, userids);
    return new Map(rows.filter((r) => r.name).map((r) => [r.userid, String(r.name)]));
  }

  /** Take the ticket's owner notice (false: another instance has it, or it was sent). */
  async claimNotice(id: number, now: number): Promise<boolean> {
    return (await this.db.exec('UPDATE feedback_tickets SET notified_at = ? WHERE id = ? AND notified_at IS NULL', [now, id])) > 0;
  }

  /** Give a notice back after its send failed, for the next run. */
  async releaseNotice(id: number, claimedAt: number): Promise<void> {
    await this.db.exec('UPDATE feedback_tickets SET notified_at = NULL WHERE id = ? AND notified_at = ?', [id, claimedAt]);
  }

  /** Take the escalation of a ticket past its SLA (false: escalated already, or no longer open). */
  async claimEscalation(id: number, now: number): Promise<boolean> {
    return (await this.db.exec("UPDATE feedback_tickets SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL AND status = 'open' AND due_at <= ?", [now, id, now])) > 0;
  }

  /** Give an escalation back after its send failed. */
  async releaseEscalation(id: number, claimedAt: number): Promise<void> {
    await this.db.exec('UPDATE feedback_tickets SET escalated_at = NULL WHERE id = ? AND escalated_at = ?', [id, claimedAt]);
  }

  /** Active tickets whose owner notice is still to send (a crash or a failed send after opening). */
  async unnotified(limit: number): Promise<FeedbackTicket[]> {
    return (await this.db.query<TicketRow>("SELECT * FROM feedback_tickets WHERE notified_at IS NULL AND status <> 'resolved' ORDER BY id LIMIT ?", [limit])).map(toTicket);
  }

  /** Open tickets past their first-contact SLA and not escalated yet, oldest due first. */
  async overdue(now: number, limit: number): Promise<FeedbackTicket[]> {
    return (await this.db.query<TicketRow>("SELECT * FROM feedback_tickets WHERE status = 'open' AND due_at <= ? AND escalated_at IS NULL ORDER BY due_at, id LIMIT ?", [now, limit])).map(
      toTicket,
    );
  }

  /** Tickets with an opening (first or again) in [from, to), with all their events, for the analysis. */
  async factsOpenedBetween(from: number, to: number): Promise<TicketFacts[]> {
    const tickets = await this.db.query<TicketRow>(
      `SELECT t.* FROM feedback_tickets t
        WHERE EXISTS (SELECT 1 FROM feedback_ticket_events e WHERE e.ticket_id = t.id AND e.kind IN ('opened', 'reopened') AND e.created_at >= ? AND e.created_at < ?)`,
      [from, to],
    );
    const out: TicketFacts[] = [];
    for (let i = 0; i < tickets.length; i += 500) {
      const chunk = tickets.slice(i, i + 500);
      const events = await this.db.query<EventRow>(`SELECT * FROM feedback_ticket_events WHERE ticket_id IN (${marks(chunk.length)}) ORDER BY ticket_id, id`, chunk.map((t) => t.id));
      const byTicket = new Map<number, { kind: TicketEventKind; at: number }[]>();
      for (const e of events) {
        const list = byTicket.get(Number(e.ticket_id)) ?? [];
        list.push({ kind: e.kind, at: Number(e.created_at) });
        byTicket.set(Number(e.ticket_id), list);
      }
      for (const t of chunk.map(toTicket)) {
        out.push({ id: t.id, externalUserId: t.externalUserId, source: t.source, status: t.status, category: t.category, ownerUserid: t.ownerUserid, scoreKind: t.scoreKind, score: t.score, events: byTicket.get(t.id) ?? [] });
      }
    }
    return out;
  }

  /**
   * The survey scores of these customers (the surveys feature's `survey_answers`, docs/feedback.md §Analysis), oldest
   * first; null when that table does not exist (the surveys feature is not installed).
   */
  async scoresOf(ids: string[]): Promise<CustomerScore[] | null> {
    const out: CustomerScore[] = [];
    try {
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const rows = await this.db.query<{ external_user_id: string; kind: 'nps' | 'csat'; score: Num; answered_at: Num }>(
          `SELECT external_user_id, kind, score, answered_at FROM survey_answers
            WHERE external_user_id IN (${marks(chunk.length)}) AND kind IN ('nps', 'csat') AND score IS NOT NULL ORDER BY answered_at, id`,
          chunk,
        );
        for (const r of rows) out.push({ externalUserId: r.external_user_id, kind: r.kind, score: Number(r.score), answeredAt: new Date(Number(r.answered_at)) });
      }
    } catch (err) {
      if (isMissingTable(err)) return null;
      throw err;
    }
    return out;
  }

  // ── rules ──────────────────────────────────────────────────────────────────────────────────────────────────────

  /** Every rule, by name. */
  async listRules(): Promise<FeedbackRule[]> {
    return (await this.db.query<RuleRow>('SELECT * FROM feedback_rules ORDER BY created_at, id')).map(toRule);
  }

  /** The enabled rules, in the order they were made (the first match gives the category). */
  async listEnabledRules(): Promise<FeedbackRule[]> {
    return (await this.db.query<RuleRow>('SELECT * FROM feedback_rules WHERE enabled = 1 ORDER BY created_at, id')).map(toRule);
  }

  /** How many rules there are. */
  async countRules(): Promise<number> {
    const [{ n }] = await this.db.query<{ n: Num }>('SELECT COUNT(*) AS n FROM feedback_rules');
    return Number(n);
  }

  /** A rule, or NotFoundError. */
  async getRule(id: string): Promise<FeedbackRule> {
    const rows = await this.db.query<RuleRow>('SELECT * FROM feedback_rules WHERE id = ?', [id]);
    if (!rows[0]) throw new NotFoundError('反馈分类规则不存在', 'feedback_rule_not_found');
    return toRule(rows[0]);
  }

  /** Insert a rule; false when its name is taken. */
  async insertRule(r: FeedbackRule): Promise<boolean> {
    return this.db.writeUnique(
      'INSERT INTO feedback_rules (id, name, pattern, match_type, category, opens_ticket, enabled, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)',
      [r.id, r.name, r.pattern, r.matchType, r.category, r.opensTicket ? 1 : 0, r.isEnabled ? 1 : 0, r.createdAt.getTime(), r.updatedAt.getTime()],
    );
  }

  /** Overwrite a rule; false when the new name is another rule's. */
  async updateRule(r: FeedbackRule): Promise<boolean> {
    return this.db.writeUnique('UPDATE feedback_rules SET name = ?, pattern = ?, match_type = ?, category = ?, opens_ticket = ?, enabled = ?, updated_at = ? WHERE id = ?', [
      r.name,
      r.pattern,
      r.matchType,
      r.category,
      r.opensTicket ? 1 : 0,
      r.isEnabled ? 1 : 0,
      r.updatedAt.getTime(),
      r.id,
    ]);
  }

  /** Delete a rule. */
  async deleteRule(id: string): Promise<void> {
    await this.db.exec('DELETE FROM feedback_rules WHERE id = ?', [id]);
  }
}

/** SQLite's "no such table", MySQL's ER_NO_SUCH_TABLE (1146). */
function isMissingTable(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string; driverError?: { code?: string; errno?: number } };
  const errno = e?.driverError?.errno ?? e?.errno;
  return errno === 1146 || (e?.driverError?.code ?? e?.code) === 'ER_NO_SUCH_TABLE' || /no such table/i.test(String(e?.message));
}
