import type { EntityManager } from 'typeorm';
import type { Db } from '../../persistence/db.js';
import { birthdaysInTx, type LoyaltyRepository } from '../../persistence/repositories/loyalty.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { localDate, localParts, zonedTimeToUtc } from '../../shared/dates.js';
import { ConflictError, NotFoundError, invalidField } from '../../shared/errors.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import { birthdayDateInYear } from '../care/occasions.js';
import type { CustomerService, Viewer } from '../customers/customer.service.js';
import { newLinkId, signLink, verifyLink, type LinkRefusal } from './loyalty-link.js';
import { entryWords } from './loyalty-words.js';
import type { LoyaltyAccount, PointEntry, PointKind, Tier } from './loyalty.types.js';

/** The loyalty settings (config `loyalty`, docs/loyalty.md). */
export interface LoyaltySettings {
  pointsPerYuan: number;
  birthdayMultiplier: number;
  expiryYears: number;
  tierBasis: 'points' | 'spend';
  spendWindowDays: number;
  tiers: readonly Tier[];
  downgradeGraceDays: number;
  linkTtlDays: number;
  tz: string;
}

/** An order as the import wrote it, for crediting. */
export interface CreditedOrder {
  externalUserId: string;
  orderNo: string;
  amountCents: number;
  orderedAt: Date;
}

/** A credit from another feature (a survey's reward, a birthday bonus): `reference` makes it once only. */
export interface CreditInput {
  externalUserId: string;
  reason: string;
  reference: string;
  points: number;
  actor: string;
  note?: string | null;
}

/** What a write did: the entry, and whether it was there already (a repeated request). */
export interface WriteOutcome {
  entry: PointEntry;
  replayed: boolean;
  balance: number;
}

/** A tier change the evaluation made. */
export interface TierChange {
  externalUserId: string;
  from: number;
  to: number;
  version: number;
}

/** Plans the congratulation of an upgrade through the delivery ledger (container port, docs/loyalty.md §Tiers). */
export type UpgradeMessenger = (changes: TierChange[]) => Promise<void>;

/** What the customer's page and the sidebar show. */
export interface LoyaltySummary {
  balance: number;
  tier: Tier & { rank: number };
  next: (Tier & { rank: number; missing: number; progressPercent: number }) | null;
  basis: 'points' | 'spend';
  /** The figure the tier is measured by: points, or yuan spent within the window. */
  measured: number;
  /** The next expiry with the points it takes, if any. */
  expiring: { at: Date; points: number } | null;
  recent: (PointEntry & { words: string })[];
}

const DAY_MS = 86_400_000;
const REFERENCE_MAX = 128;

/**
 * 积分与会员 (docs/loyalty.md): the points ledger, the tiers and the customer's signed link. Every write locks the
 * customer's account first, applies points already due to expire, then appends one entry and moves the cached balance
 * in the same transaction, so the balance is the sum of the ledger and can never go below zero.
 */
export class LoyaltyService {
  constructor(
    private readonly db: Db,
    private readonly repo: LoyaltyRepository,
    private readonly customers: Pick<CustomerService, 'getVisible'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly settings: LoyaltySettings,
    private readonly linkKey: Buffer,
    private readonly onUpgrade: UpgradeMessenger,
  ) {}

  /** Store the configured tiers where audiences read them (each start). */
  async start(): Promise<void> {
    await this.repo.replaceTiers(this.settings.tiers);
  }

  /** When points credited at `now` expire: the end of the year `expiryYears` after, local time; null for never. */
  expiryOf(now: Date): Date | null {
    if (this.settings.expiryYears <= 0) return null;
    const year = localParts(now, this.settings.tz).year + this.settings.expiryYears + 1;
    return zonedTimeToUtc(`${year}-01-01`, '00:00', this.settings.tz);
  }

  /** The points an order earns: whole points per yuan, times the birthday multiplier in the birthday month. */
  orderPoints(amountCents: number, birthdayMonth: boolean): number {
    const base = Math.floor((amountCents * this.settings.pointsPerYuan) / 100);
    return birthdayMonth ? Math.floor(base * this.settings.birthdayMultiplier) : base;
  }

