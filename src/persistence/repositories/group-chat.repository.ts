import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { upsertSql } from './sql-upsert.js';
import type {
  CustomerGroup,
  GroupChatSnapshot,
  GroupCounts,
  GroupFilter,
  GroupLabel,
  GroupMembership,
  GroupMemberSnapshot,
  GroupSummary,
  MembershipDiff,
} from '../../domain/groups/group-chat.types.js';

interface GroupRow {
  chat_id: string;
  name: string;
  owner: string | null;
  notice: string | null;
  admin_list: string | null;
  status: number | string;
  member_count: number | string;
  external_count: number | string;
  chat_created_at: number | string | null;
  dismissed_at: number | string | null;
  synced_at: number | string | null;
  last_event_time: number | string | null;
}

interface SpellRow {
  id: number | string;
  chat_id: string;
  member_id: string;
  type: number | string;
  unionid: string | null;
  join_time: number | string | null;
  join_scene: number | string | null;
  invitor: string | null;
  state: string | null;
  group_nickname: string;
  name: string;
  left_at: number | string | null;
  quit_scene: number | string | null;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));
const date = (v: number | string | null): Date | null => (v === null ? null : new Date(Number(v)));

function mapSpell(r: SpellRow): GroupMembership {
  return {
    id: Number(r.id),
    chatId: r.chat_id,
    memberId: r.member_id,
    type: Number(r.type),
    unionId: r.unionid,
    joinedAt: date(r.join_time),
    joinScene: num(r.join_scene),
    invitor: r.invitor,
    state: r.state,
    groupNickname: r.group_nickname,
    name: r.name,
    leftAt: date(r.left_at),
    quitScene: num(r.quit_scene),
  };
}

function mapGroup(r: GroupRow, labels: GroupLabel[]): GroupSummary {
  return {
    chatId: r.chat_id,
    name: r.name,
    owner: r.owner,
    notice: r.notice ?? '',
    adminUserIds: JSON.parse(r.admin_list ?? '[]') as string[],
    status: Number(r.status),
    memberCount: Number(r.member_count),
    externalCount: Number(r.external_count),
    createdAt: date(r.chat_created_at),
    dismissedAt: date(r.dismissed_at),
    syncedAt: date(r.synced_at),
    labels,
  };
}

/** A literal substring for LIKE: `!` escapes the wildcards on both engines (a backslash would differ on MySQL). */
export function likeContains(text: string): string {
  return `%${text.replace(/[!%_]/g, (ch) => `!${ch}`)}%`;
}

/** WHERE text and params for a group filter over `group_chats g`. Values are always bound, never spliced. */
function filterSql(f: GroupFilter): { where: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const inList = (col: string, values: readonly unknown[]) => {
    parts.push(values.length === 0 ? '1 = 0' : `${col} IN (${values.map(() => '?').join(',')})`);
    params.push(...values);
  };
  if (!f.isDismissedIncluded) parts.push('g.dismissed_at IS NULL');
  if (f.owners) inList('g.owner', f.owners);
  if (f.chatIds) inList('g.chat_id', f.chatIds);
  if (f.statuses) inList('g.status', f.statuses);
  if (f.labelIds) {
    parts.push(
      f.labelIds.length === 0 ? '1 = 0' : `EXISTS (SELECT 1 FROM group_chat_labels l WHERE l.chat_id = g.chat_id AND l.label_id IN (${f.labelIds.map(() => '?').join(',')}))`,
    );
    params.push(...f.labelIds);
  }
  if (f.namePattern) {
    parts.push("g.name LIKE ? ESCAPE '!'");
    params.push(likeContains(f.namePattern));
  }
  if (f.minMembers !== undefined) {
    parts.push('g.member_count >= ?');
    params.push(f.minMembers);
  }
  if (f.maxMembers !== undefined) {
    parts.push('g.member_count <= ?');
    params.push(f.maxMembers);
  }
  return { where: parts.length > 0 ? parts.join(' AND ') : '1 = 1', params };
}

/** Recount groups' current and external members from their open spells; append a WHERE on group_chats. */
export const RECOUNT_GROUPS_SQL = `UPDATE group_chats SET
  member_count = (SELECT COUNT(*) FROM group_memberships m WHERE m.chat_id = group_chats.chat_id AND m.current_mark = 1),
  external_count = (SELECT COUNT(*) FROM group_memberships m WHERE m.chat_id = group_chats.chat_id AND m.current_mark = 1 AND m.type = 2)`;

