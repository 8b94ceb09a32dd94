import { csv } from './analytics-csv.js';
import type { ChurnAnswer, CohortsAnswer } from './retention.types.js';

const percent = (r: number | null): string => (r === null ? '' : `${(r * 100).toFixed(2)}%`);

/** 留存 as CSV: one line per cohort, the share kept at each week's end (empty where the week has not ended), then the average. */
export function cohortsCsv(a: CohortsAnswer): string {
  const weeks = Array.from({ length: a.weeks }, (_, i) => `第${i + 1}周`);
  return csv(
    ['同期群', '开始日期', '结束日期', '新增客户', ...weeks],
    [...a.cohorts.map((c) => [c.cohort, c.periodStart, c.periodEnd, c.adds, ...c.cells.map((x) => percent(x.share))]), ['平均', a.from, a.to, '', ...a.average.map((x) => percent(x.share))]],
  );
}

/** 流失分析 as CSV: the whole, then one line per bucket of each dimension, with its rate and the rate against the whole's. */
export function churnCsv(a: ChurnAnswer): string {
  const ratio = (r: number | null) => (r === null ? '' : `${r.toFixed(2)}×`);
  return csv(
    ['维度', '分组', '流失关系数', '客户删除员工', '员工删除客户', `期初关系数（${a.baseAsOf ?? '无快照'}）`, '流失率', '相对整体'],
    [
      ['全部', '全部', a.total.losses, a.total.lostByCustomer, a.total.lostByStaff, a.total.relations, percent(a.total.rate), a.total.rate === null ? '' : ratio(1)],
      ...a.dimensions.flatMap((d) => d.buckets.map((b) => [d.label, b.label, b.losses, b.lostByCustomer, b.lostByStaff, b.relations, percent(b.rate), ratio(b.ratio)])),
    ],
  );
}
