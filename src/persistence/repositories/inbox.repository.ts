import { randomUUID } from 'node:crypto';
import { execIn, type Db } from '../db.js';
import { isDuplicateKeyError, isRetryableLockError } from '../data-source.js';
import { aad } from '../sealed-columns.js';
import type { FieldCipher } from '../../shared/field-cipher.js';
import type { ClaimedEvent, DeferredField, EventFields, InboxEventSummary, InboxStatus, LaneLimits, NewInboxEvent } from '../../domain/inbox/inbox.types.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';

/** The field the inbox adds once an event's urgent part has run (inbound-event.ts's DEFERRED_FIELD: same type). */
const DEFERRED_FIELD: DeferredField = '__deferred';

/**
 * A new payload (one placeholder) for a handled row, unless an erasure emptied it meanwhile: writing it back would
 * undo the erasure (docs/reliability.md §PIPL duties).
 */
const UNLESS_ERASED = "CASE WHEN payload = '' THEN payload ELSE ? END";

/** Subjects whose pending notifications only say "something changed", so one handling covers them all. */
const COALESCED_SUBJECTS = ['kf:', 'tag:'];
/** How many notifications one claim folds into its head at most (bounds the statement). */
const MAX_ABSORBED = 10_000;

interface Row {
  id: number | string;
  queue_lane?: number | string | null;
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
 * The oldest unfinished event of a subject (two placeholders, both the subject). One MIN per status, so each is read
 * off the (subject_key, status) index, however many events the subject has waiting; `status IN (…)` with MIN or
 * ORDER BY read them all (docs/inbox.md §Claims that stay flat).
 */
const OLDEST_ACTIVE = `SELECT MIN(m) FROM (SELECT MIN(id) AS m FROM inbox_events WHERE subject_key = ? AND status = 'pending' UNION ALL SELECT MIN(id) AS m FROM inbox_events WHERE subject_key = ? AND status = 'running') oldest`;
/** Whether a subject has a ready event (one placeholder), through (subject_key, queue_lane). */
const ANY_READY = `SELECT 1 FROM inbox_events WHERE subject_key = ? AND queue_lane IS NOT NULL AND status IN ${ACTIVE}`;
/** An event's claim lane when no earlier unfinished event of its subject exists; NULL (waiting) otherwise. */
const LANE_ON_INSERT = `CASE WHEN EXISTS (SELECT 1 FROM inbox_events w WHERE w.subject_key = ? AND w.status IN ${ACTIVE}) THEN NULL ELSE ? END`;

/**
 * The durable callback inbox. Raw SQL on purpose: the claim needs `FOR UPDATE SKIP LOCKED` on MySQL and a
 * single atomic `UPDATE … RETURNING` on SQLite, which no ORM call expresses. Payloads are encrypted at rest.
 */
export class InboxRepository {
  constructor(
    private readonly db: Db,
    private readonly cipher: FieldCipher,
  ) {}

  private seal(fields: EventFields, dedupeKey: string): string {
    return this.cipher.encrypt(JSON.stringify(fields), aad.inboxPayload(dedupeKey));
  }

  /**
   * The payload as WeCom sent it, when what an urgent part kept (docs/inbox.md §Deadline first) must go: null when
   * there is nothing to drop.
   */
  private sealWithoutKept(fields: EventFields, dedupeKey: string): string | null {
    if (!(DEFERRED_FIELD in fields)) return null;
    const { [DEFERRED_FIELD]: _kept, ...asSent } = fields;
    return this.seal(asSent, dedupeKey);
  }

  private open(row: Pick<Row, 'payload' | 'dedupe_key'>): EventFields {
    return JSON.parse(this.cipher.decrypt(row.payload, aad.inboxPayload(row.dedupe_key))) as EventFields;
  }

