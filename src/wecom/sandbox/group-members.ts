import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { memberVersion } from './group-join.js';
import type { SandboxGroupChat, SandboxGroupChatMember, SandboxStore } from './store.js';

/**
 * What people do to customer groups in the WeCom client, as the sandbox's store sees it (docs/wecom-protocol.md
 * §Customer groups): a member creates a group, customers join (invited directly, by link or by QR code) and leave (by
 * themselves or removed), the owner renames it, posts a notice or hands it over, or dismisses it. Pure store logic;
 * the sandbox sends the change_external_chat callbacks, or, for a change "behind the bot's back", does not.
 */

/** A group holds at most this many members in WeCom's client (the sandbox refuses more). */
export const GROUP_MAX_MEMBERS = 2000;

/**
 * `JoinScene` of the callback for a member's `join_scene` in groupchat/get: the event says 0 for both kinds of
 * invitation and 3 for a QR code (docs/wecom-protocol.md §Customer group events).
 */
export function eventJoinScene(joinScene: number): number {
  return joinScene === 3 ? 3 : 0;
}

/** What a membership change did to one group: who, and the member-list versions around it. */
export interface MemberChange {
  chat: SandboxGroupChat;
  memberIds: string[];
  lastMemVer: string;
  curMemVer: string;
}

/** Find a group a control names. */
export function requireGroup(store: SandboxStore, chatId: string): SandboxGroupChat {
  const chat = store.groupChats.get(chatId);
  if (!chat) throw new NotFoundError(`group ${chatId} not found`);
  return chat;
}

/** A member creates a group with some customers in it (invited directly, scene 1). */
export function createGroup(
  store: SandboxStore,
  input: { owner: string; name?: string; externalUserIds?: string[]; notice?: string; chatId?: string; createTime: number; status?: number },
): SandboxGroupChat {
  const owner = store.staff.get(input.owner);
  if (!owner) throw new NotFoundError(`staff ${input.owner} not found`);
  const chatId = input.chatId ?? store.newId('wr', 30);
  if (store.groupChats.has(chatId)) throw new ConflictError(`group ${chatId} exists`);
  const members: SandboxGroupChatMember[] = [{ userid: input.owner, type: 1, joinTime: input.createTime, joinScene: 1, groupNickname: '', name: owner.name ?? input.owner }];
  for (const id of new Set(input.externalUserIds ?? [])) {
    members.push({ userid: id, type: 2, joinTime: input.createTime, joinScene: 1, invitor: input.owner, groupNickname: '', name: store.customers.get(id)?.name ?? '' });
  }
  if (members.length > GROUP_MAX_MEMBERS) throw new ValidationError(`a group holds at most ${GROUP_MAX_MEMBERS} members`);
  const chat: SandboxGroupChat = {
    chatId,
    name: input.name ?? '',
    owner: input.owner,
    createTime: input.createTime,
    notice: input.notice ?? '',
    status: input.status ?? 0,
    members,
    admins: [],
  };
  store.groupChats.set(chatId, chat);
  return chat;
}

/** Customers join a group; anyone already in is refused, as WeChat shows them already a member. */
export function addMembers(
  store: SandboxStore,
  input: { chatId: string; externalUserIds: string[]; joinScene: 1 | 2 | 3; invitor?: string; state?: string; joinTime: number },
): MemberChange {
  const chat = requireGroup(store, input.chatId);
  const ids = [...new Set(input.externalUserIds)];
  const already = ids.filter((id) => chat.members.some((m) => m.userid === id));
  if (already.length > 0) throw new ConflictError(`already in the group: ${already.join(', ')}`);
  if (chat.members.length + ids.length > GROUP_MAX_MEMBERS) throw new ConflictError(`a group holds at most ${GROUP_MAX_MEMBERS} members`);
  const invitor = input.joinScene === 3 ? undefined : (input.invitor ?? chat.owner);
  const lastMemVer = memberVersion(chat);
  for (const id of ids) {
    chat.members.push({
      userid: id,
      type: 2,
      joinTime: input.joinTime,
      joinScene: input.joinScene,
      ...(invitor ? { invitor } : {}),
      ...(input.state ? { state: input.state } : {}),
      groupNickname: '',
      name: store.customers.get(id)?.name ?? '',
    });
  }
  return { chat, memberIds: ids, lastMemVer, curMemVer: memberVersion(chat) };
}

