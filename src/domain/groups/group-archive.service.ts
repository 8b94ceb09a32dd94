import type { Db } from '../../persistence/db.js';
import type { GroupChatRepository } from '../../persistence/repositories/group-chat.repository.js';
import type { TimelineRepository } from '../../persistence/repositories/timeline.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { GroupChat } from '../../wecom/client/types.js';
import type { Clock } from '../../shared/clock.js';
import { WecomApiError } from '../../shared/errors.js';
import type { GroupChatSnapshot, GroupMembership, MembershipDiff } from './group-chat.types.js';
import type { GroupMemberSeen } from './group-code.types.js';

/**
 * Told every group snapshot the archive applied (a dismissed group with no members) and when members it no longer lists
 * left: 群活码 attribute joins and leaves from it (docs/groups.md §Attribution).
 */
export type GroupSnapshotPort = (chatId: string, members: GroupMemberSeen[], at: Date) => Promise<void>;

/** groupchat/get's answer for a chat WeCom does not know (dismissed, or never visible): 40050 (docs/wecom-protocol.md §Error codes). */
export const ERR_CHAT_NOT_FOUND = 40050;

/** How a leave was reported: the member ids a del_member event named, when, and its QuitScene. */
export interface LeaveReport {
  memberIds: string[];
  at: number;
  quitScene: number | null;
}

/** What one refresh did: spells opened and closed, or the group found gone. */
export interface RefreshOutcome {
  joined: number;
  left: number;
  isDismissed: boolean;
}

/** The group snapshot from groupchat/get in the archive's words. */
export function toSnapshot(g: GroupChat, status?: number): GroupChatSnapshot {
  return {
    chatId: g.chatId,
    name: g.name,
    owner: g.owner,
    createdAt: g.createdAt,
    notice: g.notice ?? '',
    adminUserIds: g.adminUserIds,
    ...(status === undefined ? {} : { status }),
    members: g.members.map((m) => ({
      memberId: m.userId,
      type: m.type,
      unionId: m.unionId ?? null,
      joinedAt: m.joinedAt,
      joinScene: m.joinScene,
      invitor: m.invitorUserId ?? null,
      state: m.state ?? null,
      groupNickname: m.groupNickname ?? '',
      name: m.name ?? '',
    })),
  };
}

/**
 * Keeps the group archive (docs/groups.md §Archive): re-reads a group with groupchat/get and applies the snapshot, so
 * membership spells open and close by diffing against who is in now; customers' joins and leaves go on their timeline
 * in the same transaction. Used by the change_external_chat handler and by the full sync.
 */
export class GroupArchiveService {
  constructor(
    private readonly db: Db,
    private readonly chats: GroupChatRepository,
    private readonly timeline: TimelineRepository,
    private readonly wecom: WecomGateway,
    private readonly clock: Clock,
    private readonly onSnapshot?: GroupSnapshotPort,
  ) {}

  /**
   * Re-read a group and apply it. A group WeCom no longer knows (40050) is dismissed. `leave` names members a
   * del_member event reported, who get its time and QuitScene; anyone else missing left unseen and closes now.
   */
  async refresh(chatId: string, opts: { leave?: LeaveReport; syncRunId?: string; status?: number } = {}): Promise<RefreshOutcome> {
    const readAt = this.clock.now().getTime();
    let g: GroupChat;
    try {
      g = await this.wecom.groupChatGet(chatId, { needName: true });
    } catch (err) {
      if (err instanceof WecomApiError && err.errcode === ERR_CHAT_NOT_FOUND) {
        const left = await this.dismiss(chatId, readAt);
        return { joined: 0, left, isDismissed: true };
      }
      throw err;
    }
    const diff = await this.apply(toSnapshot(g, opts.status), readAt, opts);
    return { joined: diff.joined.length, left: diff.left.length, isDismissed: false };
  }