  /**
   * Insert a batch as one multi-row statement (group commit: one fsync for many callbacks). Returns, per input, whether it
   * was new. A duplicate in the batch fails the multi-row insert, so the batch then falls back to row-by-row inserts
   * where ER_DUP_ENTRY / SQLITE_CONSTRAINT means "already stored" (docs/reliability.md §Database idioms: never trust
   * affectedRows).
   *
   * A deadlock takes the same fallback. Several instances behind a load balancer receive the same redelivered events,
   * and two multi-row inserts that share keys in different orders lock them in different orders (InnoDB 1213). The
   * victim's whole statement was rolled back, so writing its rows again one by one is safe; without this, the
   * victim's callbacks got a 503 and waited for WeCom's retry.
   */
  async insertBatch(events: NewInboxEvent[], now: number, opts: { timeoutMs?: number } = {}): Promise<boolean[]> {
    if (events.length === 0) return [];
    // The queue lane is decided in the statement itself, against committed rows
    // (docs/inbox.md §Claims that stay flat): an event waits (NULL) when its subject has an unfinished event, or an
    // earlier one in this batch.
    const rows = (inBatch: boolean) => {
      const seen = new Set<string>();
      return events.map((e) => {
        const base = [e.dedupeKey, e.kind, e.subjectKey, 'pending', 0, now, now, this.seal(e.fields, e.dedupeKey), e.createTimeMs, e.priority ?? 0];
        const lane = e.priority ?? 0;
        if (e.subjectKey === null) return { sql: '(?,?,?,?,?,?,?,?,?,?,?)', params: [...base, lane] };
        if (inBatch && seen.has(e.subjectKey)) return { sql: '(?,?,?,?,?,?,?,?,?,?,NULL)', params: base };
        seen.add(e.subjectKey);
        return { sql: `(?,?,?,?,?,?,?,?,?,?,${LANE_ON_INSERT})`, params: [...base, e.subjectKey, lane] };
      });
    };
    const insert = 'INSERT INTO inbox_events (dedupe_key, kind, subject_key, status, attempts, received_at, available_at, payload, create_time, priority, queue_lane) VALUES ';
    try {
      const batch = rows(true);
      await this.db.queryDurable(insert + batch.map((r) => r.sql).join(','), batch.flatMap((r) => r.params), opts);
      return events.map(() => true);
    } catch (err) {
      if (!isDuplicateKeyError(err) && !isRetryableLockError(err)) throw err;
    }
    // One by one, each row sees the ones stored before it, so each decides its own lane.
    const results: boolean[] = [];
    for (const r of rows(false)) results.push(await this.insertOne(insert + r.sql, r.params, opts));
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
   * welcome_code expires in 20 s does not wait behind a backlog (docs/wecom-protocol.md §Welcome messages).
   */
  async claim(limit: number | LaneLimits, now: number, leaseMs: number, urgentLeaseMs = leaseMs): Promise<ClaimedEvent[]> {
    const leaseOwner = randomUUID();
    const until = now + leaseMs;
    // The priority lane's lease is short (docs/inbox.md §Deadline first): a crashed worker's adds come back in time.
    const urgentUntil = now + Math.min(urgentLeaseMs, leaseMs);
    // A number: that many at most, the priority lane first. Per lane: the processor's separate slots for each.
    const lanes: LaneLimits = typeof limit === 'number' ? { urgent: limit, ordinary: limit } : limit;
    const total = typeof limit === 'number' ? limit : limit.urgent + limit.ordinary;
    if (total <= 0) return [];
    let rows: Row[];
    if (this.db.engine === 'sqlite') {
      // One statement: SQLite serializes writers, so selection and update are atomic even across processes.
      // Only ready rows (heads of their subject) are read, lane by lane through ix_inbox_events_queue, so the cost
      // does not grow with events waiting behind a busy subject (docs/inbox.md §Claims that stay flat).
      rows = await this.db.query<Row>(
        `UPDATE inbox_events SET status = 'running', lease_owner = ?, available_at = CASE WHEN queue_lane = 1 THEN ? ELSE ? END, attempts = attempts + 1
         WHERE id IN (
           SELECT id FROM (SELECT id FROM inbox_events WHERE queue_lane = 1 AND status IN ${ACTIVE} AND available_at <= ? ORDER BY id LIMIT ?)
           UNION ALL
           SELECT id FROM (SELECT id FROM inbox_events WHERE queue_lane = 0 AND status IN ${ACTIVE} AND available_at <= ? ORDER BY id LIMIT ?)
           LIMIT ?)
         RETURNING *`,
        [leaseOwner, urgentUntil, until, now, lanes.urgent, now, lanes.ordinary, total],
      );
      rows.sort((a, b) => Number(b.priority ?? 0) - Number(a.priority ?? 0) || Number(a.id) - Number(b.id));
    } else {
      rows = await this.db.withMysqlTransaction(async (query) => {
        // SKIP LOCKED: concurrent workers in any process take disjoint rows without waiting
        // (docs/reliability.md §Claiming queue rows). The lane first, through its own index, then the backlog; rows
        // locked by this transaction may come back from the second read and are dropped.
        // Only ready rows are read (docs/inbox.md §Claims that stay flat).
        const urgent: Row[] = lanes.urgent <= 0 ? [] : await query(
          `SELECT * FROM inbox_events WHERE queue_lane = 1 AND status IN ${ACTIVE} AND available_at <= ?
           ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
          [now, lanes.urgent * 2],
        );
        // With one limit for both lanes, a full priority lane leaves no room for the other.
        const rest: Row[] = lanes.ordinary <= 0 || (typeof limit === 'number' && urgent.length >= total * 2) ? [] : await query(
          `SELECT * FROM inbox_events WHERE queue_lane = 0 AND status IN ${ACTIVE} AND available_at <= ?
           ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
          [now, lanes.ordinary * 2],
        );
        const taken = new Set(urgent.map((r) => Number(r.id)));
        const candidates = [...urgent, ...rest.filter((r) => !taken.has(Number(r.id)))];
        if (candidates.length === 0) return [];
        // Per-subject order: a candidate runs only if it is the oldest unfinished event of its subject. Two instances
        // storing one subject's events at once can both see none unfinished and make both ready; this check keeps the
        // later one waiting. It is a plain (non-locking) read, so rows locked by other workers still count.
        const subjects = [...new Set(candidates.map((c) => c.subject_key).filter((s): s is string => s !== null))];
        const heads = new Map<string, number>();
        if (subjects.length > 0) {
          // One MIN per subject and status, each an index seek: MariaDB answered `subject_key IN (…) GROUP BY` by
          // reading a busy subject's whole backlog (the claim bench's 100,000 events on one customer).
          const one = `SELECT ? AS subject_key, (SELECT MIN(id) FROM inbox_events WHERE subject_key = ? AND status = 'pending') AS p, (SELECT MIN(id) FROM inbox_events WHERE subject_key = ? AND status = 'running') AS r`;
          const mins: { subject_key: string; p: number | string | null; r: number | string | null }[] = await query(
            subjects.map(() => one).join(' UNION ALL '),
            subjects.flatMap((x) => [x, x, x]),
          );
          for (const m of mins) {
            const head = Math.min(m.p === null ? Infinity : Number(m.p), m.r === null ? Infinity : Number(m.r));
            if (head !== Infinity) heads.set(m.subject_key, head);
          }
        }
        const isHead = (c: Row) => c.subject_key === null || heads.get(c.subject_key) === Number(c.id);
        const chosen =
          typeof limit === 'number'
            ? candidates.filter(isHead).slice(0, limit)
            : [...urgent.filter(isHead).slice(0, lanes.urgent), ...rest.filter((r) => !taken.has(Number(r.id)) && isHead(r)).slice(0, lanes.ordinary)];
        if (chosen.length === 0) return [];
        const ids = chosen.map((c) => Number(c.id));
        await query(
          `UPDATE inbox_events SET status = 'running', lease_owner = ?, available_at = CASE WHEN queue_lane = 1 THEN ? ELSE ? END, attempts = attempts + 1 WHERE id IN (${ids.map(() => '?').join(',')})`,
          [leaseOwner, urgentUntil, until, ...ids],
        );
        // The rows as the UPDATE left them (read with the candidates, saving a round trip).
        return chosen
          .map((c) => ({ ...c, status: 'running' as const, attempts: Number(c.attempts) + 1 }))
          .sort((a, b) => Number(b.priority ?? 0) - Number(a.priority ?? 0) || Number(a.id) - Number(b.id));
      });
    }
    const claimed: ClaimedEvent[] = [];
    const unreadable: number[] = [];
    for (const row of rows) {
      let fields: EventFields;
      let receivedAt = new Date(Number(row.received_at));
      let absorbed: number[] = [];
      try {
        fields = this.open(row);
        if (row.subject_key && COALESCED_SUBJECTS.some((p) => row.subject_key!.startsWith(p))) {
          const folded = await this.absorb(row, leaseOwner, Number(row.queue_lane) === 1 ? urgentUntil : until);
          absorbed = folded.ids;
          if (folded.newest) {
            // The newest notification's fields: for KF its pull Token is the one least likely to have expired.
            fields = this.open(folded.newest);
            receivedAt = new Date(Number(folded.newest.received_at));
          }
        }
      } catch {
        // A payload purged by retention or erasure, or sealed under another DATA_KEY: park this one event where an
        // operator sees it, rather than failing the whole claim (and every claim after it) on one bad row.
        unreadable.push(Number(row.id));
        if (absorbed.length > 0) await this.settleAbsorbed(absorbed, leaseOwner, 'pending', now);
        continue;
      }
      claimed.push({
        leaseOwner,
        dedupeKey: row.dedupe_key,
        lane: Number(row.queue_lane) === 1 ? 'urgent' : 'ordinary',
        subjectKey: row.subject_key,
        absorbed,
        event: { id: Number(row.id), kind: row.kind, fields, receivedAt, attempts: Number(row.attempts) },
      });
    }
    if (unreadable.length > 0) {
      await this.db.tx(async (em) => {
        for (const id of unreadable) {
          await execIn(em, `UPDATE inbox_events SET status = 'failed', lease_owner = NULL, queue_lane = NULL, error = ? WHERE id = ? AND lease_owner = ?`, [
            'payload unavailable: purged or sealed under another DATA_KEY',
            id,
            leaseOwner,
          ]);
          const [row] = (await em.query('SELECT subject_key FROM inbox_events WHERE id = ?', [id])) as { subject_key: string | null }[];
          await this.promoteNext(em, row?.subject_key ?? null);
        }
      });
    }
    return claimed;
  }

  /**
   * Fold the later notifications of a claimed head's subject into it (docs/inbox.md §Coalescing): they take the
   * head's lease, so they finish, retry or go back with it. Rows a crashed claim had folded (still `running`, never
   * ready) are taken again. Returns their ids and the newest row.
   */
  private async absorb(head: Row, leaseOwner: string, until: number): Promise<{ ids: number[]; newest: Row | null }> {
    const pick = `SELECT id FROM inbox_events WHERE subject_key = ? AND queue_lane IS NULL AND status IN ${ACTIVE} AND kind = ? AND id > ? ORDER BY id LIMIT ${MAX_ABSORBED}`;
    const args = [head.subject_key, head.kind, Number(head.id)];
    let ids: number[];
    if (this.db.engine === 'sqlite') {
      const rows = await this.db.query<{ id: number }>(
        `UPDATE inbox_events SET status = 'running', lease_owner = ?, available_at = ? WHERE id IN (${pick}) RETURNING id`,
        [leaseOwner, until, ...args],
      );
      ids = rows.map((r) => Number(r.id));
    } else {
      ids = await this.db.withMysqlTransaction(async (query) => {
        const rows: { id: number | string }[] = await query(`${pick} FOR UPDATE`, args);
        const found = rows.map((r) => Number(r.id));
        for (let i = 0; i < found.length; i += 1000) {
          const chunk = found.slice(i, i + 1000);
          await query(`UPDATE inbox_events SET status = 'running', lease_owner = ?, available_at = ? WHERE id IN (${chunk.map(() => '?').join(',')})`, [leaseOwner, until, ...chunk]);
        }
        return found;
      });
    }
    if (ids.length === 0) return { ids, newest: null };
    const [newest] = await this.db.query<Row>('SELECT * FROM inbox_events WHERE id = ?', [Math.max(...ids)]);
    return { ids, newest: newest ?? null };
  }

  /** Give folded rows the head's outcome: `done`/`ignored`, or back to `pending` (still waiting, lane NULL). */
  private async settleAbsorbed(ids: number[], leaseOwner: string, status: 'done' | 'ignored' | 'pending', now: number, em?: import('typeorm').EntityManager): Promise<void> {
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      const marks = chunk.map(() => '?').join(',');
      const sql =
        status === 'pending'
          ? `UPDATE inbox_events SET status = 'pending', lease_owner = NULL, available_at = ? WHERE id IN (${marks}) AND lease_owner = ?`
          : `UPDATE inbox_events SET status = ?, processed_at = ?, lease_owner = NULL, error = NULL WHERE id IN (${marks}) AND lease_owner = ?`;
      const params = status === 'pending' ? [now, ...chunk, leaseOwner] : [status, now, ...chunk, leaseOwner];
      if (em) await execIn(em, sql, params);
      else await this.db.exec(sql, params);
    }
  }

