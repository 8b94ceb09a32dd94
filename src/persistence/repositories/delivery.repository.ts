import type { EntityManager } from 'typeorm';
import { execIn, type Db } from '../db.js';
import { isDuplicateKeyError } from '../data-source.js';
import { newId } from '../../shared/ids.js';
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { Channel } from '../../domain/care/care-rule.types.js';
import type { Delivery, DeliveryFilter, DeliveryKind, DeliveryStatus, NewDelivery } from '../../domain/delivery/delivery.types.js';
import type { CapPeriod } from '../../domain/delivery/frequency-caps.js';
import { freeSlots } from '../../domain/delivery/frequency-caps.js';

/** An open ledger transaction (opaque to the domain). */
export type LedgerTx = EntityManager;

/** Where a WeCom batch is. */
export type BatchStatus = 'submitting' | 'submitted' | 'done' | 'abandoned' | 'failed';

/** One WeCom call covering a chunk of deliveries. */
export interface DeliveryBatch {
  id: string;
  channel: Channel;
  senderUserid: string | null;
  text: string;
  attachments: MessageAttachment[];
  status: BatchStatus;
  msgId: string | null;
  recipients: number;
  instanceId: string;
  createdAt: Date;
  submittedAt: Date | null;
  nextPollAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
}

interface DeliveryRow {
  id: number | string;
  source: string;
  kind: DeliveryKind;
  rule_id: string | null;
  broadcast_id: string | null;
  external_user_id: string;
  occasion: string;
  channel: Channel;
  priority: number | string;
  sender_userid: string | null;
  text: string | null;
  attachments: string | null;
  local_date: string;
  not_before: number | string;
  expires_at: number | string;
  status: DeliveryStatus;
  reason: string | null;
  batch_id: string | null;
  msgid: string | null;
  run_id: string | null;
  created_at: number | string;
  updated_at: number | string;
  submitted_at: number | string | null;
  sent_at: number | string | null;
}

interface BatchRow {
  id: string;
  channel: Channel;
  sender_userid: string | null;
  text: string | null;
  attachments: string | null;
  status: BatchStatus;
  msgid: string | null;
  recipients: number | string;
  instance_id: string;
  created_at: number | string;
  submitted_at: number | string | null;
  next_poll_at: number | string | null;
  finished_at: number | string | null;
  error: string | null;
}

const ms = (v: number | string | null): Date | null => (v === null ? null : new Date(Number(v)));

function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: Number(r.id),
    source: r.source,
    kind: r.kind,
    ruleId: r.rule_id,
    broadcastId: r.broadcast_id,
    externalUserId: r.external_user_id,
    occasion: r.occasion,
    channel: r.channel,
    priority: Number(r.priority),
    senderUserid: r.sender_userid,
    text: r.text ?? '',
    attachments: r.attachments ? (JSON.parse(r.attachments) as MessageAttachment[]) : [],
    localDate: r.local_date,
    notBefore: new Date(Number(r.not_before)),
    expiresAt: new Date(Number(r.expires_at)),
    status: r.status,
    reason: r.reason,
    batchId: r.batch_id,
    msgId: r.msgid,
    runId: r.run_id,
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
    submittedAt: ms(r.submitted_at),
    sentAt: ms(r.sent_at),
  };
}

function toBatch(r: BatchRow): DeliveryBatch {
  return {
    id: r.id,
    channel: r.channel,
    senderUserid: r.sender_userid,
    text: r.text ?? '',
    attachments: r.attachments ? (JSON.parse(r.attachments) as MessageAttachment[]) : [],
    status: r.status,
    msgId: r.msgid,
    recipients: Number(r.recipients),
    instanceId: r.instance_id,
    createdAt: new Date(Number(r.created_at)),
    submittedAt: ms(r.submitted_at),
    nextPollAt: ms(r.next_poll_at),
    finishedAt: ms(r.finished_at),
    error: r.error,
  };
}

const marks = (n: number) => Array(n).fill('?').join(',');

