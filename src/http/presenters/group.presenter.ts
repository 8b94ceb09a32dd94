import type { CustomerGroup, GroupLabel, GroupMembership, GroupSummary } from '../../domain/groups/group-chat.types.js';
import type { GroupDetail, GroupMemberView } from '../../domain/groups/group.service.js';
import { presentTags } from './customer.presenter.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A local group label. */
export function presentGroupLabel(l: GroupLabel) {
  return { id: l.id, name: l.name, color: l.color, ...(l.groups === undefined ? {} : { groups: l.groups }) };
}

/** A group in a list. */
export function presentGroup(g: GroupSummary) {
  return {
    chatId: g.chatId,
    name: g.name,
    owner: g.owner,
    notice: g.notice,
    admins: g.adminUserIds,
    status: g.status,
    memberCount: g.memberCount,
    externalCount: g.externalCount,
    createdAt: iso(g.createdAt),
    dismissedAt: iso(g.dismissedAt),
    syncedAt: iso(g.syncedAt),
    labels: g.labels.map(presentGroupLabel),
  };
}

/** One spell of membership. */
export function presentSpell(s: GroupMembership) {
  return {
    memberId: s.memberId,
    type: s.type,
    joinedAt: iso(s.joinedAt),
    joinScene: s.joinScene,
    invitor: s.invitor,
    state: s.state,
    groupNickname: s.groupNickname,
    name: s.name,
    leftAt: iso(s.leftAt),
    quitScene: s.quitScene,
  };
}

function presentMember(m: GroupMemberView) {
  return { ...presentSpell(m), isCustomer: m.isCustomer, customerName: m.customerName, tags: presentTags(m.tags) };
}

/** A group with its members and who left. */
export function presentGroupDetail(d: GroupDetail) {
  return { ...presentGroup(d), members: d.members.map(presentMember), departed: d.departed.map(presentSpell) };
}

/** A customer's group, for the profile. */
export function presentCustomerGroup(g: CustomerGroup) {
  return { chatId: g.chatId, name: g.name, owner: g.owner, joinedAt: iso(g.joinedAt), joinScene: g.joinScene, state: g.state, leftAt: iso(g.leftAt), dismissed: g.isDismissed };
}
