// 客户群群发: what the API accepts, what is stored, what it shows (docs/groups.md §Group broadcasts).
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { GroupFilter as ArchiveGroupFilter } from '../groups/group-chat.types.js';

/**
 * Which groups a broadcast goes to: the archive's filter (owners, local labels, part of the name, member count,
 * status, exact chat ids; docs/groups.md §Filters). Dismissed groups never receive one.
 */
export type GroupFilter = Omit<ArchiveGroupFilter, 'isDismissedIncluded'>;

/** A group as a broadcast targets it. */
export interface TargetGroup {
  chatId: string;
  name: string;
  owner: string;
  members: number;
  customers: number;
}

/**
 * Where a group broadcast is: sending (tasks submitted or waiting to be), done (every group's row is final), or
 * cancelled.
 */
export const GROUP_BROADCAST_STATUSES = ['sending', 'done', 'cancelled'] as const;
/** A group broadcast status. */
export type GroupBroadcastStatus = (typeof GROUP_BROADCAST_STATUSES)[number];

/**
 * A group's ledger row: planned → submitting (with its task's add_msg_template call) → submitted (in a WeCom task) →
 * sent | failed | over_quota, or → expired (never confirmed) | cancelled.
 */
export const GROUP_TARGET_STATUSES = ['planned', 'submitting', 'submitted', 'sent', 'failed', 'over_quota', 'expired', 'cancelled'] as const;
/** A group ledger status. */
export type GroupTargetStatus = (typeof GROUP_TARGET_STATUSES)[number];

/** A task's state: planned → submitting → submitted → done, or failed (WeCom refused it). */
export type GroupTaskStatus = 'planned' | 'submitting' | 'submitted' | 'done' | 'failed';

/** A group broadcast as `POST /api/v1/group-broadcasts` (or a group SOP step) asks for it. */
export interface GroupBroadcastInput {
  name: string;
  filter: GroupFilter;
  /**
   * `contentIds`: 素材库 items, resolved into text and attachments when each task is submitted, never earlier (their
   * WeCom media ids live 3 days; docs/content.md §Composers).
   */
  message: { text: string; attachments: MessageAttachment[]; contentIds?: string[] };
  /** ISO-8601 with an offset; default now. */
  sendAt?: string;
}

/** Who submits it: an operator in the console, or a caller (a group SOP) with its own idempotency key. */
export interface GroupBroadcastOrigin {
  /** `console`, or `sop:<planId>`. */
  origin: string;
  /** Unique within the origin: the same key again answers the broadcast already made (nothing is sent twice). */
  requestKey?: string | null;
  createdBy: string | null;
}

