import type { ReachRepository } from '../../persistence/repositories/reach.repository.js';
import type { Logger } from '../../shared/logger.js';
import { addDays, localDate, zonedTimeToUtc } from '../../shared/dates.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import { isConfirmedRow } from '../broadcasts/broadcast-progress.service.js';
import { ALL_SENDERS, REACH_WINDOW_DAYS, type ReachLedgerRow, type ReachRow } from './reach.types.js';

const DAY_MS = 86_400_000;
const WINDOW_MS = REACH_WINDOW_DAYS * DAY_MS;
/**
 * How long after the ledger's last change the live pass keeps recounting: a change is stamped when its statement runs
 * and may commit a little later, or come from an instance whose clock is behind.
 */
export const LIVE_SETTLE_MS = 5 * 60_000;

/**
 * The stable code a ledger reason starts with (`holdout: …` → `holdout`, `not_friend (WeCom status 2)` →
 * `not_friend`), '' for a reason that starts with none (a free-text WeCom error, an expiry note).
 */
export function reasonCodeOf(reason: string | null): string {
  const m = /^([a-z][a-z0-9_]{0,31})(?![a-z0-9_])/.exec(reason ?? '');
  return m ? m[1] : '';
}

/**
 * When a ledger row's 7 days start: when it was sent, or for a row that was not (held out, skipped, failed, still
 * waiting) when it was meant to go out (docs/analytics.md §Care and campaign results).
 */
export function referenceTime(r: Pick<ReachLedgerRow, 'sentAt' | 'notBefore'>): number {
  return r.sentAt ?? r.notBefore;
}

/**
 * Rolls care and campaign results (触达效果) from the delivery ledger into `analytics_daily_reach`, a local day at a
 * time: per (source, sender, status, reason) how many rows there are, how far they got, and what followed within 7
 * days of each (orders, revenue, WeChat-KF messages from the customer), plus the all-senders summary rows.
 * Rolling a day replaces its rows, so rolling it twice, or again after late results and late orders, gives what the
 * ledger and the orders say then (docs/analytics.md §Care and campaign results). Every page gives the event loop a
 * turn first (docs/inbox.md §Long jobs share the loop).
 */
export class ReachRollupService {
  constructor(
    private readonly repo: ReachRepository,
    private readonly tz: string,
    private readonly log: Logger,
    private readonly pageSize = 2000,
  ) {}

  /** The newest ledger change of the day the live pass last counted, per day (this process's own). */
  private liveSeen: { day: string; changedAt: number | null } | null = null;

  /**
   * The live pass (docs/analytics.md §Care and campaign results): today's funnel (rows, submitted, confirmed, per
   * source, sender, status and reason) counted again from the ledger when it changed since the last pass, so today's
   * figures move as deliveries happen. Orders and replies are left to the night's roll. Nothing is written once the
   * day has been rolled. Returns null when nothing changed.
   */
  async rollLive(now: Date): Promise<{ day: string; messages: number; rows: number } | null> {
    const day = localDate(now, this.tz);
    const changedAt = await this.repo.lastChange(day);
    const seen = this.liveSeen?.day === day ? this.liveSeen : null;
    if (changedAt === null && (seen === null || seen.changedAt === null)) return null;
    if (seen && seen.changedAt === changedAt && changedAt !== null && now.getTime() - changedAt > LIVE_SETTLE_MS) return null;
    const acc = new Map<string, ReachRow>();
    let afterId = 0;
    let messages = 0;
    for (;;) {
      await yieldToEventLoop();
      const page = await this.repo.ledgerPage(day, afterId, this.pageSize);
      if (page.length === 0) break;
      afterId = page[page.length - 1].id;
      messages += page.length;
      for (const r of page) countFunnel(day, r, acc);
      if (page.length < this.pageSize) break;
    }
    const rows = withSummaries([...acc.values()]);
    if (!(await this.repo.replaceLive(day, rows))) return null;
    this.liveSeen = { day, changedAt };
    this.log.debug({ day, messages, rows: rows.length }, 'reach live pass');
    return { day, messages, rows: rows.length };
  }

