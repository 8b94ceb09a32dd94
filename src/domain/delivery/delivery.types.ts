import type { MessageAttachment } from '../../wecom/client/types.js';
import type { Channel } from '../care/care-rule.types.js';

/**
 * Where a ledger row is. planned → submitting → submitted (WeCom msgid) → sent | failed | over_quota, or
 * planned → skipped (with the reason) | expired. `submitting` exists only around the WeCom call (crash safety).
 */
export const DELIVERY_STATUSES = ['planned', 'submitting', 'submitted', 'sent', 'failed', 'over_quota', 'skipped', 'expired'] as const;
/** A ledger status. */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Which feature a row belongs to. */
export type DeliveryKind = 'care' | 'winback' | 'broadcast';

/** A row to plan. */
export interface NewDelivery {
  /** `care:<ruleId>`, `winback:<ruleId>`, `broadcast:<id>`: unique with the customer and the occasion. */
  source: string;
  kind: DeliveryKind;
  ruleId?: string | null;
  broadcastId?: string | null;
  externalUserId: string;
  /** e.g. `birthday:2026`, `holiday:mid-autumn:2026`, `step:1:2026-01-05`. */
  occasion: string;
  channel: Channel;
  priority: number;
  senderUserid: string | null;
  text: string;
  attachments: MessageAttachment[];
  /** The customer's local date the message is meant for (caps count per local day). */
  localDate: string;
  notBefore: Date;
  expiresAt: Date;
  /**
   * Set when the planner already knows the row must not go out (a broadcast to an opted-out customer): the row is
   * still recorded, as `skipped` with this reason, so an operator sees why, and it claims no cap slot.
   */
  skipReason?: string | null;
}

/** A ledger row. */
export interface Delivery extends NewDelivery {
  id: number;
  status: DeliveryStatus;
  reason: string | null;
  batchId: string | null;
  msgId: string | null;
  runId: string | null;
  createdAt: Date;
  updatedAt: Date;
  submittedAt: Date | null;
  sentAt: Date | null;
}

/** Why a row was skipped (stable codes; the ledger's `reason` starts with one). */
export const SkipReason = {
  DailyCap: 'daily_cap',
  WecomQuota: 'wecom_quota',
  NoSender: 'no_sender',
  OptedOut: 'opted_out',
  KfWindowClosed: 'kf_window_closed',
  TooLong: 'text_too_long',
  Cancelled: 'cancelled',
} as const;

/** Filter of the ledger list. */
export interface DeliveryFilter {
  externalUserId?: string;
  ruleId?: string;
  broadcastId?: string;
  status?: DeliveryStatus;
  kind?: DeliveryKind;
  page: number;
  pageSize: number;
}
