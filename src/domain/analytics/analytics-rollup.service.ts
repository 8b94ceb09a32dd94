import { ALL_CHANNELS, ALL_MEMBERS, type AnalyticsRepository } from '../../persistence/repositories/analytics.repository.js';
import type { Logger } from '../../shared/logger.js';
import { addDays, zonedTimeToUtc } from '../../shared/dates.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import { MIX_DIMENSIONS, type GrowthRow, type GrowthTagRow, type MixRow, type MixValues, type RecordedRelationChange, type StoredMixState, type TotalsRow, type TransitionRow } from './analytics.types.js';

const DAY_MS = 86_400_000;
/** The longest outcome window: a day's adds are re-rolled nightly until their 30 days have passed. */
export const OUTCOME_WINDOW_DAYS = 30;

/** What rolling days did. */
export interface RollCounts {
  days: number;
  changes: number;
  growthRows: number;
  tagRows: number;
}

/**
 * Recomputes the event rollups of a local day from the ledger (`analytics_relation_events`) and the orders, and takes
 * the nightly snapshot (docs/analytics.md §How the rollups stay right). Rolling a day replaces its rows, so rolling it
 * twice, or again after late events, gives the numbers the ledger says. Every page gives the event loop a turn first
 * (docs/inbox.md §Long jobs share the loop).
 */
export class AnalyticsRollupService {
  constructor(
    private readonly repo: AnalyticsRepository,
    private readonly tz: string,
    private readonly log: Logger,
    private readonly pageSize = 2000,
  ) {}

  /** The instant a local day starts. */
  private startOf(day: string): number {
    return zonedTimeToUtc(day, '00:00', this.tz).getTime();
  }

  /**
   * Roll the `OUTCOME_WINDOW_DAYS + 1` days ending with `lastDay`, oldest first, with outcomes through `lastDay`: the
   * nightly run, which also picks up late events and late orders of the past month.
   */
  async rollWindow(lastDay: string, now: Date): Promise<RollCounts> {
    const total: RollCounts = { days: 0, changes: 0, growthRows: 0, tagRows: 0 };
    for (let d = addDays(lastDay, -OUTCOME_WINDOW_DAYS); d <= lastDay; d = addDays(d, 1)) {
      const c = await this.rollDay(d, lastDay, now);
      total.days++;
      total.changes += c.changes;
      total.growthRows += c.growthRows;
      total.tagRows += c.tagRows;
    }
    return total;
  }

  /** Roll one local day; its adds' outcomes are counted through the end of `through` (≥ day). */
  async rollDay(day: string, through: string, now: Date): Promise<RollCounts> {
    const start = this.startOf(day);
    const end = this.startOf(addDays(day, 1));
    const outcomesEnd = Math.max(end, this.startOf(addDays(through < day ? day : through, 1)));
    const growth = new Map<string, GrowthRow>();
    const tags = new Map<string, GrowthTagRow>();
    let changes = 0;
    let afterId = 0;
    for (;;) {
      await yieldToEventLoop();
      const page = await this.repo.changesBetween(start, end, afterId, this.pageSize);
      if (page.length === 0) break;
      afterId = page[page.length - 1].id;
      changes += page.length;
      for (const c of page) this.count(day, c, growth, tags, through);
      await this.countOutcomes(page, growth, start, outcomesEnd);
      if (page.length < this.pageSize) break;
    }
    const groups = await this.repo.groupsOf([...new Set([...tags.values()].map((t) => t.tagId))]);
    const tagRows = withTagSummaries([...tags.values()].flatMap((t) => (groups.has(t.tagId) ? [{ ...t, groupId: groups.get(t.tagId)! }] : [])));
    const growthRows = withGrowthSummaries([...growth.values()]);
    await this.repo.replaceDay(day, growthRows, tagRows, now.getTime(), afterId);
    this.log.debug({ day, changes, growthRows: growthRows.length, tagRows: tagRows.length }, 'analytics day rolled');
    return { days: 1, changes, growthRows: growthRows.length, tagRows: tagRows.length };
  }