  /**
   * Credit newly imported orders in the import's own transaction (OrderService), so an order is never stored without
   * its points nor credited twice: the reference `order:<no>` is unique per customer, and a re-import finds it.
   */
  async creditOrdersInTx(em: EntityManager, orders: CreditedOrder[], now: Date): Promise<void> {
    if (orders.length === 0 || this.settings.pointsPerYuan <= 0) return;
    const exts = [...new Set(orders.map((o) => o.externalUserId))];
    await this.repo.lockAccountsInTx(em, exts, now.getTime());
    const have = await this.repo.existingReferencesInTx(em, orders.map((o) => ({ externalUserId: o.externalUserId, reference: orderRef(o.orderNo) })));
    const birthdays = await birthdaysInTx(em, exts);
    const expiresAt = this.expiryOf(now);
    // Points already due to expire go first, as before any write (docs/loyalty.md §Expiry); one grouped read.
    if (this.settings.expiryYears > 0) {
      for (const [ext, f] of await this.repo.expiryFiguresManyInTx(em, exts, now.getTime())) if (f.due > f.used) await this.expireDueInTx(em, ext, now);
    }
    for (const o of orders) {
      if (have.has(`${o.externalUserId}\u0000${orderRef(o.orderNo)}`)) continue;
      const placed = localParts(o.orderedAt, this.settings.tz);
      const b = birthdays.get(o.externalUserId);
      const inBirthdayMonth = b !== undefined && this.settings.birthdayMultiplier > 1 && birthdayDateInYear(b, placed.year)?.slice(5, 7) === String(placed.month).padStart(2, '0');
      const points = this.orderPoints(o.amountCents, inBirthdayMonth);
      if (points <= 0) continue;
      await this.repo.appendInTx(
        em,
        { externalUserId: o.externalUserId, kind: 'earn', reason: inBirthdayMonth ? 'order_birthday' : 'order', reference: orderRef(o.orderNo), points, expiresAt, actor: 'system', note: `订单 ${o.orderNo}`.slice(0, 200) },
        now.getTime(),
      );
    }
  }

  /** After an import: the tiers of the customers it touched (docs/loyalty.md §Tiers). */
  async afterImport(exts: string[]): Promise<void> {
    try {
      await this.evaluate([...new Set(exts)]);
    } catch (err) {
      // The import is done; the night's evaluation catches up.
      this.log.error({ err }, 'tier evaluation after an order import failed');
    }
  }

  /** Credit points from another feature (surveys, bonuses); a repeated reference changes nothing. */
  async credit(input: CreditInput): Promise<WriteOutcome> {
    if (!Number.isInteger(input.points) || input.points <= 0) throw invalidField('points', '积分须为正整数');
    const out = await this.write({ ...input, kind: 'earn', expires: true });
    await this.evaluate([input.externalUserId]);
    return out;
  }

  /**
   * Credit points from another feature inside that feature's own transaction (a survey's reward, written with the
   * answer: docs/surveys.md §Points): the account is locked, points due to expire go first, and a repeated reference
   * writes nothing (false). The caller evaluates the tier after its commit (afterImport).
   */
  async creditInTx(em: EntityManager, input: CreditInput, now: Date): Promise<boolean> {
    if (!Number.isInteger(input.points) || input.points <= 0) throw invalidField('points', '积分须为正整数');
    if (input.reference.length === 0 || input.reference.length > REFERENCE_MAX) throw invalidField('reference', `引用须为 1–${REFERENCE_MAX} 个字符`);
    await this.repo.lockAccountsInTx(em, [input.externalUserId], now.getTime());
    if (await this.repo.entryByReferenceInTx(em, input.externalUserId, input.reference)) return false;
    await this.expireDueInTx(em, input.externalUserId, now);
    await this.repo.appendInTx(
      em,
      { externalUserId: input.externalUserId, kind: 'earn', reason: input.reason, reference: input.reference, points: input.points, expiresAt: this.expiryOf(now), actor: input.actor, note: input.note ?? null },
      now.getTime(),
    );
    return true;
  }

  /**
   * Give (points > 0) or deduct (points < 0) by hand: operators only (the route), recorded in the audit log by the
   * route. `requestId` makes a retried request a replay.
   */
  async adjust(ext: string, input: { points: number; note: string; requestId: string }, actor: string, viewer: Viewer): Promise<WriteOutcome> {
    await this.customers.getVisible(ext, viewer);
    if (!Number.isInteger(input.points) || input.points === 0) throw invalidField('points', '调整积分须为非零整数');
    const out = await this.write({ externalUserId: ext, kind: 'adjust', reason: 'manual', reference: `adjust:${input.requestId}`, points: input.points, actor, note: input.note, expires: input.points > 0 });
    await this.evaluate([ext]);
    return out;
  }