  /**
   * The subject's next unfinished event becomes ready, unless one already is (docs/inbox.md §Claims that stay flat).
   * Runs in the transaction that finished the previous one, so the two cannot be seen apart.
   */
  private async promoteNext(em: import('typeorm').EntityManager, subjectKey: string | null): Promise<boolean> {
    if (subjectKey === null) return false;
    // Once per handled event, so as few round trips as each engine allows, and each read an index seek rather than a
    // pass over the subject's backlog. On MySQL a plain read, then an update by primary key: one UPDATE joined to a
    // read of the same rows locks those rows too, and with two instances it made finishes fail after their handler
    // had run, so events ran twice (test/e2e/inbox-crash.test.ts caught it).
    if (this.db.engine === 'mysql') {
      const [h] = (await em.query(`SELECT (${OLDEST_ACTIVE}) AS id, EXISTS (${ANY_READY}) AS ready`, [subjectKey, subjectKey, subjectKey])) as {
        id: number | string | null;
        ready: number | string;
      }[];
      if (h?.id == null || Number(h.ready) !== 0) return false;
      return (await execIn(em, 'UPDATE inbox_events SET queue_lane = priority WHERE id = ? AND queue_lane IS NULL', [Number(h.id)])) > 0;
    }
    const changed = await execIn(
      em,
      `UPDATE inbox_events SET queue_lane = priority WHERE id = (${OLDEST_ACTIVE}) AND queue_lane IS NULL AND NOT EXISTS (${ANY_READY})`,
      [subjectKey, subjectKey, subjectKey],
    );
    return changed > 0;
  }

