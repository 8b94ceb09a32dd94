// Broadcasts: what the API accepts, what is stored, what it shows. The API's checks are broadcast.schema.ts.
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { AttachmentInput } from '../delivery/delivery.types.js';

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
  message: { text: string; attachments: AttachmentInput[] };
  /** ISO-8601 with an offset; default now. */
  sendAt?: string;
  /** Who sends: the customer's owner, chosen by the care flow's sender policy among active followers. */
  sender: 'owner';
}

/** A stored broadcast. */
export interface Broadcast {
  id: string;
  name: string;
  audience: string;
  text: string;
  attachments: MessageAttachment[];
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
>;

/** How an audience looks right now: its size, who of it can be messaged, and per follower. */
export interface AudienceSummary {
  count: number;
  optedOut: number;
  /** Not opted out and with at least one active follow relation. */
  reachable: number;
  /** Reachable customers per active follower (a customer counts once for each of their followers). */
  perFollower: number[];
}
