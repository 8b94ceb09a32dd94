import type { EntityManager } from 'typeorm';
import { execIn, type Db } from '../db.js';
import { isDuplicateKeyError } from '../data-source.js';
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { Delivery, DeliveryChannel, DeliveryFilter, DeliveryKind, DeliveryStatus, LedgerKey, NewDelivery, RecipientResult } from '../../domain/delivery/delivery.types.js';
import { deleteSlotsOfDeliveries } from './send-slot.repository.js';
import { sqlByCount } from './sql-by-count.js';
import { yieldToEventLoop } from '../../shared/yield.js';

/** An open ledger transaction (opaque to the domain). */
export type LedgerTx = EntityManager;

interface DeliveryRow {
  id: number | string;
  source: string;
  kind: DeliveryKind;
  rule_id: string | null;
  broadcast_id: string | null;
  external_user_id: string;
  occasion: string;
  channel: DeliveryChannel;
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

const marks = (n: number) => Array(n).fill('?').join(',');

// Rows and keys per statement when a page is planned at once (docs/audiences.md §Planning a broadcast). On MySQL
// 1,000 rows × 19 columns and 5,000 keys stay far below the packet size, and a page of 5,000 takes a few round trips
// instead of dozens. On SQLite, whose statements cost no round trip, 500: with the larger chunks planning took the
// same time and peaked 160 MB higher.
const chunks = (engine: string) => (engine === 'mysql' ? { rows: 1000, keys: 5000 } : { rows: 500, keys: 500 });

/** The columns a new ledger row is written with; `deliveryValues` gives the first fourteen, in this order. */
const DELIVERY_COLUMNS = `source, kind, rule_id, broadcast_id, external_user_id, occasion, channel, priority, sender_userid,
  text, attachments, local_date, not_before, expires_at, status, run_id, created_at, updated_at`;

// The texts of the page statements, one per number of rows or keys: a planning run repeats the same few, so each is
// built once rather than once per page (and the driver's statement cache finds the same string).
const insertRowsSql = sqlByCount((n) => `INSERT INTO deliveries (${DELIVERY_COLUMNS}, reason) VALUES ${Array(n).fill(`(${marks(19)})`).join(',')}`);
const insertRowsReturningSql = sqlByCount((n) => `${insertRowsSql(n)} RETURNING id, source, external_user_id, occasion`);
const keysSql = sqlByCount((n) => `SELECT id, external_user_id, occasion FROM deliveries WHERE source = ? AND external_user_id IN (${marks(n)})`);

/** A new message's values for the first fourteen of DELIVERY_COLUMNS (through `expires_at`). */
function deliveryValues(d: NewDelivery): unknown[] {
  const out = new Array<unknown>(14);
  setDeliveryValues(out, 0, d, d.attachments.length ? JSON.stringify(d.attachments) : null);
  return out;
}

/**
 * Write deliveryValues(d) into `out` from index `k`, with the attachments already serialised (a page's rows usually
 * share them); answers the index after them.
 */
function setDeliveryValues(out: unknown[], k: number, d: NewDelivery, attachments: string | null): number {
  out[k++] = d.source;
  out[k++] = d.kind;
  out[k++] = d.ruleId ?? null;
  out[k++] = d.broadcastId ?? null;
  out[k++] = d.externalUserId;
  out[k++] = d.occasion;
  out[k++] = d.channel;
  out[k++] = d.priority;
  out[k++] = d.senderUserid;
  out[k++] = d.text;
  out[k++] = attachments;
  out[k++] = d.localDate;
  out[k++] = d.notBefore.getTime();
  out[k++] = d.expiresAt.getTime();
  return k;
}

/** A ledger key (source, customer, occasion) as one exact string. */
export function ledgerKey(k: LedgerKey): string {
  return JSON.stringify([k.source, k.externalUserId, k.occasion]);
}

/**
 * The statements on a batch's ledger rows. DeliveryBatchRepository runs them inside its own transactions, since a
 * batch and its rows change together; each carries the expected current status in its WHERE clause.
 */
export const batchRows = {
  /** Move the given planned rows into a new batch; how many moved (another dispatcher may have taken some). */
  moveIn(em: EntityManager, deliveryIds: readonly number[], batchId: string, now: Date): Promise<number> {
    return execIn(
      em,
      `UPDATE deliveries SET status = 'submitting', batch_id = ?, updated_at = ? WHERE id IN (${marks(deliveryIds.length)}) AND status = 'planned'`,
      [batchId, now.getTime(), ...deliveryIds],
    );
  },

  /** The rows of a batch, in id order. */
  async ofBatch(em: EntityManager, batchId: string): Promise<Delivery[]> {
    return ((await em.query('SELECT * FROM deliveries WHERE batch_id = ? ORDER BY id', [batchId])) as DeliveryRow[]).map(toDelivery);
  },

  /** WeCom accepted the batch: its rows get the msgid; the `failList` customers fail. */
  async submitted(em: EntityManager, batchId: string, msgId: string, failList: readonly string[], now: Date): Promise<void> {
    await em.query(`UPDATE deliveries SET status = 'submitted', msgid = ?, submitted_at = ?, updated_at = ? WHERE batch_id = ? AND status = 'submitting'`, [
      msgId, now.getTime(), now.getTime(), batchId,
    ]);
    if (failList.length > 0) {
      await em.query(
        `UPDATE deliveries SET status = 'failed', reason = 'wecom_fail_list', updated_at = ? WHERE batch_id = ? AND status = 'submitted' AND external_user_id IN (${marks(failList.length)})`,
        [now.getTime(), batchId, ...failList],
      );
    }
  },

  /** The batch went out with no later confirmation (app message, KF): its rows are sent. */
  async sent(em: EntityManager, batchId: string, msgId: string | null, now: Date): Promise<void> {
    await em.query(
      `UPDATE deliveries SET status = 'sent', msgid = ?, submitted_at = ?, sent_at = ?, updated_at = ? WHERE batch_id = ? AND status = 'submitting'`,
      [msgId, now.getTime(), now.getTime(), now.getTime(), batchId],
    );
  },

  /** The call never reached WeCom: the rows go back to `planned`, out of the batch. */
  async backToPlanned(em: EntityManager, batchId: string, now: Date): Promise<void> {
    await em.query(`UPDATE deliveries SET status = 'planned', batch_id = NULL, updated_at = ? WHERE batch_id = ? AND status = 'submitting'`, [now.getTime(), batchId]);
  },

  /** WeCom refused the call for good: the rows fail with the reason. */
  async failed(em: EntityManager, batchId: string, reason: string, now: Date): Promise<void> {
    await em.query(`UPDATE deliveries SET status = 'failed', reason = ?, updated_at = ? WHERE batch_id = ? AND status = 'submitting'`, [
      reason.slice(0, 200), now.getTime(), batchId,
    ]);
  },
};

/**
 * The delivery ledger (`deliveries`): one row per (source, customer, occasion). Its WeCom batches are
 * DeliveryBatchRepository's, its cap slots SendSlotRepository's; a row skipped or expired here gives back its slots in
 * the same step. Every status change carries the expected current status in its WHERE clause, so concurrent
 * dispatchers on several instances never both move the same row.
 */
export class DeliveryRepository {
  /** See autoIncrementStep: undefined until read. */
  private step: number | null | undefined;

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
  async idsOfKeys(keys: readonly LedgerKey[], em?: EntityManager): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    // The exact keys are only needed to filter rows that came back; a new broadcast's pages find none.
    let wanted: Set<string> | undefined;
    const bySource = new Map<string, Set<string>>();
    for (const k of keys) {
      let set = bySource.get(k.source);
      if (!set) bySource.set(k.source, (set = new Set()));
      set.add(k.externalUserId);
    }
    const per = chunks(this.db.engine).keys;
    for (const [source, customers] of bySource) {
      const list = [...customers];
      for (let i = 0; i < list.length; i += per) {
        const n = Math.min(per, list.length - i);
        const params = new Array<unknown>(n + 1);
        params[0] = source;
        for (let j = 0; j < n; j++) params[j + 1] = list[i + j];
        const rows = await this.q<{ id: number | string; external_user_id: string; occasion: string }>(em, keysSql(n), params);
        for (const r of rows) {
          const key = ledgerKey({ source, externalUserId: r.external_user_id, occasion: r.occasion });
          wanted ??= new Set(keys.map(ledgerKey));
          if (wanted.has(key)) out.set(key, Number(r.id));
        }
      }
    }
    return out;
  }

