import type { StaffBehaviorSum, StaffDailyRow, StaffStatsRepository } from '../../persistence/repositories/staff-stats.repository.js';
import { periodOf, periodsOf, type Period } from './analytics-periods.js';
import { addDays } from '../../shared/dates.js';
import type { AnalyticsViewer, Frame, RangeQuery } from './analytics.types.js';
import type { StaffAnswer, StaffFigures } from './staff-performance.types.js';
import { LATE_CONFIRM_HOURS } from './staff-stats.service.js';

interface Acc {
  wecomDays: number;
  chatCnt: number;
  messageCnt: number;
  replyWeight: number;
  /** Σ weight × percentage × 100: whole numbers, so any grouping of days sums the same. */
  replyWeightedX100: number;
  replyTimeWeighted: number;
  replyDays: number;
  negativeFeedbackCnt: number;
  newApplyCnt: number;
  newContactCnt: number;
  customers: number | null;
  customersAsOf: string | null;
  massTasks: number;
  confirmedLate: number;
  neverConfirmed: number;
  awaiting: number;
  followupsDue: number;
  followupsDone: number;
}

const newAcc = (): Acc => ({
  wecomDays: 0, chatCnt: 0, messageCnt: 0, replyWeight: 0, replyWeightedX100: 0, replyTimeWeighted: 0, replyDays: 0, negativeFeedbackCnt: 0, newApplyCnt: 0, newContactCnt: 0,
  customers: null, customersAsOf: null, massTasks: 0, confirmedLate: 0, neverConfirmed: 0, awaiting: 0, followupsDue: 0, followupsDone: 0,
});

function addBehavior(a: Acc, r: StaffBehaviorSum): void {
  a.wecomDays += r.days;
  a.chatCnt += r.chatCnt;
  a.messageCnt += r.messageCnt;
  a.negativeFeedbackCnt += r.negativeFeedbackCnt;
  a.newApplyCnt += r.newApplyCnt;
  a.newContactCnt += r.newContactCnt;
  // A day without the reply figures had no chats: it says nothing about replies, so it is left out rather than read
  // as 0 %. The others weigh by their chats, so a day of 40 chats counts forty times a day of one (summed in SQL).
  a.replyDays += r.replyDays;
  a.replyWeight += r.replyWeight;
  a.replyWeightedX100 += r.replyWeightedX100;
  a.replyTimeWeighted += r.replyTimeWeighted;
}

function addDaily(a: Acc, r: Omit<StaffDailyRow, 'userid' | 'day'>): void {
  a.massTasks += r.massTasks;
  a.confirmedLate += r.confirmedLate;
  a.neverConfirmed += r.neverConfirmed;
  a.awaiting += r.awaiting;
  a.followupsDue += r.followupsDue;
  a.followupsDone += r.followupsDone;
}

function finish(userid: string, name: string, a: Acc): StaffFigures {
  return {
    userid,
    name,
    wecomDays: a.wecomDays,
    chatCnt: a.chatCnt,
    messageCnt: a.messageCnt,
    // Rounded half up in whole numbers (the sums are), so a tie such as 77.545 % reads 77.55 whatever the grouping.
    replyPercentage: a.replyWeight > 0 ? Math.floor((2 * a.replyWeightedX100 + a.replyWeight) / (2 * a.replyWeight)) / 100 : null,
    avgReplyTime: a.replyWeight > 0 ? Math.floor((20 * a.replyTimeWeighted + a.replyWeight) / (2 * a.replyWeight)) / 10 : null,
    replyDays: a.replyDays,
    negativeFeedbackCnt: a.negativeFeedbackCnt,
    newApplyCnt: a.newApplyCnt,
    newContactCnt: a.newContactCnt,
    customers: a.customers,
    customersAsOf: a.customersAsOf,
    massTasks: a.massTasks,
    confirmedLate: a.confirmedLate,
    neverConfirmed: a.neverConfirmed,
    awaiting: a.awaiting,
    followupsDue: a.followupsDue,
    followupsDone: a.followupsDone,
  };
}

const zhCollator = new Intl.Collator('zh-CN');

/**
 * 员工统计 (docs/analytics.md §Staff performance): per member and period, WeCom's own figures next to the bot's. Read from
 * the rollups only: `analytics_staff_behavior`, `analytics_staff_daily`, their sums per week and month
 * (`analytics_staff_periods`) and the nightly customer snapshots.
 */
export class StaffPerformanceService {
  constructor(
    private readonly repo: StaffStatsRepository,
    private readonly frameOf: (q: RangeQuery, viewer: AnalyticsViewer) => Frame,
    /** Read whole weeks and months from their nightly sums (migration 0035); false sums every day (the tests' reference). */
    private readonly wholePeriods = true,
  ) {}

