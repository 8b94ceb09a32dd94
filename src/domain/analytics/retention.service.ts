import type { AnalyticsRepository } from '../../persistence/repositories/analytics.repository.js';
import type { AnalyticsRetentionRepository, ChurnReadFilter, ChurnTable } from '../../persistence/repositories/analytics-retention.repository.js';
import { addDays } from '../../shared/dates.js';
import { periodOf, periodsOf } from './analytics-periods.js';
import { NO_CHANNEL_LABEL, type AnalyticsService } from './analytics.service.js';
import type { AnalyticsViewer, RangeQuery } from './analytics.types.js';
import {
  BUCKETED_DIMENSIONS,
  CHURN_BUCKETS,
  CHURN_DIMENSION_LABELS,
  churnBucketLabel,
  COHORT_WEEKS,
  type ChurnAnswer,
  type ChurnBucket,
  type ChurnBucketRow,
  type ChurnDimensionAnswer,
  type CohortLine,
  type CohortsAnswer,
} from './retention.types.js';

const rate = (num: number, den: number): number | null => (den > 0 ? Math.round((num / den) * 10_000) / 10_000 : null);
const zhCollator = new Intl.Collator('zh-CN');

/**
 * Retention cohorts (留存) and churn analysis (流失分析), read from their rollups only
 * (docs/analytics.md §Retention cohorts, §Churn analysis). Ranges, granularity and staff scope are the other analytics
 * questions' (AnalyticsService.frame).
 */
export class RetentionAnalyticsService {
  constructor(
    private readonly repo: AnalyticsRetentionRepository,
    private readonly names: Pick<AnalyticsRepository, 'channelNames' | 'staffNames'>,
    private readonly analytics: Pick<AnalyticsService, 'frame'>,
  ) {}

  /** Cohorts of adds per period, and the share of their relations active at the end of each of the 12 weeks after. */
  async cohorts(q: RangeQuery & { channelId?: string }, viewer: AnalyticsViewer): Promise<CohortsAnswer> {
    const f = this.analytics.frame(q, viewer);
    const [rows, rolled] = await Promise.all([this.repo.cohortRows(f.from, f.to, { userid: f.userid ?? undefined, channelId: q.channelId }), this.repo.cohortDays(f.from, f.to)]);
    const byDay = new Map(rows.map((r) => [r.day, r]));
    const cohorts: CohortLine[] = periodsOf(f.from, f.to, f.granularity).map((p) => {
      let adds = 0;
      let complete = true;
      const retained = Array<number>(COHORT_WEEKS).fill(0);
      const known = Array<boolean>(COHORT_WEEKS).fill(true);
      for (let d = p.start; d <= p.end; d = addDays(d, 1)) {
        const through = rolled.get(d);
        const r = byDay.get(d);
        if (r) adds += r.adds;
        if (through === undefined) complete = false;
        for (let k = 1; k <= COHORT_WEEKS; k++) {
          // A week is known only when every day of the cohort has reached its mark.
          if (through === undefined || addDays(d, 7 * k) > through) known[k - 1] = false;
          else if (r) retained[k - 1] += r.retained[k - 1];
        }
      }
      const cells = retained.map((v, i) => (known[i] ? { week: i + 1, retained: v, share: rate(v, adds) } : { week: i + 1, retained: null, share: null }));
      return { cohort: p.period, periodStart: p.start, periodEnd: p.end, adds, complete, cells };
    });
    const average = Array.from({ length: COHORT_WEEKS }, (_, i) => {
      const reached = cohorts.filter((c) => c.cells[i].retained !== null);
      if (reached.length === 0) return { week: i + 1, retained: null, share: null };
      const kept = reached.reduce((s, c) => s + c.cells[i].retained!, 0);
      return { week: i + 1, retained: kept, share: rate(kept, reached.reduce((s, c) => s + c.adds, 0)) };
    });
    return { kind: 'event', ...f, channel: q.channelId ?? null, weeks: COHORT_WEEKS, cohorts, average };
  }