  /**
   * A redemption staff record for a customer they follow, confirmed by them (`confirm: true` at the route) and made once
   * per `requestId`. Beyond the balance it is refused with 409.
   */
  async redeem(ext: string, input: { points: number; note: string; requestId: string }, actor: string, viewer: Viewer): Promise<WriteOutcome> {
    await this.customers.getVisible(ext, viewer);
    if (!Number.isInteger(input.points) || input.points <= 0) throw invalidField('points', '兑换积分须为正整数');
    const out = await this.write({ externalUserId: ext, kind: 'redeem', reason: 'redemption', reference: `redeem:${input.requestId}`, points: -input.points, actor, note: input.note, expires: false });
    await this.evaluate([ext]);
    return out;
  }

  private async write(e: CreditInput & { kind: PointKind; expires: boolean }): Promise<WriteOutcome> {
    if (e.reference.length === 0 || e.reference.length > REFERENCE_MAX) throw invalidField('reference', `引用须为 1–${REFERENCE_MAX} 个字符`);
    return this.db.tx(async (em) => {
      const now = this.clock.now();
      const exists = await this.customerExistsInTx(em, e.externalUserId);
      if (!exists) throw new NotFoundError('客户不存在');
      await this.repo.lockAccountsInTx(em, [e.externalUserId], now.getTime());
      const before = await this.repo.entryByReferenceInTx(em, e.externalUserId, e.reference);
      if (before) {
        if (before.points !== e.points || before.kind !== e.kind) throw new ConflictError('该请求编号已用于另一笔积分记录，请刷新后重试', 'loyalty_reference_conflict');
        const account = await this.repo.accountInTx(em, e.externalUserId);
        return { entry: before, replayed: true, balance: account?.balance ?? 0 };
      }
      await this.expireDueInTx(em, e.externalUserId, now);
      const ok = await this.repo.appendInTx(
        em,
        { externalUserId: e.externalUserId, kind: e.kind, reason: e.reason, reference: e.reference, points: e.points, expiresAt: e.expires ? this.expiryOf(now) : null, actor: e.actor, note: e.note ?? null },
        now.getTime(),
      );
      const account = await this.repo.accountInTx(em, e.externalUserId);
      if (!ok) {
        throw new ConflictError(`积分不足：当前可用 ${account?.balance ?? 0} 积分，本次需要 ${-e.points} 积分，未扣减`, 'loyalty_insufficient_points');
      }
      const entry = await this.repo.entryByReferenceInTx(em, e.externalUserId, e.reference);
      return { entry: entry!, replayed: false, balance: account!.balance };
    });
  }

  private customerExistsInTx(em: EntityManager, ext: string): Promise<boolean> {
    return this.repo.customerExistsInTx(em, ext);
  }

  /**
   * Expire what is due for a locked account (docs/loyalty.md §Expiry): the points of entries whose expiry has passed,
   * less everything taken away so far, which counts against the soonest-expiring (oldest) points first. One entry a day
   * at most (`expire:<local date>`). Returns the points expired.
   */
  async expireDueInTx(em: EntityManager, ext: string, now: Date): Promise<number> {
    if (this.settings.expiryYears <= 0) return 0;
    const f = await this.repo.expiryFiguresInTx(em, ext, now.getTime());
    const amount = f.due - f.used;
    if (amount <= 0) return 0;
    const reference = `expire:${localDate(now, this.settings.tz)}`;
    if (await this.repo.entryByReferenceInTx(em, ext, reference)) return 0;
    await this.repo.appendInTx(em, { externalUserId: ext, kind: 'expire', reason: 'expiry', reference, points: -amount, expiresAt: null, actor: 'system' }, now.getTime());
    return amount;
  }

  /** The nightly expiry: every customer with points due (paged by id). */
  async expireAll(now: Date, pageSize = 500): Promise<{ customers: number; points: number }> {
    const counts = { customers: 0, points: 0 };
    if (this.settings.expiryYears <= 0) return counts;
    let after = '';
    for (;;) {
      const ids = await this.repo.customersWithDuePoints(now.getTime(), after, pageSize);
      if (ids.length === 0) return counts;
      after = ids[ids.length - 1];
      for (const ext of ids) {
        const n = await this.db.tx(async (em) => {
          await this.repo.lockAccountsInTx(em, [ext], now.getTime());
          return this.expireDueInTx(em, ext, now);
        });
        if (n > 0) {
          counts.customers += 1;
          counts.points += n;
        }
      }
      await yieldToEventLoop();
      if (ids.length < pageSize) return counts;
    }
  }

