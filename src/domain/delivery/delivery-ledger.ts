import { ledgerKey, type DeliveryRepository, type LedgerTx } from '../../persistence/repositories/delivery.repository.js';
import type { SendSlotRepository } from '../../persistence/repositories/send-slot.repository.js';
import { fitsByteLimit, WECOM_APP_TEXT_MAX_BYTES, WECOM_TEXT_MAX_BYTES } from '../../shared/template.js';
import { dailyCapPeriod, massQuotaPeriod, type CapPeriod, type MassQuotaRule } from './frequency-caps.js';
import { SkipReason, type NewDelivery, type SlotClaim } from './delivery.types.js';
import { holdoutReason, isHeldOut } from './holdout.js';

/** What planning one message came to. */
export type PlanOutcome =
  | { result: 'planned'; id: number | null }
  | { result: 'skipped'; id: number | null; reason: string }
  /** Already in the ledger for this occasion: nothing new (a second run of the same occasion). */
  | { result: 'duplicate' };

/** Where planners put messages: the ledger, or a dry run that only reports. */
export interface PlanSink {
  plan(d: NewDelivery): Promise<PlanOutcome>;
  /**
   * Plan several in order (one customer's higher-priority message first), as one unit of work. `opts.newKeys`: the
   * caller knows no key of `ds` is in the ledger yet (see DeliveryLedger.planMany); a sink may ignore it.
   */
  planMany(ds: NewDelivery[], opts?: PlanManyOptions): Promise<PlanOutcome[]>;
  /**
   * Read ahead what planning `ds` will need to know, outside any transaction (the cap slots its customers hold), to
   * hand to planMany as `opts.preload`. Optional: a sink without it plans from its own reads.
   */
  preload?(ds: NewDelivery[]): Promise<PagePreload>;
}

/** What DeliveryLedger.preload read for one page, before the page's transaction. */
export interface PagePreload {
  /** The page it was read for: planMany uses it only for that same array. */
  readonly ds: readonly NewDelivery[];
  readonly problems: readonly (string | null)[];
  readonly book: SlotBook;
}

/** What a caller of planMany knows about its page. */
export interface PlanManyOptions {
  /**
   * No key (source, customer, occasion) of the page was in the ledger when the caller's run began, and no earlier page
   * of the run had the page's customers: a broadcast planned for the first time, page by page in customer order.
   */
  newKeys?: boolean;
  /** The page's slots, read ahead by the sink's own preload(ds) (see DeliveryLedger.preload). */
  preload?: PagePreload;
}

/** The caps the ledger enforces. */
export interface CapSettings {
  massQuotaRule: MassQuotaRule;
  perCustomerPerDay: number;
}

const isCustomerFacing = (d: NewDelivery) => d.channel !== 'staff_reminder';

function precheck(d: NewDelivery): string | null {
  if (d.skipReason) return d.skipReason;
  if (!d.senderUserid && d.channel !== 'kf') return `${SkipReason.NoSender}: 客户没有有效的跟进成员 / no active follower`;
  const max = d.channel === 'staff_reminder' ? WECOM_APP_TEXT_MAX_BYTES : WECOM_TEXT_MAX_BYTES;
  if (!fitsByteLimit(d.text, max)) return `${SkipReason.TooLong}: > ${max} bytes`;
  // The holdout is drawn last, among the rows that could go out, and before any cap: a held-out row claims no slot,
  // so it takes nothing from the customer's day or from WeCom's quota (docs/analytics.md §Holdout).
  if (d.holdoutPercent && isHeldOut(d.kind, d.broadcastId ?? d.ruleId ?? '', d.externalUserId, d.holdoutPercent)) return holdoutReason(d.holdoutPercent);
  return null;
}

type Claim = SlotClaim;
/** One message's decision in a page: null for a duplicate, else the row to write (planned when `reason` is null) and its slots. */
type Decision = { d: NewDelivery; key: string; reason: string | null; claims: Claim[] } | null;

/**
 * The cap slots customers hold, per cap period, as page planning reads and claims them. The ledger reads a fresh
 * book for each page; a forecast keeps one for a whole day, so what its earlier pages claimed counts for the later
 * ones exactly as the rows the real planner wrote would.
 */
