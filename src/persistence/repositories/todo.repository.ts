import type { Db } from '../db.js';

const marks = (n: number) => Array(n).fill('?').join(',');

/** An open follow-up note due on or before a date. */
export interface DueNoteRow {
  id: string;
  externalUserId: string;
  text: string;
  dueDate: string;
}

/** An open (or contacted) feedback ticket routed to a member. */
export interface OpenTicketRow {
  id: number;
  externalUserId: string;
  status: 'open' | 'contacted';
  category: string | null;
  summary: string;
  dueAt: Date;
}

/** A mass-send task waiting for its member in 群发助手: a ledger batch with rows still `submitted`. */
export interface WaitingMassTaskRow {
  batchId: string;
  msgId: string;
  text: string;
  submittedAt: Date;
  waiting: number;
  /** The customers still waiting (at most 3, for the list's words) and the first row's feature. */
  customers: string[];
  kind: string;
  broadcastId: string | null;
}

/**
 * The other features' rows today's to-do list reads (docs/todo.md §One list across sources): follow-up notes due,
 * feedback tickets routed to the member, and mass-send tasks they have not confirmed. Reads only; each source's own
 * service changes its rows.
 */
export class TodoRepository {
  constructor(private readonly db: Db) {}

  /** A member's open notes due on or before `date` ('YYYY-MM-DD'), oldest due first. */
  async notesDue(userid: string, date: string, externalUserId: string | null, limit = 200): Promise<DueNoteRow[]> {
    const params: unknown[] = [userid, date];
    let where = 'userid = ? AND done_at IS NULL AND due_date IS NOT NULL AND due_date <= ?';
    if (externalUserId !== null) {
      where += ' AND external_user_id = ?';
      params.push(externalUserId);
    }
    const rows = await this.db.query<{ id: string; external_user_id: string; text: string; due_date: string }>(
      `SELECT id, external_user_id, text, due_date FROM notes WHERE ${where} ORDER BY due_date, created_at, id LIMIT ${limit}`,
      params,
    );
    return rows.map((r) => ({ id: r.id, externalUserId: r.external_user_id, text: r.text, dueDate: r.due_date }));
  }

  /** Tickets routed to a member that are not resolved, the first-contact deadline first. */
  async openTickets(userid: string, externalUserId: string | null, limit = 200): Promise<OpenTicketRow[]> {
    const params: unknown[] = [userid];
    let where = "owner_userid = ? AND status IN ('open', 'contacted')";
    if (externalUserId !== null) {
      where += ' AND external_user_id = ?';
      params.push(externalUserId);
    }
    const rows = await this.db.query<{ id: number | string; external_user_id: string; status: 'open' | 'contacted'; category: string | null; summary: string; due_at: number | string }>(
      `SELECT id, external_user_id, status, category, summary, due_at FROM feedback_tickets WHERE ${where} ORDER BY due_at, id LIMIT ${limit}`,
      params,
    );
    return rows.map((r) => ({ id: Number(r.id), externalUserId: r.external_user_id, status: r.status, category: r.category, summary: r.summary, dueAt: new Date(Number(r.due_at)) }));
  }

