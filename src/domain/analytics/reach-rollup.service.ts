import type { ReachRepository } from '../../persistence/repositories/reach.repository.js';
import type { Logger } from '../../shared/logger.js';
import { addDays, zonedTimeToUtc } from '../../shared/dates.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import { isConfirmedRow } from '../broadcasts/broadcast-progress.service.js';
import { ALL_SENDERS, REACH_WINDOW_DAYS, type ReachLedgerRow, type ReachRow } from './reach.types.js';

const DAY_MS = 86_400_000;
const WINDOW_MS = REACH_WINDOW_DAYS * DAY_MS;

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

  /** Roll each day of [firstDay, lastDay], outcomes counted through the end of `lastDay`. */
  async rollDays(firstDay: string, lastDay: string, now: Date): Promise<{ days: number; messages: number; rows: number }> {
    const total = { days: 0, messages: 0, rows: 0 };
    for (let d = firstDay; d <= lastDay; d = addDays(d, 1)) {
      const c = await this.rollDay(d, lastDay, now);
      total.days++;
      total.messages += c.messages;
      total.rows += c.rows;
    }
    return total;
  }

  /** Roll one local day; outcomes count what happened before the end of `through` (≥ day). */
  async rollDay(day: string, through: string, now: Date): Promise<{ messages: number; rows: number }> {
    const thru = through < day ? day : through;
    const outcomesEnd = zonedTimeToUtc(addDays(thru, 1), '00:00', this.tz).getTime();
    const acc = new Map<string, ReachRow>();
    let afterId = 0;
    let messages = 0;
    for (;;) {
      await yieldToEventLoop();
      const page = await this.repo.ledgerPage(day, afterId, this.pageSize);
      if (page.length === 0) break;
      afterId = page[page.length - 1].id;
      messages += page.length;
      await this.countPage(day, page, acc, outcomesEnd);
      if (page.length < this.pageSize) break;
    }
    const rows = withSummaries([...acc.values()]);
    await this.repo.replaceDay(day, rows, now.getTime(), thru);
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
      for (const o of await this.repo.ordersOf(exts, from, to)) (orders.get(o.externalUserId) ?? orders.set(o.externalUserId, []).get(o.externalUserId)!).push(o);
      for (const m of await this.repo.kfRepliesOf(exts, from, to)) (replies.get(m.externalUserId) ?? replies.set(m.externalUserId, []).get(m.externalUserId)!).push(m.at);
    }
    for (const r of page) {
      const reason = reasonCodeOf(r.reason);
      const key = `${r.kind}\u0000${r.sourceId}\u0000${r.userid}\u0000${r.status}\u0000${reason}`;
      let row = acc.get(key);
      if (!row) acc.set(key, (row = emptyRow(day, r, reason)));
      row.messages++;
      if (r.submittedAt !== null) row.submitted++;
      if (isConfirmedRow(r.status, r.reason)) row.confirmed++;
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