/** Members leave a group (or are removed). The owner cannot leave without handing the group over first. */
export function removeMembers(store: SandboxStore, input: { chatId: string; memberIds: string[] }): MemberChange {
  const chat = requireGroup(store, input.chatId);
  const ids = [...new Set(input.memberIds)];
  const missing = ids.filter((id) => !chat.members.some((m) => m.userid === id));
  if (missing.length > 0) throw new NotFoundError(`not in the group: ${missing.join(', ')}`);
  if (ids.includes(chat.owner)) throw new ConflictError('the owner cannot leave; hand the group over first');
  const lastMemVer = memberVersion(chat);
  chat.members = chat.members.filter((m) => !ids.includes(m.userid));
  chat.admins = chat.admins.filter((a) => !ids.includes(a));
  return { chat, memberIds: ids, lastMemVer, curMemVer: memberVersion(chat) };
}

/**
 * A deterministic pick of `joins` customers who join groups they are not in and `leaves` customers who leave groups
 * they are in, for the heal test and bench: spread over the groups in id order, one change per group at a time.
 */
export function pickMembershipChanges(store: SandboxStore, input: { joins: number; leaves: number }): { joins: { chatId: string; memberId: string }[]; leaves: { chatId: string; memberId: string }[] } {
  const chats = [...store.groupChats.values()].sort((a, b) => (a.chatId < b.chatId ? -1 : 1));
  const customers = [...store.customers.keys()].sort();
  const joins: { chatId: string; memberId: string }[] = [];
  const leaves: { chatId: string; memberId: string }[] = [];
  for (let i = 0; chats.length > 0 && (joins.length < input.joins || leaves.length < input.leaves) && i < chats.length * 4; i++) {
    const chat = chats[i % chats.length];
    const inGroup = new Set(chat.members.map((m) => m.userid));
    if (leaves.length < input.leaves) {
      const out = chat.members.find((m) => m.type === 2 && !leaves.some((l) => l.chatId === chat.chatId && l.memberId === m.userid));
      if (out) leaves.push({ chatId: chat.chatId, memberId: out.userid });
    }
    if (joins.length < input.joins) {
      const start = (i * 7919) % Math.max(1, customers.length);
      for (let k = 0; k < customers.length; k++) {
        const id = customers[(start + k) % customers.length];
        if (!inGroup.has(id) && !joins.some((j) => j.chatId === chat.chatId && j.memberId === id)) {
          joins.push({ chatId: chat.chatId, memberId: id });
          break;
        }
      }
    }
  }
  return { joins, leaves };
}

/** Bulk groups for sync tests and benches: `groups` groups over the staff, `membersPerGroup` customers each. */
export function seedGroups(store: SandboxStore, input: { groups: number; membersPerGroup: number; nowS: number }): { groups: number; memberships: number } {
  const owners = [...store.staff.keys()];
  const customers = [...store.customers.keys()];
  if (owners.length === 0 || customers.length === 0) throw new ValidationError('seed staff and customers first');
  let memberships = 0;
  const start = store.groupChats.size;
  for (let g = 0; g < input.groups; g++) {
    const n = start + g;
    const owner = owners[n % owners.length];
    const ids: string[] = [];
    for (let k = 0; k < Math.min(input.membersPerGroup, customers.length); k++) ids.push(customers[(n * 131 + k * 17) % customers.length]);
    // Statuses as a real corp has them: most normal, a few whose owner resigned (1), being (2) or done being inherited (3).
    const chat = createGroup(store, {
      owner,
      name: `客户群${String(n + 1).padStart(5, '0')}`,
      externalUserIds: ids,
      chatId: `wrG${n.toString(36).padStart(8, '0')}${'x'.repeat(18)}`,
      createTime: input.nowS - 86400 * (1 + (n % 300)),
      status: n % 50 === 7 ? 1 + (n % 3) : 0,
    });
    chat.members.forEach((m, i) => {
      if (m.type === 2) {
        m.joinTime = chat.createTime + i * 60;
        m.joinScene = 1 + (i % 3);
        if (m.joinScene === 3) delete m.invitor;
      }
    });
    memberships += chat.members.length;
  }
  return { groups: input.groups, memberships };
}
