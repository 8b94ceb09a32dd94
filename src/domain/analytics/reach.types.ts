// Care and campaign results (触达效果, docs/analytics.md §Care and campaign results): what the rollup holds per day
// and what the API answers with.
import type { DeliveryKind, DeliveryStatus } from '../delivery/delivery.types.js';
import type { Frame } from './analytics.types.js';

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

/** How far a source's ledger rows got (the broadcast progress funnel, summed over days). */
export interface ReachFunnel {
  /** Every ledger row: the audience as planned, held-out and skipped customers included. */
  planned: number;
  submitted: number;
  confirmed: number;
  sent: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  /** Held out (skipped with reason `holdout`): sent nothing, to compare against. */
  holdout: number;
  overQuota: number;
  failed: number;
  failedByReason: Record<string, number>;
  expired: number;
  /** Still planned or being submitted. */
  pending: number;
}

/** What followed the messages of one group within 7 days. Rates are over the matured rows only. */
export interface ReachOutcome {
  messages: number;
  /** Rows whose 7-day window has closed (as of the last roll). */
  matured: number;
  /** Rows whose customer ordered within 7 days (a window still open counts what happened so far). */
  ordered7d: number;
  orderedRate7d: number | null;
  orders7d: number;
  revenue7dCents: number;
  /** Rows whose customer wrote to WeChat-KF within 7 days (1:1 chat content is not visible to the bot). */
  replied7d: number;
  replyRate7d: number | null;
}

/** One source's figures: a care rule, a win-back campaign or a broadcast. */
export interface ReachFigures {
  sourceKind: DeliveryKind;
  sourceId: string;
  name: string;
  /** The share the source holds out now (it may have been another when a past day was planned). */
  holdoutPercent: number;
  funnel: ReachFunnel;
  outcomes: {
    /** Every row drawn for the message (not held out), whatever became of it: the honest comparison with the holdout. */
    targeted: ReachOutcome;
    /** Rows WeCom reports as delivered. */
    sent: ReachOutcome;
    holdout: ReachOutcome;
  };
  /** targeted rate − holdout rate; null until both groups have matured rows. */
  lift: { orderedRate7d: number | null; replyRate7d: number | null };
}

export interface ReachLine extends ReachFigures {
  period: string;
  periodStart: string;
  periodEnd: string;
}

export interface ReachAnswer extends Frame {
  kind: 'event';
  sourceKind: DeliveryKind | null;
  sourceId: string | null;
  windowDays: number;
  /** Over the whole range, per source. */
  sources: ReachFigures[];
  /** Per period and source. */
  lines: ReachLine[];
  /**
   * Days of the range not rolled yet (today, or a day the nightly job has not reached): today's funnel is counted live
   * (docs/analytics.md §Care and campaign results), its orders and replies from the night after.
   */
  unrolled: { from: string; to: string }[];
}
