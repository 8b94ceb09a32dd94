import type { RepurchaseView } from './repurchase.types.js';
import type { RepurchaseRepository, StoredPrediction } from '../../persistence/repositories/repurchase.repository.js';
import type { Clock } from '../../shared/clock.js';
import { localDate } from '../../shared/dates.js';
import type { Logger } from '../../shared/logger.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import { daysUntilDue, GLOBAL_SEGMENT, median, orderIntervals, predictRepurchase, typicalFor, typicalIntervals, type RepurchasePrediction } from './repurchase-predictor.js';

/** What a full pass did. */
export interface RepurchaseCounts {
  /** Customers with a prediction after the pass. */
  predicted: number;
  /** Predictions removed (the customer has fewer than two order days now, or is gone). */
  removed: number;
  /** Segments with their own typical interval (the corp-wide one aside). */
  segments: number;
  /** The corp-wide typical interval in days, null without any customer to learn it from. */
  typicalDays: number | null;
}


/**
 * Keeps every customer's predicted next order (需求预测, docs/repurchase.md): a full pass in the nightly `scoring` job
 * after the RFM segments (which it shrinks toward) are written, and the customers an order import touched right after
 * the import, with the typical intervals of the last full pass.
 */
export class RepurchaseService {
  constructor(
    private readonly repo: RepurchaseRepository,
    private readonly tz: string,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly pageSize = 1000,
  ) {}

  /**
   * Every customer with two orders or more, in two keyset passes: the first learns each segment's typical interval
   * (one vote per customer: their own median interval), the second predicts and writes. Predictions the second pass
   * did not write are removed. A dry run computes and writes nothing.
   */
  async refreshAll(input: { isDryRun: boolean }): Promise<RepurchaseCounts> {
    const started = this.clock.now().getTime();
    const votes = new Map<string, number[]>();
    await this.eachPage(async (page, dates) => {
      for (const c of page) {
        const intervals = orderIntervals(dates.get(c.externalUserId) ?? []);
        if (intervals.length === 0) continue;
        const key = c.rfm ?? GLOBAL_SEGMENT;
        let list = votes.get(key);
        if (!list) votes.set(key, (list = []));
        list.push(median(intervals));
      }
    });
    const typicals = typicalIntervals(votes);
    if (!input.isDryRun) {
      const stored = new Map([...typicals].map(([segment, days]) => [segment, { days, customers: segment === GLOBAL_SEGMENT ? [...votes.values()].reduce((n, v) => n + v.length, 0) : (votes.get(segment)?.length ?? 0) }]));
      await this.repo.saveTypicals(stored, started);
    }
    let predicted = 0;
    await this.eachPage(async (page, dates) => {
      const rows: StoredPrediction[] = [];
      const now = this.clock.now().getTime();
      for (const c of page) {
        const p = this.predict(dates.get(c.externalUserId) ?? [], c.rfm, typicals);
        if (p) rows.push(toStored(c.externalUserId, p, c.rfm, typicals, now));
      }
      predicted += rows.length;
      if (!input.isDryRun) await this.repo.upsertMany(rows);
    });
    const removed = input.isDryRun ? 0 : await this.repo.deleteStale(started);
    const typicalDays = typicals.get(GLOBAL_SEGMENT) ?? null;
    this.log.info({ predicted, removed, segments: typicals.size - (typicalDays === null ? 0 : 1), typicalDays }, 'repurchase predictions');
    return { predicted, removed, segments: typicals.size - (typicalDays === null ? 0 : 1), typicalDays };
  }

  /**
   * Recompute the customers an order import touched, with the typical intervals of the last full pass. Before the
   * first night there are none, and the customers' own medians are used: learning them here would read every
   * customer's orders inside the import. A customer left with fewer than two order days loses the prediction.
   */
  async refreshCustomers(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const typicals = await this.repo.typicals();
    for (let i = 0; i < ids.length; i += this.pageSize) {
      const chunk = ids.slice(i, i + this.pageSize);
      const customers = await this.repo.customers(chunk);
      const dates = this.localDates(await this.repo.orderTimes(customers.map((c) => c.externalUserId)));
      const now = this.clock.now().getTime();
      const rows: StoredPrediction[] = [];
      const gone = new Set(chunk);
      for (const c of customers) {
        const p = this.predict(dates.get(c.externalUserId) ?? [], c.rfm, typicals);
        if (!p) continue;
        rows.push(toStored(c.externalUserId, p, c.rfm, typicals, now));
        gone.delete(c.externalUserId);
      }
      await this.repo.upsertMany(rows);
      await this.repo.deleteMany([...gone]);
    }
  }

  /** The customer's prediction as of today, or null without one. */
  async forCustomer(ext: string): Promise<RepurchaseView | null> {
    const p = await this.repo.forCustomer(ext);
    if (!p) return null;
    return {
      dueOn: p.dueOn,
      daysUntil: daysUntilDue(p.dueOn, localDate(this.clock.now(), this.tz)),
      intervalDays: p.intervalDays,
      ownDays: p.ownTenths / 10,
      typicalDays: p.typicalTenths === null ? null : p.typicalTenths / 10,
      segment: p.segment,
      orderDays: p.orderDays,
      lastOrderOn: p.lastOrderOn,
    };
  }

  private predict(dates: readonly string[], rfm: string | null, typicals: ReadonlyMap<string, number>): RepurchasePrediction | null {
    return predictRepurchase(dates, typicalFor(typicals, rfm));
  }

  private async eachPage(fn: (page: { externalUserId: string; rfm: string | null }[], dates: Map<string, string[]>) => Promise<void>): Promise<void> {
    let after = '';
    for (;;) {
      await yieldToEventLoop();
      const page = await this.repo.customersPage(after, this.pageSize);
      if (page.length === 0) return;
      await fn(page, this.localDates(await this.repo.orderTimes(page.map((c) => c.externalUserId))));
      if (page.length < this.pageSize) return;
      after = page[page.length - 1].externalUserId;
    }
  }

  /** Order instants as local dates; memoised per UTC quarter hour, within which every zone has one local date. */
  private localDates(times: Map<string, number[]>): Map<string, string[]> {
    const memo = new Map<number, string>();
    const of = (ms: number) => {
      const key = Math.floor(ms / 900_000);
      let d = memo.get(key);
      if (d === undefined) memo.set(key, (d = localDate(new Date(ms), this.tz)));
      return d;
    };
    return new Map([...times].map(([ext, list]) => [ext, list.map(of)]));
  }
}

function toStored(ext: string, p: RepurchasePrediction, rfm: string | null, typicals: ReadonlyMap<string, number>, now: number): StoredPrediction {
  const usedSegment = rfm !== null && typicals.has(rfm) ? rfm : null;
  return {
    externalUserId: ext,
    dueOn: p.dueOn,
    lastOrderOn: p.lastOrderOn,
    orderDays: p.orderDays,
    ownTenths: Math.round(p.ownDays * 10),
    typicalTenths: p.typicalDays === null ? null : Math.round(p.typicalDays * 10),
    intervalDays: p.intervalDays,
    segment: usedSegment,
    updatedAt: now,
  };
}