  /** Apply a snapshot read at `readAt`, and write the customers' timeline lines with it. */
  async apply(s: GroupChatSnapshot, readAt: number, opts: { leave?: LeaveReport; syncRunId?: string } = {}): Promise<MembershipDiff> {
    const now = this.clock.now();
    const reported = new Set(opts.leave?.memberIds ?? []);
    const diff = await this.db.tx(async (em) => {
      const diff = await this.chats.applySnapshotInTx(em, s, {
        readAt,
        now: now.getTime(),
        syncRunId: opts.syncRunId ?? null,
        leaveOf: (memberId) => (opts.leave && reported.has(memberId) ? { at: opts.leave.at, quitScene: opts.leave.quitScene } : { at: readAt, quitScene: null }),
      });
      for (const m of diff.joined) if (m.type === 2) await this.timeline.addInTx(em, joinEntry(m, s.name, s.owner, now), now);
      for (const m of diff.left) if (m.type === 2) await this.timeline.addInTx(em, leaveEntry(m, s.name, s.owner, now), now);
      // An earlier event's snapshot may already have shown these members gone (events are handled after the fact):
      // their spells then learn the time and QuitScene from this del_member, and their timeline lines are rewritten.
      if (opts.leave) {
        const closedNow = new Set(diff.left.map((m) => m.memberId));
        const refined = await this.chats.refineLeavesInTx(em, s.chatId, opts.leave.memberIds.filter((id) => !closedNow.has(id)), opts.leave.at, opts.leave.quitScene, now.getTime());
        for (const m of refined) {
          if (m.type !== 2) continue;
          const entry = leaveEntry(m, s.name, s.owner, now);
          await this.timeline.removeInTx(em, entry.source, entry.sourceId);
          await this.timeline.addInTx(em, entry, now);
        }
      }
      return diff;
    });
    // After the archive's own write: attribution has its own idempotent ledger, and re-reads heal a missed call.
    await this.onSnapshot?.(s.chatId, s.members.map((m) => ({ memberId: m.memberId, joinedAt: m.joinedAt ?? new Date(readAt), ...(m.state ? { state: m.state } : {}) })), new Date(opts.leave?.at ?? readAt));
    return diff;
  }

  /** Dismiss a group (change_external_chat dismiss, or WeCom forgot it): every open spell closes at `at`. */
  async dismiss(chatId: string, at: number): Promise<number> {
    const now = this.clock.now();
    const count = await this.db.tx(async (em) => {
      const left = await this.chats.markDismissedInTx(em, chatId, at, now.getTime());
      const g = await em.query('SELECT name, owner FROM group_chats WHERE chat_id = ?', [chatId]);
      const { name, owner } = (g as { name: string; owner: string | null }[])[0] ?? { name: '', owner: null };
      for (const m of left) if (m.type === 2) await this.timeline.addInTx(em, leaveEntry(m, name, owner, now, true), now);
      return left.length;
    });
    await this.onSnapshot?.(chatId, [], new Date(at));
    return count;
  }
}

const SOURCE = 'group';

function joinEntry(m: GroupMembership, groupName: string, owner: string | null, now: Date) {
  return {
    externalUserId: m.memberId,
    staffUserid: owner,
    kind: 'group_join',
    summary: `加入客户群「${groupName || m.chatId}」`,
    data: { chatId: m.chatId, joinScene: m.joinScene, state: m.state, invitor: m.invitor },
    source: SOURCE,
    sourceId: `join:${m.id}`,
    occurredAt: m.joinedAt ?? now,
  };
}

function leaveEntry(m: GroupMembership, groupName: string, owner: string | null, now: Date, isDismissed = false) {
  const how = isDismissed ? '（群已解散）' : m.quitScene === 1 ? '（被移出）' : '';
  return {
    externalUserId: m.memberId,
    staffUserid: owner,
    kind: 'group_leave',
    summary: `退出客户群「${groupName || m.chatId}」${how}`,
    data: { chatId: m.chatId, quitScene: m.quitScene, isDismissed },
    source: SOURCE,
    sourceId: `leave:${m.id}`,
    occurredAt: m.leftAt ?? now,
  };
}