const SPELL_COLS = 'id, chat_id, member_id, type, unionid, join_time, join_scene, invitor, state, group_nickname, name, left_at, quit_scene';

/** Customer groups (客户群), their membership history and their local labels (docs/groups.md §Archive). */
export class GroupChatRepository {
  constructor(private readonly db: Db) {}

  /**
   * Apply a groupchat/get snapshot inside a caller's transaction: update the group row, open a spell for every member
   * not currently in, close the spell of every current member missing from it (when and how `leaveOf` says). A member
   * whose join time moved left and came back unseen: the old spell closes at the new join time, a new one opens.
   * A snapshot read before the one already applied (`readAt`) is ignored. Applying the same snapshot again writes
   * nothing (docs/groups.md §Callbacks).
   */
  async applySnapshotInTx(
    em: EntityManager,
    s: GroupChatSnapshot,
    o: { readAt: number; now: number; syncRunId?: string | null; leaveOf: (memberId: string) => { at: number; quitScene: number | null } },
  ): Promise<MembershipDiff> {
    const [row]: GroupRow[] = await em.query('SELECT * FROM group_chats WHERE chat_id = ?', [s.chatId]);
    const noChange: MembershipDiff = { isApplied: false, joined: [], left: [], isGroupChanged: false };
    if (row && row.last_event_time !== null && o.readAt < Number(row.last_event_time)) {
      if (o.syncRunId) await em.query('UPDATE group_chats SET last_seen_sync = ? WHERE chat_id = ?', [o.syncRunId, s.chatId]);
      return noChange;
    }

    const open: SpellRow[] = await em.query(`SELECT ${SPELL_COLS} FROM group_memberships WHERE chat_id = ? AND current_mark = 1`, [s.chatId]);
    const openBy = new Map(open.map((r) => [r.member_id, r]));
    const seen = new Set<string>();
    const joined: GroupMembership[] = [];
    const left: GroupMembership[] = [];
    const close = async (r: SpellRow, at: number, quitScene: number | null) => {
      await em.query('UPDATE group_memberships SET left_at = ?, quit_scene = ?, current_mark = NULL, updated_at = ? WHERE id = ?', [at, quitScene, o.now, r.id]);
      left.push(mapSpell({ ...r, left_at: at, quit_scene: quitScene }));
    };
    for (const m of s.members) {
      if (seen.has(m.memberId)) continue;
      seen.add(m.memberId);
      const cur = openBy.get(m.memberId);
      const joinTime = m.joinedAt?.getTime() ?? null;
      if (cur && (cur.join_time === null || joinTime === null || Number(cur.join_time) === joinTime)) {
        await this.refreshSpell(em, cur, m, o.now);
        continue;
      }
      if (cur) await close(cur, joinTime ?? o.readAt, null);
      joined.push(await this.openSpell(em, s.chatId, m, o.now));
    }
    for (const r of open) {
      if (seen.has(r.member_id)) continue;
      const leave = o.leaveOf(r.member_id);
      await close(r, leave.at, leave.quitScene);
    }

    const memberCount = seen.size;
    const externalCount = s.members.filter((m, i, all) => m.type === 2 && all.findIndex((x) => x.memberId === m.memberId) === i).length;
    const next = {
      name: s.name.slice(0, 200),
      owner: s.owner,
      notice: s.notice ?? row?.notice ?? '',
      admin_list: JSON.stringify(s.adminUserIds ?? (row ? (JSON.parse(row.admin_list ?? '[]') as string[]) : [])),
      status: s.status ?? (row ? Number(row.status) : 0),
      chat_created_at: s.createdAt?.getTime() ?? num(row?.chat_created_at ?? null),
    };
    const isGroupChanged =
      !row ||
      row.name !== next.name ||
      row.owner !== next.owner ||
      (row.notice ?? '') !== next.notice ||
      (row.admin_list ?? '[]') !== next.admin_list ||
      Number(row.status) !== next.status ||
      num(row.chat_created_at) !== next.chat_created_at ||
      row.dismissed_at !== null ||
      Number(row.member_count) !== memberCount ||
      Number(row.external_count) !== externalCount;
    if (isGroupChanged || joined.length > 0 || left.length > 0) {
      const cols = ['chat_id', 'name', 'owner', 'notice', 'admin_list', 'status', 'chat_created_at', 'dismissed_at', 'member_count', 'external_count', 'last_event_time', 'created_at', 'updated_at'];
      await em.query(upsertSql(this.db.engine, 'group_chats', cols, ['chat_id'], cols.filter((c) => c !== 'chat_id' && c !== 'created_at')), [
        s.chatId,
        next.name,
        next.owner,
        next.notice,
        next.admin_list,
        next.status,
        next.chat_created_at,
        null,
        memberCount,
        externalCount,
        o.readAt,
        o.now,
        o.now,
      ]);
    }
    if (o.syncRunId) await em.query('UPDATE group_chats SET last_seen_sync = ?, synced_at = ? WHERE chat_id = ?', [o.syncRunId, o.now, s.chatId]);
    return { isApplied: true, joined, left, isGroupChanged };
  }