export class SlotBook {
  /**
   * Per cap period (periodKey), the slot numbers each customer holds. Nested maps with a small array per customer,
   * rather than one string key and one Set per (customer, period): a page of 5,000 customers built 20,000 key strings
   * and 10,000 Sets for this (docs/audiences.md §Planning a broadcast).
   */
  private readonly taken = new Map<string, Map<string, readonly number[]>>();
  private readonly periodCache = new Map<string, CapPeriod[]>();
  private readonly keys = new WeakMap<CapPeriod, string>();

  constructor(readonly caps: CapSettings) {}

  /** The cap periods a message claims, in claim order (none for a staff reminder or a message already refused). */
  periodsOf(d: NewDelivery, problem: string | null): CapPeriod[] {
    if (!isCustomerFacing(d) || problem) return [];
    // The cap periods once per (day, channel kind): a page of a broadcast shares them.
    const k = `${d.channel === 'mass_task' ? 'm' : 'o'}${d.localDate}`;
    let periods = this.periodCache.get(k);
    if (!periods) {
      periods = [dailyCapPeriod(d.localDate, this.caps.perCustomerPerDay), ...(d.channel === 'mass_task' ? [massQuotaPeriod(this.caps.massQuotaRule, d.localDate)] : [])];
      this.periodCache.set(k, periods);
    }
    return periods;
  }

  /** Read the slots held in the ledger for each (customer, period) of `ds` that the book does not know yet. */
  async load(ds: readonly NewDelivery[], problems: readonly (string | null)[], slots: Pick<SendSlotRepository, 'slotsTaken'>, em?: LedgerTx): Promise<void> {
    const customersByPeriod = new Map<string, { p: CapPeriod; customers: string[] }>();
    for (let i = 0; i < ds.length; i++) {
      const d = ds[i];
      for (const p of this.periodsOf(d, problems[i])) {
        const k = this.keyOf(p);
        if (this.heldIn(k).has(d.externalUserId)) continue;
        let entry = customersByPeriod.get(k);
        if (!entry) customersByPeriod.set(k, (entry = { p, customers: [] }));
        entry.customers.push(d.externalUserId);
      }
    }
    for (const [k, { p, customers }] of customersByPeriod) {
      const held = await slots.slotsTaken(customers, p.scope, p.period, em);
      const book = this.heldIn(k);
      for (const ext of customers) if (!book.has(ext)) book.set(ext, held.get(ext) ?? NONE);
    }
  }

  /** Claim the lowest free slot, as freeSlots(p.limit, used)[0] and claimSlot take it; null when the period is full. */
  claim(ext: string, p: CapPeriod): Claim | null {
    const book = this.heldIn(this.keyOf(p));
    const used = book.get(ext)!;
    let n = 1;
    while (n <= p.limit && used.includes(n)) n++;
    if (n > p.limit) return null;
    // A new array of the exact size: most customers hold nothing yet, and growing an empty array reserves 16 places.
    book.set(ext, used.length === 0 ? [n] : [...used, n]);
    return { externalUserId: ext, scope: p.scope, period: p.period, n };
  }

  /** Give a claimed slot back (a message refused a later cap releases its earlier one, as markSkipped does). */
  release(c: Claim): void {
    const book = this.heldIn(periodKey(c));
    book.set(c.externalUserId, book.get(c.externalUserId)!.filter((n) => n !== c.n));
  }

  private keyOf(p: CapPeriod): string {
    let k = this.keys.get(p);
    if (k === undefined) this.keys.set(p, (k = periodKey(p)));
    return k;
  }

  private heldIn(k: string): Map<string, readonly number[]> {
    let book = this.taken.get(k);
    if (!book) this.taken.set(k, (book = new Map()));
    return book;
  }
}

/** The slots of a customer who holds none in a period (shared: a claim replaces it rather than adding to it). */
const NONE: readonly number[] = [];

// Scope and period never contain NUL, so the key is unambiguous.
const periodKey = (p: { scope: string; period: string }) => `${p.scope}\u0000${p.period}`;

