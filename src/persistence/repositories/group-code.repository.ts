import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { execIn } from '../db.js';
import { isDuplicateKeyError } from '../data-source.js';
import { NotFoundError } from '../../shared/errors.js';
import { placeholders } from './sql-upsert.js';
import type { GroupCode, GroupCodeDayRow, GroupCodeStatus } from '../../domain/groups/group-code.types.js';

interface Row {
  id: string;
  name: string;
  state: string;
  config_id: string | null;
  qr_code: string | null;
  chat_ids: string | null;
  auto_create_room: number | string;
  room_base_name: string;
  room_base_id: number | string;
  status: string;
  last_error: string | null;
  chats_synced_at: number | string | null;
  created_at: number | string;
  updated_at: number | string;
}

function map(r: Row): GroupCode {
  return {
    id: r.id,
    name: r.name,
    state: r.state,
    configId: r.config_id,
    qrCode: r.qr_code,
    chatIds: r.chat_ids ? (JSON.parse(r.chat_ids) as string[]) : [],
    autoCreateRoom: Number(r.auto_create_room) === 1,
    roomBaseName: r.room_base_name,
    roomBaseId: Number(r.room_base_id),
    status: r.status as GroupCodeStatus,
    lastError: r.last_error,
    chatsSyncedAt: r.chats_synced_at == null ? null : new Date(Number(r.chats_synced_at)),
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

/** A join row of the attribution ledger: which member came into which group through a code, and when they left. */
export interface GroupCodeJoinRow {
  id: number;
  codeId: string;
  memberId: string;
  joinedAt: number;
  leftAt: number | null;
}

/** 群活码, the joins they brought, and their counts per local day and group. */
export class GroupCodeRepository {
  constructor(private readonly db: Db) {}

  /** Insert a code; false when its state is already taken. */
  async insert(c: GroupCode): Promise<boolean> {
    return this.db.writeUnique(
      `INSERT INTO group_codes (id, name, state, config_id, qr_code, chat_ids, auto_create_room, room_base_name, room_base_id, status, last_error, chats_synced_at, created_at, updated_at)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      [c.id, c.name, c.state, c.configId, c.qrCode, JSON.stringify(c.chatIds), c.autoCreateRoom ? 1 : 0, c.roomBaseName, c.roomBaseId, c.status, c.lastError, c.chatsSyncedAt?.getTime() ?? null, c.createdAt.getTime(), c.updatedAt.getTime()],
    );
  }

  /** Overwrite a code's fields. */
  async update(c: GroupCode): Promise<void> {
    await this.db.query(
      `UPDATE group_codes SET name = ?, config_id = ?, qr_code = ?, chat_ids = ?, auto_create_room = ?, room_base_name = ?, room_base_id = ?, status = ?, last_error = ?,
       chats_synced_at = ?, updated_at = ? WHERE id = ?`,
      [c.name, c.configId, c.qrCode, JSON.stringify(c.chatIds), c.autoCreateRoom ? 1 : 0, c.roomBaseName, c.roomBaseId, c.status, c.lastError, c.chatsSyncedAt?.getTime() ?? null, c.updatedAt.getTime(), c.id],
    );
  }

  /** The code or NotFoundError; a deleted code is not found. */
  async get(id: string): Promise<GroupCode> {
    const rows = await this.db.query<Row>("SELECT * FROM group_codes WHERE id = ? AND status <> 'deleted'", [id]);
    if (!rows[0]) throw new NotFoundError('群活码不存在', 'group_code_not_found');
    return map(rows[0]);
  }

  /** A page of codes, newest first, without deleted ones. */
  async list(page: number, pageSize: number): Promise<{ items: GroupCode[]; total: number }> {
    const [{ n }] = await this.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM group_codes WHERE status <> 'deleted'");
    const rows = await this.db.query<Row>("SELECT * FROM group_codes WHERE status <> 'deleted' ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", [pageSize, (page - 1) * pageSize]);
    return { items: rows.map(map), total: Number(n) };
  }

  /** Codes by state, deleted ones too: a join through a code deleted since still belongs to it. */
  async findByStatesInTx(em: EntityManager, states: string[]): Promise<GroupCode[]> {
    if (states.length === 0) return [];
    const rows: Row[] = await em.query(`SELECT * FROM group_codes WHERE state IN (${placeholders(states.length)})`, states);
    return rows.map(map);
  }

  /** Append a group to a code's list (a room WeCom opened), unless it is there. */
  async addChatInTx(em: EntityManager, code: GroupCode, chatId: string, now: number): Promise<void> {
    const rows: Row[] = await em.query('SELECT chat_ids FROM group_codes WHERE id = ?', [code.id]);
    const chatIds = rows[0]?.chat_ids ? (JSON.parse(rows[0].chat_ids) as string[]) : [];
    if (chatIds.includes(chatId)) return;
    await em.query('UPDATE group_codes SET chat_ids = ?, updated_at = ? WHERE id = ?', [JSON.stringify([...chatIds, chatId]), now, code.id]);
  }

  /** The ledger's rows of a group: every member any code brought into it. */
  async joinsOfChatInTx(em: EntityManager, chatId: string): Promise<GroupCodeJoinRow[]> {
    const rows: { id: number | string; code_id: string; member_id: string; joined_at: number | string; left_at: number | string | null }[] = await em.query(
      'SELECT id, code_id, member_id, joined_at, left_at FROM group_code_joins WHERE chat_id = ?',
      [chatId],
    );
    return rows.map((r) => ({ id: Number(r.id), codeId: r.code_id, memberId: r.member_id, joinedAt: Number(r.joined_at), leftAt: r.left_at == null ? null : Number(r.left_at) }));
  }

  /** Record a first join through a code; false when another handler recorded it first (nothing to count). */
  async insertJoinInTx(em: EntityManager, j: { codeId: string; chatId: string; memberId: string; joinedAt: number }, now: number): Promise<boolean> {
    try {
      await em.query('INSERT INTO group_code_joins (code_id, chat_id, member_id, joined_at, left_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?)', [
        j.codeId,
        j.chatId,
        j.memberId,
        j.joinedAt,
        null,
        now,
        now,
      ]);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /** Reopen a row for a member who left and came back through the code; false when it was open already. */
  async rejoinInTx(em: EntityManager, id: number, joinedAt: number, now: number): Promise<boolean> {
    return (await execIn(em, 'UPDATE group_code_joins SET joined_at = ?, left_at = NULL, updated_at = ? WHERE id = ? AND left_at IS NOT NULL', [joinedAt, now, id])) === 1;
  }

  /** Close a row for a member who left; false when it was closed already. */
  async leaveInTx(em: EntityManager, id: number, leftAt: number, now: number): Promise<boolean> {
    return (await execIn(em, 'UPDATE group_code_joins SET left_at = ?, updated_at = ? WHERE id = ? AND left_at IS NULL', [leftAt, now, id])) === 1;
  }

  /** Count one join or leave on a code's local day and group. */
  async bumpInTx(em: EntityManager, codeId: string, day: string, chatId: string, field: 'joins' | 'leaves'): Promise<void> {
    const conflict = this.db.engine === 'mysql' ? `ON DUPLICATE KEY UPDATE ${field} = ${field} + 1` : `ON CONFLICT(code_id, day, chat_id) DO UPDATE SET ${field} = ${field} + 1`;
    await em.query(`INSERT INTO group_code_daily (code_id, day, chat_id, joins, leaves) VALUES (?,?,?,?,?) ${conflict}`, [codeId, day, chatId, field === 'joins' ? 1 : 0, field === 'leaves' ? 1 : 0]);
  }

  /** A code's counts per day and group from `from` to `to` (inclusive local dates), oldest first. */
  async dailyBetween(codeId: string, from: string, to: string): Promise<GroupCodeDayRow[]> {
    const rows = await this.db.query<{ day: string; chat_id: string; joins: number | string; leaves: number | string }>(
      'SELECT day, chat_id, joins, leaves FROM group_code_daily WHERE code_id = ? AND day >= ? AND day <= ? ORDER BY day, chat_id',
      [codeId, from, to],
    );
    return rows.map((r) => ({ day: r.day, chatId: r.chat_id, joins: Number(r.joins), leaves: Number(r.leaves) }));
  }

  /** A code's members now in its groups (joined and not left), per group. */
  async currentByChat(codeId: string): Promise<Map<string, number>> {
    const rows = await this.db.query<{ chat_id: string; n: number | string }>('SELECT chat_id, COUNT(*) AS n FROM group_code_joins WHERE code_id = ? AND left_at IS NULL GROUP BY chat_id', [codeId]);
    return new Map(rows.map((r) => [r.chat_id, Number(r.n)]));
  }

  /** Names of groups from the archive, for the stats' group column; a group not synced yet is absent. */
  async chatNames(chatIds: string[]): Promise<Map<string, string>> {
    if (chatIds.length === 0) return new Map();
    const rows = await this.db.query<{ chat_id: string; name: string }>(`SELECT chat_id, name FROM group_chats WHERE chat_id IN (${placeholders(chatIds.length)})`, chatIds);
    return new Map(rows.map((r) => [r.chat_id, r.name]));
  }
}
