import type { GroupChatRepository } from '../../persistence/repositories/group-chat.repository.js';
import type { CustomerRepository } from '../../persistence/repositories/customer.repository.js';
import type { TagRepository } from '../../persistence/repositories/tag.repository.js';
import type { FollowRelationRepository } from '../../persistence/repositories/follow-relation.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { GroupSopService, SopDueStep } from '../group-sop/group-sop.service.js';
import { NotFoundError, WecomApiError } from '../../shared/errors.js';

/** Members shown at most: a customer group holds up to 500 (docs/wecom-protocol.md §Customer groups). */
const MAX_MEMBERS = 500;

/** One member of the group as the sidebar shows them. */
export interface GroupSidebarMember {
  memberId: string;
  /** `staff` (type 1), `customer` (type 2 and in the archive), `external` (type 2 the bot has no archive of). */
  kind: 'staff' | 'customer' | 'external';
  name: string;
  groupNickname: string;
  joinedAt: Date | null;
  /** The viewer follows this customer: the sidebar may open their card. */
  isMine: boolean;
  /** The customer's tags (de-duplicated over their followers), `group/name`. */
  tags: { name: string; group: string }[];
}

/** The sidebar's view of one customer group. */
export interface GroupSidebarView {
  chatId: string;
  name: string;
  owner: string | null;
  ownerName: string | null;
  notice: string;
  memberCount: number;
  customerCount: number;
  /** True when read from the archive; false when the archive has not synced the group and WeCom was asked. */
  isArchived: boolean;
  members: GroupSidebarMember[];
  /** Today's SOP steps of the group; null when no group SOP is wired. */
  sop: SopDueStep[] | null;
}

/**
 * 客户群 in the staff sidebar (docs/groups.md §Sidebar in a group chat): when the sidebar is opened in a group chat, the
 * group with its members, which of them are customers and their tags, and the group's SOP steps due today. A member
 * sees a group only if they own it, administer it or are in it; any other group answers the same 404 as a group that
 * does not exist, so nothing tells them it does.
 */
export class GroupSidebarService {
  constructor(
    private readonly d: {
      groupChats: Pick<GroupChatRepository, 'find' | 'currentMembers'>;
      customers: Pick<CustomerRepository, 'findMany'>;
      tags: Pick<TagRepository, 'listForCustomers'>;
      relations: Pick<FollowRelationRepository, 'activeOwnersOf'>;
      staffName: (userid: string) => Promise<string>;
      wecom: Pick<WecomGateway, 'groupChatGet'>;
      sop?: Pick<GroupSopService, 'dueToday'>;
    },
  ) {}

  /** The group `chatId` as `userid` may see it. */
  async view(chatId: string, userid: string): Promise<GroupSidebarView> {
    const base = (await this.fromArchive(chatId)) ?? (await this.fromWecom(chatId));
    if (!base) throw new NotFoundError('没有找到这个客户群，或你不在群中', 'group_not_found');
    const staffIds = new Set(base.members.filter((m) => m.type === 1).map((m) => m.memberId));
    const isAllowed = base.owner === userid || base.admins.includes(userid) || staffIds.has(userid);
    if (!isAllowed) throw new NotFoundError('没有找到这个客户群，或你不在群中', 'group_not_found');

    const externals = base.members.filter((m) => m.type === 2).map((m) => m.memberId);
    const [customers, tags, owners] = await Promise.all([this.d.customers.findMany(externals), this.d.tags.listForCustomers(externals), this.d.relations.activeOwnersOf(externals)]);
    const archived = new Map(customers.map((c) => [c.externalUserId, c]));
    const members: GroupSidebarMember[] = [];
    for (const m of base.members.slice(0, MAX_MEMBERS)) {
      if (m.type === 1) {
        members.push({ memberId: m.memberId, kind: 'staff', name: m.name || (await this.d.staffName(m.memberId)), groupNickname: m.groupNickname, joinedAt: m.joinedAt, isMine: false, tags: [] });
        continue;
      }
      const c = archived.get(m.memberId);
      const seen = new Set<string>();
      const ts = (tags.get(m.memberId) ?? []).filter((t) => !seen.has(t.tagId) && seen.add(t.tagId)).map((t) => ({ name: t.name, group: t.groupName }));
      members.push({
        memberId: m.memberId,
        kind: c ? 'customer' : 'external',
        name: c?.name || m.name || m.groupNickname || '微信用户',
        groupNickname: m.groupNickname,
        joinedAt: m.joinedAt,
        isMine: (owners.get(m.memberId) ?? []).includes(userid),
        tags: ts,
      });
    }
    // Owner first, then staff, then customers (the viewer's own first), then the others; by join time within each.
    const rank = (m: GroupSidebarMember) => (m.memberId === base.owner ? 0 : m.kind === 'staff' ? 1 : m.kind === 'customer' ? (m.isMine ? 2 : 3) : 4);
    members.sort((a, b) => rank(a) - rank(b) || (a.joinedAt?.getTime() ?? 0) - (b.joinedAt?.getTime() ?? 0));
    return {
      chatId,
      name: base.name,
      owner: base.owner,
      ownerName: base.owner ? await this.d.staffName(base.owner) : null,
      notice: base.notice,
      memberCount: base.members.length,
      customerCount: base.members.filter((m) => m.type === 2 && archived.has(m.memberId)).length,
      isArchived: base.isArchived,
      members,
      sop: this.d.sop ? await this.d.sop.dueToday(chatId) : null,
    };
  }

  private async fromArchive(chatId: string): Promise<Base | null> {
    const g = await this.d.groupChats.find(chatId);
    if (!g || g.dismissedAt) return null;
    const members = await this.d.groupChats.currentMembers(chatId);
    return {
      name: g.name,
      owner: g.owner,
      admins: g.adminUserIds,
      notice: g.notice,
      isArchived: true,
      members: members.map((m) => ({ memberId: m.memberId, type: m.type, name: m.name, groupNickname: m.groupNickname, joinedAt: m.joinedAt })),
    };
  }

  /** A group the archive has not synced yet (its callback still queued): WeCom's own answer. */
  private async fromWecom(chatId: string): Promise<Base | null> {
    try {
      const g = await this.d.wecom.groupChatGet(chatId, { needName: true });
      return {
        name: g.name,
        owner: g.owner,
        admins: g.adminUserIds,
        notice: g.notice ?? '',
        isArchived: false,
        members: g.members.map((m) => ({ memberId: m.userId, type: m.type, name: m.name ?? '', groupNickname: m.groupNickname ?? '', joinedAt: m.joinedAt })),
      };
    } catch (err) {
      // 40050 (no such group) and any refusal: the group is not one this member can see.
      if (err instanceof WecomApiError) return null;
      throw err;
    }
  }
}

interface Base {
  name: string;
  owner: string | null;
  admins: string[];
  notice: string;
  isArchived: boolean;
  members: { memberId: string; type: number; name: string; groupNickname: string; joinedAt: Date | null }[];
}