  private async openSpell(em: EntityManager, chatId: string, m: GroupMemberSnapshot, now: number): Promise<GroupMembership> {
    const values = {
      chat_id: chatId,
      member_id: m.memberId,
      type: m.type,
      unionid: m.unionId ?? null,
      join_time: m.joinedAt?.getTime() ?? null,
      join_scene: m.joinScene ?? null,
      invitor: m.invitor ?? null,
      state: m.state?.slice(0, 64) ?? null,
      group_nickname: (m.groupNickname ?? '').slice(0, 100),
      name: (m.name ?? '').slice(0, 100),
    };
    await em.query(
      `INSERT INTO group_memberships (chat_id, member_id, type, unionid, join_time, join_scene, invitor, state, group_nickname, name, current_mark, created_at, updated_at)
       VALUES (?,?,?,?,?,?,?,?,?,?,1,?,?)`,
      [...Object.values(values), now, now],
    );
    const [r]: SpellRow[] = await em.query(`SELECT ${SPELL_COLS} FROM group_memberships WHERE chat_id = ? AND current_mark = 1 AND member_id = ?`, [chatId, m.memberId]);
    return mapSpell(r!);
  }

  /** Fill in what a later snapshot knows better (names come only with need_name; state may arrive late). */
  private async refreshSpell(em: EntityManager, cur: SpellRow, m: GroupMemberSnapshot, now: number): Promise<void> {
    const nickname = (m.groupNickname ?? cur.group_nickname).slice(0, 100);
    const name = (m.name || cur.name).slice(0, 100);
    const state = m.state?.slice(0, 64) ?? cur.state;
    const joinTime = cur.join_time ?? m.joinedAt?.getTime() ?? null;
    const joinScene = num(cur.join_scene) ?? m.joinScene ?? null;
    const invitor = cur.invitor ?? m.invitor ?? null;
    const unionid = m.unionId ?? cur.unionid;
    if (
      nickname === cur.group_nickname &&
      name === cur.name &&
      state === cur.state &&
      num(joinTime) === num(cur.join_time) &&
      joinScene === num(cur.join_scene) &&
      invitor === cur.invitor &&
      unionid === cur.unionid
    ) {
      return;
    }
    await em.query('UPDATE group_memberships SET group_nickname = ?, name = ?, state = ?, join_time = ?, join_scene = ?, invitor = ?, unionid = ?, updated_at = ? WHERE id = ?', [
      nickname,
      name,
      state,
      joinTime,
      joinScene,
      invitor,
      unionid,
      now,
      cur.id,
    ]);
  }

  /**
   * A del_member event handled after a snapshot had already shown the members gone: their spells were closed when the
   * bot noticed, without a QuitScene. Give those spells the event's time and QuitScene (spells closed at or after the
   * event, and joined before it). Returns the spells changed; none on a replay.
   */
  async refineLeavesInTx(em: EntityManager, chatId: string, memberIds: string[], at: number, quitScene: number | null, now: number): Promise<GroupMembership[]> {
    if (memberIds.length === 0) return [];
    const rows: SpellRow[] = await em.query(
      `SELECT ${SPELL_COLS} FROM group_memberships WHERE chat_id = ? AND member_id IN (${memberIds.map(() => '?').join(',')})
       AND current_mark IS NULL AND quit_scene IS NULL AND left_at >= ? AND (join_time IS NULL OR join_time <= ?)`,
      [chatId, ...memberIds, at, at],
    );
    const out: GroupMembership[] = [];
    for (const r of rows) {
      if (quitScene === null && Number(r.left_at) === at) continue;
      await em.query('UPDATE group_memberships SET left_at = ?, quit_scene = ?, updated_at = ? WHERE id = ?', [at, quitScene, now, r.id]);
      out.push(mapSpell({ ...r, left_at: at, quit_scene: quitScene }));
    }
    return out;
  }

