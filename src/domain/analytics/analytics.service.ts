import type { AnalyticsRepository, GrowthFilter } from '../../persistence/repositories/analytics.repository.js';
import type { Clock } from '../../shared/clock.js';
import { ForbiddenError, invalidField } from '../../shared/errors.js';
import { addDays, daysBetween, localDate } from '../../shared/dates.js';
import { periodOf, periodsOf } from './analytics-periods.js';
import type {
  AnalyticsViewer,
  ChannelFigures,
  ChannelSort,
  ChannelsAnswer,
  Frame,
  GrowthAnswer,
  Granularity,
  GrowthCounts,
  GrowthLine,
  GrowthRow,
  GrowthTagRow,
  MixAnswer,
  MixDimension,
  RangeQuery,
  TotalsAnswer,
  TotalsLine,
  TotalsRow,
  TransitionLine,
  TransitionsAnswer,
} from './analytics.types.js';
import { mixLabel } from './analytics-labels.js';

/** The longest range one request may ask for: two years and a little. */
export const MAX_RANGE_DAYS = 800;
/** The label of relations that came through no channel of ours. */
export const NO_CHANNEL_LABEL = '未通过渠道';

/** Names sort as a Chinese reader expects; one collator, built once (localeCompare with a locale builds one per call). */
const zhCollator = new Intl.Collator('zh-CN');
/** Ids and codes in code-point order. */
const byCode = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const zeroCounts = (): GrowthCounts => ({ added: 0, lostByCustomer: 0, lostByStaff: 0, net: 0, transferredIn: 0, transferredOut: 0 });

function addCounts(into: GrowthCounts, r: { added: number; lostByCustomer: number; lostByStaff: number; transferredIn?: number; transferredOut?: number }): void {
  into.added += r.added;
  into.lostByCustomer += r.lostByCustomer;
  into.lostByStaff += r.lostByStaff;
  into.transferredIn += r.transferredIn ?? 0;
  into.transferredOut += r.transferredOut ?? 0;
  into.net = into.added - into.lostByCustomer - into.lostByStaff;
}

const rate = (num: number, den: number): number | null => (den > 0 ? Math.round((num / den) * 10_000) / 10_000 : null);

/**
 * The analytics questions (docs/analytics.md): growth and total customers (客户增长), channel effectiveness (渠道效果) and
 * the activity and value mix with its transitions (客户结构).
 * Every answer is read from the rollup tables, never from the raw ones, and says whether its figures are events
 * (recomputable) or snapshots.
 */
export class AnalyticsService {
  constructor(
    private readonly repo: AnalyticsRepository,
    private readonly clock: Clock,
    private readonly tz: string,
  ) {}

  /**
   * The growth rows of [from, to]: rolled days from their summary rows, the rest (today, and any day not rolled yet)
   * from the detail rows, each run of either with one statement (docs/analytics.md §Size).
   */
  private async growthRows(from: string, to: string, key: 'none' | 'channel' | 'staff', f: GrowthFilter, withOutcomes = false, g?: Granularity): Promise<(GrowthRow & { key: string })[]> {
    const out: (GrowthRow & { key: string })[] = [];
    for (const [a, b, isRolled] of runsOf(from, to, await this.repo.rolledDays(from, to))) out.push(...(await this.repo.growthByDay(a, b, key, f, isRolled, withOutcomes, g)));
    return out;
  }

  /** The tag rows of [from, to], as growthRows. */
  private async tagRows(from: string, to: string, f: { userid?: string; groupId?: string }): Promise<GrowthTagRow[]> {
    const out: GrowthTagRow[] = [];
    for (const [a, b, isRolled] of runsOf(from, to, await this.repo.rolledDays(from, to))) out.push(...(await this.repo.growthTagsByDay(a, b, f, isRolled)));
    return out;
  }

  /** The range, granularity and whose numbers, checked; staff get their own numbers only. */
  frame(q: RangeQuery, viewer: AnalyticsViewer): Frame {
    const today = localDate(this.clock.now(), this.tz);
    const to = q.to ?? (q.from ? addDays(q.from, 29) > today ? today : addDays(q.from, 29) : today);
    const from = q.from ?? addDays(to, -29);
    if (from > to) throw invalidField('from', '开始日期不能晚于结束日期');
    if (daysBetween(from, to) + 1 > MAX_RANGE_DAYS) throw invalidField('to', `查询范围最多 ${MAX_RANGE_DAYS} 天`);
    let userid = q.userid ?? null;
    let scope: Frame['scope'] = 'all';
    if (viewer.role === 'staff') {
      if (!viewer.userid) throw new ForbiddenError('此令牌未绑定员工，无法查看数据');
      if (userid !== null && userid !== viewer.userid) throw new ForbiddenError('员工只能查看自己的数据');
      userid = viewer.userid;
      scope = 'own';
    }
    return { from, to, granularity: q.granularity, timezone: this.tz, scope, userid };
  }

