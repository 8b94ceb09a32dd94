import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { Db } from '../../persistence/db.js';
import type { GroupCodeRepository } from '../../persistence/repositories/group-code.repository.js';
import type { JoinWayInput, WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { ValidationError, WecomApiError, invalidField, toError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { describeWecomFailure } from './wecom-failure.js';
import { addDays, daysBetween, localDate } from '../../shared/dates.js';
import type { GroupCode, GroupMemberSeen } from './group-code.types.js';

/** A 群活码 as the API creates it (docs/groups.md §Group QR codes). */
export interface GroupCodeInput {
  name: string;
  chatIds: string[];
  autoCreateRoom: boolean;
  roomBaseName: string;
  roomBaseId: number;
}

/** One day of a code's statistics. */
export interface GroupCodeDay {
  day: string;
  joins: number;
  leaves: number;
  net: number;
}

/** One group's share of a code's statistics over the range, and its members who came through the code now. */
export interface GroupCodeByGroup {
  chatId: string;
  name: string | null;
  joins: number;
  leaves: number;
  net: number;
  current: number;
}

/**
 * Refusals of a join way that the form can fix (docs/wecom-protocol.md §Group join ways): a bad parameter (40058), an
 * empty list (40063), a group WeCom does not know (40050), an owner outside the app's visible range (60011).
 */
const REFUSED: Record<number, string> = {
  40058: '企业微信拒绝了该配置（错误码 40058）：请检查群数量（最多 5 个）与群名前缀（最多 40 个字）',
  40063: '请至少选择一个客户群',
  40050: '企业微信找不到所选的群（错误码 40050）：群可能已解散，请先同步客户群',
  60011: '所选群的群主不在应用的可见范围内（错误码 60011）',
};

const minDate = (a: string, b: string) => (a < b ? a : b);


/**
 * 群活码 (docs/groups.md §Group QR codes): join ways with a unique state, created, edited and deleted in WeCom; a code
 * WeCom did not take is parked (status failed, with the reason) for the operator to retry. Every join whose member
 * carries a code's state is attributed to it, once, with counts per Asia/Shanghai day and group.
 */
export class GroupCodeService {
  constructor(
    private readonly db: Db,
    private readonly codes: GroupCodeRepository,
    private readonly wecom: WecomGateway,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly timezone: string,
  ) {}

  /**
   * Create the code: the row first (pending, with a fresh state ≤ 30 characters), then the join way; its config_id is
   * kept because API-made join ways are invisible in the admin console (docs/wecom-protocol.md §Group join ways). A
   * refusal the form can fix removes the row and answers 400; any other failure parks the code (status failed).
   */
  async create(input: GroupCodeInput): Promise<GroupCode> {
    const now = this.clock.now();
    const code: GroupCode = {
      id: newId(now.getTime()),
      name: input.name,
      // 'gq_' + 24 base64url characters = 27 ≤ 30; random, so a state never reveals or collides with another code.
      state: `gq_${randomBytes(18).toString('base64url')}`,
      configId: null,
      qrCode: null,
      chatIds: input.chatIds,
      autoCreateRoom: input.autoCreateRoom,
      roomBaseName: input.autoCreateRoom ? input.roomBaseName : '',
      roomBaseId: input.roomBaseId,
      status: 'pending',
      lastError: null,
      chatsSyncedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.codes.insert(code))) throw new Error('group code state collision');
    return this.submit(code, { isNew: true });
  }

  /** Try a parked code again (the operator's 重试). */
  async retry(id: string): Promise<GroupCode> {
    const code = await this.codes.get(id);
    if (code.status !== 'failed') return code;
    return this.submit(code, { isNew: false });
  }

  /** Change name, groups or auto-create; a live code is changed in WeCom first (update_join_way takes it all again). */
  async update(id: string, changes: Partial<GroupCodeInput>): Promise<GroupCode> {
    const current = await this.codes.get(id);
    const next: GroupCode = {
      ...current,
      name: changes.name ?? current.name,
      chatIds: changes.chatIds ?? current.chatIds,
      autoCreateRoom: changes.autoCreateRoom ?? current.autoCreateRoom,
      roomBaseName: changes.roomBaseName ?? current.roomBaseName,
      roomBaseId: changes.roomBaseId ?? current.roomBaseId,
      updatedAt: this.clock.now(),
    };
    if (!next.autoCreateRoom) next.roomBaseName = '';
    else if (!next.roomBaseName) throw invalidField('roomBaseName', '开启自动建群时请填写群名前缀');
    if (current.status === 'active' && current.configId) {
      await this.refusal(() => this.wecom.updateJoinWay(current.configId!, this.joinWay(next)));
    }
    await this.codes.update(next);
    return next;
  }

  /** Delete the code in WeCom (its QR code stops working) and hide it; its statistics stay. */
  async remove(id: string): Promise<void> {
    const code = await this.codes.get(id);
    if (code.configId) {
      try {
        await this.wecom.delJoinWay(code.configId);
      } catch (err) {
        // 40058: WeCom no longer knows the config (deleted before, or a repeat after an unknown outcome).
        if (!(err instanceof WecomApiError && err.errcode === 40058)) throw err;
      }
    }
    await this.codes.update({ ...code, status: 'deleted', updatedAt: this.clock.now() });
  }

  /**
   * Read the code back from WeCom: its groups (rooms WeCom opened when all were full are listed there) and QR code
   * (docs/wecom-protocol.md §Group join ways).
   */
  async syncChats(id: string): Promise<GroupCode> {
    const code = await this.codes.get(id);
    if (!code.configId) return code;
    const way = await this.wecom.getJoinWay(code.configId);
    const next: GroupCode = { ...code, chatIds: way.chatIds, qrCode: way.qrCode ?? code.qrCode, chatsSyncedAt: this.clock.now(), updatedAt: this.clock.now() };
    await this.codes.update(next);
    return next;
  }

  /** One code or NotFoundError. */
  get(id: string): Promise<GroupCode> {
    return this.codes.get(id);
  }

  /** A page of codes. */
  list(page: number, pageSize: number): Promise<{ items: GroupCode[]; total: number }> {
    return this.codes.list(page, pageSize);
  }

  /**
   * Attribute a group's members to codes from a snapshot of the group (groupchat/get after any change_external_chat):
   * a member whose state is a code's joined through it, counted once on the local day they joined; a member the ledger
   * has who is gone from the snapshot left, counted once on the day the event says. A dismissed group has no members.
   * Idempotent: replays and re-reads count nothing twice. A group not yet in the code's list is a room WeCom opened:
   * it is added, and the code is read back from WeCom after the transaction.
   */
  async attributeSnapshot(chatId: string, members: GroupMemberSeen[], at: Date): Promise<void> {
    const now = this.clock.now().getTime();
    const withState = members.filter((m) => m.state);
    const newRooms = await this.db.tx(async (em) => {
      const codes = await this.codes.findByStatesInTx(em, [...new Set(withState.map((m) => m.state as string))]);
      const byState = new Map(codes.map((c) => [c.state, c]));
      const ledger = await this.codes.joinsOfChatInTx(em, chatId);
      const byKey = new Map(ledger.map((r) => [`${r.codeId}|${r.memberId}`, r]));
      const rooms: GroupCode[] = [];
      for (const m of withState) {
        const code = byState.get(m.state as string);
        if (!code) continue;
        const joinedAt = m.joinedAt.getTime();
        const row = byKey.get(`${code.id}|${m.memberId}`);
        const isCounted = row
          ? row.leftAt !== null && joinedAt > row.joinedAt && (await this.codes.rejoinInTx(em, row.id, joinedAt, now))
          : await this.codes.insertJoinInTx(em, { codeId: code.id, chatId, memberId: m.memberId, joinedAt }, now);
        if (isCounted) await this.codes.bumpInTx(em, code.id, localDate(m.joinedAt, this.timezone), chatId, 'joins');
        if (!code.chatIds.includes(chatId) && !rooms.includes(code)) {
          await this.codes.addChatInTx(em, code, chatId, now);
          rooms.push(code);
        }
      }
      await this.recordLeaves(em, chatId, ledger, new Set(members.map((m) => m.memberId)), at, now);
      return rooms;
    });
    for (const code of newRooms) {
      // Off the transaction: a failed read only leaves the list as the joins showed it until the next sync.
      if (code.status !== 'deleted') await this.syncChats(code.id).catch((err) => this.log.warn({ codeId: code.id, err: toError(err).message }, 'could not read group code back from WeCom'));
    }
  }

  private async recordLeaves(em: EntityManager, chatId: string, ledger: { id: number; codeId: string; memberId: string; leftAt: number | null }[], present: Set<string>, at: Date, now: number): Promise<void> {
    for (const r of ledger) {
      if (r.leftAt !== null || present.has(r.memberId)) continue;
      if (await this.codes.leaveInTx(em, r.id, at.getTime(), now)) await this.codes.bumpInTx(em, r.codeId, localDate(at, this.timezone), chatId, 'leaves');
    }
  }

  /**
   * A code's joins, leaves and net per local day from `from` to `to` (inclusive, APP_TIMEZONE dates; default the last 30
   * days to today), every day present; by group over the range, with the members who came through the code and are
   * still there; and the range's totals. At most 366 days.
   */
  async daily(id: string, range: { from?: string; to?: string }): Promise<{ from: string; to: string; days: GroupCodeDay[]; byGroup: GroupCodeByGroup[]; total: { joins: number; leaves: number; net: number } }> {
    const code = await this.codes.get(id);
    const today = localDate(this.clock.now(), this.timezone);
    const to = range.to ?? (range.from ? minDate(addDays(range.from, 29), today) : today);
    const from = range.from ?? addDays(to, -29);
    if (from > to) throw invalidField('from', '开始日期不能晚于结束日期');
    if (daysBetween(from, to) > 365) throw invalidField('from', '一次最多查看 366 天');
    const rows = await this.codes.dailyBetween(id, from, to);
    const perDay = new Map<string, { joins: number; leaves: number }>();
    const perChat = new Map<string, { joins: number; leaves: number }>();
    for (const r of rows) {
      const d = perDay.get(r.day) ?? { joins: 0, leaves: 0 };
      d.joins += r.joins;
      d.leaves += r.leaves;
      perDay.set(r.day, d);
      const c = perChat.get(r.chatId) ?? { joins: 0, leaves: 0 };
      c.joins += r.joins;
      c.leaves += r.leaves;
      perChat.set(r.chatId, c);
    }
    const days: GroupCodeDay[] = [];
    for (let day = from; day <= to; day = addDays(day, 1)) {
      const d = perDay.get(day) ?? { joins: 0, leaves: 0 };
      days.push({ day, joins: d.joins, leaves: d.leaves, net: d.joins - d.leaves });
    }
    const current = await this.codes.currentByChat(id);
    const chatIds = [...new Set([...code.chatIds, ...perChat.keys(), ...current.keys()])];
    const names = await this.codes.chatNames(chatIds);
    const byGroup = chatIds.map((chatId) => {
      const c = perChat.get(chatId) ?? { joins: 0, leaves: 0 };
      return { chatId, name: names.get(chatId) ?? null, joins: c.joins, leaves: c.leaves, net: c.joins - c.leaves, current: current.get(chatId) ?? 0 };
    });
    const joins = days.reduce((n, d) => n + d.joins, 0);
    const leaves = days.reduce((n, d) => n + d.leaves, 0);
    return { from, to, days, byGroup, total: { joins, leaves, net: joins - leaves } };
  }

  /** Create the join way for a pending or parked code, and read its QR code; see create for what failures do. */
  private async submit(code: GroupCode, opts: { isNew: boolean }): Promise<GroupCode> {
    let configId: string;
    try {
      configId = (await this.refusal(() => this.wecom.addJoinWay(this.joinWay(code)))).configId;
    } catch (err) {
      if (err instanceof ValidationError) {
        // The form can fix it: a new code leaves nothing behind; a parked one keeps its row with the reason.
        if (opts.isNew) await this.codes.update({ ...code, status: 'deleted', updatedAt: this.clock.now() });
        else await this.codes.update({ ...code, lastError: err.message.slice(0, 500), updatedAt: this.clock.now() });
        throw err;
      }
      this.log.warn({ codeId: code.id, err: toError(err).message }, 'group code not created in WeCom; parked');
      const parked: GroupCode = { ...code, status: 'failed', lastError: describeWecomFailure(err), updatedAt: this.clock.now() };
      await this.codes.update(parked);
      return parked;
    }
    const live: GroupCode = { ...code, configId, status: 'active', lastError: null, updatedAt: this.clock.now() };
    await this.codes.update(live);
    try {
      return await this.syncChats(code.id);
    } catch (err) {
      // The code works; only its picture is missing until the next read (syncChats).
      this.log.warn({ codeId: code.id, err: toError(err).message }, 'group code created; its QR code could not be read yet');
      return live;
    }
  }

  private joinWay(code: GroupCode): JoinWayInput {
    return {
      scene: 'qrcode',
      chatIds: code.chatIds,
      state: code.state,
      remark: code.name.slice(0, 30),
      autoCreateRoom: code.autoCreateRoom,
      roomBaseName: code.autoCreateRoom ? code.roomBaseName : undefined,
      roomBaseId: code.autoCreateRoom ? code.roomBaseId : undefined,
    };
  }

  /** WeCom's refusals the form can fix answer 400 next to the groups field; others pass through. */
  private async refusal<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof WecomApiError && REFUSED[err.errcode]) throw invalidField('chatIds', REFUSED[err.errcode]);
      throw err;
    }
  }
}