  /**
   * Make ready the heads that wait with no ready event ahead of them. On SQLite the insert and the finish decide
   * lanes atomically; on MySQL an event stored while its subject's previous one finished on another connection can
   * be left waiting, and this repairs it (the processor runs it every few seconds). SQLite needs none: its writes are
   * serialized, each deciding on committed state. Returns how many it freed.
   */
  async healQueue(opts: { sinceId?: number; limit?: number } = {}): Promise<number> {
    if (this.db.engine === 'sqlite') return 0;
    // With `sinceId`, only events stored after it are looked at: the race leaves the later-stored event waiting, and
    // the processor asks about the last few seconds' events, so the repair does not read a large backlog of real
    // waiters every few seconds (docs/inbox.md §Claims that stay flat). Without it, every waiting event.
    const since = opts.sinceId === undefined ? '' : 'AND b.id > ?';
    const stuck = await this.db.query<{ id: number | string }>(
      `SELECT b.id FROM inbox_events b
       WHERE b.queue_lane IS NULL AND b.status IN ${ACTIVE} AND b.subject_key IS NOT NULL ${since}
         AND NOT EXISTS (SELECT 1 FROM inbox_events p WHERE p.subject_key = b.subject_key AND p.status IN ${ACTIVE} AND p.id < b.id)
         AND NOT EXISTS (SELECT 1 FROM inbox_events r WHERE r.subject_key = b.subject_key AND r.status IN ${ACTIVE} AND r.queue_lane IS NOT NULL)
       LIMIT ?`,
      opts.sinceId === undefined ? [opts.limit ?? 200] : [opts.sinceId, opts.limit ?? 200],
    );
    let freed = 0;
    for (const r of stuck) freed += await this.db.exec('UPDATE inbox_events SET queue_lane = priority WHERE id = ? AND queue_lane IS NULL', [Number(r.id)]);
    return freed;
  }

