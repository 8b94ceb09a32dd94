import { ledgerKey, type DeliveryRepository, type LedgerTx } from '../../persistence/repositories/delivery.repository.js';
import type { SendSlotRepository } from '../../persistence/repositories/send-slot.repository.js';
import { fitsByteLimit, WECOM_APP_TEXT_MAX_BYTES, WECOM_TEXT_MAX_BYTES } from '../../shared/template.js';
import { dailyCapPeriod, massQuotaPeriod, type CapPeriod, type MassQuotaRule } from './frequency-caps.js';
import { SkipReason, type NewDelivery } from './delivery.types.js';

/** What planning one message came to. */
export type PlanOutcome =
  | { result: 'planned'; id: number | null }
  | { result: 'skipped'; id: number | null; reason: string }
  /** Already in the ledger for this occasion: nothing new (a second run of the same occasion). */
  | { result: 'duplicate' };

/** Where planners put messages: the ledger, or a dry run that only reports. */
export interface PlanSink {
  plan(d: NewDelivery): Promise<PlanOutcome>;
  /** Plan several in order (one customer's higher-priority message first), as one unit of work. */
  planMany(ds: NewDelivery[]): Promise<PlanOutcome[]>;
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
  return null;
}

type Claim = { externalUserId: string; scope: string; period: string; n: number };
/** One message's decision in a page: null for a duplicate, else the row to write (planned when `reason` is null) and its slots. */
type Decision = { d: NewDelivery; key: string; reason: string | null; claims: Claim[] } | null;

/**
 * The cap slots customers hold, per cap period, as page planning reads and claims them. The ledger reads a fresh
 * book for each page; a forecast keeps one for a whole day, so what its earlier pages claimed counts for the later
 * ones exactly as the rows the real planner wrote would.
 */
export class SlotBook {
  private readonly taken = new Map<string, Set<number>>();
  private readonly periodCache = new Map<string, CapPeriod[]>();

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
    for (const [i, d] of ds.entries()) {
      for (const p of this.periodsOf(d, problems[i])) {
        if (this.taken.has(slotKey(d.externalUserId, p))) continue;
        const k = JSON.stringify([p.scope, p.period]);
        const entry = customersByPeriod.get(k) ?? { p, customers: [] };
        entry.customers.push(d.externalUserId);
        customersByPeriod.set(k, entry);
      }
    }
    for (const { p, customers } of customersByPeriod.values()) {
      const held = await slots.slotsTaken(customers, p.scope, p.period, em);
      for (const ext of new Set(customers)) this.taken.set(slotKey(ext, p), new Set(held.get(ext) ?? []));
    }
  }

  /** Claim the lowest free slot, as freeSlots(p.limit, used)[0] and claimSlot take it; null when the period is full. */
  claim(ext: string, p: CapPeriod): Claim | null {
    const used = this.taken.get(slotKey(ext, p))!;
    let n = 1;
    while (n <= p.limit && used.has(n)) n++;
    if (n > p.limit) return null;
    used.add(n);
    return { externalUserId: ext, scope: p.scope, period: p.period, n };
  }

  /** Give a claimed slot back (a message refused a later cap releases its earlier one, as markSkipped does). */
  release(c: Claim): void {
    this.taken.get(slotKey(c.externalUserId, c))!.delete(c.n);
  }
}

// Scope and period never contain NUL, so the key is unambiguous whatever the customer id holds.
const slotKey = (ext: string, p: { scope: string; period: string }) => `${p.scope}\u0000${p.period}\u0000${ext}`;

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
    const [dailyP, quotaP] = book.periodsOf(d, problem);
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
  planMany(ds: NewDelivery[]): Promise<PlanOutcome[]> {
    if (ds.length === 0) return Promise.resolve([]);
    return this.repo.inTx(async (em) => {
      const bulk = await this.repo.underSavepoint(em, () => this.planPage(ds, em));
      if (bulk) return bulk;
      const out: PlanOutcome[] = [];
      for (const d of ds) out.push(await this.planOne(d, em));
      return out;
    });
  }

  /**
   * The same decisions as planOne for every message of the page (decidePage), from one read of the keys and of the
   * slots the page's customers already hold; then the rows (planned, or skipped with the reason) and the claimed
   * slots are written with multi-row inserts. Any duplicate key on writing means the reads are stale, and the caller
   * redoes the page (planMany).
   */
  private async planPage(ds: NewDelivery[], em: LedgerTx): Promise<PlanOutcome[]> {
    const now = this.now();
    const problems = ds.map(precheck);
    const book = new SlotBook(this.caps);
    const existing = await this.repo.idsOfKeys(ds, em);
    await book.load(ds, problems, this.slots, em);
    const decisions = decidePage(ds, problems, new Set(existing.keys()), book);

    const rows = decisions.filter((x): x is NonNullable<Decision> => x !== null);
    await this.repo.insertMany(
      rows.map((x) => ({ d: x.d, status: x.reason === null ? ('planned' as const) : ('skipped' as const), reason: x.reason })),
      this.runId,
      now,
      em,
    );
    const ids = await this.repo.idsOfKeys(rows.map((x) => x.d), em);
    const idOf = (key: string): number => {
      const id = ids.get(key);
      if (id === undefined) throw new Error(`ledger row ${key} missing right after its insert`);
      return id;
    };
    await this.slots.insertSlots(rows.flatMap((x) => x.claims.map((c) => ({ ...c, deliveryId: idOf(x.key) }))), now, em);
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