/** A stored group broadcast. */
export interface GroupBroadcast {
  id: string;
  name: string;
  origin: string;
  requestKey: string | null;
  text: string;
  attachments: MessageAttachment[];
  /** 素材库 items, by id, in their order: their text follows `text`, their attachments follow `attachments`. */
  contentIds: string[];
  filter: GroupFilter;
  status: GroupBroadcastStatus;
  groupsCount: number;
  membersCount: number;
  ownersCount: number;
  createdBy: string | null;
  sendAt: Date;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** One WeCom task of a group broadcast: one owner's groups (≤ 2000 per part). */
export interface GroupBroadcastTask {
  id: string;
  broadcastId: string;
  owner: string;
  part: number;
  status: GroupTaskStatus;
  msgId: string | null;
  groupsCount: number;
  attempts: number;
  /** 0: the owner has not sent it from 群发助手 yet; 1: sent. */
  ownerStatus: number;
  ownerSentAt: Date | null;
  notBefore: Date;
  startedAt: Date | null;
  submittedAt: Date | null;
  nextPollAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
  /** The text its add_msg_template carried (with its 素材库 items' texts), kept for reconciliation; null before. */
  sentText: string | null;
}

/** The quota of one group for one period (docs/wecom-protocol.md §Mass message quota). */
export interface GroupQuota {
  chatId: string;
  name: string;
  owner: string;
  /** Mass messages the group received this period, ours and members' own. */
  used: number;
  /** Our broadcasts planned or waiting for their owner, which will use it when sent. */
  pending: number;
  limit: number;
  /** What is left after `used` and `pending`. */
  remaining: number;
}

/** How a set of groups stands against WeCom's per-group mass-message quota, for a number of further sends. */
export interface QuotaForecast {
  /** The corp's mass-message rule (MassQuotaRule, docs/wecom-protocol.md §Mass message quota). */
  rule: 'days_of_month' | 'seven_per_week' | 'one_per_day';
  /** The period the first send falls in (`2026-07`, `w2026-06-29`, `2026-07-01`) and how many it allows. */
  period: string;
  limit: number;
  /** Groups the sends would leave with nothing (the last one used), and groups that would go over it. */
  exhausted: number;
  over: number;
  /** The groups concerned (at most 50), fullest first. */
  groups: GroupQuota[];
  /** A zh-CN warning for the preview, or null when every group has room. */
  warning: string | null;
}

/** `POST /api/v1/group-broadcasts/preview`'s answer. */
export interface GroupBroadcastPreview {
  groups: number;
  /** Members of those groups (staff and customers) and the customers among them. */
  members: number;
  customers: number;
  /** Owners: one WeCom task each (more for an owner of over 2000 groups). */
  owners: { userid: string; name: string; groups: number; members: number }[];
  tasks: number;
  /** The first groups, for the operator to recognise the selection. */
  sample: TargetGroup[];
  quota: QuotaForecast;
}

/** Ledger rows per status, every status present. */
export type GroupRowCounts = Record<GroupTargetStatus, number>;

/** One owner's part of a group broadcast: their task and their groups' rows (the confirmation state). */
export interface GroupOwnerProgress {
  userid: string;
  name: string;
  tasks: number;
  /** Tasks the owner sent from 群发助手. */
  confirmedTasks: number;
  /** Tasks in WeCom waiting for the owner. */
  waitingTasks: number;
  /** Tasks not in WeCom yet (planned, or being submitted) and tasks WeCom refused. */
  pendingTasks: number;
  failedTasks: number;
  rows: GroupRowCounts;
  /** 提醒成员群发 in the last 24 h (the most any one of the owner's tasks had) and the last ever (ISO). */
  remindersLast24h: number;
  lastRemindedAt: string | null;
}

/** A group broadcast with its per-owner progress. */
export interface GroupBroadcastView {
  broadcast: GroupBroadcast;
  rows: GroupRowCounts;
  owners: GroupOwnerProgress[];
}

/** 素材库 as group broadcasts and group welcome templates use it (docs/content.md §Composers); written in the container. */
export interface GroupContentPort {
  /** Save-time check: the items exist and fit with `extraAttachments` in 9; their kinds, titles and texts. */
  check: (ids: string[], extraAttachments: number) => Promise<{ kind: string; title: string; text: string | null }[]>;
  /** The items as one message at `at` from cached media only (never an upload); refuses an item not ready. */
  resolve: (ids: string[], at: Date, vars?: Record<string, string>) => Promise<{ text: string; attachments: MessageAttachment[] }>;
  /** `n` uses of each item: one per group chat a message with them is planned for (docs/content.md §Use counts). */
  countUse: (ids: string[], n: number) => Promise<void>;
}

/**
 * What cancelling a group broadcast did (docs/groups.md §Cancelling a group broadcast): groups not yet submitted
 * (`cancelledRows`), tasks withdrawn in WeCom before their owner sent them, tasks already sent (they stay sent), tasks
 * whose call was in flight, and tasks WeCom would not withdraw this time; `message` says it in zh-CN.
 */
export interface GroupCancelOutcome {
  cancelledRows: number;
  withdrawnTasks: number;
  withdrawnRows: number;
  confirmedTasks: number;
  inFlightTasks: number;
  failedTasks: number;
  message: string;
}