  /**
   * Who left in the range and after what: losses per bucket of each dimension, per member and per channel, each with
   * its rate over the active relations of that bucket at the base snapshot and that rate against the whole's.
   */
  async churn(q: RangeQuery & { channelId?: string }, viewer: AnalyticsViewer): Promise<ChurnAnswer> {
    const f = this.analytics.frame(q, viewer);
    const filter = { userid: f.userid ?? undefined, channelId: q.channelId };
    const days = await this.repo.churnDays(addDays(f.from, -1), f.to);
    // Each read is summed in its statement (over the range, or per day for the lines), one statement per run of
    // rolled or unrolled days (docs/analytics.md §Size).
    const read = async (split: ChurnReadFilter['split'], dimension?: string, perDay = false) => {
      const out: (ChurnBucketRow & { day: string | null })[] = [];
      for (const [a, b, isRolled] of runsOf(f.from, f.to, days.rolled)) out.push(...(await this.repo.churnSums('analytics_daily_churn', a, b, { ...filter, split, dimension, perDay }, isRolled)));
      return out;
    };
    const baseAsOf = [...days.based].sort()[0] ?? null;
    const base = (split: ChurnReadFilter['split'], dimension?: string) =>
      baseAsOf === null ? Promise.resolve([]) : this.repo.churnSums('analytics_daily_churn_base' as ChurnTable, baseAsOf, baseAsOf, { ...filter, split, dimension }, true);
    const [lossRows, dayRows, ownerLosses, channelLosses, baseRows, ownerBase, channelBase] = await Promise.all([
      read(undefined),
      read(undefined, 'all', true),
      read('owner', 'all'),
      read('channel', 'all'),
      base(undefined),
      base('owner', 'all'),
      base('channel', 'all'),
    ]);
    const sum = (rows: ChurnBucketRow[], pick: (r: ChurnBucketRow) => string) => {
      const m = new Map<string, { lostByCustomer: number; lostByStaff: number; relations: number }>();
      for (const r of rows) {
        const k = pick(r);
        const s = m.get(k) ?? { lostByCustomer: 0, lostByStaff: 0, relations: 0 };
        s.lostByCustomer += r.lostByCustomer;
        s.lostByStaff += r.lostByStaff;
        s.relations += r.relations;
        m.set(k, s);
      }
      return m;
    };
    const lost = sum(lossRows, (r) => `${r.dimension}\u0000${r.bucket}`);
    const pop = sum(baseRows, (r) => `${r.dimension}\u0000${r.bucket}`);
    const whole = lost.get('all\u0000all') ?? { lostByCustomer: 0, lostByStaff: 0, relations: 0 };
    const wholeRelations = pop.get('all\u0000all')?.relations ?? 0;
    const wholeLosses = whole.lostByCustomer + whole.lostByStaff;
    const total = { losses: wholeLosses, lostByCustomer: whole.lostByCustomer, lostByStaff: whole.lostByStaff, relations: wholeRelations, rate: rate(wholeLosses, wholeRelations) };
    const bucket = (key: string, label: string, l: { lostByCustomer: number; lostByStaff: number } | undefined, relations: number): ChurnBucket => {
      const losses = (l?.lostByCustomer ?? 0) + (l?.lostByStaff ?? 0);
      const r = rate(losses, relations);
      return {
        bucket: key,
        label,
        losses,
        lostByCustomer: l?.lostByCustomer ?? 0,
        lostByStaff: l?.lostByStaff ?? 0,
        relations,
        rate: r,
        ratio: r === null || !total.rate ? null : Math.round((r / total.rate) * 100) / 100,
      };
    };
    const dimensions: ChurnDimensionAnswer[] = BUCKETED_DIMENSIONS.map((dimension) => ({
      dimension,
      label: CHURN_DIMENSION_LABELS[dimension],
      buckets: CHURN_BUCKETS[dimension].map((b) => bucket(b, churnBucketLabel(dimension, b), lost.get(`${dimension}\u0000${b}`), pop.get(`${dimension}\u0000${b}`)?.relations ?? 0)),
    }));
    const keyed = async (split: 'owner' | 'channel', losses: ChurnBucketRow[], bases: ChurnBucketRow[]): Promise<ChurnDimensionAnswer> => {
      const key = (r: ChurnBucketRow) => (split === 'owner' ? r.userid : r.channelId);
      const l = sum(losses, key);
      const p = sum(bases, key);
      const keys = [...new Set([...l.keys(), ...p.keys()])];
      const names = split === 'owner' ? await this.names.staffNames(keys) : await this.names.channelNames(keys);
      const label = (k: string) => (split === 'channel' && k === '' ? NO_CHANNEL_LABEL : names.get(k) || k);
      const buckets = keys.map((k) => bucket(k, label(k), l.get(k), p.get(k)?.relations ?? 0));
      buckets.sort((a, b) => b.losses - a.losses || zhCollator.compare(a.label, b.label) || (a.bucket < b.bucket ? -1 : 1));
      return { dimension: split, label: CHURN_DIMENSION_LABELS[split], buckets };
    };
    dimensions.push(await keyed('owner', ownerLosses, ownerBase), await keyed('channel', channelLosses, channelBase));
    const periods = periodsOf(f.from, f.to, f.granularity);
    const perPeriod = new Map(periods.map((p) => [p.period, { period: p.period, periodStart: p.start, periodEnd: p.end, losses: 0, lostByCustomer: 0, lostByStaff: 0 }]));
    for (const r of dayRows) {
      const line = perPeriod.get(periodOf(r.day!, f.granularity))!;
      line.lostByCustomer += r.lostByCustomer;
      line.lostByStaff += r.lostByStaff;
      line.losses += r.lostByCustomer + r.lostByStaff;
    }
    return { kind: 'snapshot', kinds: { losses: 'event', relations: 'snapshot' }, ...f, channel: q.channelId ?? null, baseAsOf, total, dimensions, lines: [...perPeriod.values()] };
  }
}

/** [from, to] cut into maximal runs of days in `set` and not, as [first, last, inSet]. */
function runsOf(from: string, to: string, set: Set<string>): [string, string, boolean][] {
  const runs: [string, string, boolean][] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) {
    const isIn = set.has(d);
    const last = runs[runs.length - 1];
    if (last && last[2] === isIn) last[1] = d;
    else runs.push([d, d, isIn]);
  }
  return runs;
}