// Rows per multi-row statement when a page is planned at once: 500 rows × 19 columns stay far below SQLite's 32,766
// variables and MySQL's packet size.
const BULK_CHUNK = 500;

/** The columns a new ledger row is written with; `deliveryValues` gives the first fourteen, in this order. */
const DELIVERY_COLUMNS = `source, kind, rule_id, broadcast_id, external_user_id, occasion, channel, priority, sender_userid,
  text, attachments, local_date, not_before, expires_at, status, run_id, created_at, updated_at`;

/** A new message's values for the first fourteen of DELIVERY_COLUMNS (through `expires_at`). */
function deliveryValues(d: NewDelivery): unknown[] {
  return [
    d.source, d.kind, d.ruleId ?? null, d.broadcastId ?? null, d.externalUserId, d.occasion, d.channel, d.priority, d.senderUserid,
    d.text, d.attachments.length ? JSON.stringify(d.attachments) : null, d.localDate, d.notBefore.getTime(), d.expiresAt.getTime(),
  ];
}

/** A ledger key (source, customer, occasion) as one exact string. */
export function ledgerKey(k: { source: string; externalUserId: string; occasion: string }): string {
  return JSON.stringify([k.source, k.externalUserId, k.occasion]);
}

/** A recipient's result as WeCom reported it (docs/wecom-protocol.md §Mass message results). */
export interface RecipientResult {
  externalUserId: string;
  /** 0 not sent, 1 sent, 2 not a friend, 3 over quota. */
  status: number;
  sentAt?: Date;
}

/**
 * The delivery ledger (`deliveries`), its WeCom batches (`delivery_batches`) and the cap slots (`send_slots`).
 * Every status change carries the expected current status in its WHERE clause, so concurrent dispatchers on
 * several instances never both move the same row.
 */
export class DeliveryRepository {
  constructor(private readonly db: Db) {}

