import type { ChurnSignals, RiskLevel, RiskReason } from './churn-risk.types.js';

const DAY_MS = 86_400_000;

/**
 * Points per signal at its strongest (docs/churn.md §Signals): they add up to the score, capped at 100. Tuned on the
 * backtest's development seeds (docs/churn-backtest.md §Tuning on development seeds), never on a held-out one.
 */
export const RISK_POINTS = {
  /** Overdue against the customer's own order interval, once four orders give it: from 1.5× (0 points) to 2.5× (all). */
  orderOverdue: 45,
  /** One order only, long ago. */
  singleOrderLapsed: 5,
  /** Interactions fell to under half of the customer's usual rate. */
  interactionDrop: 10,
  /** Nothing at all for 60 days from a customer who used to interact. */
  silent: 5,
  /** A detractor score (NPS 0–6, CSAT 1–2) in the last 90 days. */
  detractor: 20,
  /** A feedback ticket not yet resolved; more if its first contact is late. */
  openTicket: 5,
  overdueTicket: 10,
  /** Broadcasts without any response. */
  broadcastsIgnored: 5,
  /** Every member the customer follows has left: enough for a warning alone. */
  ownerResigned: 60,
  /** A complaint in the last 60 days (a KF message or a staff note a complaint rule matches, or one staff recorded): a warning alone. */
  complaint: 60,
  /** The same complaint once the customer came back after it: ordered again, or scored a survey above a detractor's (docs/churn.md §Signals). */
  complaintAnswered: 20,
  /**
   * A resigned owner's customer who still writes or orders since the leaving (AFTER_LEAVING.engagedFrom times or more):
   * the same as not, since fewer points (30) lost as many right warnings as wrong ones on the development seeds
   * (docs/churn-backtest.md §After the leaving and after a complaint); the reason still says so.
   */
  ownerResignedEngaged: 60,
} as const;

/** Orders it takes before the customer's own interval counts (three gaps). */
export const MIN_ORDERS_FOR_INTERVAL = 4;
/** How far past the interval an order is overdue at all, and fully (when the gaps themselves are not known). */
export const OVERDUE_FROM = 1.5;
export const OVERDUE_FULL = 2.5;

/**
 * How overdue counts against the customer's own gaps between orders (docs/churn.md §Signals): the silence since the
 * last order, in the customer's typical gap (the median), measured in the spread of their gaps (the standard deviation
 * of the gaps' logarithms, never under `minSpread`). A steady buyer two gaps late is far out of their rhythm; a buyer
 * whose gaps run from two weeks to four months is not, at the same silence.
 */
export const ORDER_REGULARITY = {
  /** The spread a handful of equal gaps is taken to have: no one's next order is that exact. */
  minSpread: 0.2,
  /** Spreads past the customer's usual gap: overdue from (0 points) and fully (all). */
  from: 2,
  full: 4,
  /** Never overdue under this many typical gaps, however steady. */
  minRatio: 1.5,
  /** A spread above this says the gaps vary widely: the reason says so. */
  irregular: 0.35,
};

/**
 * Days a resigned owner's customers wait for the admin's handover (离职继承) before it counts: most handovers come
 * within days, and a warning about a customer about to be handed over tells nobody anything.
 */
export const HANDOVER_GRACE_DAYS = 14;

/**
 * What a resigned owner's customer did since the leaving (docs/churn.md §Signals): `engagedFrom` of their own KF
 * messages and orders make them engaged (`RISK_POINTS.ownerResignedEngaged`).
 */
export const AFTER_LEAVING = {
  engagedFrom: 2,
};

/** How far back a complaint counts, from a KF message or from a note staff wrote. */
export const COMPLAINT_DAYS = 60;

/** The score for an alert by default (CHURN_RISK_THRESHOLD). */
export const DEFAULT_RISK_THRESHOLD = 60;

