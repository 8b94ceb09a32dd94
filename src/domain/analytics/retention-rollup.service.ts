import { ALL_CHANNELS, ALL_MEMBERS } from '../../persistence/repositories/analytics.repository.js';
import type { AnalyticsRetentionRepository } from '../../persistence/repositories/analytics-retention.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { addDays, localDate, zonedTimeToUtc } from '../../shared/dates.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import type { RecordRelationChange } from './analytics-recorder.js';
import { bucketsOf, churnBaseSpec, CHURN_WINDOW_DAYS, COHORT_WEEKS, profileOf, type ChurnBucketRow, type CohortDayRow, type LossProfile } from './retention.types.js';

const DAY_MS = 86_400_000;
/** Late events up to this many days old are picked up by the nightly re-roll, as the growth roll does. */
const LATE_DAYS = 30;
/** The add days the nightly job re-rolls: every day with a weekly mark in the last LATE_DAYS + 1 days, and the newest adds. */
export const COHORT_ROLL_DAYS = COHORT_WEEKS * 7 + LATE_DAYS;

/** Customers per statement of the nightly base on MySQL (RetentionRollupService's `baseSlice`). */
export const BASE_SLICE_CUSTOMERS = 50_000;

/**
 * Records what the churn analysis needs at the moment a relation is lost (docs/analytics.md §Churn analysis): the
 * customer's days since the last interaction and the last order, the bot's messages and the customer's KF messages
 * in the 30 days before, the member and the channel, in the loss's own transaction, and counts it on its day's churn
 * rows. The state behind those figures moves on afterwards (the last interaction, a pruned timeline), so it is kept
 * now rather than worked out later.
 */
export class LossRecorder {
  constructor(
    private readonly repo: AnalyticsRetentionRepository,
    private readonly clock: Clock,
    private readonly tz: string,
  ) {}

  readonly record: RecordRelationChange = async (em, c) => {
    if (c.kind !== 'lost_by_customer' && c.kind !== 'lost_by_staff') return;
    const at = c.occurredAt.getTime();
    const facts = await this.repo.lossFactsInTx(em, c.externalUserId, at - CHURN_WINDOW_DAYS * DAY_MS, at);
    const day = localDate(c.occurredAt, this.tz);
    const now = this.clock.now();
    const profile: LossProfile = { at, day, kind: c.kind, userid: c.userid, channelId: c.channelId ?? '', ...profileOf(facts, at) };
    // As with growth: only a past day can have been rolled, and only a rolled day has summary rows to keep.
    const isRolled = day < localDate(now, this.tz) && (await this.repo.isChurnRolledInTx(em, day));
    await this.repo.recordLossInTx(em, profile, bucketsOf(profile), isRolled, now.getTime());
  };
}

/** Both ports in one: the analytics ledger first, then the loss profile, in the same transaction. */
export function withLossProfile(record: RecordRelationChange, loss: LossRecorder): RecordRelationChange {
  return async (em, c) => {
    await record(em, c);
    await loss.record(em, c);
  };
}

/**
 * Rolls retention cohorts and churn rows from the ledger and the loss profiles, and takes the nightly base snapshot
 * of active relations per churn bucket (docs/analytics.md §Retention cohorts, §Churn analysis). Rolling a day replaces
 * its rows, so rolling it twice, or again after late events, gives what the ledger says. Every page gives the event
 * loop a turn first (docs/inbox.md §Long jobs share the loop).
 */
export class RetentionRollupService {
  constructor(
    private readonly repo: AnalyticsRetentionRepository,
    private readonly tz: string,
    private readonly log: Logger,
    private readonly pageSize = 2000,
    /**
     * Customers per statement when the nightly base is bucketed in SQL (MySQL: the server does the work off the event
     * loop, docs/analytics.md §Size); 0 reads the facts in pages and buckets them here (SQLite, where one such statement
     * would hold the loop).
     */
    private readonly baseSlice = 0,
  ) {}

  private startOf(day: string): number {
    return zonedTimeToUtc(day, '00:00', this.tz).getTime();
  }