  /**
   * A member's mass-send tasks WeCom holds for them in 群发助手 that they have not sent: batches `submitted` with a msgid
   * whose rows are all still `submitted` (the result poll turns them into sent or failed once the member confirms,
   * docs/wecom-protocol.md §Mass message results). With a customer, only the tasks that include them.
   */
  async waitingMassTasks(userid: string, externalUserId: string | null, limit = 100): Promise<WaitingMassTaskRow[]> {
    const batches = await this.db.query<{ id: string; msgid: string; text: string | null; submitted_at: number | string | null; created_at: number | string }>(
      `SELECT id, msgid, text, submitted_at, created_at FROM delivery_batches
        WHERE status = 'submitted' AND channel = 'mass_task' AND sender_userid = ? AND msgid IS NOT NULL
        ORDER BY submitted_at, id LIMIT ${limit}`,
      [userid],
    );
    if (batches.length === 0) return [];
    const ids = batches.map((b) => b.id);
    const rows = await this.db.query<{ batch_id: string; external_user_id: string; status: string; kind: string; broadcast_id: string | null }>(
      `SELECT batch_id, external_user_id, status, kind, broadcast_id FROM deliveries WHERE batch_id IN (${marks(ids.length)}) ORDER BY id`,
      ids,
    );
    const byBatch = new Map<string, typeof rows>();
    for (const r of rows) byBatch.set(r.batch_id, [...(byBatch.get(r.batch_id) ?? []), r]);
    const out: WaitingMassTaskRow[] = [];
    for (const b of batches) {
      const its = byBatch.get(b.id) ?? [];
      const waiting = its.filter((r) => r.status === 'submitted');
      // Any row past `submitted` means the member confirmed (or WeCom cancelled it): nothing left to do in 群发助手.
      if (waiting.length === 0 || waiting.length !== its.length) continue;
      if (externalUserId !== null && !waiting.some((r) => r.external_user_id === externalUserId)) continue;
      out.push({
        batchId: b.id,
        msgId: b.msgid,
        text: b.text ?? '',
        submittedAt: new Date(Number(b.submitted_at ?? b.created_at)),
        waiting: waiting.length,
        customers: (externalUserId !== null ? [externalUserId] : waiting.map((r) => r.external_user_id)).slice(0, 3),
        kind: waiting[0].kind,
        broadcastId: waiting[0].broadcast_id,
      });
    }
    return out;
  }

  /** Members with open notes due on or before `date`, with how many. */
  async notesDueCounts(date: string): Promise<Map<string, number>> {
    const rows = await this.db.query<{ userid: string; n: number | string }>(
      'SELECT userid, COUNT(*) AS n FROM notes WHERE done_at IS NULL AND due_date IS NOT NULL AND due_date <= ? AND userid IS NOT NULL GROUP BY userid',
      [date],
    );
    return new Map(rows.map((r) => [r.userid, Number(r.n)]));
  }

  /** Members with unresolved tickets, with how many. */
  async openTicketCounts(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ userid: string; n: number | string }>(
      "SELECT owner_userid AS userid, COUNT(*) AS n FROM feedback_tickets WHERE status IN ('open', 'contacted') AND owner_userid IS NOT NULL GROUP BY owner_userid",
    );
    return new Map(rows.map((r) => [r.userid, Number(r.n)]));
  }

  /** Members with mass tasks waiting in 群发助手 (batches not yet confirmed), with how many. */
  async waitingMassTaskCounts(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ userid: string; n: number | string }>(
      `SELECT b.sender_userid AS userid, COUNT(*) AS n FROM delivery_batches b
        WHERE b.status = 'submitted' AND b.channel = 'mass_task' AND b.sender_userid IS NOT NULL AND b.msgid IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.batch_id = b.id AND d.status <> 'submitted')
        GROUP BY b.sender_userid`,
    );
    return new Map(rows.map((r) => [r.userid, Number(r.n)]));
  }

  /** Members who have left (their digest is not sent). */
  async resigned(userids: string[]): Promise<Set<string>> {
    if (userids.length === 0) return new Set();
    const out = new Set<string>();
    for (let i = 0; i < userids.length; i += 500) {
      const part = userids.slice(i, i + 500);
      const rows = await this.db.query<{ userid: string }>(`SELECT userid FROM staff WHERE status = 'resigned' AND userid IN (${marks(part.length)})`, part);
      for (const r of rows) out.add(r.userid);
    }
    return out;
  }

  /** Claim a member's morning digest for a local date: true for the one instance whose INSERT got in. */
  async claimDigest(userid: string, localDate: string, count: number, instanceId: string, at: Date): Promise<boolean> {
    return this.db.writeUnique('INSERT INTO todo_digests (userid, local_date, item_count, instance_id, claimed_at) VALUES (?,?,?,?,?)', [userid, localDate, count, instanceId, at.getTime()]);
  }

  /** Record the outcome of a claimed digest: sent now, waiting for the member's cap, or failed. */
  async finishDigest(userid: string, localDate: string, outcome: 'sent' | 'deferred' | 'failed', at: Date): Promise<void> {
    await this.db.query('UPDATE todo_digests SET outcome = ?, finished_at = ? WHERE userid = ? AND local_date = ?', [outcome, at.getTime(), userid, localDate]);
  }
}