  /** Customers added and lost per period, whole or split by channel, member or tag. */
  async growth(q: RangeQuery & { by: GrowthAnswer['by']; channelId?: string; tagGroupId?: string }, viewer: AnalyticsViewer): Promise<GrowthAnswer> {
    const f = this.frame(q, viewer);
    if (q.by === 'tag' && q.channelId !== undefined) throw invalidField('channel', '按标签拆分时不能再按渠道筛选');
    if (q.tagGroupId !== undefined && q.by !== 'tag') throw invalidField('tagGroup', '标签组只用于按标签拆分（by=tag）');
    if (q.tagGroupId !== undefined && !(await this.repo.hasTagGroup(q.tagGroupId))) throw invalidField('tagGroup', '标签组不存在');
    const periods = new Map(periodsOf(f.from, f.to, f.granularity).map((p) => [p.period, p]));
    const lines = new Map<string, GrowthLine>();
    const total = zeroCounts();
    const line = (day: string, key: string): GrowthLine => {
      const p = periods.get(periodOf(day, f.granularity))!;
      const k = `${p.period}\u0000${key}`;
      let l = lines.get(k);
      if (!l) {
        l = { period: p.period, periodStart: p.start, periodEnd: p.end, key, label: '', ...zeroCounts() };
        lines.set(k, l);
      }
      return l;
    };
    if (q.by === 'tag') {
      const rows = await this.tagRows(f.from, f.to, { userid: f.userid ?? undefined, groupId: q.tagGroupId });
      const groupOf = new Map(rows.map((r) => [r.tagId, r.groupId]));
      for (const r of rows) addCounts(line(r.day, r.tagId), r);
      const [tagNames, groupNames] = await Promise.all([this.repo.tagNames([...groupOf.keys()]), this.repo.tagGroupNames([...new Set(groupOf.values())])]);
      for (const l of lines.values()) {
        l.label = tagNames.get(l.key) ?? l.key;
        l.groupId = groupOf.get(l.key);
        l.groupName = groupNames.get(l.groupId ?? '') ?? l.groupId;
      }
      // The total of a tag split would count a customer once per tag: the whole is the unsplit total.
      for (const r of await this.growthRows(f.from, f.to, 'none', { userid: f.userid ?? undefined }, false, f.granularity)) addCounts(total, r);
    } else {
      // Summed per period in the statement: each row's `day` is its period's label, which periodOf keeps as it is.
      const rows = await this.growthRows(f.from, f.to, q.by, { userid: f.userid ?? undefined, channelId: q.channelId }, false, f.granularity);
      for (const r of rows) {
        addCounts(line(r.day, r.key), r);
        addCounts(total, r);
      }
      const keys = [...new Set(rows.map((r) => r.key))];
      const names = q.by === 'channel' ? await this.repo.channelNames(keys) : q.by === 'staff' ? await this.repo.staffNames(keys) : new Map<string, string>();
      for (const l of lines.values()) {
        l.label = q.by === 'none' ? '全部' : q.by === 'channel' && l.key === '' ? NO_CHANNEL_LABEL : names.get(l.key) || l.key;
      }
    }
    const sorted = [...lines.values()].sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : zhCollator.compare(a.label, b.label) || byCode(a.key, b.key)));
    return { kind: 'event', ...f, by: q.by, unit: q.by === 'tag' ? 'customer_per_tag' : 'relation', lines: sorted, total };
  }

  /**
   * Customers in an active relation at the end of each period (the nightly snapshot of its last day that has one): the
   * corp's, each customer once, or per member (a customer followed by two members counts for each).
   */
  async totals(q: RangeQuery & { by: TotalsAnswer['by'] }, viewer: AnalyticsViewer): Promise<TotalsAnswer> {
    const f = this.frame(q, viewer);
    const rows = f.userid !== null ? await this.repo.totals(f.from, f.to, f.userid) : q.by === 'staff' ? await this.totalsByStaff(f) : await this.repo.totals(f.from, f.to, '');
    const last = new Map<string, TotalsLine>();
    for (const r of rows) {
      const key = f.userid !== null || q.by === 'staff' ? r.userid : '';
      const period = periodOf(r.day, f.granularity);
      // Rows come by day: a later day of the period replaces an earlier one.
      last.set(`${period}\u0000${key}`, { period, asOf: r.day, key, label: '', customers: r.customers });
    }
    const names = await this.repo.staffNames([...new Set([...last.values()].map((l) => l.key))]);
    const lines = [...last.values()].map((l) => ({ ...l, label: l.key === '' ? '全部' : names.get(l.key) || l.key }));
    lines.sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : byCode(a.key, b.key)));
    return { kind: 'snapshot', ...f, by: f.userid !== null ? 'staff' : q.by, lines };
  }

  /**
   * Every member's rows of the nights that end the periods: each period's last night with a snapshot (the corp's row
   * says which nights have one). By week or month that is one night a period instead of every night, 1,200 rows for
   * a year of 100 members instead of 36,500 (docs/analytics.md §Customer totals by member). A member with no row on
   * that night had no customer at the period's end, as on a day's line.
   */
  private async totalsByStaff(f: { from: string; to: string; granularity: Granularity }): Promise<TotalsRow[]> {
    if (f.granularity === 'day') return this.repo.totalsByStaff(f.from, f.to);
    const ends = new Map<string, string>();
    for (const r of await this.repo.totals(f.from, f.to, '')) ends.set(periodOf(r.day, f.granularity), r.day);
    return ends.size === 0 ? [] : this.repo.totalsByStaff(f.from, f.to, [...ends.values()]);
  }

  /**
   * The activity (ADC), RFM or lifecycle-stage mix at the end of each period, from the nightly snapshots: the corp's,
   * or a member's customers (any relation, current or ended).
   */
  async mix(q: RangeQuery & { dimension: MixDimension }, viewer: AnalyticsViewer): Promise<MixAnswer> {
    const f = this.frame(q, viewer);
    const rows = await this.repo.mixByDay(f.from, f.to, q.dimension, f.userid ?? '');
    const byDay = new Map<string, Map<string, number>>();
    for (const r of rows) byDay.set(r.day, (byDay.get(r.day) ?? new Map<string, number>()).set(r.value, r.customers));
    const values = (day: string) => {
      const m = byDay.get(day)!;
      const total = [...m.values()].reduce((a, b) => a + b, 0);
      return [...m].map(([value, customers]) => ({ value, label: mixLabel(q.dimension, value), customers, share: rate(customers, total) })).sort((a, b) => b.customers - a.customers || byCode(a.value, b.value));
    };
    // The days come in order: a later snapshot of the period replaces an earlier one.
    const lastOfPeriod = new Map<string, string>();
    for (const day of byDay.keys()) lastOfPeriod.set(periodOf(day, f.granularity), day);
    const lines = [...lastOfPeriod].flatMap(([period, asOf]) => values(asOf).map((v) => ({ period, asOf, ...v })));
    const newest = [...byDay.keys()].pop();
    return { kind: 'snapshot', ...f, dimension: q.dimension, lines, latest: newest ? { asOf: newest, values: values(newest) } : null };
  }

  /** Changes between values (e.g. loyal → at_risk) per period, summed over the nights in it. */
  async transitions(q: RangeQuery & { dimension: MixDimension; fromValue?: string; toValue?: string }, viewer: AnalyticsViewer): Promise<TransitionsAnswer> {
    const f = this.frame(q, viewer);
    const rows = await this.repo.transitionsByDay(f.from, f.to, q.dimension, f.userid ?? '', { fromValue: q.fromValue, toValue: q.toValue });
    const periods = new Map(periodsOf(f.from, f.to, f.granularity).map((p) => [p.period, p]));
    const lines = new Map<string, TransitionLine>();
    const total = new Map<string, TransitionsAnswer['total'][number]>();
    const pair = (from: string, to: string) => ({ fromValue: from, fromLabel: mixLabel(q.dimension, from), toValue: to, toLabel: mixLabel(q.dimension, to) });
    for (const r of rows) {
      const p = periods.get(periodOf(r.day, f.granularity))!;
      const k = `${p.period}\u0000${r.from}\u0000${r.to}`;
      const l = lines.get(k) ?? { period: p.period, periodStart: p.start, periodEnd: p.end, ...pair(r.from, r.to), customers: 0 };
      l.customers += r.customers;
      lines.set(k, l);
      const tk = `${r.from}\u0000${r.to}`;
      const t = total.get(tk) ?? { ...pair(r.from, r.to), customers: 0 };
      t.customers += r.customers;
      total.set(tk, t);
    }
    const byCount = (a: { customers: number; fromValue: string; toValue: string }, b: { customers: number; fromValue: string; toValue: string }) =>
      b.customers - a.customers || byCode(a.fromValue, b.fromValue) || byCode(a.toValue, b.toValue);
    return {
      kind: 'snapshot',
      ...f,
      dimension: q.dimension,
      lines: [...lines.values()].sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : byCount(a, b))),
      total: [...total.values()].sort(byCount),
    };
  }

  /** Channel effectiveness over the range, ranked, and per period. */
  async channels(q: RangeQuery & { sort: ChannelSort; channelId?: string }, viewer: AnalyticsViewer): Promise<ChannelsAnswer> {
    const f = this.frame(q, viewer);
    const rows = await this.growthRows(f.from, f.to, 'channel', { userid: f.userid ?? undefined, channelId: q.channelId }, true);
    const names = await this.repo.channelNames([...new Set(rows.map((r) => r.key))]);
    const periods = new Map(periodsOf(f.from, f.to, f.granularity).map((p) => [p.period, p]));
    const whole = new Map<string, Acc>();
    const perPeriod = new Map<string, Acc & { period: string }>();
    for (const r of rows) {
      const acc = whole.get(r.key) ?? newAcc(r.key);
      whole.set(r.key, acc);
      accumulate(acc, r);
      const p = periodOf(r.day, f.granularity);
      const pk = `${p}\u0000${r.key}`;
      const pacc = perPeriod.get(pk) ?? { ...newAcc(r.key), period: p };
      perPeriod.set(pk, pacc);
      accumulate(pacc, r);
    }
    const label = (id: string) => (id === '' ? NO_CHANNEL_LABEL : names.get(id) || id);
    const figures = (a: Acc): ChannelFigures => finish(a, label(a.channelId));
    const ranked = [...whole.values()].filter((a) => a.channelId !== '').map(figures);
    ranked.sort((a, b) => compareBy(q.sort, a, b) || zhCollator.compare(a.channelName, b.channelName) || byCode(a.channelId, b.channelId));
    const lines = [...perPeriod.values()]
      .map((a) => {
        const p = periods.get(a.period)!;
        return { period: a.period, periodStart: p.start, periodEnd: p.end, ...figures(a) };
      })
      .sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : zhCollator.compare(a.channelName, b.channelName)));
    return {
      kind: 'event',
      ...f,
      sort: q.sort,
      ranking: ranked.map((r, i) => ({ rank: i + 1, ...r })),
      unattributed: figures(whole.get('') ?? newAcc('')),
      lines,
    };
  }
}

