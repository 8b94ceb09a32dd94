import type { ChurnRisk, RiskLevel } from '../../domain/churn/churn-risk.types.js';

const LEVEL_WORDS: Record<RiskLevel, string> = { low: '低风险', medium: '中风险', high: '高风险' };

/**
 * A customer's churn risk for the console and the sidebar (docs/churn.md §API): the score, its level in words, the
 * reasons largest first (each a zh-CN sentence), when it was scored and the threshold; `null` fields before the first
 * nightly pass saw the customer.
 */
export function presentChurnRisk(r: ChurnRisk | null, threshold: number): Record<string, unknown> {
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
