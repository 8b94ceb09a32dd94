import { z } from 'zod';
import type { MessageAttachment } from '../../wecom/client/types.js';

/**
 * Where a broadcast is: scheduled → planning (one instance writes its ledger rows) → sending (the dispatcher submits
 * them; staff confirm the tasks) → done once every row is final; or cancelled, or failed with a reason.
 */
export const BROADCAST_STATUSES = ['scheduled', 'planning', 'sending', 'done', 'cancelled', 'failed'] as const;
/** A broadcast status. */
export type BroadcastStatus = (typeof BROADCAST_STATUSES)[number];

// ≤ 9 attachments per add_msg_template (docs/wecom-protocol.md §Mass messages); the shapes are checked by the gateway
// and WeCom.
const attachments = z
  .array(z.looseObject({ kind: z.enum(['image', 'link', 'miniprogram', 'video', 'file']) }))
  .max(9)
  .default([]);

const isNotBlank = (s: string) => s.trim() !== '';

/** A broadcast as `POST /api/v1/broadcasts` accepts it. The text's byte limit is checked by the service. */
export const broadcastInput = z.object({
  name: z.string().trim().min(1).max(100),
  // Blank would mean "everyone" to the parser; a broadcast to every customer must say `all` on purpose.
  audience: z.string().max(4000).refine(isNotBlank, { message: '受众不能为空；发给全部客户请写 all / required: write `all` for every customer' }),
  message: z.object({
    text: z.string().max(20_000).refine(isNotBlank, { message: '消息文本不能为空 / text must not be empty' }),
    attachments,
  }),
  /** ISO-8601 with an offset; default now. */
  sendAt: z.iso.datetime({ offset: true }).optional(),
  /** Who sends: the customer's owner, chosen by the care flow's sender policy among active followers. */
  sender: z.literal('owner').default('owner'),
});

/** Validated input of a new broadcast. */
export type BroadcastInput = z.infer<typeof broadcastInput>;

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
