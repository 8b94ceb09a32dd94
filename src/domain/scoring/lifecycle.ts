import type { Activity } from '../campaigns/activity.js';

/** Lifecycle stages, written into `customers.stage` (`stage:loyal`). */
export const STAGES = ['new', 'prospect', 'customer', 'loyal', 'at_risk', 'churned'] as const;
/** A lifecycle stage. */
export type Stage = (typeof STAGES)[number];

/** Stage thresholds (config: settings.scoring, plus settings.activity.dormantDays). */
export interface StageThresholds {
  /** Added fewer than this many days ago and no order yet → new. */
  newDays: number;
  /** At least this many orders in the look-back window → loyal. */
  loyalOrders: number;
  /** An order within this many days counts as being active, whatever the chat silence says. */
  dormantDays: number;
}

/** What the stage looks at. Day counts are whole local calendar days before today. */
export interface StageFacts {
  /** Tonight's activity class (classifyActivity). */
  activity: Activity;
  hasActiveRelation: boolean;
  /** Days since the customer was first added (or archived), null if unknown. */
  addedDaysAgo: number | null;
  /** Orders ever (up to today). */
  lifetimeOrders: number;
  /** Orders in the look-back window. */
  windowOrders: number;
  /** Days since the latest order ever, null without orders. */
  lastOrderDaysAgo: number | null;
}

/**
 * The first rule that holds, in this order:
 * 1. `churned`: no active relation left, or activity churned with no order in the last `dormantDays`.
 * 2. `at_risk`: has bought before, is dormant, and has not ordered in the last `dormantDays` (revenue slipping away).
 * 3. `loyal`: at least `loyalOrders` orders in the window.
 * 4. `customer`: has bought at least once.
 * 5. `new`: no order, added fewer than `newDays` days ago.
 * 6. `prospect`: everyone else (no order yet; `activity` still tells whether they are quiet).
 * A recent order counts as activity because orders are not chat interactions, so silence alone must not call a
 * customer who just bought "at risk".
 */
export function lifecycleStage(f: StageFacts, t: StageThresholds): Stage {
  const hasRecentOrder = f.lastOrderDaysAgo !== null && f.lastOrderDaysAgo < t.dormantDays;
  if (!f.hasActiveRelation || (f.activity === 'churned' && !hasRecentOrder)) return 'churned';
  if (f.lifetimeOrders > 0 && f.activity === 'dormant' && !hasRecentOrder) return 'at_risk';
  if (f.windowOrders >= t.loyalOrders) return 'loyal';
  if (f.lifetimeOrders > 0) return 'customer';
  if (f.addedDaysAgo !== null && f.addedDaysAgo < t.newDays) return 'new';
  return 'prospect';
}