/**
 * The same decisions as planOne for every message of a page, in order, made in memory (`problems` is each message's
 * precheck, computed once by the caller): a message whose key is in
 * `seen` (already in the ledger, or earlier in the page) is a duplicate; a slot is the lowest free number, as
 * claimSlot takes it; a message refused the mass quota gives its day's slot back to the customer's next message, as
 * markSkipped does. `seen` and `book` are updated as the page claims keys and slots. The ledger writes what this
 * decides; the care calendar (CareCalendarService) only counts it.
 */
export function decidePage(ds: readonly NewDelivery[], problems: readonly (string | null)[], seen: Set<string>, book: SlotBook): Decision[] {
  return ds.map((d, i): Decision => {
    const key = ledgerKey(d);
    if (seen.has(key)) return null;
    seen.add(key);
    const problem = problems[i];
    if (problem) return { d, key, reason: problem, claims: [] };
    if (!isCustomerFacing(d)) return { d, key, reason: null, claims: [] };
    // Indexed rather than destructured: destructuring an array goes through an iterator, once per message.
    const periods = book.periodsOf(d, problem);
    const dailyP = periods[0];
    const quotaP = periods.length > 1 ? periods[1] : undefined;
    const daily = book.claim(d.externalUserId, dailyP);
    if (!daily) return { d, key, reason: `${SkipReason.DailyCap}: 今天已安排更高优先级的消息 / a higher-priority message holds today's slot`, claims: [] };
    if (quotaP) {
      const quota = book.claim(d.externalUserId, quotaP);
      if (!quota) {
        book.release(daily);
        return { d, key, reason: `${SkipReason.WecomQuota}: 本期企业群发额度已用完 (${book.caps.massQuotaRule}, ${quotaP.limit}/${quotaP.period})`, claims: [] };
      }
      return { d, key, reason: null, claims: [daily, quota] };
    }
    return { d, key, reason: null, claims: [daily] };
  });
}

/**
 * Plans messages into the ledger. The row is inserted first, under UNIQUE(source, customer, occasion), so a
 * repeated run finds the key taken and adds nothing. Then the caps are claimed as slots: our own per-day cap
 * and WeCom's mass quota (docs/wecom-protocol.md §Mass message quota). Callers plan a customer's candidates in priority
 * order, so the highest-priority rule takes the day's slot and the others are recorded as skipped with the reason.
 */
export class DeliveryLedger implements PlanSink {
  /** Preloads already planned from (see planMany). */
  private readonly usedPreloads = new WeakSet<PagePreload>();

  constructor(
    private readonly repo: DeliveryRepository,
    private readonly slots: SendSlotRepository,
    private readonly caps: CapSettings,
    private readonly now: () => Date,
    private readonly runId: string | null = null,
  ) {}

  /** The same ledger recording a different run id on new rows. */
  forRun(runId: string | null, now: () => Date): DeliveryLedger {
    return new DeliveryLedger(this.repo, this.slots, this.caps, now, runId);
  }

  /** Insert one planned message and claim its caps; see the class comment. */
  plan(d: NewDelivery): Promise<PlanOutcome> {
    return this.planOne(d);
  }

  /**
   * Plan a page in one transaction: one commit instead of one per statement (MySQL fsyncs each commit). A
   * duplicate key fails only its statement, never the transaction, on both engines.
   *
   * The page is first planned with a few multi-row statements (planPage); when one of them meets a duplicate key,
   * some other planner took a key or slot meanwhile, and the page is planned again one message at a time, with the
   * unique keys deciding each step as before (docs/audiences.md §Planning a broadcast).
   */
  planMany(ds: NewDelivery[], opts?: PlanManyOptions): Promise<PlanOutcome[]> {
    if (ds.length === 0) return Promise.resolve([]);
    return this.repo.inTx(async (em) => {
      // Slots read ahead are decided on once: planning claims them in the book, so a transaction retried (a deadlock)
      // or a preload handed in twice reads the slots anew in the transaction.
      const preload = opts?.preload?.ds === ds && !this.usedPreloads.has(opts.preload) ? opts.preload : undefined;
      if (preload) this.usedPreloads.add(preload);
      const bulk = await this.repo.underSavepoint(em, () => this.planPage(ds, em, opts?.newKeys === true, preload));
      if (bulk) return bulk;
      const out: PlanOutcome[] = [];
      for (const d of ds) out.push(await this.planOne(d, em));
      return out;
    });
  }

