// 流失预警: the churn-risk score of a customer and what it is made of (docs/churn.md).

/** How much risk, in words: 高风险 at or above the warning threshold, 中风险 above half of it. */
export const RISK_LEVELS = ['low', 'medium', 'high'] as const;
/** A risk level. */
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** Why a score is what it is (docs/churn.md §Signals): stable codes, each with its zh-CN sentence. */
export const RISK_REASONS = ['order_overdue', 'single_order_lapsed', 'interaction_drop', 'silent', 'detractor', 'open_ticket', 'broadcasts_ignored', 'owner_resigned', 'complaint'] as const;
/** A reason code. */
export type RiskReasonCode = (typeof RISK_REASONS)[number];

/** One reason: its code, the points it adds, and the sentence the archive shows. */
export interface RiskReason {
  code: RiskReasonCode;
  points: number;
  text: string;
}

/** A customer's score, as the archive and the API show it. */
export interface ChurnRisk {
  externalUserId: string;
  /** 0–100. */
  score: number;
  level: RiskLevel;
  /** Largest first. */
  reasons: RiskReason[];
  scoredAt: Date;
}

/** What the nightly pass reads of one customer, as of the moment it scores (docs/churn.md §Signals). */
export interface ChurnSignals {
  /** Orders up to now: how many, the first and the last (epoch ms). */
  orders: number;
  firstOrderAt: number | null;
  lastOrderAt: number | null;
  /** Days between consecutive orders, oldest first: the last 12 gaps of a customer with four orders or more, else none. */
  orderGaps: number[];
  /** Interactions (the customer's KF messages, notes staff recorded, orders) in the last 30 days and the 150 before. */
  recentInteractions: number;
  earlierInteractions: number;
  /** The last interaction of any kind, or when the customer was added when there is none (epoch ms). */
  lastInteractionAt: number | null;
  /** The latest survey score in the last 90 days, if any. */
  latestScore: { kind: 'nps' | 'csat'; score: number } | null;
  /** Feedback tickets not yet resolved, and whether one is past its first-contact deadline. */
  openTickets: number;
  overdueTicket: boolean;
  /** Broadcasts sent to the customer in the last 60 days after which they neither wrote nor ordered. */
  broadcastsIgnored: number;
  /** Every member the customer still follows has resigned (and no transfer has moved them yet). */
  ownerResigned: boolean;
  /** When the last of those members left (epoch ms); null when not known (they left before the bot kept it). */
  ownerResignedAt: number | null;
  /** Complaints in the last 60 days: KF messages and staff notes a complaint rule matches, and complaints staff recorded (docs/feedback.md). */
  complaints: number;
  /** The latest of those complaints (epoch ms), null without one. */
  lastComplaintAt: number | null;
  /** When the latest survey score of the last 90 days was given (epoch ms), null without one. */
  latestScoreAt: number | null;
  /** The customer's own KF messages and orders after the last of their members left (ownerResigned only), else 0. */
  interactionsSinceResigned: number;
}

/** `GET …/churn-risk`'s answer (docs/churn.md §API): the console and the sidebar read it as it is. */
export interface ChurnRiskAnswer {
  score: number | null;
  level: RiskLevel | null;
  levelWords: string;
  reasons: RiskReason[];
  scoredAt: string | null;
  threshold: number;
}