  private count(day: string, c: RecordedRelationChange, growth: Map<string, GrowthRow>, tags: Map<string, GrowthTagRow>, through: string): void {
    const channelId = c.channelId ?? '';
    const key = `${c.userid}\u0000${channelId}`;
    let g = growth.get(key);
    if (!g) {
      g = { day, userid: c.userid, channelId, added: 0, lostByCustomer: 0, lostByStaff: 0, transferredIn: 0, transferredOut: 0, retained7d: 0, retained30d: 0, ordered30d: 0, revenue30dCents: 0, outcomesThrough: through < day ? day : through };
      growth.set(key, g);
    }
    if (c.kind === 'added') g.added++;
    else if (c.kind === 'lost_by_customer') g.lostByCustomer++;
    else if (c.kind === 'lost_by_staff') g.lostByStaff++;
    else if (c.kind === 'transferred_in') g.transferredIn++;
    else g.transferredOut++;
    if (c.kind === 'transferred_in' || c.kind === 'transferred_out') return;
    for (const tagId of new Set(c.tagIds)) {
      const tk = `${tagId}\u0000${c.userid}`;
      let t = tags.get(tk);
      if (!t) {
        t = { day, groupId: '', tagId, userid: c.userid, added: 0, lostByCustomer: 0, lostByStaff: 0 };
        tags.set(tk, t);
      }
      if (c.kind === 'added') t.added++;
      else if (c.kind === 'lost_by_customer') t.lostByCustomer++;
      else t.lostByStaff++;
    }
  }

  /**
   * The outcomes of this page's adds: whether the relation was still not deleted 7 and 30 days on, and the customer's
   * orders within 30 days, each counted only up to `outcomesEnd` (a window still open counts what happened so far).
   */
  private async countOutcomes(page: RecordedRelationChange[], growth: Map<string, GrowthRow>, dayStart: number, outcomesEnd: number): Promise<void> {
    const adds = page.filter((c) => c.kind === 'added');
    if (adds.length === 0) return;
    const exts = [...new Set(adds.map((a) => a.externalUserId))];
    const until = Math.min(dayStart + (OUTCOME_WINDOW_DAYS + 1) * DAY_MS, outcomesEnd);
    const losses = new Map<string, number[]>();
    for (const l of await this.repo.lossesOf(exts, dayStart, until)) {
      const k = `${l.userid}\u0000${l.externalUserId}`;
      losses.set(k, [...(losses.get(k) ?? []), l.at]);
    }
    const orders = new Map<string, { at: number; amountCents: number }[]>();
    for (const o of await this.repo.ordersOf(exts, dayStart, until)) orders.set(o.externalUserId, [...(orders.get(o.externalUserId) ?? []), o]);
    for (const a of adds) {
      const g = growth.get(`${a.userid}\u0000${a.channelId ?? ''}`)!;
      const t = a.occurredAt.getTime();
      const lost = losses.get(`${a.userid}\u0000${a.externalUserId}`) ?? [];
      const lostWithin = (days: number) => lost.some((at) => at >= t && at < Math.min(t + days * DAY_MS, outcomesEnd));
      if (!lostWithin(7)) g.retained7d++;
      if (!lostWithin(30)) g.retained30d++;
      const bought = (orders.get(a.externalUserId) ?? []).filter((o) => o.at >= t && o.at < Math.min(t + 30 * DAY_MS, outcomesEnd));
      if (bought.length > 0) {
        g.ordered30d++;
        g.revenue30dCents += bought.reduce((s, o) => s + o.amountCents, 0);
      }
    }
  }

