import type { EntityManager } from 'typeorm';
import { execIn, type Db } from '../db.js';
import { placeholders } from './sql-upsert.js';
import type { NewTransfer, Transfer, TransferKind, TransferListItem, TransferOutcome, TransferStatus } from '../../domain/transfers/transfer.types.js';

interface Row {
  id: string;
  request_id: string;
  kind: TransferKind;
  handover_userid: string;
  takeover_userid: string;
  external_user_id: string;
  status: TransferStatus;
  errcode: number | string | null;
  message: string | null;
  success_msg: string | null;
  requested_by: string;
  requested_at: number | string;
  takeover_at: number | string | null;
  finished_at: number | string | null;
  updated_at: number | string;
  customer_name?: string | null;
}

const OPEN: readonly TransferStatus[] = ['requested', 'waiting'];
const date = (v: number | string | null): Date | null => (v === null || v === undefined ? null : new Date(Number(v)));

function map(r: Row): TransferListItem {
  return {
    id: r.id,
    requestId: r.request_id,
    kind: r.kind,
    handoverUserid: r.handover_userid,
    takeoverUserid: r.takeover_userid,
    externalUserId: r.external_user_id,
    status: r.status,
    errcode: r.errcode === null ? null : Number(r.errcode),
    message: r.message,
    successMsg: r.success_msg,
    requestedBy: r.requested_by,
    requestedAt: new Date(Number(r.requested_at)),
    takeoverAt: date(r.takeover_at),
    finishedAt: date(r.finished_at),
    updatedAt: new Date(Number(r.updated_at)),
    customerName: r.customer_name ?? null,
  };
}

/** The `transfers` table (migration 0011): one row per (request, customer). */
export class TransferRepository {
  constructor(private readonly db: Db) {}