  /**
   * Insert ledger rows, many per statement, each `planned`, or already `skipped` when it has a reason; answers their
   * ids by ledgerKey. On SQLite the insert returns them (RETURNING); on MySQL they follow from the first id each insert
   * answers (autoIncrementStep), or are read back by key when the server's ids may not be consecutive. Each statement's parameters go straight into one array: a page of 5,000 rows is planned with no per-row
   * arrays or objects beyond the rows themselves (docs/audiences.md §Planning a broadcast).
   */
  async insertMany(rows: readonly { d: NewDelivery; reason: string | null }[], runId: string | null, now: Date, em: EntityManager): Promise<Map<string, number>> {
    const per = chunks(this.db.engine).rows;
    const at = now.getTime();
    const returning = this.db.engine === 'sqlite';
    const ids = new Map<string, number>();
    let readBack = false;
    // A broadcast's rows share one attachments array: serialised once, not once per row.
    let attachments: NewDelivery['attachments'] | undefined;
    let attachmentsJson: string | null = null;
    for (let i = 0; i < rows.length; i += per) {
      const n = Math.min(per, rows.length - i);
      // Sized once: pushing 19 values per row grew the array a dozen times over, each growth a copy.
      const params = new Array<unknown>(n * 19);
      for (let j = 0, k = 0; j < n; j++) {
        const { d, reason } = rows[i + j];
        if (d.attachments !== attachments) {
          attachments = d.attachments;
          attachmentsJson = attachments.length ? JSON.stringify(attachments) : null;
        }
        k = setDeliveryValues(params, k, d, attachmentsJson);
        params[k++] = reason === null ? 'planned' : 'skipped';
        params[k++] = runId;
        params[k++] = at;
        params[k++] = at;
        params[k++] = reason === null ? null : reason.slice(0, 200);
      }
      if (!returning) {
        const res = (await em.query(insertRowsSql(n), params)) as unknown as { insertId?: number; affectedRows?: number };
        // MySQL gives the first row's id; with consecutive auto-increment the others follow it in order, and reading
        // them back by key (a lookup per row) is not needed (docs/audiences.md §Planning a broadcast).
        const step = await this.autoIncrementStep(em);
        if (step !== null && typeof res.insertId === 'number' && res.insertId > 0 && res.affectedRows === n) {
          for (let j = 0; j < n; j++) ids.set(ledgerKey(rows[i + j].d), res.insertId + j * step);
        } else readBack = true;
        continue;
      }
      const back = await this.q<{ id: number | string; source: string; external_user_id: string; occasion: string }>(em, insertRowsReturningSql(n), params);
      for (const r of back) ids.set(ledgerKey({ source: r.source, externalUserId: r.external_user_id, occasion: r.occasion }), Number(r.id));
    }
    return readBack ? this.idsOfKeys(rows.map((r) => r.d), em) : ids;
  }