  /**
   * Roll each day of [firstDay, lastDay], outcomes counted through the end of `lastDay`. With `skipSettled` (the
   * nightly run) a day is left as it is when rolling it again could not change it: every 7-day window of its rows had
   * closed a day before its last roll's outcomes end, and since that roll none of its ledger rows changed and no order
   * placed in its windows was recorded (docs/analytics.md §Care and campaign results).
   */
  async rollDays(firstDay: string, lastDay: string, now: Date, opts: { skipSettled?: boolean } = {}): Promise<{ days: number; skipped: number; messages: number; rows: number }> {
    const total = { days: 0, skipped: 0, messages: 0, rows: 0 };
    const settled = opts.skipSettled ? await this.settledDays(firstDay, lastDay) : new Set<string>();
    for (let d = firstDay; d <= lastDay; d = addDays(d, 1)) {
      if (settled.has(d)) {
        total.skipped++;
        continue;
      }
      const c = await this.rollDay(d, lastDay, now);
      total.days++;
      total.messages += c.messages;
      total.rows += c.rows;
    }
    return total;
  }

  /** The days of [firstDay, lastDay] that rolling again would not change. */
  private async settledDays(firstDay: string, lastDay: string): Promise<Set<string>> {
    const rolls = await this.repo.rollsOf(firstDay, lastDay);
    const candidates: { day: string; since: number; from: number; to: number }[] = [];
    for (const [day, r] of rolls) {
      if (r.windowsEnd === null) continue;
      const outcomesEnd = zonedTimeToUtc(addDays(r.outcomesThrough, 1), '00:00', this.tz).getTime();
      // A day of grace after the last window closes: a KF message written just before is recorded a little later.
      if (r.windowsEnd + DAY_MS > outcomesEnd) continue;
      const since = r.rolledAt - LIVE_SETTLE_MS;
      if (await this.repo.changedSince(day, since)) continue;
      candidates.push({ day, since, from: zonedTimeToUtc(day, '00:00', this.tz).getTime() - DAY_MS, to: r.windowsEnd });
    }
    if (candidates.length === 0) return new Set();
    const late = await this.repo.ordersRecordedSince(Math.min(...candidates.map((c) => c.since)));
    return new Set(candidates.filter((c) => !late.some((o) => o.createdAt >= c.since && o.orderedAt >= c.from && o.orderedAt < c.to)).map((c) => c.day));
  }

  /** Roll one local day; outcomes count what happened before the end of `through` (≥ day). */
  async rollDay(day: string, through: string, now: Date): Promise<{ messages: number; rows: number }> {
    const thru = through < day ? day : through;
    const outcomesEnd = zonedTimeToUtc(addDays(thru, 1), '00:00', this.tz).getTime();
    const acc = new Map<string, ReachRow>();
    let afterId = 0;
    let messages = 0;
    // When the last 7-day window of the day's rows ends (a day without rows: when it starts).
    let windowsEnd = zonedTimeToUtc(day, '00:00', this.tz).getTime();
    for (;;) {
      await yieldToEventLoop();
      const page = await this.repo.ledgerPage(day, afterId, this.pageSize);
      if (page.length === 0) break;
      afterId = page[page.length - 1].id;
      messages += page.length;
      for (const r of page) windowsEnd = Math.max(windowsEnd, referenceTime(r) + WINDOW_MS);
      await this.countPage(day, page, acc, outcomesEnd);
      if (page.length < this.pageSize) break;
    }
    const rows = withSummaries([...acc.values()]);
    await this.repo.replaceDay(day, rows, now.getTime(), thru, windowsEnd);
    this.log.debug({ day, messages, rows: rows.length }, 'reach day rolled');
    return { messages, rows: rows.length };
  }