  /**
   * The cap slots the customers of `ds` hold, read now on a connection of the pool rather than in the page's
   * transaction: the broadcast planner reads them with the page's customers, on MySQL while the ledger writes the page
   * before (docs/audiences.md §Slots read ahead). A slot taken meanwhile makes the page's slot insert meet the unique
   * key, and the page is planned again one message at a time, as after any stale read.
   */
  async preload(ds: NewDelivery[]): Promise<PagePreload> {
    const problems = ds.map(precheck);
    const book = new SlotBook(this.caps);
    await book.load(ds, problems, this.slots);
    return { ds, problems, book };
  }

  /**
   * The same decisions as planOne for every message of the page (decidePage), from one read of the keys and of the
   * slots the page's customers already hold (or the slots read ahead, `preload`); then the rows (planned, or skipped
   * with the reason) and the claimed slots are written with multi-row inserts. Any duplicate key on writing means the
   * reads are stale, and the caller redoes the page (planMany).
   */
  private async planPage(ds: NewDelivery[], em: LedgerTx, newKeys: boolean, preload?: PagePreload): Promise<PlanOutcome[]> {
    const now = this.now();
    const problems = preload?.problems ?? ds.map(precheck);
    // A book read ahead is used once: a page planned again after a failure reads the slots anew.
    const book = preload?.book ?? new SlotBook(this.caps);
    // Keys the caller knows are new are not looked up (docs/audiences.md §Planning a broadcast): if one is in the
    // ledger after all (another instance planning the same broadcast on a stale claim), its insert meets the unique
    // key and the page is planned again one message at a time, as after any stale read.
    const existing = newKeys ? new Map<string, number>() : await this.repo.idsOfKeys(ds, em);
    if (!preload) await book.load(ds, problems, this.slots, em);
    const decisions = decidePage(ds, problems, new Set(existing.keys()), book);

    // A decision is its own row to insert (planned, or skipped when it has a reason) and names its slots: no copy
    // of the page is made to write it (docs/audiences.md §Planning a broadcast).
    const rows = decisions.filter((x): x is NonNullable<Decision> => x !== null);
    const ids = await this.repo.insertMany(rows, this.runId, now, em);
    const idOf = (key: string): number => {
      const id = ids.get(key);
      if (id === undefined) throw new Error(`ledger row ${key} missing right after its insert`);
      return id;
    };
    const slots: SlotClaim[] = [];
    const holders: number[] = [];
    for (const x of rows) {
      if (x.claims.length === 0) continue;
      const deliveryId = idOf(x.key);
      for (const c of x.claims) {
        slots.push(c);
        holders.push(deliveryId);
      }
    }
    await this.slots.insertSlots(slots, holders, now, em);
    return decisions.map((x): PlanOutcome => {
      if (x === null) return { result: 'duplicate' };
      const id = idOf(x.key);
      return x.reason === null ? { result: 'planned', id } : { result: 'skipped', id, reason: x.reason };
    });
  }

  private async planOne(d: NewDelivery, em?: LedgerTx): Promise<PlanOutcome> {
    const now = this.now();
    const id = await this.repo.insertPlanned(d, this.runId, now, em);
    if (id === null) return { result: 'duplicate' };
    const problem = precheck(d);
    if (problem) return this.skip(id, problem, em);
    if (!isCustomerFacing(d)) return { result: 'planned', id };
    const daily = dailyCapPeriod(d.localDate, this.caps.perCustomerPerDay);
    if (!(await this.slots.claimSlot(d.externalUserId, daily, id, now, em))) {
      return this.skip(id, `${SkipReason.DailyCap}: 今天已安排更高优先级的消息 / a higher-priority message holds today's slot`, em);
    }
    if (d.channel === 'mass_task') {
      const quota = massQuotaPeriod(this.caps.massQuotaRule, d.localDate);
      if (!(await this.slots.claimSlot(d.externalUserId, quota, id, now, em))) {
        return this.skip(id, `${SkipReason.WecomQuota}: 本期企业群发额度已用完 (${this.caps.massQuotaRule}, ${quota.limit}/${quota.period})`, em);
      }
    }
    return { result: 'planned', id };
  }