  /**
   * How far apart the ids of one multi-row INSERT are, when they are consecutive: InnoDB's auto-increment lock modes 0
   * and 1 give a statement whose row count is known in advance one run of ids, `auto_increment_increment` apart. Mode
   * 2 (interleaved) may not, and then null: the ids are read back by key. Read once per repository.
   */
  private async autoIncrementStep(em: EntityManager): Promise<number | null> {
    if (this.step === undefined) {
      const [r] = (await em.query('SELECT @@innodb_autoinc_lock_mode AS m, @@auto_increment_increment AS i')) as { m: number | string; i: number | string }[];
      this.step = Number(r.m) <= 1 && Number(r.i) >= 1 ? Number(r.i) : null;
    }
    return this.step;
  }

  /**
   * The customers with a row of (source, occasion) planned for local date `localDate`, through an index that starts
   * with local_date (SQLite takes ix_deliveries_local_date_updated, MySQL either that or ix_deliveries_local_date):
   * the day's rows only, where the unique key's prefix would read every row the source ever planned. For an occasion
   * that falls on one date (a holiday's year), that is every row of the occasion (docs/care.md §The care calendar).
   */
  async customersWithOccasionOn(source: string, occasion: string, localDate: string): Promise<string[]> {
    const rows = await this.db.query<{ external_user_id: string }>('SELECT external_user_id FROM deliveries WHERE local_date = ? AND source = ? AND occasion = ?', [localDate, source, occasion]);
    return rows.map((r) => r.external_user_id);
  }