  private async countPage(day: string, page: ReachLedgerRow[], acc: Map<string, ReachRow>, outcomesEnd: number): Promise<void> {
    const exts = [...new Set(page.map((r) => r.externalUserId))];
    let from = Infinity;
    let to = -Infinity;
    for (const r of page) {
      const t = referenceTime(r);
      if (t < from) from = t;
      if (t + WINDOW_MS > to) to = t + WINDOW_MS;
    }
    to = Math.min(to, outcomesEnd);
    const orders = new Map<string, { at: number; amountCents: number }[]>();
    const replies = new Map<string, number[]>();
    if (from < to) {
      // Both at once: on MySQL they wait on the server side by side.
      const [os, ks] = await Promise.all([this.repo.ordersOf(exts, from, to), this.repo.kfRepliesOf(exts, from, to)]);
      for (const o of os) (orders.get(o.externalUserId) ?? orders.set(o.externalUserId, []).get(o.externalUserId)!).push(o);
      for (const m of ks) (replies.get(m.externalUserId) ?? replies.set(m.externalUserId, []).get(m.externalUserId)!).push(m.at);
    }
    for (const r of page) {
      const row = countFunnel(day, r, acc);
      const start = referenceTime(r);
      const end = Math.min(start + WINDOW_MS, outcomesEnd);
      const isMatured = start + WINDOW_MS <= outcomesEnd;
      if (isMatured) row.matured++;
      const bought = (orders.get(r.externalUserId) ?? []).filter((o) => o.at >= start && o.at < end);
      if (bought.length > 0) {
        row.ordered++;
        if (isMatured) row.orderedMatured++;
        row.orders += bought.length;
        row.revenueCents += bought.reduce((s, o) => s + o.amountCents, 0);
      }
      if ((replies.get(r.externalUserId) ?? []).some((at) => at >= start && at < end)) {
        row.replied++;
        if (isMatured) row.repliedMatured++;
      }
    }
  }
}

/** Count a ledger row on its (source, sender, status, reason) row of the day: the funnel part. */
function countFunnel(day: string, r: ReachLedgerRow, acc: Map<string, ReachRow>): ReachRow {
  const reason = reasonCodeOf(r.reason);
  const key = `${r.kind}\u0000${r.sourceId}\u0000${r.userid}\u0000${r.status}\u0000${reason}`;
  let row = acc.get(key);
  if (!row) acc.set(key, (row = emptyRow(day, r, reason)));
  row.messages++;
  if (r.submittedAt !== null) row.submitted++;
  if (isConfirmedRow(r.status, r.reason)) row.confirmed++;
  return row;
}

function emptyRow(day: string, r: Pick<ReachLedgerRow, 'kind' | 'sourceId' | 'userid' | 'status'>, reason: string): ReachRow {
  return { day, kind: r.kind, sourceId: r.sourceId, userid: r.userid, status: r.status, reason, messages: 0, submitted: 0, confirmed: 0, matured: 0, ordered: 0, orderedMatured: 0, orders: 0, revenueCents: 0, replied: 0, repliedMatured: 0 };
}

/** The per-sender rows of a day and their all-senders sums per (source, status, reason). */
function withSummaries(rows: ReachRow[]): ReachRow[] {
  const sums = new Map<string, ReachRow>();
  for (const r of rows) {
    const k = `${r.kind}\u0000${r.sourceId}\u0000${r.status}\u0000${r.reason}`;
    let s = sums.get(k);
    if (!s) sums.set(k, (s = emptyRow(r.day, { ...r, userid: ALL_SENDERS }, r.reason)));
    s.messages += r.messages;
    s.submitted += r.submitted;
    s.confirmed += r.confirmed;
    s.matured += r.matured;
    s.ordered += r.ordered;
    s.orderedMatured += r.orderedMatured;
    s.orders += r.orders;
    s.revenueCents += r.revenueCents;
    s.replied += r.replied;
    s.repliedMatured += r.repliedMatured;
  }
  return [...rows, ...sums.values()];
}
