// 数据看板: what the analytics API answers (README §数据分析, docs/analytics.md), the periods a range is bucketed into,
// the words for its codes, and its CSV downloads. Every panel of the dashboard takes the same range (from, to,
// granularity), so each question of the API is one panel over the same range.
import { ApiError, tokenStore } from './api';
import { ACTIVITY, RFM_SEGMENTS, STAGE } from './labels';
import { todayShanghai } from './format';
import type { ChurnDimensionAnswer } from '../../../domain/analytics/retention.types';
import type { GrowthAnswer, Granularity, MixDimension } from '../../../domain/analytics/analytics.types';
import type { DeliveryKind } from '../../../domain/delivery/delivery.types';

// The answers are the server's own types (type-only: nothing of the server is bundled), so there is one definition.
export type {
  ChannelFigures,
  ChannelSort,
  ChannelsAnswer,
  Granularity,
  GrowthAnswer,
  GrowthCounts,
  GrowthLine,
  MixAnswer,
  MixDimension,
  TotalsAnswer,
  TransitionsAnswer,
} from '../../../domain/analytics/analytics.types';
export type { ChurnAnswer, ChurnBucket, CohortCell, CohortsAnswer } from '../../../domain/analytics/retention.types';
export type { StaffAnswer, StaffFigures } from '../../../domain/analytics/staff-performance.types';
export type { ReachAnswer, ReachFigures, ReachFunnel, ReachOutcome } from '../../../domain/analytics/reach.types';

/** How a panel's figures are made: the API's event and snapshot, and 员工统计's mix of the two with WeCom's pulls. */
export type FigureKind = 'event' | 'snapshot' | 'mixed' | 'pulled';
/** How 客户增长 is split (`by` of the growth question). */
export type GrowthSplit = GrowthAnswer['by'];
/** The churn dimensions the panel switches between (`all` is the totals, not a dimension shown). */
export type ChurnDimension = Exclude<ChurnDimensionAnswer['dimension'], 'all'>;
/** A source kind of 触达效果: every kind of the delivery ledger. */
export type ReachKind = DeliveryKind;

/** The range every panel reads: Shanghai local dates, inclusive, and the dashboard's member and channel filters. */
export interface AnalyticsRange {
  from: string;
  to: string;
  granularity: Granularity;
  /** One member's customers only (a staff user's own are the API's scope anyway). */
  userid?: string;
  /** One channel's customers only: the questions that take a channel (CHANNEL_FILTERED). */
  channel?: string;
}

/** The questions the API answers per channel (README §数据分析); the others are over every channel. */
export const CHANNEL_FILTERED = ['客户增长', '渠道效果', '留存', '流失分析'];

/** A panel's query of the range: dates, granularity, member, and the channel when its question takes one. */
export function rangeQuery(r: AnalyticsRange, opts: { channel?: boolean } = {}): Record<string, string> {
  const q: Record<string, string> = { from: r.from, to: r.to, granularity: r.granularity };
  if (r.userid) q.userid = r.userid;
  if (opts.channel && r.channel) q.channel = r.channel;
  return q;
}

/** What a panel reloads on: the range, the member, and the channel when its question takes one. */
export function rangeSources(r: AnalyticsRange, opts: { channel?: boolean } = {}): (() => unknown)[] {
  const s: (() => unknown)[] = [() => r.from, () => r.to, () => r.granularity, () => r.userid];
  if (opts.channel) s.push(() => r.channel);
  return s;
}

export const GRANULARITY: Record<Granularity, string> = { day: '日', week: '周', month: '月' };

export const GROWTH_SPLIT: Record<GrowthSplit, string> = { none: '不拆分', channel: '渠道', staff: '员工', tag: '标签组' };

/** The growth figures, in the words of docs/analytics.md §Figures. */
export const GROWTH_FIGURE: Record<'added' | 'lostByCustomer' | 'lostByStaff' | 'net', string> = {
  added: '新增客户',
  lostByCustomer: '客户删除员工',
  lostByStaff: '员工删除客户',
  net: '净增',
};

export const MIX_DIMENSION: Record<MixDimension, string> = { activity: '活跃度', rfm: 'RFM 分层', stage: '生命周期阶段' };

export const FIGURE_KIND: Record<FigureKind, { text: string; hint: string }> = {
  event: { text: '事件', hint: '按发生的日期统计；过去的日期可以从记录中重新计算' },
  snapshot: { text: '快照', hint: '每晚 00:20 记录的当时状态；没有夜间任务运行的日期没有数据，也不能补拍' },
  mixed: { text: '混合', hint: '企业微信的统计每晚拉取；群发任务和跟进按发生日统计（事件）；客户数是夜间快照' },
  pulled: { text: '企业微信', hint: '企业微信「群聊数据统计」每晚拉取（按北京时间的自然日），最近 3 天会重新拉取；今天的数据明天才有' },
};