const days = (ms: number) => Math.round(ms / DAY_MS);
const isDetractor = (s: { kind: 'nps' | 'csat'; score: number }) => (s.kind === 'nps' ? s.score <= 6 : s.score <= 2);

/**
 * A customer's churn risk from their signals (docs/churn.md §Signals): each signal adds points up to its weight, the sum
 * capped at 100, and every signal that adds points says why in zh-CN. Pure: the nightly pass reads the signals.
 */
export function scoreChurnRisk(s: ChurnSignals, now: number): { score: number; reasons: RiskReason[] } {
  const reasons: RiskReason[] = [];
  const add = (code: RiskReason['code'], points: number, text: string) => {
    const p = Math.round(points);
    if (p > 0) reasons.push({ code, points: p, text });
  };
  if (s.orders >= 2 && s.firstOrderAt !== null && s.lastOrderAt !== null) {
    const since = now - s.lastOrderAt;
    // Two or three orders say little of a rhythm: the interval counts from the fourth order on.
    if (s.orders >= MIN_ORDERS_FOR_INTERVAL && s.orderGaps.length >= MIN_ORDERS_FOR_INTERVAL - 1) {
      const o = overdue(s.orderGaps, since / DAY_MS);
      const range = o.spread > ORDER_REGULARITY.irregular ? `，以往间隔 ${days(o.low * DAY_MS)}～${days(o.high * DAY_MS)} 天不等` : '';
      add('order_overdue', o.share * RISK_POINTS.orderOverdue, `距上次下单 ${days(since)} 天，平时约 ${days(o.typical * DAY_MS)} 天下一单（已是 ${o.ratio.toFixed(1)} 倍${range}）`);
    } else if (s.orders >= MIN_ORDERS_FOR_INTERVAL) {
      // Without the gaps (a caller that read only the first and last order): against the average interval.
      const interval = Math.max((s.lastOrderAt - s.firstOrderAt) / (s.orders - 1), DAY_MS);
      const ratio = since / interval;
      if (ratio > OVERDUE_FROM) {
        add('order_overdue', (Math.min(ratio, OVERDUE_FULL) - OVERDUE_FROM) / (OVERDUE_FULL - OVERDUE_FROM) * RISK_POINTS.orderOverdue, `距上次下单 ${days(since)} 天，平时约 ${days(interval)} 天下一单（已是 ${ratio.toFixed(1)} 倍）`);
      }
    }
  } else if (s.orders === 1 && s.lastOrderAt !== null && now - s.lastOrderAt > 90 * DAY_MS) {
    add('single_order_lapsed', RISK_POINTS.singleOrderLapsed, `只下过一单，已 ${days(now - s.lastOrderAt)} 天未再下单`);
  }
  // The usual rate is per 30 days over the 150 days before the last 30; a customer seen at least every two months has one.
  const usual = s.earlierInteractions / 5;
  const drop = usual >= 0.5 && s.recentInteractions < usual / 2 ? 1 - s.recentInteractions / usual : 0;
  if (drop > 0) {
    add('interaction_drop', drop * RISK_POINTS.interactionDrop, `近 30 天互动 ${s.recentInteractions} 次，此前平均每 30 天 ${usual.toFixed(1)} 次`);
  }
  if (s.earlierInteractions > 0 && s.lastInteractionAt !== null && now - s.lastInteractionAt > 60 * DAY_MS) {
    add('silent', RISK_POINTS.silent, `已 ${days(now - s.lastInteractionAt)} 天没有任何互动`);
  }
  if (s.latestScore && isDetractor(s.latestScore)) {
    add('detractor', RISK_POINTS.detractor, `最近一次满意度评分为贬损（${s.latestScore.kind === 'nps' ? 'NPS' : 'CSAT'} ${s.latestScore.score} 分）`);
  }
  if (s.openTickets > 0) {
    add('open_ticket', s.overdueTicket ? RISK_POINTS.overdueTicket : RISK_POINTS.openTicket, s.overdueTicket ? '有反馈工单超时未联系' : `有 ${s.openTickets} 张未解决的反馈工单`);
  }
  if (s.broadcastsIgnored >= 2) {
    add('broadcasts_ignored', Math.min(s.broadcastsIgnored / 4, 1) * RISK_POINTS.broadcastsIgnored, `近 60 天收到 ${s.broadcastsIgnored} 次群发，之后没有回应`);
  }
  if (s.complaints > 0) {
    const back = cameBack(s);
    const said = `近 ${COMPLAINT_DAYS} 天有 ${s.complaints} 次投诉或不满（客服消息或员工记录）`;
    add('complaint', back ? RISK_POINTS.complaintAnswered : RISK_POINTS.complaint, back ? `${said}，此后${back}` : said);
  }
  if (s.ownerResigned && (s.ownerResignedAt === null || now - s.ownerResignedAt >= HANDOVER_GRACE_DAYS * DAY_MS)) {
    const engaged = s.ownerResignedAt !== null && s.interactionsSinceResigned >= AFTER_LEAVING.engagedFrom;
    const text = s.ownerResignedAt === null ? '跟进员工已离职，客户尚未继承给他人' : `跟进员工已离职 ${days(now - s.ownerResignedAt)} 天，客户尚未继承给他人`;
    add('owner_resigned', engaged ? RISK_POINTS.ownerResignedEngaged : RISK_POINTS.ownerResigned, engaged ? `${text}（离职后客户仍有 ${s.interactionsSinceResigned} 次咨询或下单）` : text);
  }
  reasons.sort((a, b) => b.points - a.points);
  return { score: Math.min(100, reasons.reduce((n, r) => n + r.points, 0)), reasons };
}

