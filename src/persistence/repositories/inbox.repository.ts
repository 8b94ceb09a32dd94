import { randomUUID } from 'node:crypto';
import { execIn, type Db } from '../db.js';
import { isDuplicateKeyError, isRetryableLockError } from '../data-source.js';
import { aad } from '../sealed-columns.js';
import type { FieldCipher } from '../../shared/field-cipher.js';
import type { EventFields, InboundEvent, InboxStatus } from '../../domain/inbox/inbound-event.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';

/** A row to insert into the inbox. */
export interface NewInboxEvent {
  dedupeKey: string;
  kind: string;
  subjectKey: string | null;
  fields: EventFields;
  createTimeMs: number | null;
  /** 1: claimed ahead of ordinary events (a deadline is running, see eventPriority); default 0. */
  priority?: number;
}

/** An inbox row as the admin API shows it (payload excluded). */
export interface InboxEventSummary {
  id: number;
  receivedAt: Date;
  kind: string;
  status: InboxStatus;
  attempts: number;
  error: string | null;
  subjectKey: string | null;
  processedAt: Date | null;
}

/** A claimed event and the lease token that must accompany its completion. */
export interface ClaimedEvent {
  event: InboundEvent;
  leaseOwner: string;
}

interface Row {
  id: number | string;
  dedupe_key: string;
  kind: string;
  subject_key: string | null;
  status: InboxStatus;
  attempts: number | string;
  received_at: number | string;
  processed_at: number | string | null;
  error: string | null;
  payload: string;
  priority?: number | string;
}

const SUMMARY_COLUMNS = 'id, kind, subject_key, status, attempts, received_at, processed_at, error';
const ACTIVE = "('pending','running')";

/**
 * The durable callback inbox. Raw SQL on purpose: the claim needs `FOR UPDATE SKIP LOCKED` on MySQL and a
 * single atomic `UPDATE … RETURNING` on SQLite, which no ORM call expresses. Payloads are encrypted at rest.
 */
export class InboxRepository {
  constructor(
    private readonly db: Db,
    private readonly cipher: FieldCipher,
  ) {}

  private seal(e: NewInboxEvent): string {
    return this.cipher.encrypt(JSON.stringify(e.fields), aad.inboxPayload(e.dedupeKey));
  }

  private open(row: Row): EventFields {
    return JSON.parse(this.cipher.decrypt(row.payload, aad.inboxPayload(row.dedupe_key))) as EventFields;
  }

  /**
   * Insert a batch as one multi-row statement (group commit: one fsync for many callbacks). Returns, per input, whether it
   * was new. A duplicate in the batch fails the multi-row insert, so the batch then falls back to row-by-row inserts
   * where ER_DUP_ENTRY / SQLITE_CONSTRAINT means "already stored" (reliability §5: never trust affectedRows).
   *
   * A deadlock takes the same fallback. Several instances behind a load balancer receive the same redelivered events,
   * and two multi-row inserts that share keys in different orders lock them in different orders (InnoDB 1213). The
   * victim's whole statement was rolled back, so writing its rows again one by one is safe; without this, the
   * victim's callbacks got a 503 and waited for WeCom's retry.
   */
  async insertBatch(events: NewInboxEvent[], now: number, opts: { timeoutMs?: number } = {}): Promise<boolean[]> {
    if (events.length === 0) return [];
    const values = events.map((e) => [e.dedupeKey, e.kind, e.subjectKey, 'pending', 0, now, now, this.seal(e), e.createTimeMs, e.priority ?? 0]);
    const sql = (n: number) =>
      `INSERT INTO inbox_events (dedupe_key, kind, subject_key, status, attempts, received_at, available_at, payload, create_time, priority) VALUES ${Array(n).fill('(?,?,?,?,?,?,?,?,?,?)').join(',')}`;
    try {
      await this.db.queryDurable(sql(events.length), values.flat(), opts);
      return events.map(() => true);
    } catch (err) {
      if (!isDuplicateKeyError(err) && !isRetryableLockError(err)) throw err;
    }
    const results: boolean[] = [];
    for (const v of values) results.push(await this.insertOne(sql(1), v, opts));
    return results;
  }

