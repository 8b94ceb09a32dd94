// 客户群 archive as the console shows it: the API's shapes and the zh-CN words for its codes (docs/groups.md §Archive).

/** Codes and their zh-CN words. */
type Labels = Record<string, string>;

/** A local group label. */
export interface GroupLabel {
  id: string;
  name: string;
  color: string;
  groups?: number;
}

/** A group in the list. */
export interface GroupRow {
  chatId: string;
  name: string;
  owner: string | null;
  notice: string;
  admins: string[];
  status: number;
  memberCount: number;
  externalCount: number;
  createdAt: string | null;
  dismissedAt: string | null;
  syncedAt: string | null;
  labels: GroupLabel[];
}

/** One spell of membership. */
export interface GroupSpell {
  memberId: string;
  type: number;
  joinedAt: string | null;
  joinScene: number | null;
  invitor: string | null;
  state: string | null;
  groupNickname: string;
  name: string;
  leftAt: string | null;
  quitScene: number | null;
}

/** A current member, with the customer's name and tags when they are in the archive. */
export interface GroupMember extends GroupSpell {
  isCustomer: boolean;
  customerName: string | null;
  tags: { id: string; name: string; group: string }[];
}

/** A group's detail. */
export interface GroupDetail extends GroupRow {
  members: GroupMember[];
  departed: GroupSpell[];
}

/** A customer's group on their profile. */
export interface CustomerGroupRow {
  chatId: string;
  name: string;
  owner: string | null;
  joinedAt: string | null;
  joinScene: number | null;
  state: string | null;
  leftAt: string | null;
  dismissed: boolean;
}

/** groupchat/list's status (docs/wecom-protocol.md §Customer groups). */
export const GROUP_STATUS: Labels = { 0: '正常', 1: '群主已离职', 2: '离职继承中', 3: '离职继承完成' };
/** How a member joined. */
export const JOIN_SCENE: Labels = { 1: '群成员直接邀请', 2: '群成员邀请链接', 3: '扫描群二维码' };
/** How a member left. */
export const QUIT_SCENE: Labels = { 0: '自己退群', 1: '被移出' };
/** Member type. */
export const MEMBER_TYPE: Labels = { 1: '员工', 2: '客户' };