  /** The nightly tier pass: every account, and (tiers by spend) customers whose spend reaches a tier without one. */
  async evaluateAll(pageSize = 500): Promise<{ evaluated: number; upgraded: number; downgraded: number }> {
    const counts = { evaluated: 0, upgraded: 0, downgraded: 0 };
    const tally = (changes: TierChange[], n: number) => {
      counts.evaluated += n;
      for (const c of changes) counts[c.to > c.from ? 'upgraded' : 'downgraded'] += 1;
    };
    let after = '';
    for (;;) {
      const page = await this.repo.accountsPage(after, pageSize);
      if (page.length === 0) break;
      after = page[page.length - 1].externalUserId;
      tally(await this.evaluate(page.map((a) => a.externalUserId)), page.length);
      await yieldToEventLoop();
      if (page.length < pageSize) break;
    }
    if (this.settings.tierBasis === 'spend' && this.settings.tiers.length > 1) {
      const since = this.clock.now().getTime() - this.settings.spendWindowDays * DAY_MS;
      after = '';
      for (;;) {
        const ids = await this.repo.customersWithSpendWithoutAccount(since, Math.round(this.settings.tiers[1].threshold * 100), after, pageSize);
        if (ids.length === 0) break;
        after = ids[ids.length - 1];
        tally(await this.evaluate(ids), ids.length);
        if (ids.length < pageSize) break;
      }
    }
    return counts;
  }

  /**
   * Evaluate the tiers of these customers now (docs/loyalty.md §Tiers): up at once, with a congratulation through the
   * delivery ledger; down only after the grace period below the tier's threshold.
   */
  async evaluate(exts: string[]): Promise<TierChange[]> {
    const changes: TierChange[] = [];
    for (const ext of await this.needingLook(exts)) {
      const change = await this.db.tx(async (em) => {
        const now = this.clock.now().getTime();
        if (!(await this.customerExistsInTx(em, ext))) return null;
        // No account and nothing that reaches a tier above the lowest: nothing to write.
        if (!(await this.repo.accountInTx(em, ext)) && this.rankFor(await this.measureInTx(em, ext, now)) === 0) return null;
        await this.repo.lockAccountsInTx(em, [ext], now);
        const a = (await this.repo.accountInTx(em, ext))!;
        return this.decide(em, a, this.rankFor(await this.measureInTx(em, ext, now)), now);
      });
      if (change) changes.push(change);
    }
    const ups = changes.filter((c) => c.to > c.from);
    if (ups.length > 0) {
      try {
        await this.onUpgrade(ups);
      } catch (err) {
        this.log.error({ err, customers: ups.length }, 'tier congratulations could not be planned');
      }
    }
    return changes;
  }

  /**
   * The customers whose tier may change, from one read of their accounts (and spend) per 500: the rest (most, after an
   * import) need no transaction. The decision is made again, locked, for these.
   */
  private async needingLook(exts: string[]): Promise<string[]> {
    const accounts = await this.repo.accountsOf(exts);
    const spend = this.settings.tierBasis === 'spend' ? await this.repo.spendOf(exts, this.clock.now().getTime() - this.settings.spendWindowDays * DAY_MS) : null;
    return exts.filter((ext) => {
      const a = accounts.get(ext);
      const measured = spend ? Math.floor((spend.get(ext) ?? 0) / 100) : (a?.balance ?? 0);
      const target = this.rankFor(measured);
      const current = a?.tierRank ?? 0;
      return target !== current || (a?.belowSince ?? null) !== null;
    });
  }

  private async decide(em: EntityManager, a: LoyaltyAccount, target: number, now: number): Promise<TierChange | null> {
    const set = (t: { tierRank: number; tierSince: number | null; tierVersion: number; belowSince: number | null }) => this.repo.setTierInTx(em, a.externalUserId, t, now);
    const since = a.tierSince?.getTime() ?? null;
    if (target > a.tierRank) {
      await set({ tierRank: target, tierSince: now, tierVersion: a.tierVersion + 1, belowSince: null });
      return { externalUserId: a.externalUserId, from: a.tierRank, to: target, version: a.tierVersion + 1 };
    }
    if (target === a.tierRank) {
      if (a.belowSince) await set({ tierRank: a.tierRank, tierSince: since, tierVersion: a.tierVersion, belowSince: null });
      return null;
    }
    const below = a.belowSince?.getTime() ?? null;
    if (below === null) {
      await set({ tierRank: a.tierRank, tierSince: since, tierVersion: a.tierVersion, belowSince: now });
      return null;
    }
    if (now - below < this.settings.downgradeGraceDays * DAY_MS) return null;
    await set({ tierRank: target, tierSince: now, tierVersion: a.tierVersion + 1, belowSince: null });
    return { externalUserId: a.externalUserId, from: a.tierRank, to: target, version: a.tierVersion + 1 };
  }

