import type { Db } from '../db.js';
import { NotFoundError } from '../../shared/errors.js';
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { AudienceSummary, Broadcast, BroadcastStatus, NewBroadcast } from '../../domain/broadcasts/broadcast.types.js';
import type { SqlCondition } from '../../domain/care/care-scan.types.js';

interface Row {
  id: string;
  name: string;
  audience: string;
  text: string;
  attachments: string | null;
  content_ids?: string | null;
  sender_policy: string;
  send_at: number | string;
  status: BroadcastStatus;
  reason: string | null;
  audience_count: number | string;
  tasks_estimate: number | string;
  personalized: number | string | boolean;
  holdout_percent?: number | string | null;
  created_by: string | null;
  claim_token: string | null;
  claimed_by: string | null;
  claimed_at: number | string | null;
  attempts: number | string;
  planned_at: number | string | null;
  finished_at: number | string | null;
  cancelled_at: number | string | null;
  created_at: number | string;
  updated_at: number | string;
}

const ms = (v: number | string | null): Date | null => (v === null ? null : new Date(Number(v)));

function toBroadcast(r: Row): Broadcast {
  return {
    id: r.id,
    name: r.name,
    audience: r.audience,
    text: r.text,
    attachments: r.attachments ? (JSON.parse(r.attachments) as MessageAttachment[]) : [],
    contentIds: r.content_ids ? (JSON.parse(r.content_ids) as string[]) : [],
    senderPolicy: 'owner',
    sendAt: new Date(Number(r.send_at)),
    status: r.status,
    reason: r.reason,
    audienceCount: Number(r.audience_count),
    tasksEstimate: Number(r.tasks_estimate),
    isPersonalized: r.personalized === true || Number(r.personalized) === 1,
    holdoutPercent: Number(r.holdout_percent ?? 0),
    createdBy: r.created_by,
    claimToken: r.claim_token,
    claimedBy: r.claimed_by,
    claimedAt: ms(r.claimed_at),
    attempts: Number(r.attempts),
    plannedAt: ms(r.planned_at),
    finishedAt: ms(r.finished_at),
    cancelledAt: ms(r.cancelled_at),
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

const reason = (text: string) => text.slice(0, 200);

/**
 * `broadcasts`. Every status change is a compare-and-set on the current status (and, while planning, on the claim
 * token), so two instances never both plan one broadcast and a planner that lost its claim cannot finish it.
 */
export class BroadcastRepository {
  constructor(private readonly db: Db) {}

  /** Insert a scheduled broadcast. */
  async insert(b: NewBroadcast, now: Date): Promise<void> {
    await this.db.query(
      `INSERT INTO broadcasts (id, name, audience, text, attachments, content_ids, sender_policy, send_at, status, audience_count, tasks_estimate, personalized,
         holdout_percent, created_by, attempts, created_at, updated_at)
       VALUES (?,?,?,?,?,?,?,?,'scheduled',?,?,?,?,?,0,?,?)`,
      [
        b.id, b.name, b.audience, b.text, b.attachments.length ? JSON.stringify(b.attachments) : null, b.contentIds?.length ? JSON.stringify(b.contentIds) : null, b.senderPolicy, b.sendAt.getTime(),
        b.audienceCount, b.tasksEstimate, b.isPersonalized ? 1 : 0, b.holdoutPercent ?? 0, b.createdBy, now.getTime(), now.getTime(),
      ],
    );
  }

  /** A broadcast, or null. */
  async find(id: string): Promise<Broadcast | null> {
    const [r] = await this.db.query<Row>('SELECT * FROM broadcasts WHERE id = ?', [id]);
    return r ? toBroadcast(r) : null;
  }

  /** A broadcast, or NotFoundError. */
  async get(id: string): Promise<Broadcast> {
    const b = await this.find(id);
    if (!b) throw new NotFoundError(`没有这个群发 / no broadcast ${id}`, 'broadcast_not_found');
    return b;
  }

  /** A page, newest first. */
  async list(f: { status?: BroadcastStatus; page: number; pageSize: number }): Promise<{ items: Broadcast[]; total: number }> {
    const clause = f.status ? 'WHERE status = ?' : '';
    const params = f.status ? [f.status] : [];
    const [{ n }] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM broadcasts ${clause}`, params);
    const rows = await this.db.query<Row>(`SELECT * FROM broadcasts ${clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, [
      ...params, f.pageSize, (f.page - 1) * f.pageSize,
    ]);
    return { items: rows.map(toBroadcast), total: Number(n) };
  }

  /** Broadcasts to plan at `now`: scheduled and due, or left `planning` by a claim older than `staleBefore`. */
  async findDue(now: Date, staleBefore: Date, limit: number): Promise<Broadcast[]> {
    const rows = await this.db.query<Row>(
      `SELECT * FROM broadcasts WHERE (status = 'scheduled' AND send_at <= ?) OR (status = 'planning' AND (claimed_at IS NULL OR claimed_at < ?)) ORDER BY send_at, id LIMIT ?`,
      [now.getTime(), staleBefore.getTime(), limit],
    );
    return rows.map(toBroadcast);
  }

  /**
   * Claim a broadcast for planning: scheduled → planning, or take over a planning run whose claim went stale (its
   * process died). One UPDATE with the expected state in its WHERE clause: of any number of racing instances exactly
   * one changes the row, on both engines. Returns the claimed broadcast, or null when another instance has it.
   */
  async claim(id: string, token: string, instanceId: string, now: Date, staleBefore: Date): Promise<Broadcast | null> {
    const changed = await this.db.exec(
      `UPDATE broadcasts SET status = 'planning', claim_token = ?, claimed_by = ?, claimed_at = ?, attempts = attempts + 1, updated_at = ?
       WHERE id = ? AND ((status = 'scheduled' AND send_at <= ?) OR (status = 'planning' AND (claimed_at IS NULL OR claimed_at < ?)))`,
      [token, instanceId, now.getTime(), now.getTime(), id, now.getTime(), staleBefore.getTime()],
    );
    if (changed !== 1) return null;
    const b = await this.find(id);
    return b && b.claimToken === token ? b : null;
  }

  /** Renew a planning claim; false when it was lost (taken over, or the broadcast changed). */
  async renewClaim(id: string, token: string, now: Date): Promise<boolean> {
    return (await this.db.exec("UPDATE broadcasts SET claimed_at = ? WHERE id = ? AND claim_token = ? AND status = 'planning'", [now.getTime(), id, token])) === 1;
  }

  /** Planning finished: planning → sending (fenced by the claim). */
  async markPlanned(id: string, token: string, note: string | null, now: Date): Promise<boolean> {
    return (
      (await this.db.exec(
        "UPDATE broadcasts SET status = 'sending', reason = ?, planned_at = ?, updated_at = ? WHERE id = ? AND claim_token = ? AND status = 'planning'",
        [note ? reason(note) : null, now.getTime(), now.getTime(), id, token],
      )) === 1
    );
  }

  /** Planning failed for a reason worth retrying: back to scheduled, with the reason shown meanwhile. */
  async releaseClaim(id: string, token: string, why: string, now: Date): Promise<boolean> {
    return (
      (await this.db.exec(
        "UPDATE broadcasts SET status = 'scheduled', reason = ?, claim_token = NULL, claimed_at = NULL, updated_at = ? WHERE id = ? AND claim_token = ? AND status = 'planning'",
        [reason(why), now.getTime(), id, token],
      )) === 1
    );
  }

  /** The broadcast cannot be sent: planning → failed with the reason (fenced by the claim). */
  async fail(id: string, token: string, why: string, now: Date): Promise<boolean> {
    return (
      (await this.db.exec(
        "UPDATE broadcasts SET status = 'failed', reason = ?, finished_at = ?, updated_at = ? WHERE id = ? AND claim_token = ? AND status = 'planning'",
        [reason(why), now.getTime(), now.getTime(), id, token],
      )) === 1
    );
  }

  /** Cancel from `from` (scheduled, or sending); false when the broadcast has moved on. */
  async cancel(id: string, from: 'scheduled' | 'sending', now: Date): Promise<boolean> {
    return (
      (await this.db.exec(
        "UPDATE broadcasts SET status = 'cancelled', reason = ?, cancelled_at = ?, finished_at = ?, updated_at = ? WHERE id = ? AND status = ?",
        ['cancelled: 运营取消 / cancelled by an operator', now.getTime(), now.getTime(), now.getTime(), id, from],
      )) === 1
    );
  }

  /**
   * Sending broadcasts whose ledger rows are all final (none planned, submitting or submitted) become done. Returns
   * how many finished.
   */
  async finishDelivered(now: Date): Promise<number> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT b.id FROM broadcasts b WHERE b.status = 'sending' AND NOT EXISTS (
         SELECT 1 FROM deliveries d WHERE d.broadcast_id = b.id AND d.status IN ('planned', 'submitting', 'submitted'))`,
    );
    let done = 0;
    for (const { id } of rows) {
      done += await this.db.exec("UPDATE broadcasts SET status = 'done', finished_at = ?, updated_at = ? WHERE id = ? AND status = 'sending'", [
        now.getTime(), now.getTime(), id,
      ]);
    }
    return done;
  }

  /**
   * Size, opted-out and reachable counts of an audience (a compiled condition over `customers c`), and with
   * `perFollower` the reachable customers of each active follower. That count joins the audience's customers to
   * their active relations (1.2 s on SQLite and 2.4 s on MySQL for a million customers), so it is
   * asked only when the tasks estimate needs it: a message with variables is one task per customer anyway.
   */
  async summarizeAudience(where: SqlCondition, opts: { perFollower: boolean }): Promise<AudienceSummary> {
    const active = "EXISTS (SELECT 1 FROM follow_relations r WHERE r.external_user_id = c.external_user_id AND r.status = 'active')";
    // Each follower's count: COUNT(*) instead of COUNT(DISTINCT customer), since a member follows a customer once
    // (the pair is unique); the DISTINCT was most of MySQL's 10.6 s at a million (2.4 s without). On SQLite the join
    // goes from the audience's customers to their relations through the customer index, which holds the status, as
    // the reachable count does (CROSS JOIN keeps that order); left to choose, SQLite walked every relation in follower
    // order and looked up its row and its customer: 5.8–8.8 s against 1.2 s, past the 5 s deadline
    // (docs/audiences.md §Creating a broadcast to a million).
    const join = this.db.engine === 'sqlite' ? 'CROSS JOIN' : 'JOIN';
    // Counted for an API caller (POST /api/v1/broadcasts): API reads, off the event loop on SQLite and under
    // API_STATEMENT_TIMEOUT_MS on MySQL (docs/security.md §Audience queries). Asked together: on MySQL each takes a
    // connection of its own, so the caller waits for the slowest, not the sum; SQLite's reader thread takes them in turn.
    const [[t], [r], per] = await Promise.all([
      this.db.apiRead<{ n: number | string; opted: number | string | null }>(
        `SELECT COUNT(*) AS n, SUM(CASE WHEN c.opted_out = 1 THEN 1 ELSE 0 END) AS opted FROM customers c WHERE ${where.sql}`,
        where.params,
      ),
      // The reachable apart, its EXISTS in the WHERE, where the engines join it as a semi-join; inside a CASE of the
      // first statement it ran once per customer: at a million customers 4.3–7.0 s on MySQL, past the 5 s deadline,
      // against 2.6–3.3 s for the two statements, and 0.6–3.3 s against 0.8 s on SQLite.
      // docs/audiences.md §Releasing a planned broadcast
      this.db.apiRead<{ n: number | string }>(`SELECT COUNT(*) AS n FROM customers c WHERE c.opted_out = 0 AND (${where.sql}) AND ${active}`, where.params),
      !opts.perFollower
        ? Promise.resolve([])
        : this.db.apiRead<{ n: number | string }>(
            `SELECT COUNT(*) AS n FROM customers c ${join} follow_relations fr ON fr.external_user_id = c.external_user_id AND fr.status = 'active'
             WHERE c.opted_out = 0 AND (${where.sql}) GROUP BY fr.userid`,
            where.params,
          ),
    ]);
    return { count: Number(t.n), optedOut: Number(t.opted ?? 0), reachable: Number(r.n), perFollower: per.map((p) => Number(p.n)) };
  }

  /**
   * One customer of an audience to preview a message for: the one named when they are in it, else the newest. Null
   * when there is none. An API read, like the counts above.
   */
  async sampleOfAudience(where: SqlCondition, externalUserId?: string): Promise<{ externalUserId: string; name: string; isOptedOut: boolean } | null> {
    const rows = await this.db.apiRead<{ external_user_id: string; name: string | null; opted_out: number | string | boolean }>(
      `SELECT c.external_user_id, c.name, c.opted_out FROM customers c WHERE (${where.sql})${externalUserId === undefined ? '' : ' AND c.external_user_id = ?'}
       ORDER BY c.created_at DESC, c.external_user_id LIMIT 1`,
      externalUserId === undefined ? where.params : [...where.params, externalUserId],
    );
    const r = rows[0];
    return r ? { externalUserId: r.external_user_id, name: r.name ?? '', isOptedOut: r.opted_out === true || Number(r.opted_out) === 1 } : null;
  }
}