  /**
   * Insert a `requested` row unless the customer already has an open (requested or waiting) transfer: the unique
   * `open_key` decides, so two concurrent requests cannot both reach WeCom. True when inserted.
   */
  insertRequested(t: NewTransfer, now: Date): Promise<boolean> {
    return this.db.writeUnique(
      `INSERT INTO transfers (id, request_id, kind, handover_userid, takeover_userid, external_user_id, status, open_key, success_msg, requested_by, requested_at, updated_at)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
      [t.id, t.requestId, t.kind, t.handoverUserid, t.takeoverUserid, t.externalUserId, 'requested', t.externalUserId, t.successMsg, t.requestedBy.slice(0, 100), now.getTime(), now.getTime()],
    );
  }

  /** The open transfer of each of these customers. */
  async findOpen(externalUserIds: string[]): Promise<Map<string, Transfer>> {
    const out = new Map<string, Transfer>();
    if (externalUserIds.length === 0) return out;
    const rows = await this.db.query<Row>(`SELECT * FROM transfers WHERE open_key IN (${placeholders(externalUserIds.length)})`, externalUserIds);
    for (const r of rows) out.set(r.external_user_id, map(r));
    return out;
  }

  /**
   * Record an outcome of an open transfer; a final status releases `open_key`. Only an open row changes, so the job
   * and a callback racing on one transfer apply it once. True when this call changed it.
   */
  async setOutcome(id: string, o: TransferOutcome, now: Date): Promise<boolean> {
    return (await this.db.exec(this.outcomeSql(), this.outcomeParams(id, o, now))) > 0;
  }

  /** `setOutcome` inside a caller's transaction. */
  async setOutcomeInTx(em: EntityManager, id: string, o: TransferOutcome, now: Date): Promise<boolean> {
    return (await execIn(em, this.outcomeSql(), this.outcomeParams(id, o, now))) > 0;
  }

  private outcomeSql(): string {
    return `UPDATE transfers SET status = ?, open_key = CASE WHEN ? = 1 THEN open_key ELSE NULL END, errcode = ?, message = ?,
              takeover_at = COALESCE(?, takeover_at), finished_at = ?, updated_at = ?
            WHERE id = ? AND status IN (${placeholders(OPEN.length)})`;
  }

  private outcomeParams(id: string, o: TransferOutcome, now: Date): unknown[] {
    const isOpen = OPEN.includes(o.status);
    return [
      o.status,
      isOpen ? 1 : 0,
      o.errcode ?? null,
      o.message?.slice(0, 255) ?? null,
      o.takeoverAt?.getTime() ?? null,
      isOpen ? null : now.getTime(),
      now.getTime(),
      id,
      ...OPEN,
    ];
  }

  /**
   * The (kind, handover, takeover) pairs with transfers to poll: waiting ones, and requested ones older than
   * `requestedBefore` (their WeCom call's outcome is unknown, or the process stopped mid-request).
   */
  async pairsToPoll(requestedBefore: Date): Promise<{ kind: TransferKind; handoverUserid: string; takeoverUserid: string }[]> {
    const rows = await this.db.query<{ kind: TransferKind; handover_userid: string; takeover_userid: string }>(
      `SELECT DISTINCT kind, handover_userid, takeover_userid FROM transfers
       WHERE status = 'waiting' OR (status = 'requested' AND requested_at < ?) ORDER BY kind, handover_userid, takeover_userid`,
      [requestedBefore.getTime()],
    );
    return rows.map((r) => ({ kind: r.kind, handoverUserid: r.handover_userid, takeoverUserid: r.takeover_userid }));
  }

  /** The open transfers of one pair that the poll should look at (see pairsToPoll). */
  async openOfPair(kind: TransferKind, handover: string, takeover: string, requestedBefore: Date): Promise<Transfer[]> {
    const rows = await this.db.query<Row>(
      `SELECT * FROM transfers WHERE kind = ? AND handover_userid = ? AND takeover_userid = ?
         AND (status = 'waiting' OR (status = 'requested' AND requested_at < ?)) ORDER BY requested_at, id`,
      [kind, handover, takeover, requestedBefore.getTime()],
    );
    return rows.map(map);
  }

  /** The archive's names of these customers (customers the bot never archived are absent). */
  async customerNames(externalUserIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < externalUserIds.length; i += 500) {
      const ids = externalUserIds.slice(i, i + 500);
      const rows = await this.db.query<{ external_user_id: string; name: string }>(`SELECT external_user_id, name FROM customers WHERE external_user_id IN (${placeholders(ids.length)})`, ids);
      for (const r of rows) out.set(r.external_user_id, r.name);
    }
    return out;
  }

  /**
   * Whether any transfer is open (requested or waiting) or finished at or after `sinceMs`: when none is, no
   * callback can belong to a transfer and the per-callback lookup is skipped.
   */
  async anyOpenOrFinishedSince(sinceMs: number): Promise<boolean> {
    const open = await this.db.query('SELECT 1 AS x FROM transfers WHERE open_key IS NOT NULL LIMIT 1');
    if (open.length > 0) return true;
    return (await this.db.query('SELECT 1 AS x FROM transfers WHERE finished_at >= ? LIMIT 1', [sinceMs])).length > 0;
  }

  /**
   * The transfer a callback about (`role` = `userid`, customer) is about: the customer's open one if any (at most one,
   * by `open_key`), else the most recently finished one in `statuses`. Ordered by state and time, never by id alone:
   * ids made in the same millisecond are not ordered.
   */
  async findForCallback(externalUserId: string, role: 'handover' | 'takeover', userid: string, statuses: readonly TransferStatus[]): Promise<Transfer | null> {
    const column = role === 'handover' ? 'handover_userid' : 'takeover_userid';
    const rows = await this.db.query<Row>(
      `SELECT * FROM transfers WHERE external_user_id = ? AND ${column} = ? AND status IN (${placeholders(statuses.length)})
       ORDER BY CASE WHEN open_key IS NULL THEN 1 ELSE 0 END, COALESCE(finished_at, requested_at) DESC, id DESC LIMIT 1`,
      [externalUserId, userid, ...statuses],
    );
    return rows[0] ? map(rows[0]) : null;
  }

  /** A page of transfers, newest first, with the customer's name. */
  async list(filter: { status?: TransferStatus; handover?: string; takeover?: string; customer?: string; requestId?: string; page: number; pageSize: number }): Promise<{ items: TransferListItem[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status) (where.push('t.status = ?'), params.push(filter.status));
    if (filter.handover) (where.push('t.handover_userid = ?'), params.push(filter.handover));
    if (filter.takeover) (where.push('t.takeover_userid = ?'), params.push(filter.takeover));
    if (filter.customer) (where.push('t.external_user_id = ?'), params.push(filter.customer));
    if (filter.requestId) (where.push('t.request_id = ?'), params.push(filter.requestId));
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const [count] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM transfers t ${clause}`, params);
    const rows = await this.db.query<Row>(
      `SELECT t.*, c.name AS customer_name FROM transfers t LEFT JOIN customers c ON c.external_user_id = t.external_user_id
       ${clause} ORDER BY t.requested_at DESC, t.id DESC LIMIT ? OFFSET ?`,
      [...params, filter.pageSize, (filter.page - 1) * filter.pageSize],
    );
    return { items: rows.map(map), total: Number(count?.n ?? 0) };
  }

  /**
   * Customers `handover` actively follows, optionally narrowed by a compiled audience (its SQL names the customer
   * table `c`), oldest relation first.
   */
  async activeCustomersOf(handover: string, audience?: { sql: string; params: unknown[] }): Promise<string[]> {
    const rows = await this.db.query<{ external_user_id: string }>(
      `SELECT fr.external_user_id AS external_user_id FROM follow_relations fr JOIN customers c ON c.external_user_id = fr.external_user_id
       WHERE fr.userid = ? AND fr.status = 'active'${audience ? ` AND (${audience.sql})` : ''} ORDER BY fr.id`,
      [handover, ...(audience?.params ?? [])],
    );
    return rows.map((r) => r.external_user_id);
  }
}