/**
 * What a customer did after their last complaint that says they came back (docs/churn.md §Signals), in words, or
 * null: an order after it, or a survey score after it that is not a detractor's.
 */
function cameBack(s: ChurnSignals): string | null {
  if (s.lastComplaintAt === null) return null;
  if (s.lastOrderAt !== null && s.lastOrderAt > s.lastComplaintAt) return '客户已再次下单';
  if (s.latestScore && s.latestScoreAt !== null && s.latestScoreAt > s.lastComplaintAt && !isDetractor(s.latestScore)) {
    return `客户给出 ${s.latestScore.kind === 'nps' ? 'NPS' : 'CSAT'} ${s.latestScore.score} 分`;
  }
  return null;
}

/**
 * How far a silence of `sinceDays` is out of a buyer's rhythm (docs/churn.md §Signals): `share` of the overdue points
 * (0 … 1), the typical gap and the silence in typical gaps, the spread, and the middle of the gaps for the reason text.
 */
export function overdue(gaps: number[], sinceDays: number): { share: number; typical: number; ratio: number; spread: number; low: number; high: number } {
  // Same-day orders are one purchase split in two: a gap under a day says nothing of a rhythm.
  const logs = gaps.filter((g) => g >= 1).map((g) => Math.log(g)).sort((a, b) => a - b);
  if (logs.length < 2) return { share: 0, typical: 0, ratio: 0, spread: 0, low: 0, high: 0 };
  const mid = median(logs);
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
  const spread = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (logs.length - 1));
  const typical = Math.exp(mid);
  const ratio = sinceDays / typical;
  const z = Math.log(Math.max(ratio, 1e-9)) / Math.max(spread, ORDER_REGULARITY.minSpread);
  const r = ORDER_REGULARITY;
  const share = ratio < r.minRatio ? 0 : Math.min(Math.max((z - r.from) / (r.full - r.from), 0), 1);
  return { share, typical, ratio, spread, low: Math.exp(logs[0]!), high: Math.exp(logs[logs.length - 1]!) };
}

function median(sorted: number[]): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

/** The level of a score against the warning threshold. */
export function riskLevel(score: number, threshold: number): RiskLevel {
  return score >= threshold ? 'high' : score >= threshold / 2 ? 'medium' : 'low';
}