  /**
   * WeCom's and the bot's figures per member and period, summed in the statements: whole weeks or months from the
   * nightly sums per member and period, the clipped periods at the range's ends from their days. A year by month of
   * 100 members reads some 1,200 rows rather than 36,500 per table (docs/analytics.md §Staff performance).
   */
  private async sums(f: Frame, periodList: Period[]): Promise<{ behavior: StaffBehaviorSum[]; daily: (Omit<StaffDailyRow, 'day'> & { period: string })[] }> {
    const g = f.granularity;
    const whole = g === 'day' || !this.wholePeriods ? [] : periodList.filter((p) => periodOf(addDays(p.start, -1), g) !== p.period && periodOf(addDays(p.end, 1), g) !== p.period);
    if (g === 'day' || whole.length === 0) {
      const [behavior, daily] = await Promise.all([this.repo.behaviorSums(f.from, f.to, f.userid, g), this.repo.dailySums(f.from, f.to, f.userid, g)]);
      return { behavior, daily };
    }
    const first = whole[0];
    const last = whole[whole.length - 1];
    // Only the first and the last period can be clipped by the range; those are summed from their days.
    const edges: [string, string][] = [];
    if (f.from < first.start) edges.push([f.from, addDays(first.start, -1)]);
    if (last.end < f.to) edges.push([addDays(last.end, 1), f.to]);
    const [sums, ...days] = await Promise.all([
      this.repo.periodSums(g, first.period, last.period, f.userid),
      ...edges.map(([a, b]) => Promise.all([this.repo.behaviorSums(a, b, f.userid, g), this.repo.dailySums(a, b, f.userid, g)])),
    ]);
    return { behavior: [...sums.behavior, ...days.flatMap(([b]) => b)], daily: [...sums.daily, ...days.flatMap(([, d]) => d)] };
  }

  async staff(q: RangeQuery, viewer: AnalyticsViewer): Promise<StaffAnswer> {
    const f = this.frameOf(q, viewer);
    // Summed per member and period in the statements, and the snapshots read only on each period's last night: a
    // year by month is about a thousand rows per table rather than one per member and day (docs/analytics.md §Size).
    const periodList = periodsOf(f.from, f.to, f.granularity);
    const [{ behavior, daily }, snapshotDays, snapshotMembers] = await Promise.all([
      this.sums(f, periodList),
      this.repo.snapshotDays(f.from, f.to),
      this.repo.snapshotMembers(f.from, f.to, f.userid),
    ]);
    const periods = new Map(periodList.map((p) => [p.period, p]));
    const lines = new Map<string, { period: string; userid: string; acc: Acc }>();
    const whole = new Map<string, Acc>();
    const accOfPeriod = (period: string, userid: string): [Acc, Acc] => {
      const k = `${period}\u0000${userid}`;
      let l = lines.get(k);
      if (!l) lines.set(k, (l = { period, userid, acc: newAcc() }));
      let w = whole.get(userid);
      if (!w) whole.set(userid, (w = newAcc()));
      return [l.acc, w];
    };
    for (const r of behavior) for (const a of accOfPeriod(r.period, r.userid)) addBehavior(a, r);
    for (const r of daily) for (const a of accOfPeriod(r.period, r.userid)) addDaily(a, r);
    // A snapshot day is one the corp's row ('') exists for; a member without a row that day had no customers then.
    const lastSnapshotOfPeriod = new Map<string, string>();
    for (const d of snapshotDays) lastSnapshotOfPeriod.set(periodOf(d, f.granularity), d);
    const last = snapshotDays[snapshotDays.length - 1];
    const onDay = new Map((await this.repo.customersOn([...new Set([...lastSnapshotOfPeriod.values(), ...(last === undefined ? [] : [last])])], f.userid)).map((s) => [`${s.day}\u0000${s.userid}`, s.customers]));
    const members = new Set<string>([...whole.keys(), ...snapshotMembers]);
    if (f.userid !== null) members.add(f.userid);
    else for (const m of await this.repo.members(null)) if (m.status === 'active') members.add(m.userid);
    for (const userid of members) {
      for (const [period, day] of lastSnapshotOfPeriod) {
        const customers = onDay.get(`${day}\u0000${userid}`) ?? 0;
        // A member with no customers and nothing else in the period gets no line of zeros.
        if (customers === 0 && !lines.has(`${period}\u0000${userid}`)) continue;
        const [a] = accOfPeriod(period, userid);
        a.customers = customers;
        a.customersAsOf = day;
      }
      if (last !== undefined) {
        const w = whole.get(userid) ?? newAcc();
        whole.set(userid, w);
        w.customers = onDay.get(`${last}\u0000${userid}`) ?? 0;
        w.customersAsOf = last;
      }
    }
    const info = await this.repo.members([...members]);
    const names = new Map(info.map((m) => [m.userid, m]));
    const pulls = await this.repo.pullStatesForApi([...members]);
    const label = (u: string) => names.get(u)?.name || u;
    const staffLines = [...lines.values()]
      .map((l) => {
        const p = periods.get(l.period)!;
        return { period: l.period, periodStart: p.start, periodEnd: p.end, ...finish(l.userid, label(l.userid), l.acc) };
      })
      .sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : zhCollator.compare(a.name, b.name) || (a.userid < b.userid ? -1 : 1)));
    const memberFigures = [...members]
      .map((u) => {
        const p = pulls.get(u);
        return {
          ...finish(u, label(u), whole.get(u) ?? newAcc()),
          status: names.get(u)?.status ?? 'unknown',
          pull: p ? { lastDay: p.lastDay, lastPulledAt: p.lastPulledAt?.toISOString() ?? null, failures: p.failures, failedAt: p.failedAt?.toISOString() ?? null, lastError: p.lastError } : null,
        };
      })
      .sort((a, b) => zhCollator.compare(a.name, b.name) || (a.userid < b.userid ? -1 : 1));
    return { kind: 'mixed', ...f, figureKinds: { wecom: 'pulled', bot: 'event', customers: 'snapshot' }, lateConfirmHours: LATE_CONFIRM_HOURS, lines: staffLines, members: memberFigures };
  }
}