/** One period of 客户群数据 (GET /api/v1/analytics/groups, docs/groups.md §Group statistics). */
export interface GroupFiguresLine {
  period: string;
  newGroups: number;
  newMembers: number;
  messages: number;
  activeGroups: number;
  speakingMembers: number;
  groupTotal: number | null;
  memberTotal: number | null;
  asOf: string | null;
  days: number;
}

/** GET /api/v1/analytics/groups. */
export interface GroupsAnswer {
  unit: 'corp' | 'owner';
  lines: GroupFiguresLine[];
  total: Omit<GroupFiguresLine, 'period'>;
  lastPulledDay: string | null;
}

/** A mix value in words: the console's own maps; '' is a customer without one (no orders: no RFM segment). */
export function mixValueLabel(dimension: MixDimension, value: string): string {
  if (value === '') return dimension === 'rfm' ? '未评分' : '未分级';
  if (dimension === 'rfm') return RFM_SEGMENTS.includes(value) ? value : '其他';
  return (dimension === 'activity' ? ACTIVITY : STAGE)[value] ?? '其他';
}

/** The values of a dimension in the order the dashboard shows them. */
export function mixValues(dimension: MixDimension): string[] {
  if (dimension === 'activity') return Object.keys(ACTIVITY);
  if (dimension === 'stage') return Object.keys(STAGE);
  return RFM_SEGMENTS;
}

/** `YYYY-MM-DD` ± days, in calendar days (no time zone: these are local dates already). */
export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The bucket a day falls in, as the API names it: the day, the week's Monday, or `YYYY-MM`. */
export function periodOf(day: string, g: Granularity): string {
  if (g === 'day') return day;
  if (g === 'month') return day.slice(0, 7);
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
  return addDays(day, -((weekday + 6) % 7));
}

/** Every period of a range, in order: the API answers only the periods that have rows, a chart needs all of them. */
export function periodsOf(r: AnalyticsRange): string[] {
  const out: string[] = [];
  for (let d = r.from; d <= r.to; d = addDays(d, 1)) {
    const p = periodOf(d, r.granularity);
    if (out[out.length - 1] !== p) out.push(p);
  }
  return out;
}

/** A period as an axis label: 04-07, 04-07 周, 2026-04. */
export function periodLabel(p: string, g: Granularity): string {
  if (g === 'month') return p;
  return g === 'week' ? `${p.slice(5)} 起` : p.slice(5);
}

/** The last `days` days to today (Shanghai). */
export function lastDays(days: number, today = todayShanghai()): [string, string] {
  return [addDays(today, -(days - 1)), today];
}

export const percent = (r: number | null): string => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);

/**
 * Download the API's CSV of a question (`format=csv`): fetched with the session cookie or the pasted token, then
 * saved under the zh-CN file name the server gives (Content-Disposition filename*).
 */
export async function downloadCsv(path: string, query: Record<string, string | undefined>): Promise<string> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...query, format: 'csv' })) if (v !== undefined && v !== '') q.set(k, v);
  const headers: Record<string, string> = {};
  const token = tokenStore.get();
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(`${path}?${q.toString()}`, { headers, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', '无法连接服务器，请检查网络');
  }
  if (!res.ok) {
    const data = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new ApiError(res.status, data?.error?.code ?? `http_${res.status}`, data?.error?.message ?? `导出失败（HTTP ${res.status}）`);
  }
  const disposition = res.headers.get('content-disposition') ?? '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  const plain = /filename="([^"]+)"/i.exec(disposition);
  const name = star ? decodeURIComponent(star[1]) : (plain?.[1] ?? 'export.csv');
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
  return name;
}

/** The churn dimensions as the panel's switch names them (the API's own labels are longer, for the CSV). */
export const CHURN_DIMENSION: Record<ChurnDimension, string> = {
  botMessages: '机器人消息',
  broadcasts: '群发消息',
  kfMessages: '客服消息',
  sinceOrder: '距上次下单',
  sinceInteraction: '距上次互动',
  owner: '所属员工',
  channel: '渠道',
};

/** A difference of two rates in percentage points: +3.2 个百分点, — when either is unknown. */
export const points = (d: number | null): string => (d === null ? '—' : `${d > 0 ? '+' : d < 0 ? '−' : ''}${Math.abs(d * 100).toFixed(1)} 个百分点`);