  /** The newest event's id (0 when empty): the processor's mark for the next repair (healQueue `sinceId`). */
  async newestId(): Promise<number> {
    const [row] = await this.db.query<{ id: number | string | null }>('SELECT MAX(id) AS id FROM inbox_events');
    return Number(row?.id ?? 0);
  }

  /**
   * Finish a claimed event, fenced by its lease: if the lease was lost (expired and re-claimed elsewhere) nothing
   * is written and `kept` is false. `extra` runs in the same transaction (e.g. the timeline entry). `promoted` says
   * whether the subject's next event became ready, so a worker that found the queue empty knows to look again.
   */
  async finish(
    claimed: ClaimedEvent,
    status: 'done' | 'ignored',
    now: number,
    extra?: (em: import('typeorm').EntityManager) => Promise<void>,
  ): Promise<{ kept: boolean; promoted: boolean }> {
    // What an urgent part kept for the rest (for an add: the customer's profile, remark phone numbers included) is
    // dropped from the payload once the rest has run: the handled event keeps only what WeCom sent (docs/inbox.md
    // §Deadline first).
    const payload = claimed.dedupeKey ? this.sealWithoutKept(claimed.event.fields, claimed.dedupeKey) : null;
    return this.db.tx(async (em) => {
      const changed = await execIn(
        em,
        `UPDATE inbox_events SET status = ?, processed_at = ?, lease_owner = NULL, error = NULL, queue_lane = NULL${payload ? `, payload = ${UNLESS_ERASED}` : ''} WHERE id = ? AND lease_owner = ?`,
        payload ? [status, now, payload, claimed.event.id, claimed.leaseOwner] : [status, now, claimed.event.id, claimed.leaseOwner],
      );
      if (changed !== 1) return { kept: false, promoted: false };
      if (claimed.absorbed?.length) await this.settleAbsorbed(claimed.absorbed, claimed.leaseOwner, status, now, em);
      const promoted = await this.promoteNext(em, claimed.subjectKey ?? null);
      // Last, so that locks the caller's writes take (an add's shared channel stats row) are held only for the commit.
      if (extra) await extra(em);
      return { kept: true, promoted };
    });
  }