  private async skip(id: number, reason: string, em?: LedgerTx): Promise<PlanOutcome> {
    // markSkipped also releases any slot the row took.
    await this.repo.markSkipped([id], reason, this.now(), em);
    return { result: 'skipped', id, reason };
  }
}

/**
 * A forecast (the care calendar's): the ledger's own page decisions (decidePage) for one day's pages, written
 * nowhere. Keys and slots are those in the ledger as it stands, plus what the forecast's earlier pages claimed, so a
 * higher-priority rule's message takes the customer's day slot before a lower one's, as when the day is planned.
 */
export class ForecastLedger implements PlanSink {
  private readonly seen = new Set<string>();
  private readonly book: SlotBook;

  constructor(
    private readonly repo: Pick<DeliveryRepository, 'idsOfKeys'>,
    private readonly slots: Pick<SendSlotRepository, 'slotsTaken'>,
    caps: CapSettings,
  ) {
    this.book = new SlotBook(caps);
  }

  /** Decide one message. */
  async plan(d: NewDelivery): Promise<PlanOutcome> {
    return (await this.planMany([d]))[0];
  }

  /** Decide a page as the ledger's planPage would, remembering its keys and slots for the next pages. */
  async planMany(ds: NewDelivery[]): Promise<PlanOutcome[]> {
    if (ds.length === 0) return [];
    const problems = ds.map(precheck);
    for (const key of (await this.repo.idsOfKeys(ds)).keys()) this.seen.add(key);
    await this.book.load(ds, problems, this.slots);
    return decidePage(ds, problems, this.seen, this.book).map((x): PlanOutcome => {
      if (x === null) return { result: 'duplicate' };
      return x.reason === null ? { result: 'planned', id: null } : { result: 'skipped', id: null, reason: x.reason };
    });
  }
}

/**
 * A dry run: the same decisions without writing. Rows already in the ledger count as duplicates; caps are
 * simulated in memory on top of the slots already claimed.
 */
export class DryRunLedger implements PlanSink {
  readonly planned: NewDelivery[] = [];
  private readonly used = new Map<string, number>();

  constructor(
    private readonly repo: DeliveryRepository,
    private readonly slots: SendSlotRepository,
    private readonly caps: CapSettings,
  ) {}

  /** Decide as the ledger would, remembering the outcome only in memory. */
  async plan(d: NewDelivery): Promise<PlanOutcome> {
    if (await this.repo.exists(d.source, d.externalUserId, d.occasion)) return { result: 'duplicate' };
    const problem = precheck(d);
    if (problem) return { result: 'skipped', id: null, reason: problem };
    if (isCustomerFacing(d)) {
      const periods = [dailyCapPeriod(d.localDate, this.caps.perCustomerPerDay)];
      if (d.channel === 'mass_task') periods.push(massQuotaPeriod(this.caps.massQuotaRule, d.localDate));
      for (const p of periods) {
        const key = `${d.externalUserId}|${p.scope}|${p.period}`;
        const used = (this.used.get(key) ?? (await this.slots.countSlots(d.externalUserId, p.scope, p.period)));
        if (used >= p.limit) return { result: 'skipped', id: null, reason: p.scope === 'daily' ? SkipReason.DailyCap : SkipReason.WecomQuota };
      }
      for (const p of periods) {
        const key = `${d.externalUserId}|${p.scope}|${p.period}`;
        this.used.set(key, (this.used.get(key) ?? (await this.slots.countSlots(d.externalUserId, p.scope, p.period))) + 1);
      }
    }
    this.planned.push(d);
    return { result: 'planned', id: null };
  }

  /** Decide several in order. */
  async planMany(ds: NewDelivery[]): Promise<PlanOutcome[]> {
    const out: PlanOutcome[] = [];
    for (const d of ds) out.push(await this.plan(d));
    return out;
  }
}
