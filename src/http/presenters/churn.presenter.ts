import type { ChurnRisk, ChurnRiskAnswer, RiskLevel } from '../../domain/churn/churn-risk.types.js';
import { CAUSE_WORDS, type ChurnCause, type ChurnCauseAnswer } from '../../domain/churn/churn-cause.types.js';

/** One lost relation with its causes, in words (docs/churn.md §Causes). */
export function presentChurnCause(c: ChurnCause): ChurnCauseAnswer {
  return {
    id: c.id,
    externalUserId: c.externalUserId,
    userid: c.userid,
    lostBy: c.lostBy,
    lostByWords: c.lostBy === 'customer' ? '客户删除了员工' : '员工删除了客户',
    lostAt: c.lostAt.toISOString(),
    score: c.score,
    cause: c.cause,
    causeWords: CAUSE_WORDS[c.cause],
    reasons: c.reasons.map((r) => ({ code: r.code, points: r.points, text: r.text })),
    staffCause: c.staffCause,
    staffCauseWords: c.staffCause ? CAUSE_WORDS[c.staffCause] : null,
    staffNote: c.staffNote,
    recordedBy: c.recordedBy,
    recordedAt: c.recordedAt?.toISOString() ?? null,
  };
}

const LEVEL_WORDS: Record<RiskLevel, string> = { low: '低风险', medium: '中风险', high: '高风险' };

/**
 * A customer's churn risk for the console and the sidebar (docs/churn.md §API): the score, its level in words, the
 * reasons largest first (each a zh-CN sentence), when it was scored and the threshold; `null` fields before the first
 * nightly pass saw the customer.
 */
export function presentChurnRisk(r: ChurnRisk | null, threshold: number): ChurnRiskAnswer {
  if (!r) return { score: null, level: null, levelWords: '尚未评分', reasons: [], scoredAt: null, threshold };
  return {
    score: r.score,
    level: r.level,
    levelWords: LEVEL_WORDS[r.level],
    reasons: r.reasons.map((x) => ({ code: x.code, points: x.points, text: x.text })),
    scoredAt: r.scoredAt.toISOString(),
    threshold,
  };
}