  /** Whether (source, customer, occasion) is already in the ledger (dry runs only; real planning inserts). */
  async exists(source: string, externalUserId: string, occasion: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 AS x FROM deliveries WHERE source = ? AND external_user_id = ? AND occasion = ?', [source, externalUserId, occasion]);
    return rows.length > 0;
  }

  /** Move planned rows to `skipped` with a reason. */
  async markSkipped(ids: number[], reason: string, now: Date, em?: EntityManager): Promise<number> {
    if (ids.length === 0) return 0;
    const sql = `UPDATE deliveries SET status = 'skipped', reason = ?, updated_at = ? WHERE id IN (${marks(ids.length)}) AND status = 'planned'`;
    const params = [reason.slice(0, 200), now.getTime(), ...ids];
    const n = em ? await execIn(em, sql, params) : await this.db.exec(sql, params);
    await deleteSlotsOfDeliveries((sql, params) => this.q(em, sql, params), ids);
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
    await deleteSlotsOfDeliveries((sql, params) => this.q(undefined, sql, params), ids);
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

  /**
   * Due planned rows of one broadcast and sender after `afterId`, oldest first, at most `limit`: the rest of a
   * sender's task beyond the dispatcher's page (DeliveryDispatcher.toppedUp). Through the broadcast's progress index
   * (broadcast_id, sender_userid, batch_id, status, …), named: a planned row has no batch yet, and left to choose,
   * SQLite took (status, not_before), every due row of every broadcast, and MySQL the primary key from `afterId` on.
   */
  async findDueOfBroadcastSender(broadcastId: string, senderUserid: string, now: Date, afterId: number, limit: number): Promise<Delivery[]> {
    const table = this.db.engine === 'sqlite' ? 'deliveries INDEXED BY ix_deliveries_broadcast_progress' : 'deliveries FORCE INDEX (ix_deliveries_broadcast_progress)';
    const rows = await this.db.query<DeliveryRow>(
      `SELECT * FROM ${table} WHERE broadcast_id = ? AND sender_userid = ? AND batch_id IS NULL AND status = 'planned'
         AND not_before <= ? AND expires_at > ? AND id > ? ORDER BY id LIMIT ?`,
      [broadcastId, senderUserid, now.getTime(), now.getTime(), afterId, limit],
    );
    return rows.map(toDelivery);
  }

  /** Those of these broadcasts whose message has no variables: the same text goes to every customer. */
  async broadcastsWithoutVariables(broadcastIds: string[]): Promise<Set<string>> {
    if (broadcastIds.length === 0) return new Set();
    const rows = await this.db.query<{ id: string }>(`SELECT id FROM broadcasts WHERE personalized = 0 AND id IN (${marks(broadcastIds.length)})`, broadcastIds);
    return new Set(rows.map((r) => r.id));
  }

  /** How many planned rows are due (for quiet-hour deferral counts). */
  async countDue(now: Date): Promise<number> {
    const [r] = await this.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM deliveries WHERE status = 'planned' AND not_before <= ?", [now.getTime()]);
    return Number(r.n);
  }

  /** Rows of a batch. */
  async batchDeliveries(batchId: string): Promise<Delivery[]> {
    return (await this.db.query<DeliveryRow>('SELECT * FROM deliveries WHERE batch_id = ? ORDER BY id', [batchId])).map(toDelivery);
  }

  /**
   * Apply WeCom's per-recipient results (docs/wecom-protocol.md §Mass message results): 1 sent, 2 not a friend, 3 over
   * quota; 0 stays. The batch's waiting rows are read once, through the batch index, and each result updates its
   * customer's rows by id, still only while `submitted`: a statement per recipient by batch and customer let SQLite,
   * which keeps no statistics, take (batch_id, status, …) since migration 0039 and read every waiting row of the task
   * for each recipient (docs/analytics.md §Size).
   */
  async applyResults(batchId: string, results: RecipientResult[], now: Date): Promise<number> {
    let changed = 0;
    await this.db.tx(async (em) => {
      const idsOf = new Map<string, number[]>();
      for (const w of (await em.query("SELECT id, external_user_id FROM deliveries WHERE batch_id = ? AND status = 'submitted'", [batchId])) as { id: number | string; external_user_id: string }[]) {
        const ids = idsOf.get(w.external_user_id);
        if (ids) ids.push(Number(w.id));
        else idsOf.set(w.external_user_id, [Number(w.id)]);
      }
      for (const r of results) {
        const ids = idsOf.get(r.externalUserId);
        if (r.status === 0 || !ids) continue;
        const [status, reason] =
          r.status === 1 ? ['sent', null] : r.status === 3 ? ['over_quota', '客户本期群发次数已满 / WeCom status 3'] : ['failed', 'not_friend (WeCom status 2)'];
        changed += await execIn(em, `UPDATE deliveries SET status = ?, reason = ?, sent_at = ?, updated_at = ? WHERE id IN (${marks(ids.length)}) AND status = 'submitted'`, [
          status,
          reason,
          status === 'sent' ? (r.sentAt ?? now).getTime() : null,
          now.getTime(),
          ...ids,
        ]);
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

  /** A page of the ledger, newest first. */
  async list(f: DeliveryFilter): Promise<{ items: Delivery[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.externalUserId) (where.push('external_user_id = ?'), params.push(f.externalUserId));
    if (f.ruleId) (where.push('rule_id = ?'), params.push(f.ruleId));
    if (f.broadcastId) (where.push('broadcast_id = ?'), params.push(f.broadcastId));
    if (f.status) (where.push('status = ?'), params.push(f.status));
    if (f.kind) (where.push('kind = ?'), params.push(f.kind));
    if (f.from) (where.push('local_date >= ?'), params.push(f.from));
    if (f.to) (where.push('local_date <= ?'), params.push(f.to));
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ n }] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM deliveries ${clause}`, params);
    const rows = await this.db.query<DeliveryRow>(`SELECT * FROM deliveries ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`, [
      ...params, f.pageSize, (f.page - 1) * f.pageSize,
    ]);
    return { items: rows.map(toDelivery), total: Number(n) };
  }

  /**
   * The names of the rules, broadcasts and surveys some ledger rows came from, by kind and id (`care`/`winback` rule ids,
   * `broadcast` ids, `survey` ids); a deleted one is absent.
   */
  async namesOfSources(ids: {
    rules: string[];
    broadcasts: string[];
    surveys: number[];
    journeys?: string[];
  }): Promise<{ rules: Map<string, string>; broadcasts: Map<string, string>; surveys: Map<number, string>; journeys: Map<string, string> }> {
    const read = async <K extends string | number>(table: string, list: K[]): Promise<Map<K, string>> => {
      const unique = [...new Set(list)];
      if (unique.length === 0) return new Map();
      const rows = await this.db.query<{ id: K; name: string }>(`SELECT id, name FROM ${table} WHERE id IN (${marks(unique.length)})`, unique);
      return new Map(rows.map((r) => [(typeof unique[0] === 'number' ? Number(r.id) : String(r.id)) as K, r.name]));
    };
    const [rules, broadcasts, surveys, journeys] = await Promise.all([
      read('care_rules', ids.rules),
      read('broadcasts', ids.broadcasts),
      read('surveys', ids.surveys),
      read('journeys', ids.journeys ?? []),
    ]);
    return { rules, broadcasts, surveys, journeys };
  }

  /**
   * Ledger rows of some broadcasts, counted per (broadcast, status, reason), for the API's broadcast list and
   * detail. An API read (off the event loop on SQLite): a broadcast to a million customers has a million rows to
   * count, 0.3–1 s on SQLite, and an operator's page asks again on every refresh.
   */
  async countByBroadcasts(broadcastIds: string[]): Promise<{ broadcastId: string; status: DeliveryStatus; reason: string | null; n: number }[]> {
    if (broadcastIds.length === 0) return [];
    const rows = await this.db.apiRead<{ broadcast_id: string; status: DeliveryStatus; reason: string | null; n: number | string }>(
      `SELECT broadcast_id, status, reason, COUNT(*) AS n FROM deliveries WHERE broadcast_id IN (${marks(broadcastIds.length)}) GROUP BY broadcast_id, status, reason`,
      broadcastIds,
    );
    return rows.map((r) => ({ broadcastId: r.broadcast_id, status: r.status, reason: r.reason, n: Number(r.n) }));
  }

  /** Whether a broadcast has any row in the ledger. */
  async hasRowsOfBroadcast(broadcastId: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 AS x FROM deliveries WHERE broadcast_id = ? LIMIT 1', [broadcastId])).length > 0;
  }

  /** Ids of a broadcast's rows still `planned` (a page; skipping them moves them out of the set). */
  async plannedIdsOfBroadcast(broadcastId: string, limit: number): Promise<number[]> {
    const rows = await this.db.query<{ id: number | string }>("SELECT id FROM deliveries WHERE broadcast_id = ? AND status = 'planned' ORDER BY id LIMIT ?", [
      broadcastId, limit,
    ]);
    return rows.map((r) => Number(r.id));
  }

  /**
   * Make a broadcast's planned rows due from `notBefore`. Rows are planned held (not_before = expires_at, never due)
   * so a dispatcher running while planning is half done cannot split a sender's customers over several tasks; this
   * releases them once planning is done. Rows skipped when planned (held out, opted out, capped) get the same time,
   * which the dispatcher never reads (they are not `planned`): their 7 days of outcomes start when the broadcast went
   * out, as the sent rows' do (docs/analytics.md §Care and campaign results).
   *
   * In ranges of `rangeIds` ids, oldest first, with a turn of the event loop between them: one statement over a
   * million rows held SQLite's connection, and so the callbacks, for 15 s inside a serving process. The planner
   * makes a range as wide as a dispatcher's page, which reads due rows by id: a broadcast that fits one page is
   * released at once; a larger one goes out in tasks of up to 10,000 customers per sender, which the dispatcher fills
   * from beyond its page (DeliveryDispatcher.toppedUp), so a task that starts before the last range is released holds
   * fewer customers, and the sender one task more.
   * docs/audiences.md §Releasing a planned broadcast
   */
  async releaseBroadcast(broadcastId: string, notBefore: Date, now: Date, rangeIds: number): Promise<number> {
    const [span] = await this.db.query<{ lo: number | string | null; hi: number | string | null }>('SELECT MIN(id) AS lo, MAX(id) AS hi FROM deliveries WHERE broadcast_id = ?', [broadcastId]);
    if (span?.lo === null || span?.lo === undefined) return 0;
    const [lo, hi] = [Number(span.lo), Number(span.hi)];
    let released = 0;
    for (let from = lo; from <= hi; from += rangeIds) {
      if (from > lo) await yieldToEventLoop();
      released += await this.db.exec(
        "UPDATE deliveries SET not_before = ?, updated_at = ? WHERE id >= ? AND id < ? AND broadcast_id = ? AND status IN ('planned', 'skipped') AND not_before <> ?",
        [notBefore.getTime(), now.getTime(), from, from + rangeIds, broadcastId, notBefore.getTime()],
      );
    }
    return released;
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

  /**
   * A broadcast's rows counted per (sender, task, status, reason, in a WeCom task or not), optionally of one sender:
   * everything the detail page's progress needs (the funnel, each member's rows, each task's state) in one pass over
   * ix_deliveries_broadcast_progress (migration 0034), grouped in the index's own order so nothing is sorted. Few
   * groups: a task's rows share its msgid, so there are about tasks × statuses × reasons of them.
   */
  async broadcastProgressGroups(broadcastId: string, sender?: string): Promise<{ sender: string | null; batchId: string | null; status: DeliveryStatus; reason: string | null; inTask: boolean; n: number }[]> {
    // An API read (the detail page asks it every 15 s): off the event loop on SQLite, under the API deadline on MySQL.
    const rows = await this.db.apiRead<{ sender_userid: string | null; batch_id: string | null; status: DeliveryStatus; reason: string | null; msgid: string | null; n: number | string }>(
      `SELECT sender_userid, batch_id, status, reason, msgid, COUNT(*) AS n
       FROM deliveries WHERE broadcast_id = ?${sender === undefined ? '' : ' AND sender_userid = ?'}
       GROUP BY sender_userid, batch_id, status, reason, msgid`,
      sender === undefined ? [broadcastId] : [broadcastId, sender],
    );
    return rows.map((r) => ({ sender: r.sender_userid, batchId: r.batch_id, status: r.status, reason: r.reason, inTask: r.msgid !== null, n: Number(r.n) }));
  }

  /**
   * A broadcast's WeCom tasks still waiting for their member in 群发助手 (rows `submitted`, no result read for any of
   * them yet, as the progress counts a task waiting), optionally of one member: what 提醒成员群发 reminds.
   */
  async waitingTasksOfBroadcast(broadcastId: string, sender?: string): Promise<{ batchId: string; sender: string }[]> {
    const rows = await this.db.query<{ batch_id: string; sender_userid: string }>(
      `SELECT batch_id, sender_userid FROM deliveries
       WHERE broadcast_id = ? AND batch_id IS NOT NULL AND sender_userid IS NOT NULL${sender === undefined ? '' : ' AND sender_userid = ?'}
       GROUP BY sender_userid, batch_id
       HAVING MAX(CASE WHEN status IN ('sent', 'over_quota') OR (status = 'failed' AND reason LIKE 'not_friend%') THEN 1 ELSE 0 END) = 0
         AND MAX(CASE WHEN status = 'submitted' THEN 1 ELSE 0 END) = 1
       ORDER BY sender_userid, batch_id`,
      sender === undefined ? [broadcastId] : [broadcastId, sender],
    );
    return rows.map((r) => ({ batchId: r.batch_id, sender: r.sender_userid }));
  }

  /** Ledger rows per status, optionally of one rule. */
  async countByStatus(where: { ruleId?: string } = {}): Promise<Record<string, number>> {
    const rows = where.ruleId
      ? await this.db.query<{ status: string; n: number | string }>('SELECT status, COUNT(*) AS n FROM deliveries WHERE rule_id = ? GROUP BY status', [where.ruleId])
      : await this.db.query<{ status: string; n: number | string }>('SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }
}