interface Acc {
  channelId: string;
  adds: number;
  lostByCustomer: number;
  lostByStaff: number;
  matured7d: number;
  retained7d: number;
  matured30d: number;
  retained30d: number;
  orderedMatured30d: number;
  ordered30d: number;
  revenue30dCents: number;
}

const newAcc = (channelId: string): Acc => ({ channelId, adds: 0, lostByCustomer: 0, lostByStaff: 0, matured7d: 0, retained7d: 0, matured30d: 0, retained30d: 0, orderedMatured30d: 0, ordered30d: 0, revenue30dCents: 0 });

/** Add one day's rollup to a channel's sums; a day's outcomes count toward a rate only once its window has closed. */
function accumulate(a: Acc, r: GrowthRow): void {
  a.adds += r.added;
  a.lostByCustomer += r.lostByCustomer;
  a.lostByStaff += r.lostByStaff;
  a.ordered30d += r.ordered30d;
  a.revenue30dCents += r.revenue30dCents;
  if (r.outcomesThrough === null) return;
  const closed = daysBetween(r.day, r.outcomesThrough);
  if (closed >= 7) {
    a.matured7d += r.added;
    a.retained7d += r.retained7d;
  }
  if (closed >= 30) {
    a.matured30d += r.added;
    a.retained30d += r.retained30d;
    a.orderedMatured30d += r.ordered30d;
  }
}