  /**
   * One row: true if stored, false if its key was already there. A single-row insert can still be a deadlock victim
   * (two inserts waiting on a third's duplicate key), so lock errors are retried a few times with jitter.
   */
  private async insertOne(sql: string, params: unknown[], opts: { timeoutMs?: number }): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.queryDurable(sql, params, opts);
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        if (attempt >= 5 || !isRetryableLockError(err)) throw err;
        await new Promise((r) => setTimeout(r, 2 * attempt + Math.random() * 10));
      }
    }
  }

  /**
   * Claim up to `limit` due events with a lease. An event is due when it is pending (or its lease ran out) and no
   * earlier event of the same subject is still pending or running, so one customer's events run in received order.
   * Parked (`failed`) events do not block later ones. Due events in the priority lane go first, so an add whose
   * welcome_code expires in 20 s does not wait behind a backlog (reference §4.9).
   */
  async claim(limit: number, now: number, leaseMs: number): Promise<ClaimedEvent[]> {
    const leaseOwner = randomUUID();
    const until = now + leaseMs;
    let rows: Row[];
    if (this.db.engine === 'sqlite') {
      // One statement: SQLite serializes writers, so selection and update are atomic even across processes.
      rows = await this.db.query<Row>(
        `UPDATE inbox_events SET status = 'running', lease_owner = ?, available_at = ?, attempts = attempts + 1
         WHERE id IN (
           SELECT e.id FROM inbox_events e
           WHERE e.status IN ${ACTIVE} AND e.available_at <= ?
             AND NOT EXISTS (SELECT 1 FROM inbox_events p WHERE p.subject_key = e.subject_key AND p.id < e.id AND p.status IN ${ACTIVE})
           ORDER BY e.priority DESC, e.id LIMIT ?)
         RETURNING *`,
        [leaseOwner, until, now, limit],
      );
      rows.sort((a, b) => Number(b.priority ?? 0) - Number(a.priority ?? 0) || Number(a.id) - Number(b.id));
    } else {
      rows = await this.db.withMysqlTransaction(async (query) => {
        // SKIP LOCKED: concurrent workers in any process take disjoint rows without waiting (reliability §6.2).
        // The lane first, through its own index, then the backlog; rows locked by this transaction may come back
        // from the second read and are dropped.
        const urgent: Row[] = await query(
          `SELECT id, subject_key FROM inbox_events WHERE priority > 0 AND status IN ${ACTIVE} AND available_at <= ?
           ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
          [now, limit * 2],
        );
        const rest: Row[] = urgent.length >= limit * 2 ? [] : await query(
          `SELECT id, subject_key FROM inbox_events WHERE status IN ${ACTIVE} AND available_at <= ?
           ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
          [now, limit * 2],
        );
        const taken = new Set(urgent.map((r) => Number(r.id)));
        const candidates = [...urgent, ...rest.filter((r) => !taken.has(Number(r.id)))];
        if (candidates.length === 0) return [];
        // Per-subject order: a candidate runs only if it is the oldest unfinished event of its subject. This is a
        // plain (non-locking) read, so rows locked by other workers still count as unfinished.
        const subjects = [...new Set(candidates.map((c) => c.subject_key).filter((s): s is string => s !== null))];
        const heads = new Map<string, number>();
        if (subjects.length > 0) {
          const mins: { subject_key: string; head: number | string }[] = await query(
            `SELECT subject_key, MIN(id) AS head FROM inbox_events WHERE subject_key IN (${subjects.map(() => '?').join(',')})
             AND status IN ${ACTIVE} GROUP BY subject_key`,
            subjects,
          );
          for (const m of mins) heads.set(m.subject_key, Number(m.head));
        }
        const chosen = candidates
          .filter((c) => c.subject_key === null || heads.get(c.subject_key) === Number(c.id))
          .slice(0, limit)
          .map((c) => Number(c.id));
        if (chosen.length === 0) return [];
        const marks = chosen.map(() => '?').join(',');
        await query(
          `UPDATE inbox_events SET status = 'running', lease_owner = ?, available_at = ?, attempts = attempts + 1 WHERE id IN (${marks})`,
          [leaseOwner, until, ...chosen],
        );
        return query(`SELECT * FROM inbox_events WHERE id IN (${marks}) ORDER BY priority DESC, id`, chosen);
      });
    }
    const claimed: ClaimedEvent[] = [];
    const unreadable: number[] = [];
    for (const row of rows) {
      let fields: EventFields;
      try {
        fields = this.open(row);
      } catch {
        // A payload purged by retention or erasure, or sealed under another DATA_KEY: park this one event where an
        // operator sees it, rather than failing the whole claim (and every claim after it) on one bad row.
        unreadable.push(Number(row.id));
        continue;
      }
      claimed.push({ leaseOwner, event: { id: Number(row.id), kind: row.kind, fields, receivedAt: new Date(Number(row.received_at)), attempts: Number(row.attempts) } });
    }
    if (unreadable.length > 0) {
      await this.db.query(
        `UPDATE inbox_events SET status = 'failed', lease_owner = NULL, error = ? WHERE id IN (${unreadable.map(() => '?').join(',')}) AND lease_owner = ?`,
        ['payload unavailable: purged or sealed under another DATA_KEY', ...unreadable, leaseOwner],
      );
    }
    return claimed;
  }

  /**
   * Finish a claimed event, fenced by its lease: if the lease was lost (expired and re-claimed elsewhere) nothing
   * is written and false is returned. `extra` runs in the same transaction (e.g. the timeline entry).
   */
  async finish(
    claimed: ClaimedEvent,
    status: 'done' | 'ignored',
    now: number,
    extra?: (em: import('typeorm').EntityManager) => Promise<void>,
  ): Promise<boolean> {
    return this.db.tx(async (em) => {
      const changed = await execIn(
        em,
        `UPDATE inbox_events SET status = ?, processed_at = ?, lease_owner = NULL, error = NULL WHERE id = ? AND lease_owner = ?`,
        [status, now, claimed.event.id, claimed.leaseOwner],
      );
      if (changed !== 1) return false;
      if (extra) await extra(em);
      return true;
    });
  }

  /** Record a failure: back to pending at `retryAt`, or parked as `failed` when retryAt is null. Lease-fenced. */
  async fail(claimed: ClaimedEvent, error: string, retryAt: number | null, now: number): Promise<boolean> {
    const changed = await this.db.exec(
      retryAt === null
        ? `UPDATE inbox_events SET status = 'failed', error = ?, lease_owner = NULL, processed_at = ? WHERE id = ? AND lease_owner = ?`
        : `UPDATE inbox_events SET status = 'pending', error = ?, lease_owner = NULL, available_at = ? WHERE id = ? AND lease_owner = ?`,
      [error.slice(0, 4000), retryAt ?? now, claimed.event.id, claimed.leaseOwner],
    );
    return changed === 1;
  }

  /** Give leases back without counting an attempt (graceful shutdown). */
  async release(claims: ClaimedEvent[], now: number): Promise<void> {
    for (const c of claims) {
      await this.db.query(
        `UPDATE inbox_events SET status = 'pending', lease_owner = NULL, available_at = ?, attempts = attempts - 1 WHERE id = ? AND lease_owner = ?`,
        [now, c.event.id, c.leaseOwner],
      );
    }
  }

  /** Put a failed (or any finished) event back in the queue, with a fresh attempt budget. */
  async replay(id: number, now: number): Promise<InboxEventSummary> {
    const row = await this.findSummary(id);
    if (!row) throw new NotFoundError(`事件 ${id} 不存在`, 'event_not_found');
    const [stored] = await this.db.query<{ payload: string | null }>('SELECT payload FROM inbox_events WHERE id = ?', [id]);
    if (!stored?.payload) throw new ConflictError(`事件 ${id} 的内容已按保留期限或删除请求清除，无法重放 / its payload was purged`, 'event_purged');
    await this.db.query(
      `UPDATE inbox_events SET status = 'pending', attempts = 0, available_at = ?, lease_owner = NULL, error = NULL WHERE id = ? AND status <> 'running'`,
      [now, id],
    );
    return (await this.findSummary(id))!;
  }

  /** One event's summary, or null. */
  async findSummary(id: number): Promise<InboxEventSummary | null> {
    const rows = await this.db.query<Row>(`SELECT ${SUMMARY_COLUMNS} FROM inbox_events WHERE id = ?`, [id]);
    return rows[0] ? toSummary(rows[0]) : null;
  }

  /** Newest first, optionally filtered by status. */
  async list(opts: { status?: InboxStatus; limit: number; offset: number }): Promise<{ items: InboxEventSummary[]; total: number }> {
    const where = opts.status ? 'WHERE status = ?' : '';
    const params = opts.status ? [opts.status] : [];
    const rows = await this.db.query<Row>(
      `SELECT ${SUMMARY_COLUMNS} FROM inbox_events ${where} ORDER BY id DESC LIMIT ? OFFSET ?`,
      [...params, opts.limit, opts.offset],
    );
    const [{ n }] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM inbox_events ${where}`, params);
    return { items: rows.map(toSummary), total: Number(n) };
  }

  /** Counts per status, for metrics and readiness. */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db.query<{ status: string; n: number | string }>(
      'SELECT status, COUNT(*) AS n FROM inbox_events GROUP BY status',
    );
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

}

function toSummary(r: Row): InboxEventSummary {
  return {
    id: Number(r.id),
    receivedAt: new Date(Number(r.received_at)),
    kind: r.kind,
    status: r.status,
    attempts: Number(r.attempts),
    error: r.error,
    subjectKey: r.subject_key,
    processedAt: r.processed_at === null ? null : new Date(Number(r.processed_at)),
  };
}