  /** Mark a group dismissed and close its open spells (at `at`). Idempotent: a second call closes nothing. */
  async markDismissedInTx(em: EntityManager, chatId: string, at: number, now: number): Promise<GroupMembership[]> {
    await em.query(upsertSql(this.db.engine, 'group_chats', ['chat_id', 'name', 'dismissed_at', 'created_at', 'updated_at'], ['chat_id'], []), [chatId, '', at, now, now]);
    const open: SpellRow[] = await em.query(`SELECT ${SPELL_COLS} FROM group_memberships WHERE chat_id = ? AND current_mark = 1`, [chatId]);
    const [g]: { dismissed_at: number | string | null }[] = await em.query('SELECT dismissed_at FROM group_chats WHERE chat_id = ?', [chatId]);
    if (g?.dismissed_at !== null && open.length === 0) return [];
    await em.query('UPDATE group_chats SET dismissed_at = COALESCE(dismissed_at, ?), member_count = 0, external_count = 0, updated_at = ? WHERE chat_id = ?', [at, now, chatId]);
    await em.query('UPDATE group_memberships SET left_at = ?, current_mark = NULL, updated_at = ? WHERE chat_id = ? AND current_mark = 1', [at, now, chatId]);
    return open.map((r) => mapSpell({ ...r, left_at: at }));
  }

