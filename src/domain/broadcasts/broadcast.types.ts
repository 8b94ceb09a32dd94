// Broadcasts: what the API accepts, what is stored, what it shows. The API's checks are broadcast.schema.ts.
import type { MessageAttachment } from '../../wecom/client/types.js';

/**
 * Where a broadcast is: scheduled → planning (one instance writes its ledger rows) → sending (the dispatcher submits
 * them; staff confirm the tasks) → done once every row is final; or cancelled, or failed with a reason.
 */
export const BROADCAST_STATUSES = ['scheduled', 'planning', 'sending', 'done', 'cancelled', 'failed'] as const;
/** A broadcast status. */
export type BroadcastStatus = (typeof BROADCAST_STATUSES)[number];

/** A broadcast as `POST /api/v1/broadcasts` accepts it, validated (defaults filled in). */
export interface BroadcastInput {
  name: string;
  audience: string;
  /** `contentIds`: 素材库 items added after the text and attachments, resolved when the broadcast is planned. */
  message: { text: string; attachments: MessageAttachment[]; contentIds: string[] };
  /** ISO-8601 with an offset; default now. */
  sendAt?: string;
  /** Who sends: the customer's owner, chosen by the care flow's sender policy among active followers. */
  sender: 'owner';
  /** The share of the audience held out to measure the lift, 0–50 (docs/analytics.md §Holdout). */
  holdoutPercent: number;
}

