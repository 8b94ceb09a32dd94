import type { ScoringRepository } from '../../persistence/repositories/scoring.repository.js';
import type { CustomerOrderFacts, OrderWindow, ScoringCustomer } from './scoring.types.js';
import { addDays, daysBetween, localDate, zonedTimeToUtc } from '../../shared/dates.js';
import type { Logger } from '../../shared/logger.js';
import { classifyActivity, type ActivityThresholds } from '../campaigns/activity.js';
import { lifecycleStage, STAGES, type Stage } from './lifecycle.js';
import { rfmSegment, RFM_SEGMENTS, type RfmBaseline, type RfmSegment } from './rfm.js';
import { yieldToEventLoop } from '../../shared/yield.js';

/** Scoring settings (config/care-rules.json `settings.scoring` and `settings.activity`). */
export interface ScoringSettings {
  tz: string;
  pageSize: number;
  activity: ActivityThresholds;
  windowDays: number;
  newDays: number;
  loyalOrders: number;
}

/** What one pass found and changed. */
export interface ScoringCounts {
  scanned: number;
  /** Customers with orders in the window (those who get a segment). */
  withOrders: number;
  rfmChanged: number;
  stageChanged: number;
  bySegment: Record<RfmSegment, number>;
  byStage: Record<Stage, number>;
}

/**
 * RFM segments and lifecycle stages of every customer, written to `customers.rfm` and `customers.stage`. One
 * aggregate reads the corp's baseline; then customers are read in keyset pages with their orders aggregated per
 * page, classified by the pure rules in rfm.ts and lifecycle.ts, and only changed customers are written, grouped
 * by their new values (a handful of UPDATEs per page, whatever the page size).
 */
export class ScoringService {
  constructor(
    private readonly repo: ScoringRepository,
    private readonly settings: ScoringSettings,
    private readonly log: Logger,
  ) {}

  /** The window of orders scored on `today`: the last `windowDays` local days, today included. */
  window(today: string): OrderWindow {
    const { tz, windowDays } = this.settings;
    return { from: zonedTimeToUtc(addDays(today, 1 - windowDays), '00:00', tz).getTime(), to: zonedTimeToUtc(addDays(today, 1), '00:00', tz).getTime() };
  }

  /** Score every customer for `today`. A dry run counts what would change and writes nothing. */
  async score(input: { today: string; now: Date; isDryRun: boolean }): Promise<ScoringCounts> {
    const counts: ScoringCounts = {
      scanned: 0,
      withOrders: 0,
      rfmChanged: 0,
      stageChanged: 0,
      bySegment: Object.fromEntries(RFM_SEGMENTS.map((s) => [s, 0])) as Record<RfmSegment, number>,
      byStage: Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>,
    };
    const w = this.window(input.today);
    const dates = new LocalDateCache(this.settings.tz);
    const totals = await this.repo.orderTotals(w);
    const baseline: RfmBaseline = totals;
    this.log.info({ customersWithOrders: totals.customers, orders: totals.orders }, 'rfm baseline');
    let after = '';
    for (;;) {
      await yieldToEventLoop();
      const page = await this.repo.page(after, this.settings.pageSize);
      if (page.length === 0) break;
      const last = page[page.length - 1].externalUserId;
      const orders = await this.repo.orderFacts(after, last, w);
      const changes = new Map<string, { rfm: RfmSegment | null; stage: Stage; ids: string[] }>();
      for (const c of page) {
        const { rfm, stage } = this.classify(c, orders.get(c.externalUserId) ?? null, baseline, input.today, dates);
        counts.scanned += 1;
        counts.byStage[stage] += 1;
        if (rfm) {
          counts.withOrders += 1;
          counts.bySegment[rfm] += 1;
        }
        const isRfmChanged = rfm !== c.rfm;
        const isStageChanged = stage !== c.stage;
        if (isRfmChanged) counts.rfmChanged += 1;
        if (isStageChanged) counts.stageChanged += 1;
        if (!isRfmChanged && !isStageChanged) continue;
        const key = `${rfm ?? ''}|${stage}`;
        const group = changes.get(key) ?? { rfm, stage, ids: [] };
        group.ids.push(c.externalUserId);
        changes.set(key, group);
      }
      if (!input.isDryRun) for (const g of changes.values()) await this.repo.setScores(g.ids, g.rfm, g.stage, input.now);
      if (page.length < this.settings.pageSize) break;
      after = last;
    }
    return counts;
  }

  private classify(c: ScoringCustomer, o: CustomerOrderFacts | null, baseline: RfmBaseline, today: string, dates: LocalDateCache): { rfm: RfmSegment | null; stage: Stage } {
    const { tz } = this.settings;
    const daysAgo = (at: Date) => daysBetween(dates.of(at.getTime()), today);
    // Tonight's class, from the same inputs as the activity pass that ran just before (and so also right in a dry run).
    const activity = classifyActivity(c, today, tz, this.settings.activity);
    const rfm =
      o && o.windowLastOrderAt !== null ? rfmSegment({ orders: o.windowOrders, spentCents: o.windowSpentCents, lastOrderAt: o.windowLastOrderAt }, baseline) : null;
    const stage = lifecycleStage(
      {
        activity,
        hasActiveRelation: c.hasActiveRelation,
        addedDaysAgo: daysAgo(c.firstAddedAt ?? c.createdAt),
        lifetimeOrders: o?.lifetimeOrders ?? 0,
        windowOrders: o?.windowOrders ?? 0,
        lastOrderDaysAgo: o && o.lifetimeOrders > 0 ? daysAgo(new Date(o.lastOrderAt)) : null,
      },
      { newDays: this.settings.newDays, loyalOrders: this.settings.loyalOrders, dormantDays: this.settings.activity.dormantDays },
    );
    return { rfm, stage };
  }
}

const QUARTER_HOUR_MS = 900_000;
const MAX_CACHED = 500_000;

/**
 * localDate memoised per UTC quarter hour. Intl formatting costs ~10 µs, which over a million customers is most of
 * the pass. Every zone's offsets (and the instants they change) have been whole quarter hours since 1980, so all
 * instants of one UTC quarter hour fall on the same local date.
 */
class LocalDateCache {
  private readonly byQuarter = new Map<number, string>();

  constructor(private readonly tz: string) {}

  of(epochMs: number): string {
    const key = Math.floor(epochMs / QUARTER_HOUR_MS);
    let date = this.byQuarter.get(key);
    if (date === undefined) {
      if (this.byQuarter.size >= MAX_CACHED) this.byQuarter.clear();
      date = localDate(new Date(epochMs), this.tz);
      this.byQuarter.set(key, date);
    }
    return date;
  }
}