  /**
   * Extend a running handler's lease to `until`, so a long handling is not taken over while it still runs (its
   * folded notifications share the lease). False if the lease was already lost.
   */
  async renew(claimed: ClaimedEvent, until: number): Promise<boolean> {
    const ids = [claimed.event.id, ...(claimed.absorbed ?? [])];
    let changed = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      changed += await this.db.exec(
        `UPDATE inbox_events SET available_at = ? WHERE id IN (${chunk.map(() => '?').join(',')}) AND lease_owner = ? AND status = 'running'`,
        [until, ...chunk, claimed.leaseOwner],
      );
    }
    return changed > 0;
  }

  /**
   * The event's urgent part is done (docs/inbox.md §Deadline first): it goes back to pending in the ordinary lane with
   * `fields` (which carry what the urgent part kept), sealed again. It stays its subject's oldest unfinished event, so
   * the subject's later events still wait behind it. The claim's attempt is not counted. Lease-fenced: false if lost.
   */
  async defer(claimed: ClaimedEvent, fields: EventFields, now: number): Promise<boolean> {
    if (!claimed.dedupeKey) throw new Error('defer needs the claimed row’s dedupe key');
    const payload = this.seal(fields, claimed.dedupeKey);
    const changed = await this.db.exec(
      `UPDATE inbox_events SET status = 'pending', lease_owner = NULL, available_at = ?, attempts = attempts - 1, priority = 0, queue_lane = 0, payload = ${UNLESS_ERASED}, error = NULL
       WHERE id = ? AND lease_owner = ?`,
      [now, payload, claimed.event.id, claimed.leaseOwner],
    );
    return changed === 1;
  }

