import { csv } from './analytics-csv.js';
import type { ReachAnswer, ReachFigures, ReachOutcome } from './reach.types.js';

/** The words for the ledger's reason codes (the console's lib/labels.ts says the same), so no raw code reaches a sheet. */
const REASONS: Record<string, string> = {
  holdout: '对照组（不发送）',
  opted_out: '客户已退订',
  daily_cap: '超出每日上限',
  wecom_quota: '超出企业微信群发额度',
  no_sender: '没有可发送的员工',
  cancelled: '群发已取消',
  kf_window_closed: '48 小时会话窗口已关闭',
  outcome_unknown: '发送结果未知，未重发',
  text_too_long: '消息超长',
  erased: '已删除个人信息',
  missed_window: '错过发送窗口',
  invalid_audience: '受众表达式无效',
  planning_failed: '计划失败',
  not_friend: '已不是好友',
  wecom_fail_list: '企业微信拒绝',
  not_confirmed: '员工未确认',
};
const KINDS: Record<ReachFigures['sourceKind'], string> = { care: '关怀规则', winback: '唤醒活动', broadcast: '群发', loyalty: '会员升级祝贺', survey: '满意度调查', journey: '客户旅程' };

function reasonsText(by: Record<string, number>): string {
  return Object.entries(by)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${REASONS[code] ?? (code === 'unknown' ? '其他' : `其他（${code}）`)} ${n}`)
    .join('；');
}

const percent = (r: number | null): string => (r === null ? '' : `${(r * 100).toFixed(2)}%`);
const yuan = (cents: number): string => (cents / 100).toFixed(2);

const OUTCOME_HEADER = (g: string) => [`${g}人次`, `${g}7日已满期`, `${g}7日内下单`, `${g}7日下单率`, `${g}7日订单数`, `${g}7日成交金额（元）`, `${g}7日内客服回复`, `${g}7日回复率`];
const outcomeCells = (o: ReachOutcome) => [o.messages, o.matured, o.ordered7d, percent(o.orderedRate7d), o.orders7d, yuan(o.revenue7dCents), o.replied7d, percent(o.replyRate7d)];

const HEADER = [
  '类型',
  '名称',
  '计划',
  '已提交',
  '员工已确认',
  '已送达',
  '已跳过',
  '其中对照组',
  '跳过原因',
  '超出群发额度',
  '失败',
  '失败原因',
  '已过期',
  '等待中',
  ...OUTCOME_HEADER('目标组'),
  ...OUTCOME_HEADER('已送达'),
  ...OUTCOME_HEADER('对照组'),
  '下单率提升（目标组−对照组）',
  '回复率提升（目标组−对照组）',
];

function cells(s: ReachFigures): (string | number)[] {
  const f = s.funnel;
  return [
    KINDS[s.sourceKind],
    s.name,
    f.planned,
    f.submitted,
    f.confirmed,
    f.sent,
    f.skipped,
    f.holdout,
    reasonsText(f.skippedByReason),
    f.overQuota,
    f.failed,
    reasonsText(f.failedByReason),
    f.expired,
    f.pending,
    ...outcomeCells(s.outcomes.targeted),
    ...outcomeCells(s.outcomes.sent),
    ...outcomeCells(s.outcomes.holdout),
    percent(s.lift.orderedRate7d),
    percent(s.lift.replyRate7d),
  ];
}

/** 触达效果 as CSV: one line per source over the range (default), or per period and source. UTF-8 with a BOM. */
export function reachCsv(a: ReachAnswer, table: 'sources' | 'periods'): string {
  if (table === 'periods') return csv(['周期', '开始日期', '结束日期', ...HEADER], a.lines.map((l) => [l.period, l.periodStart, l.periodEnd, ...cells(l)]));
  return csv(HEADER, a.sources.map(cells));
}
