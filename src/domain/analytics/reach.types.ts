// Care and campaign results (触达效果, docs/analytics.md §Care and campaign results): what the rollup holds per day
// and what the API answers with.
import type { DeliveryKind, DeliveryStatus } from '../delivery/delivery.types.js';

/** How long after a send its orders and replies count toward it. */
export const REACH_WINDOW_DAYS = 7;

/** The sender of the all-senders summary rows ('' is a row with no sender: no active follower). */
export const ALL_SENDERS = '*';

/** One row of `analytics_daily_reach`: ledger rows of one (day, source, sender, status, reason) and what followed them. */
export interface ReachRow {
  day: string;
  kind: DeliveryKind;
  sourceId: string;
  userid: string;
  status: DeliveryStatus;
  /** The reason's stable code (`holdout`, `opted_out`, `daily_cap`, `not_friend`…), '' when none. */
  reason: string;
  messages: number;
  /** Rows that reached WeCom (a task was created or the message was sent). */
  submitted: number;
  /** Rows whose task the member sent (WeCom reported a result for the recipient), or that went out directly. */
  confirmed: number;
  /** Rows whose 7-day window had closed when the day was rolled. */
  matured: number;
  /** Rows whose customer ordered within 7 days (open windows count what happened so far); of those, matured. */
  ordered: number;
  orderedMatured: number;
  orders: number;
  revenueCents: number;
  /** Rows whose customer wrote to WeChat-KF within 7 days; of those, matured. */
  replied: number;
  repliedMatured: number;
}

/** One ledger row as a day's roll reads it. */
export interface ReachLedgerRow {
  id: number;
  kind: DeliveryKind;
  sourceId: string;
  externalUserId: string;
  userid: string;
  status: DeliveryStatus;
  reason: string | null;
  notBefore: number;
  submittedAt: number | null;
  sentAt: number | null;
}
