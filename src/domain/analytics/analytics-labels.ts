import type { MixDimension } from './analytics.types.js';

/**
 * The words an operator reads for each mix value (the console's lib/labels.ts says the same): the CSV export and the
 * API's `label` use them, so no raw code reaches a spreadsheet.
 */
const LABELS: Record<MixDimension, Record<string, string>> = {
  activity: { active: '活跃', dormant: '沉睡', churned: '流失', '': '未分级' },
  stage: { new: '新客户', prospect: '潜在客户', customer: '成交客户', loyal: '忠诚客户', at_risk: '流失风险', churned: '已流失', '': '未分级' },
  // RFM segments are Chinese already; a customer without orders has none.
  rfm: { '': '未评分' },
};

/** The zh-CN name of a dimension. */
export const DIMENSION_LABELS: Record<MixDimension, string> = { activity: '活跃度', rfm: 'RFM 分层', stage: '生命周期阶段' };

/** The zh-CN label of a value; an unknown code reads as 其他（code）. */
export function mixLabel(dimension: MixDimension, value: string): string {
  const known = LABELS[dimension][value];
  if (known) return known;
  return dimension === 'rfm' ? value : `其他（${value}）`;
}
