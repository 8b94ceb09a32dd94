// Customer groups (客户群): the archive's view of them (docs/groups.md §Archive).

/** A member as groupchat/get reports them (docs/wecom-protocol.md §Customer groups). */
export interface GroupMemberSnapshot {
  /** A staff userid (type 1) or the customer's external_userid (type 2). */
  memberId: string;
  type: number;
  unionId?: string | null;
  joinedAt: Date | null;
  joinScene?: number | null;
  invitor?: string | null;
  /** The join way's state when the member came through a group QR code that carried one. */
  state?: string | null;
  groupNickname?: string | null;
  name?: string | null;
}

/** A customer group and its members as groupchat/get reports them (docs/wecom-protocol.md §Customer groups). */
export interface GroupChatSnapshot {
  chatId: string;
  name: string;
  owner: string | null;
  createdAt: Date | null;
  notice?: string | null;
  adminUserIds?: string[];
  /** groupchat/list's status 0–3; absent when the snapshot comes from a callback (status is kept). */
  status?: number;
  members: GroupMemberSnapshot[];
}

/** One spell of membership: from a join to a leave (or still open). */
export interface GroupMembership {
  id: number;
  chatId: string;
  memberId: string;
  type: number;
  unionId: string | null;
  joinedAt: Date | null;
  joinScene: number | null;
  invitor: string | null;
  state: string | null;
  groupNickname: string;
  name: string;
  leftAt: Date | null;
  /** 0 left by themselves, 1 removed; null when the bot only saw them missing. */
  quitScene: number | null;
}

/** What applying a snapshot changed: spells opened and spells closed. Empty on a replay. */
export interface MembershipDiff {
  isApplied: boolean;
  joined: GroupMembership[];
  left: GroupMembership[];
  /** The group row itself changed (name, owner, notice, admins, status). */
  isGroupChanged: boolean;
}

/** A local group label (WeCom has no group-tag API, docs/groups.md §Labels). */
export interface GroupLabel {
  id: string;
  name: string;
  color: string;
  /** Groups carrying it (only in lists). */
  groups?: number;
}

/** groupchat/list's status (docs/wecom-protocol.md §Customer groups). */
export type GroupStatus = 0 | 1 | 2 | 3;

/** A group as the archive keeps it. */
export interface GroupSummary {
  chatId: string;
  name: string;
  owner: string | null;
  notice: string;
  adminUserIds: string[];
  status: number;
  memberCount: number;
  externalCount: number;
  createdAt: Date | null;
  dismissedAt: Date | null;
  syncedAt: Date | null;
  labels: GroupLabel[];
}

/**
 * Which groups: every field narrows, absent means any. Used by the list, group broadcasts and SOP
 * (docs/groups.md §Filters). Dismissed groups are left out unless `isDismissedIncluded`.
 */
export interface GroupFilter {
  owners?: string[];
  /** Groups carrying any of these labels. */
  labelIds?: string[];
  /** A substring of the name (matched literally, not as a pattern language). */
  namePattern?: string;
  minMembers?: number;
  maxMembers?: number;
  statuses?: number[];
  chatIds?: string[];
  isDismissedIncluded?: boolean;
}

/** How many groups match a filter, and their current members (all, and external ones). */
export interface GroupCounts {
  groups: number;
  members: number;
  externalMembers: number;
}

/** A customer's group, for the profile. */
export interface CustomerGroup {
  chatId: string;
  name: string;
  owner: string | null;
  joinedAt: Date | null;
  joinScene: number | null;
  state: string | null;
  leftAt: Date | null;
  isDismissed: boolean;
}

/** Where the group phase of a full sync is; saved with the run so a crashed sync resumes here. */
export interface GroupSyncProgress {
  /** groupchat/list's cursor of the page being read. */
  cursor: string;
  /** null: the list runs without owner_filter; a number: which chunk of ≤ 100 owners (after an 81017). */
  ownerChunk: number | null;
  isListed: boolean;
  listed: number;
  fetched: number;
  joined: number;
  left: number;
  dismissed: number;
}
