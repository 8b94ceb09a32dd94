import { type Db } from '../db.js';
import { placeholders } from './sql-upsert.js';
import type { TransferKind } from '../../domain/transfers/transfer.types.js';
import type { GroupTransfer, GroupTransferListItem, GroupTransferOutcome, GroupTransferStatus, NewGroupTransfer } from '../../domain/transfers/group-transfer.types.js';

type Num = number | string;
interface Row {
  id: string;
  request_id: string;
  kind: TransferKind;
  chat_id: string;
  handover_userid: string;
  new_owner: string;
  status: GroupTransferStatus;
  errcode: Num | null;
  message: string | null;
  attempts: Num;
  next_attempt_at: Num | null;
  requested_by: string;
  requested_at: Num;
  finished_at: Num | null;
  updated_at: Num;
  chat_name?: string | null;
}

const OPEN: readonly GroupTransferStatus[] = ['requested', 'retrying'];
const date = (v: Num | null | undefined): Date | null => (v === null || v === undefined ? null : new Date(Number(v)));

function map(r: Row): GroupTransferListItem {
  return {
    id: r.id,
    requestId: r.request_id,
    kind: r.kind,
    chatId: r.chat_id,
    handoverUserid: r.handover_userid,
    newOwner: r.new_owner,
    status: r.status,
    errcode: r.errcode === null ? null : Number(r.errcode),
    message: r.message,
    attempts: Number(r.attempts),
    nextAttemptAt: date(r.next_attempt_at),
    requestedBy: r.requested_by,
    requestedAt: new Date(Number(r.requested_at)),
    finishedAt: date(r.finished_at),
    updatedAt: new Date(Number(r.updated_at)),
    chatName: r.chat_name ?? null,
  };
}

/** The `group_transfers` table (migration 0053): one row per (request, group). */
export class GroupTransferRepository {
  constructor(private readonly db: Db) {}

  /**
   * Insert a `requested` row unless the group already has an open transfer: the unique `open_key` decides, so two
   * concurrent requests cannot both reach WeCom for one group. True when inserted.
   */
  insertRequested(t: NewGroupTransfer, now: Date): Promise<boolean> {
    return this.db.writeUnique(
      `INSERT INTO group_transfers (id, request_id, kind, chat_id, handover_userid, new_owner, status, open_key, attempts, requested_by, requested_at, updated_at)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
      [t.id, t.requestId, t.kind, t.chatId, t.handoverUserid, t.newOwner, 'requested', t.chatId, 0, t.requestedBy.slice(0, 100), now.getTime(), now.getTime()],
    );
  }

  /** The open transfer of each of these groups. */
  async findOpen(chatIds: string[]): Promise<Map<string, GroupTransfer>> {
    const out = new Map<string, GroupTransfer>();
    for (let i = 0; i < chatIds.length; i += 500) {
      const ids = chatIds.slice(i, i + 500);
      const rows = await this.db.query<Row>(`SELECT * FROM group_transfers WHERE open_key IN (${placeholders(ids.length)})`, ids);
      for (const r of rows) out.set(r.chat_id, map(r));
    }
    return out;
  }

  /** Count one more WeCom call for these open rows, before it is made. */
  async countAttempt(ids: string[], now: Date): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      await this.db.exec(`UPDATE group_transfers SET attempts = attempts + 1, updated_at = ? WHERE id IN (${placeholders(part.length)}) AND open_key IS NOT NULL`, [now.getTime(), ...part]);
    }
  }

  /**
   * Record an outcome of an open transfer; a final status releases `open_key`. Only an open row changes, so the job and
   * a request racing on one group apply it once. True when this call changed it.
   */
  async setOutcome(id: string, o: GroupTransferOutcome, now: Date): Promise<boolean> {
    const isOpen = OPEN.includes(o.status);
    const changed = await this.db.exec(
      `UPDATE group_transfers SET status = ?, open_key = CASE WHEN ? = 1 THEN open_key ELSE NULL END, errcode = ?, message = ?, next_attempt_at = ?,
         finished_at = ?, updated_at = ?
       WHERE id = ? AND status IN (${placeholders(OPEN.length)})`,
      [o.status, isOpen ? 1 : 0, o.errcode ?? null, o.message?.slice(0, 255) ?? null, o.nextAttemptAt?.getTime() ?? null, isOpen ? null : now.getTime(), now.getTime(), id, ...OPEN],
    );
    return changed > 0;
  }

  /**
   * The new owner written into the archive's group row once WeCom handed the group over, so lists and audiences see it
   * before the next sync or callback (docs/groups.md §Group transfers). A departed owner's group is inherited then
   * (status 3, docs/wecom-protocol.md §Group transfers).
   */
  async setArchivedOwner(chatId: string, owner: string, kind: TransferKind, now: Date): Promise<void> {
    await this.db.exec('UPDATE group_chats SET owner = ?, status = CASE WHEN ? = 1 THEN 3 ELSE status END, updated_at = ? WHERE chat_id = ?', [owner, kind === 'resigned' ? 1 : 0, now.getTime(), chatId]);
  }

  /** `requested` rows older than `before`: their WeCom call ended without an answer, or the process stopped. */
  async unanswered(before: Date, limit: number): Promise<GroupTransfer[]> {
    const rows = await this.db.query<Row>(`SELECT * FROM group_transfers WHERE status = 'requested' AND requested_at < ? AND updated_at < ? ORDER BY requested_at, id LIMIT ?`, [before.getTime(), before.getTime(), limit]);
    return rows.map(map);
  }

  /** `retrying` rows due at `now`, oldest first. */
  async dueRetries(now: Date, limit: number): Promise<GroupTransfer[]> {
    const rows = await this.db.query<Row>(`SELECT * FROM group_transfers WHERE status = 'retrying' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, [now.getTime(), limit]);
    return rows.map(map);
  }

  /** The archive's names of these groups. */
  async chatNames(chatIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < chatIds.length; i += 500) {
      const ids = chatIds.slice(i, i + 500);
      const rows = await this.db.query<{ chat_id: string; name: string }>(`SELECT chat_id, name FROM group_chats WHERE chat_id IN (${placeholders(ids.length)})`, ids);
      for (const r of rows) out.set(r.chat_id, r.name);
    }
    return out;
  }

  /** A page of group transfers, newest first, with the group's name. */
  async list(filter: { status?: GroupTransferStatus; handover?: string; newOwner?: string; chatId?: string; requestId?: string; page: number; pageSize: number }): Promise<{ items: GroupTransferListItem[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status) (where.push('t.status = ?'), params.push(filter.status));
    if (filter.handover) (where.push('t.handover_userid = ?'), params.push(filter.handover));
    if (filter.newOwner) (where.push('t.new_owner = ?'), params.push(filter.newOwner));
    if (filter.chatId) (where.push('t.chat_id = ?'), params.push(filter.chatId));
    if (filter.requestId) (where.push('t.request_id = ?'), params.push(filter.requestId));
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const [count] = await this.db.query<{ n: Num }>(`SELECT COUNT(*) AS n FROM group_transfers t ${clause}`, params);
    const rows = await this.db.query<Row>(
      `SELECT t.*, g.name AS chat_name FROM group_transfers t LEFT JOIN group_chats g ON g.chat_id = t.chat_id
       ${clause} ORDER BY t.requested_at DESC, t.id DESC LIMIT ? OFFSET ?`,
      [...params, filter.pageSize, (filter.page - 1) * filter.pageSize],
    );
    return { items: rows.map(map), total: Number(count?.n ?? 0) };
  }
}