  /** Record a failure: back to pending at `retryAt`, or parked as `failed` when retryAt is null. Lease-fenced. */
  async fail(claimed: ClaimedEvent, error: string, retryAt: number | null, now: number): Promise<boolean> {
    return this.db.tx(async (em) => {
      const changed = await execIn(
        em,
        retryAt === null
          ? `UPDATE inbox_events SET status = 'failed', error = ?, lease_owner = NULL, processed_at = ?, queue_lane = NULL WHERE id = ? AND lease_owner = ?`
          : `UPDATE inbox_events SET status = 'pending', error = ?, lease_owner = NULL, available_at = ? WHERE id = ? AND lease_owner = ?`,
        [error.slice(0, 4000), retryAt ?? now, claimed.event.id, claimed.leaseOwner],
      );
      if (changed !== 1) return false;
      // Folded notifications wait again behind the head; once it is parked, the next of them takes its turn (and
      // folds the rest), so nothing is lost to one failing handling.
      if (claimed.absorbed?.length) await this.settleAbsorbed(claimed.absorbed, claimed.leaseOwner, 'pending', now, em);
      if (retryAt === null) await this.promoteNext(em, claimed.subjectKey ?? null);
      return true;
    });
  }

  /** Give leases back without counting an attempt (graceful shutdown). */
  async release(claims: ClaimedEvent[], now: number): Promise<void> {
    for (const c of claims) {
      await this.db.query(
        `UPDATE inbox_events SET status = 'pending', lease_owner = NULL, available_at = ?, attempts = attempts - 1 WHERE id = ? AND lease_owner = ?`,
        [now, c.event.id, c.leaseOwner],
      );
      if (c.absorbed?.length) await this.settleAbsorbed(c.absorbed, c.leaseOwner, 'pending', now);
    }
  }

  /** Put a failed (or any finished) event back in the queue, with a fresh attempt budget. */
  async replay(id: number, now: number): Promise<InboxEventSummary> {
    const row = await this.findSummary(id);
    if (!row) throw new NotFoundError(`事件 ${id} 不存在`, 'event_not_found');
    const [stored] = await this.db.query<{ payload: string | null; dedupe_key: string }>('SELECT payload, dedupe_key FROM inbox_events WHERE id = ?', [id]);
    if (!stored?.payload) throw new ConflictError(`事件 ${id} 的内容已按保留期限或删除请求清除，无法重放 / its payload was purged`, 'event_purged');
    // A replay handles the event from the start: what an urgent part kept for the rest
    // (docs/inbox.md §Deadline first) is WeCom's view at that time, and handling it again would write that old view
    // back over a newer one. (A payload this key cannot open is left as it is: the claim parks it, saying why.)
    let fresh: string | null = null;
    try {
      fresh = this.sealWithoutKept(this.open({ payload: stored.payload, dedupe_key: stored.dedupe_key }), stored.dedupe_key);
    } catch {
      // Unreadable: left as it is.
    }
    await this.db.tx(async (em) => {
      if (fresh) await execIn(em, 'UPDATE inbox_events SET payload = ? WHERE id = ?', [fresh, id]);
      // Back in the queue waiting (lane NULL); it becomes ready at once unless its subject has an unfinished event,
      // and otherwise when that one finishes (the earliest unfinished event of a subject goes next).
      await execIn(
        em,
        `UPDATE inbox_events SET status = 'pending', attempts = 0, available_at = ?, lease_owner = NULL, error = NULL, queue_lane = NULL WHERE id = ? AND status <> 'running'`,
        [now, id],
      );
      if (row.subjectKey === null) await execIn(em, `UPDATE inbox_events SET queue_lane = priority WHERE id = ? AND status = 'pending'`, [id]);
      else await this.promoteNext(em, row.subjectKey);
    });
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
