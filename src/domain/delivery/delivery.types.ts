import type { MessageAttachment } from '../../wecom/client/types.js';

/** How a message reaches the customer: a mass-send task the staff member confirms, a reminder to staff only, or WeChat-KF. */
export const DELIVERY_CHANNELS = ['mass_task', 'staff_reminder', 'kf'] as const;
/** A delivery channel (not a QR channel code: that is the channels feature's `Channel`). */
export type DeliveryChannel = (typeof DELIVERY_CHANNELS)[number];

/** A message attachment as the API accepts it: its kind is checked there, its shape by the gateway and WeCom. */
export type AttachmentInput = { [key: string]: unknown; kind: 'image' | 'link' | 'miniprogram' | 'video' | 'file' };

/**
 * Where a ledger row is. planned → submitting → submitted (WeCom msgid) → sent | failed | over_quota, or
 * planned → skipped (with the reason) | expired. `submitting` exists only around the WeCom call (crash safety).
 */
export const DELIVERY_STATUSES = ['planned', 'submitting', 'submitted', 'sent', 'failed', 'over_quota', 'skipped', 'expired'] as const;
/** A ledger status. */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Which feature a row belongs to (`loyalty`: a tier upgrade's congratulation, docs/loyalty.md §Tiers; `survey`: a survey invitation, docs/surveys.md §Sending; `journey`: a journey's message step, docs/journeys.md §Message steps). */
export type DeliveryKind = 'care' | 'winback' | 'broadcast' | 'loyalty' | 'survey' | 'journey';

/** A row to plan. */
export interface NewDelivery {
  /** `care:<ruleId>`, `winback:<ruleId>`, `broadcast:<id>`, `loyalty:tier`: unique with the customer and the occasion. */
  source: string;
  kind: DeliveryKind;
  ruleId?: string | null;
  broadcastId?: string | null;
  externalUserId: string;
  /** e.g. `birthday:2026`, `holiday:mid-autumn:2026`, `step:1:2026-01-05`. */
  occasion: string;
  channel: DeliveryChannel;
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
  /**
   * The share of the source's audience held out to measure its lift (0–50, docs/analytics.md §Holdout): a customer
   * the source's holdout draws is recorded as `skipped` with reason `holdout`, sent nothing, and claims no cap slot.
   */
  holdoutPercent?: number;
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
  /** A KF event reply whose outcome is unknown and cannot be asked again: failed, never repeated. */
  OutcomeUnknown: 'outcome_unknown',
  TooLong: 'text_too_long',
  Holdout: 'holdout',
  Cancelled: 'cancelled',
} as const;

/** Filter of the ledger list. */
export interface DeliveryFilter {
  externalUserId?: string;
  ruleId?: string;
  broadcastId?: string;
  status?: DeliveryStatus;
  kind?: DeliveryKind;
  /** Rows meant for local dates from `from` through `to` (inclusive, YYYY-MM-DD). */
  from?: string;
  to?: string;
  page: number;
  pageSize: number;
}

/** Where a WeCom batch is. */
export type BatchStatus = 'submitting' | 'submitted' | 'done' | 'abandoned' | 'failed';

/** One WeCom call covering a chunk of deliveries. */
export interface DeliveryBatch {
  id: string;
  channel: DeliveryChannel;
  senderUserid: string | null;
  text: string;
  attachments: MessageAttachment[];
  status: BatchStatus;
  msgId: string | null;
  recipients: number;
  instanceId: string;
  createdAt: Date;
  submittedAt: Date | null;
  nextPollAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
}

/** What a new batch is sent as. */
export interface NewDeliveryBatch {
  channel: DeliveryChannel;
  senderUserid: string | null;
  text: string;
  attachments: MessageAttachment[];
  instanceId: string;
}

/** A recipient's result as WeCom reported it (docs/wecom-protocol.md §Mass message results). */
export interface RecipientResult {
  externalUserId: string;
  /** 0 not sent, 1 sent, 2 not a friend, 3 over quota. */
  status: number;
  sentAt?: Date;
}

/** A cap period: its id (unique within the scope) and how many messages it allows. */
export interface CapPeriod {
  scope: 'daily' | 'wecom_mass';
  period: string;
  limit: number;
}

/** A cap slot claimed for a ledger row (one of the `n` numbers of a cap period); the row's id is given beside it. */
export interface SlotClaim {
  externalUserId: string;
  scope: string;
  period: string;
  n: number;
}

/** A ledger key: one message per (source, customer, occasion). */
export interface LedgerKey {
  source: string;
  externalUserId: string;
  occasion: string;
}
