import type { ReachRepository } from '../../persistence/repositories/reach.repository.js';
import { invalidField } from '../../shared/errors.js';
import { addDays } from '../../shared/dates.js';
import type { DeliveryKind } from '../delivery/delivery.types.js';
import { periodOf, periodsOf } from './analytics-periods.js';
import type { AnalyticsService } from './analytics.service.js';
import type { AnalyticsViewer, RangeQuery } from './analytics.types.js';
import { ALL_SENDERS, REACH_WINDOW_DAYS, type ReachAnswer, type ReachFigures, type ReachFunnel, type ReachOutcome, type ReachRow } from './reach.types.js';

/** Skip reasons decided before the holdout draw (the ledger's precheck): such rows are in neither group. */
export const PRE_DRAW_REASONS: ReadonlySet<string> = new Set(['opted_out', 'no_sender', 'text_too_long']);
/** The skip reason of a customer held out of a rule, broadcast or campaign to measure its lift. */
export const HOLDOUT_REASON = 'holdout';

const KIND_ORDER: Record<DeliveryKind, number> = { care: 0, winback: 1, broadcast: 2, loyalty: 3, survey: 4, journey: 5 };
const zhCollator = new Intl.Collator('zh-CN');
/** The loyalty programme's messages by their source id (`loyalty:tier` → `tier`). */
const LOYALTY_SOURCE_NAMES: Record<string, string> = { tier: '会员等级升级祝贺' };
const rate = (num: number, den: number): number | null => (den > 0 ? Math.round((num / den) * 10_000) / 10_000 : null);
const diff = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : Math.round((a - b) * 10_000) / 10_000);

interface OutcomeAcc {
  messages: number;
  matured: number;
  ordered: number;
  orderedMatured: number;
  orders: number;
  revenueCents: number;
  replied: number;
  repliedMatured: number;
}
const newOutcome = (): OutcomeAcc => ({ messages: 0, matured: 0, ordered: 0, orderedMatured: 0, orders: 0, revenueCents: 0, replied: 0, repliedMatured: 0 });
interface Acc {
  sourceKind: DeliveryKind;
  sourceId: string;
  funnel: ReachFunnel;
  targeted: OutcomeAcc;
  sent: OutcomeAcc;
  holdout: OutcomeAcc;
}
const newFunnel = (): ReachFunnel => ({ planned: 0, submitted: 0, confirmed: 0, sent: 0, skipped: 0, skippedByReason: {}, holdout: 0, overQuota: 0, failed: 0, failedByReason: {}, expired: 0, pending: 0 });

function addOutcome(o: OutcomeAcc, r: ReachRow): void {
  o.messages += r.messages;
  o.matured += r.matured;
  o.ordered += r.ordered;
  o.orderedMatured += r.orderedMatured;
  o.orders += r.orders;
  o.revenueCents += r.revenueCents;
  o.replied += r.replied;
  o.repliedMatured += r.repliedMatured;
}

function accumulate(a: Acc, r: ReachRow): void {
  const f = a.funnel;
  f.planned += r.messages;
  f.submitted += r.submitted;
  f.confirmed += r.confirmed;
  const isHoldout = r.status === 'skipped' && r.reason === HOLDOUT_REASON;
  if (r.status === 'sent') f.sent += r.messages;
  else if (r.status === 'over_quota') f.overQuota += r.messages;
  else if (r.status === 'failed') {
    f.failed += r.messages;
    const code = r.reason || 'unknown';
    f.failedByReason[code] = (f.failedByReason[code] ?? 0) + r.messages;
  } else if (r.status === 'expired') f.expired += r.messages;
  else if (r.status === 'planned' || r.status === 'submitting' || r.status === 'submitted') f.pending += r.messages;
  else if (r.status === 'skipped') {
    f.skipped += r.messages;
    const code = r.reason || 'unknown';
    f.skippedByReason[code] = (f.skippedByReason[code] ?? 0) + r.messages;
    if (isHoldout) f.holdout += r.messages;
  }
  if (isHoldout) addOutcome(a.holdout, r);
  else if (!(r.status === 'skipped' && PRE_DRAW_REASONS.has(r.reason))) addOutcome(a.targeted, r);
  if (r.status === 'sent') addOutcome(a.sent, r);
}

function finishOutcome(o: OutcomeAcc): ReachOutcome {
  return {
    messages: o.messages,
    matured: o.matured,
    ordered7d: o.ordered,
    orderedRate7d: rate(o.orderedMatured, o.matured),
    orders7d: o.orders,
    revenue7dCents: o.revenueCents,
    replied7d: o.replied,
    replyRate7d: rate(o.repliedMatured, o.matured),
  };
}

function finish(a: Acc, name: string, holdoutPercent: number): ReachFigures {
  const targeted = finishOutcome(a.targeted);
  const holdout = finishOutcome(a.holdout);
  return {
    sourceKind: a.sourceKind,
    sourceId: a.sourceId,
    name,
    holdoutPercent,
    funnel: a.funnel,
    outcomes: { targeted, sent: finishOutcome(a.sent), holdout },
    lift: { orderedRate7d: diff(targeted.orderedRate7d, holdout.orderedRate7d), replyRate7d: diff(targeted.replyRate7d, holdout.replyRate7d) },
  };
}