/** A stored broadcast. */
export interface Broadcast {
  id: string;
  name: string;
  audience: string;
  text: string;
  attachments: MessageAttachment[];
  /** 素材库 items whose text and attachments follow the broadcast's own, resolved when it is planned (docs/content.md §Media lifecycle). */
  contentIds: string[];
  senderPolicy: 'owner';
  sendAt: Date;
  status: BroadcastStatus;
  reason: string | null;
  /** Customers matching the audience when it was created (a preview; the audience is evaluated again when planned). */
  audienceCount: number;
  /** add_msg_template tasks it is expected to create (see estimateTasks). */
  tasksEstimate: number;
  /** The text has per-customer variables, so every customer costs one task. */
  isPersonalized: boolean;
  /** The share of the audience held out to measure the lift, 0–50 (docs/analytics.md §Holdout). */
  holdoutPercent: number;
  createdBy: string | null;
  claimToken: string | null;
  claimedBy: string | null;
  claimedAt: Date | null;
  attempts: number;
  plannedAt: Date | null;
  finishedAt: Date | null;
  cancelledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Delivery stats of a broadcast, read from the ledger. */
export interface BroadcastStats {
  total: number;
  /** Rows per ledger status (every status present, 0 when none). */
  byStatus: Record<string, number>;
  /** Skipped rows per reason code (`opted_out`, `daily_cap`, `wecom_quota`, `no_sender`, `cancelled`…). */
  skippedByReason: Record<string, number>;
}

/** A broadcast with its ledger stats. */
export interface BroadcastView {
  broadcast: Broadcast;
  stats: BroadcastStats;
}

/** What `POST …/cancel` did besides changing the status. */
export interface CancelOutcome {
  /** Planned rows moved to skipped (reason `cancelled`). */
  skippedRows: number;
  /** Unconfirmed WeCom tasks cancelled with cancel_groupmsg_send; their rows expired. */
  cancelledTasks: number;
  /** Tasks the staff member had already confirmed: they went out and their results are still recorded. */
  confirmedTasks: number;
  /** Rows whose add_msg_template call was in flight; cancel again in a moment to reach their task. */
  inFlightRows: number;
  /** Tasks shared with another source's rows (same sender and text), left alone. */
  sharedTasks: number;
  /** Tasks WeCom would not cancel (see the log); their rows stay submitted. */
  failedTasks: number;
}

/** What a new broadcast row needs. */
export type NewBroadcast = Pick<
  Broadcast,
  'id' | 'name' | 'audience' | 'text' | 'attachments' | 'senderPolicy' | 'sendAt' | 'audienceCount' | 'tasksEstimate' | 'isPersonalized' | 'createdBy'
> & { holdoutPercent?: number; contentIds?: string[] };

/** How an audience looks right now: its size, who of it can be messaged, and per follower. */
export interface AudienceSummary {
  count: number;
  optedOut: number;
  /** Not opted out and with at least one active follow relation. */
  reachable: number;
  /** Reachable customers per active follower (a customer counts once for each of their followers). */
  perFollower: number[];
}

/** `POST /api/v1/broadcasts/preview`, validated. */
export interface BroadcastPreviewInput {
  audience: string;
  message: { text: string; attachments: MessageAttachment[] };
  /** A customer of the audience to render for; default the first (newest) one. */
  externalUserId?: string;
}

/** A message rendered for one customer of the audience, as they would receive it. */
export interface BroadcastPreview {
  customer: { externalUserId: string; name: string };
  /** The member whose task would carry it (the sender policy among active followers), or null: nobody could send it. */
  sender: { userid: string; name: string } | null;
  text: string;
  attachments: MessageAttachment[];
  /** The customer opted out: the planner would skip them. */
  isOptedOut: boolean;
}

/** Ledger rows per status, every status present. */
export type RowCounts = Record<string, number>;

/** One member's part of a broadcast: their add_msg_template tasks and their customers' rows. */
export interface StaffProgress {
  userid: string;
  name: string;
  /** Tasks created for this member (one per sender and identical content, or per customer when personalized). */
  tasks: number;
  /** Tasks the member sent from 群发助手 (WeCom reported results for them). */
  confirmedTasks: number;
  /** Tasks waiting for the member to confirm: these are what a cancel withdraws. */
  waitingTasks: number;
  /** Tasks withdrawn (cancelled) or expired unconfirmed. */
  withdrawnTasks: number;
  /** Tasks WeCom refused (add_msg_template failed). */
  refusedTasks: number;
  rows: RowCounts;
  /** 提醒成员群发 sent for this member's tasks. */
  reminders: StaffReminders;
}

/**
 * A member's reminders (提醒成员群发) for one broadcast. WeCom allows 3 per task per 24 h (docs/wecom-protocol.md
 * §Reminding members of a mass message), so what matters is each task's count, not the member's sum.
 */
export interface StaffReminders {
  /** Reminders in the last 24 h, summed over the member's tasks. */
  last24h: number;
  /** The most reminders any one of the member's tasks had in the last 24 h. */
  maxPerTask: number;
  /** The member's waiting tasks already reminded 3 times in the last 24 h: a reminder now skips them. */
  limitedTasks: number;
  /** When the first of those may be reminded again (ISO), or null. */
  nextAllowedAt: string | null;
  /** The last reminder ever (ISO), or null. */
  lastAt: string | null;
}

/**
 * Where a broadcast's customers are, as a funnel over ledger rows: planned (every row) → submitted (in a WeCom task)
 * → confirmed (the task was sent by its member) → sent; and what fell out at each step.
 */
export interface BroadcastFunnel {
  planned: number;
  submitted: number;
  confirmed: number;
  sent: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  overQuota: number;
  /** Failed rows: WeCom's fail_list, a refused task, or the customer no longer a contact. */
  failed: number;
  /** Rows whose task was withdrawn or never confirmed in time. */
  expired: number;
  /** Not yet in a task (planned or being submitted). */
  pending: number;
}

/** `GET /api/v1/broadcasts/:id/progress`: per member and the funnel, for everyone or for one member. */
export interface BroadcastProgress {
  staff: StaffProgress[];
  funnel: BroadcastFunnel;
  /** Tasks a cancel would try to withdraw now (waiting for confirmation, not shared with another source's rows). */
  withdrawableTasks: number;
  /** Only this member's part (a staff caller). */
  onlyUserid: string | null;
}

/** What a 提醒成员群发 did (POST /api/v1/broadcasts/:id/remind). */
export interface RemindOutcome {
  /** Tasks reminded with remind_groupmsg_send. */
  remindedTasks: number;
  /** The members those tasks are waiting for. */
  remindedMembers: string[];
  /** Tasks the member had sent meanwhile (the ledger learns it at the next result poll): not reminded. */
  confirmedTasks: number;
  /** Tasks already reminded 3 times in 24 h (WeCom's limit): not reminded. */
  limitedTasks: number;
  failedTasks: number;
  /** When the first of the limited tasks may be reminded again (ISO), or null. */
  nextAllowedAt: string | null;
  /** The outcome in a zh-CN sentence. */
  message: string;
}