  /** Run ledger writes in one transaction (planning a page at once: one commit instead of one per statement). */
  inTx<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.db.tx(fn);
  }

  private q<T = Record<string, unknown>>(em: EntityManager | undefined, sql: string, params: unknown[]): Promise<T[]> {
    return em ? (em.query(sql, params) as Promise<T[]>) : this.db.query<T>(sql, params);
  }

  /** Insert a planned row; null when (source, customer, occasion) already exists: the unique key decides. */
  async insertPlanned(d: NewDelivery, runId: string | null, now: Date, em?: EntityManager): Promise<number | null> {
    const params = [...deliveryValues(d), runId, now.getTime(), now.getTime()];
    const sql = `INSERT INTO deliveries (${DELIVERY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,'planned',?,?,?)`;
    try {
      if (this.db.engine === 'sqlite') {
        const rows = await this.q<{ id: number }>(em, `${sql} RETURNING id`, params);
        return Number(rows[0].id);
      }
      const res = (await this.q(em, sql, params)) as unknown as { insertId: number };
      return Number(res.insertId);
    } catch (err) {
      if (isDuplicateKeyError(err)) return null;
      throw err;
    }
  }

  /**
   * Run `fn` under a savepoint of the open transaction `em`: when it fails on a duplicate key (a concurrent planner
   * took a ledger key or a slot this page meant to take), everything it wrote is undone and the answer is null, so
   * the caller can plan the page one statement at a time instead. Other errors propagate.
   */
  async underSavepoint<T>(em: EntityManager, fn: () => Promise<T>): Promise<T | null> {
    await em.query('SAVEPOINT ledger_page', []);
    try {
      const out = await fn();
      await em.query('RELEASE SAVEPOINT ledger_page', []);
      return out;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      await em.query('ROLLBACK TO SAVEPOINT ledger_page', []);
      await em.query('RELEASE SAVEPOINT ledger_page', []);
      return null;
    }
  }

  /**
   * Ids of the ledger rows with the given (source, customer, occasion) keys, keyed by ledgerKey. The keys are
   * compared exactly, here: MySQL's collation would also return a row whose key differs only in case, which is a
   * different key to the caller (and a duplicate to MySQL's unique index, which makes a later INSERT fail).
   */
  async idsOfKeys(keys: readonly { source: string; externalUserId: string; occasion: string }[], em: EntityManager): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const wanted = new Set(keys.map(ledgerKey));
    const bySource = new Map<string, Set<string>>();
    for (const k of keys) {
      let set = bySource.get(k.source);
      if (!set) bySource.set(k.source, (set = new Set()));
      set.add(k.externalUserId);
    }
    for (const [source, customers] of bySource) {
      const list = [...customers];
      for (let i = 0; i < list.length; i += BULK_CHUNK) {
        const chunk = list.slice(i, i + BULK_CHUNK);
        const rows = await this.q<{ id: number | string; source: string; external_user_id: string; occasion: string }>(
          em,
          `SELECT id, source, external_user_id, occasion FROM deliveries WHERE source = ? AND external_user_id IN (${marks(chunk.length)})`,
          [source, ...chunk],
        );
        for (const r of rows) {
          const key = ledgerKey({ source: r.source, externalUserId: r.external_user_id, occasion: r.occasion });
          if (wanted.has(key)) out.set(key, Number(r.id));
        }
      }
    }
    return out;
  }

  /** Insert ledger rows, many per statement, each `planned` or already `skipped` with its reason. */
  async insertMany(rows: readonly { d: NewDelivery; status: 'planned' | 'skipped'; reason: string | null }[], runId: string | null, now: Date, em: EntityManager): Promise<void> {
    const one = '(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)';
    for (let i = 0; i < rows.length; i += BULK_CHUNK) {
      const chunk = rows.slice(i, i + BULK_CHUNK);
      const params = chunk.flatMap(({ d, status, reason }) => [
        ...deliveryValues(d),
        status, runId, now.getTime(), now.getTime(), reason === null ? null : reason.slice(0, 200),
      ]);
      await this.q(em, `INSERT INTO deliveries (${DELIVERY_COLUMNS}, reason) VALUES ${Array(chunk.length).fill(one).join(',')}`, params);
    }
  }

  /** The slot numbers the given customers hold in one cap period, keyed by customer. */
  async slotsTaken(customers: readonly string[], scope: string, period: string, em: EntityManager): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    const list = [...new Set(customers)];
    for (let i = 0; i < list.length; i += BULK_CHUNK) {
      const chunk = list.slice(i, i + BULK_CHUNK);
      const rows = await this.q<{ external_user_id: string; n: number | string }>(
        em,
        `SELECT external_user_id, n FROM send_slots WHERE scope = ? AND period = ? AND external_user_id IN (${marks(chunk.length)})`,
        [scope, period, ...chunk],
      );
      // Exact keys, as in idsOfKeys: a customer id differing only in case is another customer.
      for (const r of rows) out.set(r.external_user_id, [...(out.get(r.external_user_id) ?? []), Number(r.n)]);
    }
    return out;
  }

  /** Insert claimed slots, many per statement; a slot someone else took meanwhile fails the statement (duplicate key). */
  async insertSlots(slots: readonly { externalUserId: string; scope: string; period: string; n: number; deliveryId: number }[], now: Date, em: EntityManager): Promise<void> {
    for (let i = 0; i < slots.length; i += BULK_CHUNK) {
      const chunk = slots.slice(i, i + BULK_CHUNK);
      await this.q(
        em,
        `INSERT INTO send_slots (external_user_id, scope, period, n, delivery_id, created_at) VALUES ${Array(chunk.length).fill('(?,?,?,?,?,?)').join(',')}`,
        chunk.flatMap((x) => [x.externalUserId, x.scope, x.period, x.n, x.deliveryId, now.getTime()]),
      );
    }
  }

  /** Whether (source, customer, occasion) is already in the ledger (dry runs only; real planning inserts). */
  async exists(source: string, externalUserId: string, occasion: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 AS x FROM deliveries WHERE source = ? AND external_user_id = ? AND occasion = ?', [source, externalUserId, occasion]);
    return rows.length > 0;
  }

  /**
   * Claim one slot of a cap period for a delivery: the lowest free n in 1..limit whose INSERT succeeds. Racing
   * claimers collide on UNIQUE(customer, scope, period, n); false when every slot is taken.
   */
  async claimSlot(externalUserId: string, cap: CapPeriod, deliveryId: number, now: Date, em?: EntityManager): Promise<boolean> {
    const taken = await this.q<{ n: number | string }>(
      em,
      'SELECT n FROM send_slots WHERE external_user_id = ? AND scope = ? AND period = ?',
      [externalUserId, cap.scope, cap.period],
    );
    for (const n of freeSlots(cap.limit, taken.map((t) => Number(t.n)))) {
      try {
        await this.q(em, 'INSERT INTO send_slots (external_user_id, scope, period, n, delivery_id, created_at) VALUES (?,?,?,?,?,?)', [
          externalUserId, cap.scope, cap.period, n, deliveryId, now.getTime(),
        ]);
        return true;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    return false;
  }

  /** Give back every slot a delivery holds (it was skipped or expired before reaching anyone). */
  async releaseSlots(deliveryIds: number[], em?: EntityManager): Promise<void> {
    if (deliveryIds.length === 0) return;
    await this.q(em, `DELETE FROM send_slots WHERE delivery_id IN (${marks(deliveryIds.length)})`, deliveryIds);
  }

  /** How many slots of a scope a customer holds in a period. */
  async countSlots(externalUserId: string, scope: string, period: string): Promise<number> {
    const [r] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM send_slots WHERE external_user_id = ? AND scope = ? AND period = ?', [
      externalUserId, scope, period,
    ]);
    return Number(r.n);
  }

  /** Move planned rows to `skipped` with a reason. */
  async markSkipped(ids: number[], reason: string, now: Date, em?: EntityManager): Promise<number> {
    if (ids.length === 0) return 0;
    const sql = `UPDATE deliveries SET status = 'skipped', reason = ?, updated_at = ? WHERE id IN (${marks(ids.length)}) AND status = 'planned'`;
    const params = [reason.slice(0, 200), now.getTime(), ...ids];
    const n = em ? await execIn(em, sql, params) : await this.db.exec(sql, params);
    await this.releaseSlots(ids, em);
    return n;
  }

  /** Expire planned rows whose window closed before anything was submitted. */
  async expireDue(now: Date): Promise<number> {
    const rows = await this.db.query<{ id: number | string }>("SELECT id FROM deliveries WHERE status = 'planned' AND expires_at <= ? LIMIT 10000", [now.getTime()]);
    const ids = rows.map((r) => Number(r.id));
    if (ids.length === 0) return 0;
    const n = await this.db.exec(
      `UPDATE deliveries SET status = 'expired', reason = '窗口已过 / window passed before sending', updated_at = ?
       WHERE id IN (${marks(ids.length)}) AND status = 'planned'`,
      [now.getTime(), ...ids],
    );
    await this.releaseSlots(ids);
    return n;
  }

  /** Planned rows due at `now`, highest priority first. */
  async findDue(now: Date, limit: number, afterId = 0): Promise<Delivery[]> {
    const rows = await this.db.query<DeliveryRow>(
      "SELECT * FROM deliveries WHERE status = 'planned' AND not_before <= ? AND expires_at > ? AND id > ? ORDER BY id LIMIT ?",
      [now.getTime(), now.getTime(), afterId, limit],
    );
    return rows.map(toDelivery);
  }

  /** How many planned rows are due (for quiet-hour deferral counts). */
  async countDue(now: Date): Promise<number> {
    const [r] = await this.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM deliveries WHERE status = 'planned' AND not_before <= ?", [now.getTime()]);
    return Number(r.n);
  }

  /**
   * Create a `submitting` batch and move the given planned rows into it, in one transaction. Only rows still
   * `planned` move (another dispatcher may have taken some), so the returned rows are exactly this batch's.
   */
  async openBatch(
    input: { channel: Channel; senderUserid: string | null; text: string; attachments: MessageAttachment[]; instanceId: string },
    deliveryIds: number[],
    now: Date,
  ): Promise<{ batch: DeliveryBatch; deliveries: Delivery[] } | null> {
    const id = newId(now.getTime());
    return this.db.tx(async (em) => {
      const moved = await execIn(
        em,
        `UPDATE deliveries SET status = 'submitting', batch_id = ?, updated_at = ? WHERE id IN (${marks(deliveryIds.length)}) AND status = 'planned'`,
        [id, now.getTime(), ...deliveryIds],
      );
      if (moved === 0) return null;
      await em.query(
        `INSERT INTO delivery_batches (id, channel, sender_userid, text, attachments, status, recipients, instance_id, created_at)
         VALUES (?,?,?,?,?,'submitting',?,?,?)`,
        [id, input.channel, input.senderUserid, input.text, input.attachments.length ? JSON.stringify(input.attachments) : null, moved, input.instanceId, now.getTime()],
      );
      const rows = (await em.query('SELECT * FROM deliveries WHERE batch_id = ? ORDER BY id', [id])) as DeliveryRow[];
      const [b] = (await em.query('SELECT * FROM delivery_batches WHERE id = ?', [id])) as BatchRow[];
      return { batch: toBatch(b), deliveries: rows.map(toDelivery) };
    });
  }

  /**
   * WeCom accepted a mass task: store its msgid; `failList` customers are failed (`fail_list`,
   * docs/wecom-protocol.md §Mass messages).
   */
  async markBatchSubmitted(batchId: string, msgId: string, failList: string[], now: Date, nextPollAt: Date): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(`UPDATE delivery_batches SET status = 'submitted', msgid = ?, submitted_at = ?, next_poll_at = ? WHERE id = ? AND status = 'submitting'`, [
        msgId, now.getTime(), nextPollAt.getTime(), batchId,
      ]);
      await em.query(`UPDATE deliveries SET status = 'submitted', msgid = ?, submitted_at = ?, updated_at = ? WHERE batch_id = ? AND status = 'submitting'`, [
        msgId, now.getTime(), now.getTime(), batchId,
      ]);
      if (failList.length > 0) {
        await em.query(
          `UPDATE deliveries SET status = 'failed', reason = 'wecom_fail_list', updated_at = ? WHERE batch_id = ? AND status = 'submitted' AND external_user_id IN (${marks(failList.length)})`,
          [now.getTime(), batchId, ...failList],
        );
      }
    });
  }

  /** A message with no later confirmation (app message, KF) went out: the batch and its rows are done. */
  async markBatchSent(batchId: string, msgId: string | null, now: Date): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(`UPDATE delivery_batches SET status = 'done', msgid = ?, submitted_at = ?, finished_at = ? WHERE id = ? AND status = 'submitting'`, [
        msgId, now.getTime(), now.getTime(), batchId,
      ]);
      await em.query(
        `UPDATE deliveries SET status = 'sent', msgid = ?, submitted_at = ?, sent_at = ?, updated_at = ? WHERE batch_id = ? AND status = 'submitting'`,
        [msgId, now.getTime(), now.getTime(), now.getTime(), batchId],
      );
    });
  }

  /** The call certainly did not reach WeCom: the rows go back to `planned` for the next dispatch. */
  async abandonBatch(batchId: string, error: string, now: Date): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(`UPDATE delivery_batches SET status = 'abandoned', error = ?, finished_at = ? WHERE id = ? AND status = 'submitting'`, [
        error.slice(0, 4000), now.getTime(), batchId,
      ]);
      await em.query(`UPDATE deliveries SET status = 'planned', batch_id = NULL, updated_at = ? WHERE batch_id = ? AND status = 'submitting'`, [now.getTime(), batchId]);
    });
  }

  /** WeCom refused the call for good (a business errcode): the rows fail with the reason. */
  async failBatch(batchId: string, reason: string, now: Date): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(`UPDATE delivery_batches SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status = 'submitting'`, [
        reason.slice(0, 4000), now.getTime(), batchId,
      ]);
      await em.query(`UPDATE deliveries SET status = 'failed', reason = ?, updated_at = ? WHERE batch_id = ? AND status = 'submitting'`, [
        reason.slice(0, 200), now.getTime(), batchId,
      ]);
    });
  }

  /** Batches left `submitting` since before `before`: their process may have died mid-call. */
  async findStaleSubmitting(before: Date, limit = 100): Promise<DeliveryBatch[]> {
    const rows = await this.db.query<BatchRow>("SELECT * FROM delivery_batches WHERE status = 'submitting' AND created_at < ? ORDER BY created_at LIMIT ?", [
      before.getTime(), limit,
    ]);
    return rows.map(toBatch);
  }

  /** Whether some batch already owns a WeCom msgid. */
  async isMsgIdKnown(msgId: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 AS x FROM delivery_batches WHERE msgid = ?', [msgId])).length > 0;
  }

  /** Mass-task batches due for a result poll. */
  async findBatchesToPoll(now: Date, limit = 100): Promise<DeliveryBatch[]> {
    const rows = await this.db.query<BatchRow>(
      "SELECT * FROM delivery_batches WHERE status = 'submitted' AND next_poll_at <= ? ORDER BY next_poll_at LIMIT ?",
      [now.getTime(), limit],
    );
    return rows.map(toBatch);
  }

  /** Rows of a batch. */
  async batchDeliveries(batchId: string): Promise<Delivery[]> {
    return (await this.db.query<DeliveryRow>('SELECT * FROM deliveries WHERE batch_id = ? ORDER BY id', [batchId])).map(toDelivery);
  }

  /** A batch by id. */
  async findBatch(batchId: string): Promise<DeliveryBatch | null> {
    const [r] = await this.db.query<BatchRow>('SELECT * FROM delivery_batches WHERE id = ?', [batchId]);
    return r ? toBatch(r) : null;
  }

  /**
   * Apply WeCom's per-recipient results (docs/wecom-protocol.md §Mass message results): 1 sent, 2 not a friend, 3 over
   * quota; 0 stays.
   */
  async applyResults(batchId: string, results: RecipientResult[], now: Date): Promise<number> {
    let changed = 0;
    await this.db.tx(async (em) => {
      for (const r of results) {
        if (r.status === 0) continue;
        const [status, reason] =
          r.status === 1 ? ['sent', null] : r.status === 3 ? ['over_quota', '客户本期群发次数已满 / WeCom status 3'] : ['failed', 'not_friend (WeCom status 2)'];
        changed += await execIn(
          em,
          `UPDATE deliveries SET status = ?, reason = ?, sent_at = ?, updated_at = ? WHERE batch_id = ? AND external_user_id = ? AND status = 'submitted'`,
          [status, reason, status === 'sent' ? (r.sentAt ?? now).getTime() : null, now.getTime(), batchId, r.externalUserId],
        );
      }
    });
    return changed;
  }

  /** Still-unconfirmed rows of a batch expire (the staff member never sent the task). */
  async expireBatch(batchId: string, reason: string, now: Date): Promise<number> {
    return this.db.exec(`UPDATE deliveries SET status = 'expired', reason = ?, updated_at = ? WHERE batch_id = ? AND status = 'submitted'`, [
      reason.slice(0, 200), now.getTime(), batchId,
    ]);
  }

  /** Schedule the next poll, or finish the batch when nothing is pending. */
  async updateBatchPoll(batchId: string, nextPollAt: Date | null, now: Date): Promise<void> {
    if (nextPollAt) {
      await this.db.query('UPDATE delivery_batches SET next_poll_at = ? WHERE id = ?', [nextPollAt.getTime(), batchId]);
    } else {
      await this.db.query("UPDATE delivery_batches SET status = 'done', finished_at = ?, next_poll_at = NULL WHERE id = ? AND status = 'submitted'", [now.getTime(), batchId]);
    }
  }

  /** A page of the ledger, newest first. */
  async list(f: DeliveryFilter): Promise<{ items: Delivery[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.externalUserId) (where.push('external_user_id = ?'), params.push(f.externalUserId));
    if (f.ruleId) (where.push('rule_id = ?'), params.push(f.ruleId));
    if (f.broadcastId) (where.push('broadcast_id = ?'), params.push(f.broadcastId));
    if (f.status) (where.push('status = ?'), params.push(f.status));
    if (f.kind) (where.push('kind = ?'), params.push(f.kind));
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ n }] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM deliveries ${clause}`, params);
    const rows = await this.db.query<DeliveryRow>(`SELECT * FROM deliveries ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`, [
      ...params, f.pageSize, (f.page - 1) * f.pageSize,
    ]);
    return { items: rows.map(toDelivery), total: Number(n) };
  }

  /** Ledger rows of some broadcasts, counted per (broadcast, status, reason). */
  async countByBroadcasts(broadcastIds: string[]): Promise<{ broadcastId: string; status: DeliveryStatus; reason: string | null; n: number }[]> {
    if (broadcastIds.length === 0) return [];
    const rows = await this.db.query<{ broadcast_id: string; status: DeliveryStatus; reason: string | null; n: number | string }>(
      `SELECT broadcast_id, status, reason, COUNT(*) AS n FROM deliveries WHERE broadcast_id IN (${marks(broadcastIds.length)}) GROUP BY broadcast_id, status, reason`,
      broadcastIds,
    );
    return rows.map((r) => ({ broadcastId: r.broadcast_id, status: r.status, reason: r.reason, n: Number(r.n) }));
  }

  /** Ids of a broadcast's rows still `planned` (a page; skipping them moves them out of the set). */
  async plannedIdsOfBroadcast(broadcastId: string, limit: number): Promise<number[]> {
    const rows = await this.db.query<{ id: number | string }>("SELECT id FROM deliveries WHERE broadcast_id = ? AND status = 'planned' ORDER BY id LIMIT ?", [
      broadcastId, limit,
    ]);
    return rows.map((r) => Number(r.id));
  }

  /**
   * Make a broadcast's planned rows due from `notBefore`, in one statement. Rows are planned held (not_before =
   * expires_at, never due) so a dispatcher running while planning is half done cannot split a sender's customers
   * over several tasks; this releases them all at once.
   */
  async releaseBroadcast(broadcastId: string, notBefore: Date, now: Date): Promise<number> {
    return this.db.exec("UPDATE deliveries SET not_before = ?, updated_at = ? WHERE broadcast_id = ? AND status = 'planned' AND not_before <> ?", [
      notBefore.getTime(), now.getTime(), broadcastId, notBefore.getTime(),
    ]);
  }

  /**
   * Batches holding a broadcast's rows that are still `submitting` or `submitted`, with how many of the batch's rows
   * belong to other sources (the dispatcher groups by sender and text, not by source).
   */
  async openBatchesOfBroadcast(broadcastId: string): Promise<{ batchId: string; rows: number; foreignRows: number }[]> {
    const rows = await this.db.query<{ batch_id: string; mine: number | string; foreign_rows: number | string }>(
      `SELECT d.batch_id, SUM(CASE WHEN d.broadcast_id = ? THEN 1 ELSE 0 END) AS mine, SUM(CASE WHEN d.broadcast_id = ? THEN 0 ELSE 1 END) AS foreign_rows
       FROM deliveries d
       WHERE d.batch_id IN (SELECT o.batch_id FROM deliveries o WHERE o.broadcast_id = ? AND o.status IN ('submitting', 'submitted') AND o.batch_id IS NOT NULL)
       GROUP BY d.batch_id`,
      [broadcastId, broadcastId, broadcastId],
    );
    return rows.map((r) => ({ batchId: r.batch_id, rows: Number(r.mine), foreignRows: Number(r.foreign_rows) }));
  }

  /** Ledger rows per status, optionally of one rule. */
  async countByStatus(where: { ruleId?: string } = {}): Promise<Record<string, number>> {
    const rows = where.ruleId
      ? await this.db.query<{ status: string; n: number | string }>('SELECT status, COUNT(*) AS n FROM deliveries WHERE rule_id = ? GROUP BY status', [where.ruleId])
      : await this.db.query<{ status: string; n: number | string }>('SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }
}