  /** The nightly part: cohorts of the last COHORT_ROLL_DAYS + 1 add days and the churn rows of the last 31 days. */
  async rollWindow(lastDay: string, now: Date): Promise<{ cohortDays: number; adds: number; churnDays: number; losses: number }> {
    let adds = 0;
    for (let d = addDays(lastDay, -COHORT_ROLL_DAYS); d <= lastDay; d = addDays(d, 1)) adds += await this.rollCohortDay(d, lastDay);
    let losses = 0;
    for (let d = addDays(lastDay, -LATE_DAYS); d <= lastDay; d = addDays(d, 1)) losses += await this.rollChurnDay(d, now);
    return { cohortDays: COHORT_ROLL_DAYS + 1, adds, churnDays: LATE_DAYS + 1, losses };
  }

  /**
   * One add day's cohort: each add (a relation becoming active) and, for every week k whose mark (the end of day + 7k)
   * is on or before `through`, whether that relation was active then. Returns the adds counted.
   */
  async rollCohortDay(day: string, through: string): Promise<number> {
    const start = this.startOf(day);
    const horizon = Math.min(this.startOf(addDays(day, COHORT_WEEKS * 7 + 1)), this.startOf(addDays(through, 1)));
    const marks: number[] = [];
    for (let k = 1; k <= COHORT_WEEKS && addDays(day, 7 * k) <= through; k++) marks.push(this.startOf(addDays(day, 7 * k + 1)));
    const rows = new Map<string, CohortDayRow>();
    let adds = 0;
    let afterId = 0;
    for (;;) {
      await yieldToEventLoop();
      const page = await this.repo.addsBetween(start, this.startOf(addDays(day, 1)), afterId, this.pageSize);
      if (page.length === 0) break;
      afterId = page[page.length - 1].id;
      adds += page.length;
      const later = marks.length > 0 ? await this.repo.changesOf([...new Set(page.map((a) => a.externalUserId))], start, horizon) : [];
      const byRelation = new Map<string, typeof later>();
      for (const e of later) {
        const k = `${e.userid}\u0000${e.externalUserId}`;
        byRelation.set(k, [...(byRelation.get(k) ?? []), e]);
      }
      for (const a of page) {
        const key = `${a.userid}\u0000${a.channelId}`;
        const row = rows.get(key) ?? { day, userid: a.userid, channelId: a.channelId, adds: 0, retained: Array(COHORT_WEEKS).fill(0), marksThrough: through };
        rows.set(key, row);
        row.adds++;
        const after = (byRelation.get(`${a.userid}\u0000${a.externalUserId}`) ?? []).filter((e) => e.at > a.at || (e.at === a.at && e.id > a.id));
        marks.forEach((mark, i) => {
          // The relation's state at the mark: its last change before it. A transfer hands the customer to another
          // member of the corp, so it keeps the relation, as channel retention counts it.
          let isActive = true;
          for (const e of after) {
            if (e.at >= mark) break;
            isActive = e.kind !== 'lost_by_customer' && e.kind !== 'lost_by_staff';
          }
          if (isActive) row.retained[i]++;
        });
      }
      if (page.length < this.pageSize) break;
    }
    await this.repo.replaceCohortDay(day, withSummaries([...rows.values()], (r, s) => {
      s.adds += r.adds;
      r.retained.forEach((v, i) => (s.retained[i] += v));
    }, (r, userid, channelId) => ({ ...r, userid, channelId, adds: 0, retained: Array(COHORT_WEEKS).fill(0) })), through);
    return adds;
  }

  /** One day's churn rows from the loss profiles recorded that day. Returns the losses counted. */
  async rollChurnDay(day: string, now: Date): Promise<number> {
    await yieldToEventLoop();
    const profiles = await this.repo.profilesOfDay(day);
    const rows = new Map<string, ChurnBucketRow>();
    for (const p of profiles) {
      for (const [dimension, bucket] of bucketsOf(p)) {
        const r = bucketRow(rows, dimension, bucket, p.userid, p.channelId);
        if (p.kind === 'lost_by_customer') r.lostByCustomer++;
        else r.lostByStaff++;
      }
    }
    await this.repo.replaceChurnDay('analytics_daily_churn', day, churnSummaries([...rows.values()]), now.getTime());
    return profiles.length;
  }