function finish(a: Acc, channelName: string): ChannelFigures {
  return {
    channelId: a.channelId,
    channelName,
    adds: a.adds,
    lostByCustomer: a.lostByCustomer,
    lostByStaff: a.lostByStaff,
    net: a.adds - a.lostByCustomer - a.lostByStaff,
    matured7d: a.matured7d,
    retained7d: a.retained7d,
    retention7d: rate(a.retained7d, a.matured7d),
    matured30d: a.matured30d,
    retained30d: a.retained30d,
    retention30d: rate(a.retained30d, a.matured30d),
    ordered30d: a.ordered30d,
    orderedShare30d: rate(a.orderedMatured30d, a.matured30d),
    revenue30dCents: a.revenue30dCents,
  };
}

/** Higher first; a rate not known yet sorts after every known one. */
function compareBy(sort: ChannelSort, a: ChannelFigures, b: ChannelFigures): number {
  const v = (x: ChannelFigures): number | null =>
    sort === 'adds' ? x.adds : sort === 'net' ? x.net : sort === 'revenue' ? x.revenue30dCents : x[sort];
  const va = v(a);
  const vb = v(b);
  if (va === vb) return 0;
  if (va === null) return 1;
  if (vb === null) return -1;
  return vb - va;
}

/** [from, to] cut into maximal runs of rolled and of not-rolled days, as [first, last, isRolled]. */
function runsOf(from: string, to: string, rolled: Set<string>): [string, string, boolean][] {
  const runs: [string, string, boolean][] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) {
    const isRolled = rolled.has(d);
    const last = runs[runs.length - 1];
    if (last && last[2] === isRolled) last[1] = d;
    else runs.push([d, d, isRolled]);
  }
  return runs;
}