  /** Which of these groups the full-sync run `runId` has already applied (a resumed page skips them). */
  async seenIn(runId: string, chatIds: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < chatIds.length; i += 500) {
      const slice = chatIds.slice(i, i + 500);
      if (slice.length === 0) continue;
      const rows = await this.db.query<{ chat_id: string }>(`SELECT chat_id FROM group_chats WHERE last_seen_sync = ? AND chat_id IN (${slice.map(() => '?').join(',')})`, [runId, ...slice]);
      for (const r of rows) out.add(r.chat_id);
    }
    return out;
  }

  /** How many groups the full-sync run `runId` has applied. */
  async countSeen(runId: string): Promise<number> {
    const [r] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM group_chats WHERE last_seen_sync = ?', [runId]);
    return Number(r?.n ?? 0);
  }

  /** Groups not dismissed that a finished full sync did not list: WeCom no longer has them. */
  async findUnseen(runId: string): Promise<string[]> {
    const rows = await this.db.query<{ chat_id: string }>('SELECT chat_id FROM group_chats WHERE dismissed_at IS NULL AND (last_seen_sync IS NULL OR last_seen_sync <> ?)', [runId]);
    return rows.map((r) => r.chat_id);
  }

  /** Current member ids of a group, sorted (for tests and the archive). */
  async members(chatId: string): Promise<string[]> {
    return (await this.currentMembers(chatId)).map((m) => m.memberId).sort();
  }

  /** Current members of a group (open spells), earliest join first. */
  async currentMembers(chatId: string): Promise<GroupMembership[]> {
    const rows = await this.db.query<SpellRow>(`SELECT ${SPELL_COLS} FROM group_memberships WHERE chat_id = ? AND current_mark = 1 ORDER BY join_time, id`, [chatId]);
    return rows.map(mapSpell);
  }

  /** Every spell of a group (or of one member in it), oldest first. */
  async history(chatId: string, memberId?: string): Promise<GroupMembership[]> {
    const rows = await this.db.query<SpellRow>(`SELECT ${SPELL_COLS} FROM group_memberships WHERE chat_id = ? ${memberId ? 'AND member_id = ?' : ''} ORDER BY id`, memberId ? [chatId, memberId] : [chatId]);
    return rows.map(mapSpell);
  }

  /** Groups a customer is in now (and, with `isPastIncluded`, was in), newest join first. */
  async groupsOfCustomer(externalUserId: string, opts: { isPastIncluded?: boolean } = {}): Promise<CustomerGroup[]> {
    const rows = await this.db.query<{
      chat_id: string;
      name: string;
      owner: string | null;
      join_time: number | string | null;
      join_scene: number | string | null;
      state: string | null;
      left_at: number | string | null;
      dismissed_at: number | string | null;
    }>(
      `SELECT g.chat_id, g.name, g.owner, m.join_time, m.join_scene, m.state, m.left_at, g.dismissed_at
       FROM group_memberships m JOIN group_chats g ON g.chat_id = m.chat_id
       WHERE m.member_id = ? AND m.type = 2 ${opts.isPastIncluded ? '' : 'AND m.current_mark = 1'}
       ORDER BY m.left_at IS NULL DESC, m.join_time DESC, m.id DESC`,
      [externalUserId],
    );
    return rows.map((r) => ({
      chatId: r.chat_id,
      name: r.name,
      owner: r.owner,
      joinedAt: date(r.join_time),
      joinScene: num(r.join_scene),
      state: r.state,
      leftAt: date(r.left_at),
      isDismissed: r.dismissed_at !== null,
    }));
  }

  /** One group, or null. */
  async find(chatId: string): Promise<GroupSummary | null> {
    const [r] = await this.db.query<GroupRow>('SELECT * FROM group_chats WHERE chat_id = ?', [chatId]);
    if (!r) return null;
    const labels = await this.labelsOf([chatId]);
    return mapGroup(r, labels.get(chatId) ?? []);
  }

  /** A page of groups matching a filter, newest first, with their labels. */
  async list(f: GroupFilter, page: number, pageSize: number): Promise<{ items: GroupSummary[]; total: number }> {
    const { where, params } = filterSql(f);
    const [t] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM group_chats g WHERE ${where}`, params);
    const rows = await this.db.query<GroupRow>(`SELECT g.* FROM group_chats g WHERE ${where} ORDER BY g.chat_created_at DESC, g.chat_id LIMIT ? OFFSET ?`, [
      ...params,
      pageSize,
      (page - 1) * pageSize,
    ]);
    const labels = await this.labelsOf(rows.map((r) => r.chat_id));
    return { items: rows.map((r) => mapGroup(r, labels.get(r.chat_id) ?? [])), total: Number(t?.n ?? 0) };
  }

  /** How many groups match, and how many members they have now (docs/groups.md §Filters). */
  async count(f: GroupFilter): Promise<GroupCounts> {
    const { where, params } = filterSql(f);
    const [r] = await this.db.query<{ n: number | string; m: number | string | null; e: number | string | null }>(
      `SELECT COUNT(*) AS n, SUM(g.member_count) AS m, SUM(g.external_count) AS e FROM group_chats g WHERE ${where}`,
      params,
    );
    return { groups: Number(r?.n ?? 0), members: Number(r?.m ?? 0), externalMembers: Number(r?.e ?? 0) };
  }

  /** Ids, owners, names, member counts and creation times of every group matching a filter (for broadcasts and SOP), by owner then id. */
  async matching(f: GroupFilter): Promise<{ chatId: string; owner: string | null; memberCount: number; externalCount: number; name: string; createdAt: Date | null }[]> {
    const { where, params } = filterSql(f);
    const rows = await this.db.query<{ chat_id: string; owner: string | null; member_count: number | string; external_count: number | string; name: string; chat_created_at: number | string | null }>(
      `SELECT g.chat_id, g.owner, g.member_count, g.external_count, g.name, g.chat_created_at FROM group_chats g WHERE ${where} ORDER BY g.owner, g.chat_id`,
      params,
    );
    return rows.map((r) => ({ chatId: r.chat_id, owner: r.owner, memberCount: Number(r.member_count), externalCount: Number(r.external_count), name: r.name, createdAt: date(r.chat_created_at) }));
  }

  /** Labels of these groups, by chat id. */
  async labelsOf(chatIds: string[]): Promise<Map<string, GroupLabel[]>> {
    const out = new Map<string, GroupLabel[]>();
    for (let i = 0; i < chatIds.length; i += 500) {
      const slice = chatIds.slice(i, i + 500);
      const rows = await this.db.query<{ chat_id: string; id: string; name: string; color: string }>(
        `SELECT cl.chat_id, l.id, l.name, l.color FROM group_chat_labels cl JOIN group_labels l ON l.id = cl.label_id
         WHERE cl.chat_id IN (${slice.map(() => '?').join(',')}) ORDER BY l.name`,
        slice,
      );
      for (const r of rows) out.set(r.chat_id, [...(out.get(r.chat_id) ?? []), { id: r.id, name: r.name, color: r.color }]);
    }
    return out;
  }
}