  /**
   * The nightly base of the churn rates: every active relation now, bucketed as a loss would be at this moment, per
   * member and channel, with summaries. A state: taken only the night after the day it stands for.
   */
  async takeChurnBase(day: string, now: Date): Promise<{ relations: number }> {
    const at = now.getTime();
    const channels = await this.repo.channelStates();
    const rows = new Map<string, ChurnBucketRow>();
    let relations = 0;
    if (this.baseSlice > 0) {
      const spec = churnBaseSpec(at);
      let after: string | null = null;
      for (;;) {
        await yieldToEventLoop();
        const last = await this.repo.activeCustomerSliceEnd(after, this.baseSlice);
        if (last === null) break;
        for (const g of await this.repo.churnBaseSlice(after, last, spec)) {
          const channelId = (g.state && channels.get(g.state)) || '';
          relations += g.counts.get('all\u0000all') ?? 0;
          for (const [key, count] of g.counts) {
            // A bucket no relation fell in gets no row, as when each relation is bucketed here.
            if (count === 0) continue;
            const [dimension, bucket] = key.split('\u0000');
            bucketRow(rows, dimension, bucket, g.userid, channelId).relations += count;
          }
        }
        after = last;
      }
      await this.repo.replaceChurnDay('analytics_daily_churn_base', day, churnSummaries([...rows.values()]), at);
      this.log.debug({ day, relations }, 'analytics churn base taken');
      return { relations };
    }
    let cursor: { ext: string; userid: string } | null = null;
    for (;;) {
      await yieldToEventLoop();
      const page = await this.repo.activeRelationsAfter(cursor, this.pageSize);
      if (page.length === 0) break;
      const facts = await this.repo.factsOf([...new Set(page.map((r) => r.externalUserId))], at - CHURN_WINDOW_DAYS * DAY_MS, at);
      for (const r of page) {
        relations++;
        const channelId = (r.state && channels.get(r.state)) || '';
        for (const [dimension, bucket] of bucketsOf(profileOf(facts.get(r.externalUserId)!, at))) bucketRow(rows, dimension, bucket, r.userid, channelId).relations++;
      }
      if (page.length < this.pageSize) break;
      const last = page[page.length - 1];
      cursor = { ext: last.externalUserId, userid: last.userid };
    }
    await this.repo.replaceChurnDay('analytics_daily_churn_base', day, churnSummaries([...rows.values()]), at);
    this.log.debug({ day, relations }, 'analytics churn base taken');
    return { relations };
  }
}

function bucketRow(rows: Map<string, ChurnBucketRow>, dimension: string, bucket: string, userid: string, channelId: string): ChurnBucketRow {
  const k = `${dimension}\u0000${bucket}\u0000${userid}\u0000${channelId}`;
  let r = rows.get(k);
  if (!r) {
    r = { dimension, bucket, userid, channelId, lostByCustomer: 0, lostByStaff: 0, relations: 0 };
    rows.set(k, r);
  }
  return r;
}

function churnSummaries(rows: ChurnBucketRow[]): ChurnBucketRow[] {
  return withSummaries(
    rows,
    (r, s) => {
      s.lostByCustomer += r.lostByCustomer;
      s.lostByStaff += r.lostByStaff;
      s.relations += r.relations;
    },
    (r, userid, channelId) => ({ ...r, userid, channelId, lostByCustomer: 0, lostByStaff: 0, relations: 0 }),
    (r) => `${r.dimension}\u0000${r.bucket}`,
  );
}

/**
 * The detail rows and their summaries (docs/analytics.md §Size): all members per channel (userid ''), each member over
 * all channels (channel '*') and the whole (both), so a long range reads a few rows a day.
 */
function withSummaries<T extends { userid: string; channelId: string }>(rows: T[], add: (r: T, into: T) => void, empty: (r: T, userid: string, channelId: string) => T, extraKey: (r: T) => string = () => ''): T[] {
  const sums = new Map<string, T>();
  for (const r of rows) {
    for (const [userid, channelId] of [
      [ALL_MEMBERS, r.channelId],
      [r.userid, ALL_CHANNELS],
      [ALL_MEMBERS, ALL_CHANNELS],
    ]) {
      const k = `${extraKey(r)}\u0000${userid}\u0000${channelId}`;
      let s = sums.get(k);
      if (!s) {
        s = empty(r, userid, channelId);
        sums.set(k, s);
      }
      add(r, s);
    }
  }
  return [...rows, ...sums.values()];
}
