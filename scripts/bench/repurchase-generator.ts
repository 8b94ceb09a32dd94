/**
 * Generated order histories with known per-customer cycles and noise, for the repurchase backtest
 * (docs/repurchase.md §Backtest). Written apart from the predictor and knowing nothing of it: its parameters below
 * were fixed before the predictor was run on any of its output, and are not to be changed to suit it.
 *
 * Each customer buys one kind of product whose cycle the corp does not know: a hidden kind gives the base cycle, the
 * customer's own cycle is that base times a log-normal factor, and every interval is the own cycle times a log-normal
 * noise, sometimes doubled (a skipped purchase). Customers start at random over the two years before the cutoff, some
 * stop buying for good (each interval may be their last), and what is known is their orders up to the cutoff; the
 * truth is their first order after it.
 */
import { addDays } from '../../src/shared/dates.js';
import { createPrng } from '../../src/shared/prng.js';

/** The generator's parameters: fixed. */
export const GENERATOR = Object.freeze({
  customers: 20_000,
  /** The cutoff: histories end the day before, the predictions are made on it. */
  cutoff: '2026-06-30',
  /** First orders fall uniformly in this many days before the cutoff. */
  startWindowDays: 720,
  kinds: [
    // share of customers, base cycle (days), spread of customers' own cycles and of each interval (log-normal σ), yuan per order
    { name: 'weekly-fresh', share: 0.2, cycleDays: 9, customerSigma: 0.25, intervalSigma: 0.3, yuan: 60 },
    { name: 'monthly-care', share: 0.35, cycleDays: 30, customerSigma: 0.3, intervalSigma: 0.25, yuan: 180 },
    { name: 'seasonal', share: 0.25, cycleDays: 85, customerSigma: 0.3, intervalSigma: 0.3, yuan: 420 },
    { name: 'irregular', share: 0.2, cycleDays: 50, customerSigma: 0.6, intervalSigma: 0.6, yuan: 250 },
  ],
  /** Chance that an interval is doubled (a purchase skipped or bought elsewhere). */
  skipChance: 0.1,
  /** Chance that a customer stops buying after any order. */
  stopChance: 0.04,
});

/** One generated customer. */
export interface GeneratedCustomer {
  id: string;
  kind: string;
  /** The customer's own (hidden) cycle in days. */
  cycleDays: number;
  /** Orders before the cutoff, oldest first: local date and amount in cents. */
  history: { on: string; cents: number }[];
  /** The first order on or after the cutoff, null when the customer stopped buying. */
  next: string | null;
}

/** A corp's customers from `seed`; the same seed gives the same corp. */
export function generateHistories(seed: number, customers: number = GENERATOR.customers): GeneratedCustomer[] {
  const rand = createPrng(seed);
  const normal = (): number => {
    // Box–Muller.
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const out: GeneratedCustomer[] = [];
  for (let i = 0; i < customers; i++) {
    let pick = rand();
    const kind = GENERATOR.kinds.find((k) => (pick -= k.share) < 0) ?? GENERATOR.kinds[GENERATOR.kinds.length - 1];
    const cycleDays = kind.cycleDays * Math.exp(kind.customerSigma * normal());
    let day = -Math.floor(rand() * GENERATOR.startWindowDays) - 1;
    const history: { on: string; cents: number }[] = [];
    let next: string | null = null;
    for (;;) {
      const on = addDays(GENERATOR.cutoff, day);
      if (day >= 0) {
        next = on;
        break;
      }
      history.push({ on, cents: Math.round(kind.yuan * 100 * Math.exp(0.3 * normal())) });
      if (rand() < GENERATOR.stopChance) break;
      let interval = cycleDays * Math.exp(kind.intervalSigma * normal());
      if (rand() < GENERATOR.skipChance) interval *= 2;
      day += Math.max(1, Math.round(interval));
    }
    out.push({ id: `bt${String(i).padStart(6, '0')}`, kind: kind.name, cycleDays, history, next });
  }
  return out;
}
