import type { ChannelFigures, ChannelsAnswer, GrowthAnswer, MixAnswer, TotalsAnswer, TransitionsAnswer } from './analytics.types.js';
import { DIMENSION_LABELS } from './analytics-labels.js';

/**
 * A UTF-8 byte order mark first: without it Excel on Windows reads a CSV as the system's ANSI code page and the Chinese
 * headers and names come out garbled.
 */
export const UTF8_BOM = '\uFEFF';

/** One CSV field: quoted when it holds a comma, quote or line break, or could be read as a formula by a spreadsheet. */
function field(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  // A cell starting with = + - @ runs as a formula in Excel (CSV injection); names come from WeCom and operators.
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV document: the BOM, a header line and the rows, CRLF line ends. */
export function csv(header: string[], rows: (string | number | null | undefined)[][]): string {
  return UTF8_BOM + [header, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

const percent = (r: number | null): string => (r === null ? '' : `${(r * 100).toFixed(2)}%`);
const yuan = (cents: number): string => (cents / 100).toFixed(2);

const SPLIT_HEADER: Record<GrowthAnswer['by'], string | null> = { none: null, channel: '渠道', staff: '员工', tag: '标签' };

/** 客户增长 as CSV: one line per period (and channel, member or tag). */
export function growthCsv(a: GrowthAnswer): string {
  const split = SPLIT_HEADER[a.by];
  const header = ['周期', '开始日期', '结束日期', ...(split ? [split] : []), ...(a.by === 'tag' ? ['标签组'] : []), '新增客户', '客户删除员工', '员工删除客户', '净增', '转入（继承）', '转出（继承）'];
  return csv(
    header,
    a.lines.map((l) => [
      l.period,
      l.periodStart,
      l.periodEnd,
      ...(split ? [l.label] : []),
      ...(a.by === 'tag' ? [l.groupName ?? ''] : []),
      l.added,
      l.lostByCustomer,
      l.lostByStaff,
      l.net,
      l.transferredIn,
      l.transferredOut,
    ]),
  );
}

/** 客户总数 as CSV. */
export function totalsCsv(a: TotalsAnswer): string {
  const byStaff = a.by === 'staff';
  return csv(['周期', '截至日期', ...(byStaff ? ['员工'] : []), '客户总数'], a.lines.map((l) => [l.period, l.asOf, ...(byStaff ? [l.label] : []), l.customers]));
}

const CHANNEL_HEADER = ['渠道', '新增客户', '客户删除员工', '员工删除客户', '净增', '7日留存率', '7日已满期新增', '7日留存', '30日留存率', '30日已满期新增', '30日留存', '30日内下单人数', '30日下单率', '30日内成交金额（元）'];

function channelCells(c: ChannelFigures): (string | number)[] {
  return [c.channelName, c.adds, c.lostByCustomer, c.lostByStaff, c.net, percent(c.retention7d), c.matured7d, c.retained7d, percent(c.retention30d), c.matured30d, c.retained30d, c.ordered30d, percent(c.orderedShare30d), yuan(c.revenue30dCents)];
}

/** 渠道效果 as CSV: the ranking (default), or one line per period and channel. */
export function channelsCsv(a: ChannelsAnswer, table: 'ranking' | 'periods'): string {
  if (table === 'periods') return csv(['周期', '开始日期', '结束日期', ...CHANNEL_HEADER], a.lines.map((l) => [l.period, l.periodStart, l.periodEnd, ...channelCells(l)]));
  return csv(['排名', ...CHANNEL_HEADER], a.ranking.map((r) => [r.rank, ...channelCells(r)]));
}

/** 客户结构 as CSV: one line per period and value. */
export function mixCsv(a: MixAnswer): string {
  return csv(['周期', '截至日期', DIMENSION_LABELS[a.dimension], '客户数', '占比'], a.lines.map((l) => [l.period, l.asOf, l.label, l.customers, percent(l.share)]));
}

/** 客户结构变化 as CSV: one line per period and change. */
export function transitionsCsv(a: TransitionsAnswer): string {
  const dim = DIMENSION_LABELS[a.dimension];
  return csv(['周期', '开始日期', '结束日期', `原${dim}`, `新${dim}`, '客户数'], a.lines.map((l) => [l.period, l.periodStart, l.periodEnd, l.fromLabel, l.toLabel, l.customers]));
}