/**
 * 触达效果 (docs/analytics.md §Care and campaign results): per care rule, win-back campaign and broadcast, the
 * delivery funnel and what followed within 7 days, for the messages sent and for the held-out customers, read from
 * `analytics_daily_reach` only. Staff see the rows they were the sender of.
 */
export class ReachService {
  constructor(
    private readonly repo: ReachRepository,
    private readonly analytics: Pick<AnalyticsService, 'frame'>,
  ) {}

  async reach(q: RangeQuery & { sourceKind?: DeliveryKind; sourceId?: string }, viewer: AnalyticsViewer): Promise<ReachAnswer> {
    const f = this.analytics.frame(q, viewer);
    if (q.sourceId !== undefined && q.sourceKind === undefined) throw invalidField('id', '按 ID 筛选时须同时指定类型（kind）');
    if (q.sourceId !== undefined && !(await this.repo.sourceExists(q.sourceKind!, q.sourceId))) throw invalidField('id', '没有这个关怀规则、唤醒活动、群发、客户旅程或问卷');
    const [rows, rolled] = await Promise.all([
      this.repo.rows(f.from, f.to, { userid: f.userid ?? ALL_SENDERS, kind: q.sourceKind, sourceId: q.sourceId }, { byMonth: f.granularity === 'month' }),
      this.repo.rolledDays(f.from, f.to),
    ]);
    const periods = new Map(periodsOf(f.from, f.to, f.granularity).map((p) => [p.period, p]));
    const whole = new Map<string, Acc>();
    const perPeriod = new Map<string, Acc & { period: string }>();
    const accOf = (r: ReachRow): Acc => ({ sourceKind: r.kind, sourceId: r.sourceId, funnel: newFunnel(), targeted: newOutcome(), sent: newOutcome(), holdout: newOutcome() });
    for (const r of rows) {
      const k = `${r.kind}\u0000${r.sourceId}`;
      let a = whole.get(k);
      if (!a) whole.set(k, (a = accOf(r)));
      accumulate(a, r);
      const period = periodOf(r.day, f.granularity);
      const pk = `${period}\u0000${k}`;
      let pa = perPeriod.get(pk);
      if (!pa) perPeriod.set(pk, (pa = { ...accOf(r), period }));
      accumulate(pa, r);
    }
    const accs = [...whole.values()];
    const [names, surveys] = await Promise.all([
      this.repo.sources({
        rules: accs.filter((a) => a.sourceKind === 'care' || a.sourceKind === 'winback').map((a) => a.sourceId),
        broadcasts: accs.filter((a) => a.sourceKind === 'broadcast').map((a) => a.sourceId),
        journeys: accs.filter((a) => a.sourceKind === 'journey').map((a) => a.sourceId),
      }),
      this.repo.surveyNames(accs.filter((a) => a.sourceKind === 'survey').map((a) => a.sourceId)),
    ]);
    const nameOf = (a: Acc): string => {
      // A survey by its name, tier congratulations in words: never the ledger's raw source (docs/analytics.md §Care and campaign results).
      if (a.sourceKind === 'survey') return surveys.get(a.sourceId) ?? (a.sourceId ? `已删除的问卷（#${a.sourceId}）` : '问卷（未区分）');
      if (a.sourceKind === 'loyalty') return LOYALTY_SOURCE_NAMES[a.sourceId] ?? '会员消息';
      return names.get(a.sourceId)?.name ?? `已删除（${a.sourceId}）`;
    };
    const bySource = (a: ReachFigures, b: ReachFigures) => KIND_ORDER[a.sourceKind] - KIND_ORDER[b.sourceKind] || zhCollator.compare(a.name, b.name) || (a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0);
    const holdoutOf = (a: Acc) => (a.sourceKind === 'survey' || a.sourceKind === 'loyalty' ? 0 : (names.get(a.sourceId)?.holdoutPercent ?? 0));
    const sources = [...whole.values()].map((a) => finish(a, nameOf(a), holdoutOf(a))).sort(bySource);
    const lines = [...perPeriod.values()]
      .map((a) => {
        const p = periods.get(a.period)!;
        return { period: a.period, periodStart: p.start, periodEnd: p.end, ...finish(a, nameOf(a), holdoutOf(a)) };
      })
      .sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : bySource(a, b)));
    const unrolled: { from: string; to: string }[] = [];
    for (let d = f.from; d <= f.to; d = addDays(d, 1)) {
      if (rolled.has(d)) continue;
      const last = unrolled[unrolled.length - 1];
      if (last && addDays(last.to, 1) === d) last.to = d;
      else unrolled.push({ from: d, to: d });
    }
    return { kind: 'event', ...f, sourceKind: q.sourceKind ?? null, sourceId: q.sourceId ?? null, windowDays: REACH_WINDOW_DAYS, sources, lines, unrolled };
  }
}
