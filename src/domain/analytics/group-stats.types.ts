// 群聊数据统计: WeCom's daily customer-group figures, pulled nightly (docs/groups.md §Group statistics).

import type { Frame } from './analytics.types.js';

/** One stored day of one owner (owner '' is the corp). */
export interface GroupStatDay {
  /** China calendar day, YYYY-MM-DD. */
  day: string;
  owner: string;
  newChatCnt: number;
  chatTotal: number;
  chatHasMsg: number;
  newMemberCnt: number;
  memberTotal: number;
  memberHasMsg: number;
  msgTotal: number;
  migrateTraineeChatCnt: number;
}

/** The figures of one period (or of the whole range). */
export interface GroupFigures {
  /** 新增客户群: groups created, summed over the days. */
  newGroups: number;
  /** 新增群成员: members who joined, summed. */
  newMembers: number;
  /** 群消息数: messages sent in the groups, summed. */
  messages: number;
  /** 有消息的群: the busiest day's count of groups with messages (days cannot be de-duplicated). */
  activeGroups: number;
  /** 发言成员: the busiest day's count of members who spoke. */
  speakingMembers: number;
  /** 客户群总数 at the period's last stored day; null without one. */
  groupTotal: number | null;
  /** 群成员总数 at the period's last stored day; null without one. */
  memberTotal: number | null;
  /** The last day the totals are from. */
  asOf: string | null;
  /** How many days of the period are stored. */
  days: number;
}

/** One period's line. */
export interface GroupLine extends GroupFigures {
  period: string;
}

/** GET /api/v1/analytics/groups. */
export interface GroupsAnswer extends Frame {
  kind: 'pulled';
  /** 'corp' for everyone's groups, 'owner' for one member's. */
  unit: 'corp' | 'owner';
  lines: GroupLine[];
  total: GroupFigures;
  /** The newest day stored for the corp; null before the first pull. */
  lastPulledDay: string | null;
}