  private async measureInTx(em: EntityManager, ext: string, now: number): Promise<number> {
    if (this.settings.tierBasis === 'spend') return Math.floor((await this.repo.spendSinceInTx(em, ext, now - this.settings.spendWindowDays * DAY_MS)) / 100);
    return (await this.repo.accountInTx(em, ext))?.balance ?? 0;
  }

  /** The highest tier whose threshold the figure reaches. */
  rankFor(measured: number): number {
    let rank = 0;
    this.settings.tiers.forEach((t, i) => {
      if (measured >= t.threshold) rank = i;
    });
    return rank;
  }

  /** Balance, tier, progress, next expiry and the newest entries of a customer the viewer may see. */
  async summaryFor(ext: string, viewer: Viewer, limit = 20): Promise<LoyaltySummary> {
    await this.customers.getVisible(ext, viewer);
    return this.summary(ext, limit);
  }

  private async summary(ext: string, limit: number): Promise<LoyaltySummary> {
    const now = this.clock.now().getTime();
    const account = await this.repo.account(ext);
    const balance = account?.balance ?? 0;
    const rank = Math.min(account?.tierRank ?? 0, this.settings.tiers.length - 1);
    const measured =
      this.settings.tierBasis === 'spend' ? Math.floor((await this.db.run((em) => this.repo.spendSinceInTx(em, ext, now - this.settings.spendWindowDays * DAY_MS))) / 100) : balance;
    const nextTier = this.settings.tiers[rank + 1];
    const tier = this.settings.tiers[rank];
    const next = nextTier
      ? {
          ...nextTier,
          rank: rank + 1,
          missing: Math.max(0, nextTier.threshold - measured),
          progressPercent: Math.max(0, Math.min(100, Math.floor(((measured - tier.threshold) * 100) / Math.max(1, nextTier.threshold - tier.threshold)))),
        }
      : null;
    let expiring: LoyaltySummary['expiring'] = null;
    const at = this.settings.expiryYears > 0 && balance > 0 ? await this.repo.nextExpiry(ext, now) : null;
    if (at !== null) {
      const f = await this.repo.expiryFigures(ext, at);
      if (f.due - f.used > 0) expiring = { at: new Date(at), points: Math.min(balance, f.due - f.used) };
    }
    const recent = (await this.repo.recent(ext, limit)).map((e) => ({ ...e, words: entryWords(e) }));
    return { balance, tier: { ...tier, rank }, next, basis: this.settings.tierBasis, measured, expiring, recent };
  }

  /** The customer's "我的积分" link (path and expiry) for a viewer who may see them (docs/loyalty.md §The signed link). */
  async linkFor(ext: string, viewer: Viewer): Promise<{ path: string; expiresAt: Date }> {
    await this.customers.getVisible(ext, viewer);
    const now = this.clock.now();
    const linkId = await this.db.tx(async (em) => {
      await this.repo.lockAccountsInTx(em, [ext], now.getTime());
      return this.repo.ensureLinkIdInTx(em, ext, newLinkId(), now.getTime());
    });
    const expiresAt = new Date(now.getTime() + this.settings.linkTtlDays * DAY_MS);
    return { path: `/p/${signLink(this.linkKey, linkId, expiresAt)}`, expiresAt };
  }

  /** What a token opens: the summary of its one customer, or why nothing. */
  async openLink(token: string, limit = 20): Promise<{ ok: true; summary: LoyaltySummary } | { ok: false; reason: LinkRefusal | 'gone' }> {
    const v = verifyLink(this.linkKey, token, this.clock.now());
    if (!v.ok) return v;
    const account = await this.repo.accountByLink(v.linkId);
    // An erased customer's account is gone, and so is what the link pointed to.
    if (!account) return { ok: false, reason: 'gone' };
    return { ok: true, summary: await this.summary(account.externalUserId, limit) };
  }

  /** The balance next to the ledger's sum, for every account (tests and `docs/loyalty.md §Balance`). */
  balancesAgainstLedger(): Promise<{ id: string; balance: number; sum: number }[]> {
    return this.repo.balancesAgainstLedger();
  }
}

const orderRef = (orderNo: string) => `order:${orderNo}`.slice(0, REFERENCE_MAX);