  /**
   * The nightly snapshot for `day`: customers in an active relation now, per member and for the corp (each customer
   * once). A state, not an event: it cannot be taken again for a past day (docs/analytics.md §Events and snapshots).
   */
  async takeSnapshot(day: string, now: Date): Promise<{ customers: number; staff: number }> {
    const perStaff = new Map<string, number>();
    let customers = 0;
    let lastExt: string | null = null;
    let cursor: { ext: string; userid: string } | null = null;
    for (;;) {
      await yieldToEventLoop();
      const page = await this.repo.activeRelationsAfter(cursor, this.pageSize);
      for (const r of page) {
        perStaff.set(r.userid, (perStaff.get(r.userid) ?? 0) + 1);
        // Ordered by customer, so a customer's relations are adjacent, even across pages.
        if (r.externalUserId !== lastExt) customers++;
        lastExt = r.externalUserId;
      }
      if (page.length < this.pageSize) break;
      const last = page[page.length - 1];
      cursor = { ext: last.externalUserId, userid: last.userid };
    }
    const rows: TotalsRow[] = [{ day, userid: '', customers }, ...[...perStaff].map(([userid, c]) => ({ day, userid, customers: c }))];
    await this.repo.replaceTotals(day, rows, now.getTime());
    return { customers, staff: perStaff.size };
  }
  /**
   * The nightly mix snapshot for `day` (docs/analytics.md §Activity and value mix): customers of the corp's members (any
   * relation, current or ended) per activity, RFM segment and lifecycle stage as the `scoring` job last left them, for
   * the corp and per member, and the customers whose value changed since the snapshot before. Taking it twice the same
   * night counts the changes against the same earlier snapshot, so the answer is the same.
   */
  async takeMixSnapshot(day: string, now: Date): Promise<{ customers: number; transitions: number }> {
    const mix = new Map<string, MixRow>();
    const trans = new Map<string, TransitionRow>();
    let customers = 0;
    let transitions = 0;
    let after: string | null = null;
    for (;;) {
      await yieldToEventLoop();
      const page = await this.repo.customersWithStatesAfter(after, this.pageSize);
      if (page.length === 0) break;
      after = page[page.length - 1].externalUserId;
      const members = await this.repo.membersOf(page.map((c) => c.externalUserId));
      const states: StoredMixState[] = [];
      for (const c of page) {
        const users = members.get(c.externalUserId);
        // Contacts known only from WeChat customer service (KF) follow no member: not the corp's customers here.
        if (!users || users.length === 0) continue;
        const s = c.state;
        // A snapshot already taken tonight compares against the one before it, as the first did.
        if (s && s.asOf > day) continue;
        const baseline: MixValues | null = !s ? null : s.asOf === day ? s.prev : s.values;
        customers++;
        for (const dimension of MIX_DIMENSIONS) {
          const value = c.values[dimension];
          const changed = baseline !== null && baseline[dimension] !== value;
          if (changed) transitions++;
          for (const userid of ['', ...users]) {
            const mk = `${dimension}\u0000${value}\u0000${userid}`;
            const m = mix.get(mk) ?? { day, dimension, value, userid, customers: 0 };
            m.customers++;
            mix.set(mk, m);
            if (!changed) continue;
            const tk = `${dimension}\u0000${baseline[dimension]}\u0000${value}\u0000${userid}`;
            const t = trans.get(tk) ?? { day, dimension, from: baseline[dimension], to: value, userid, customers: 0 };
            t.customers++;
            trans.set(tk, t);
          }
        }
        // Only a changed state is written: a customer whose values are those of their last stored snapshot keeps that row,
        // whose values are the baseline tonight and on any later night alike (most customers, most nights).
        const same = s !== null && MIX_DIMENSIONS.every((dim) => s.values[dim] === c.values[dim]);
        if (same) continue;
        states.push(
          !s
            ? { externalUserId: c.externalUserId, asOf: day, values: c.values, prevAsOf: null, prev: null }
            : s.asOf === day
              ? { ...s, values: c.values }
              : { externalUserId: c.externalUserId, asOf: day, values: c.values, prevAsOf: s.asOf, prev: s.values },
        );
      }
      await this.repo.saveStates(states);
      if (page.length < this.pageSize) break;
    }
    await this.repo.replaceMix(day, [...mix.values()], [...trans.values()]);
    this.log.debug({ day, customers, transitions, at: now.toISOString() }, 'analytics mix snapshot taken');
    return { customers, transitions };
  }
}

/** The detail rows of a day and its summaries: all members per channel, each member over all channels, and the corp. */
function withGrowthSummaries(rows: GrowthRow[]): GrowthRow[] {
  const sums = new Map<string, GrowthRow>();
  for (const r of rows) {
    for (const [userid, channelId] of [
      [ALL_MEMBERS, r.channelId],
      [r.userid, ALL_CHANNELS],
      [ALL_MEMBERS, ALL_CHANNELS],
    ]) {
      const k = `${userid}\u0000${channelId}`;
      const s = sums.get(k) ?? { ...r, userid, channelId, added: 0, lostByCustomer: 0, lostByStaff: 0, transferredIn: 0, transferredOut: 0, retained7d: 0, retained30d: 0, ordered30d: 0, revenue30dCents: 0 };
      s.added += r.added;
      s.lostByCustomer += r.lostByCustomer;
      s.lostByStaff += r.lostByStaff;
      s.transferredIn += r.transferredIn;
      s.transferredOut += r.transferredOut;
      s.retained7d += r.retained7d;
      s.retained30d += r.retained30d;
      s.ordered30d += r.ordered30d;
      s.revenue30dCents += r.revenue30dCents;
      sums.set(k, s);
    }
  }
  return [...rows, ...sums.values()];
}

/** The tag rows of a day and their all-members summaries. */
function withTagSummaries(rows: GrowthTagRow[]): GrowthTagRow[] {
  const sums = new Map<string, GrowthTagRow>();
  for (const r of rows) {
    const s = sums.get(r.tagId) ?? { ...r, userid: ALL_MEMBERS, added: 0, lostByCustomer: 0, lostByStaff: 0 };
    s.added += r.added;
    s.lostByCustomer += r.lostByCustomer;
    s.lostByStaff += r.lostByStaff;
    sums.set(r.tagId, s);
  }
  return [...rows, ...sums.values()];
}
