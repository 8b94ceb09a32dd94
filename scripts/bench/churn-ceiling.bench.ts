/**
 * `npm run bench -- churn-ceiling`: how far any churn scorer could get on the backtest's generated corp, so that the
 * scorer's figures can be read against what the corp allows (docs/churn-backtest.md §The ceiling).
 *
 * An observer is told, from the generator's truth, more than the product can ever see: every customer's hidden
 * processes and the day each began (unhappy, lapsed, orphaned by a resigned owner), and which unhappy customers will
 * recover. It is not told who of the lapsed and orphaned will delete (a coin the generator tosses with nothing to
 * show for it), nor the sudden and staff-removed deletions, which come without a sign by construction. It warns a
 * customer `lag` days after the onset of each process it warns about (one lag per process, or none; for the lapsed
 * and orphaned also a most age of the process at the warning), at the earliest on the first scored night, and only
 * while the relation exists. Every such policy is judged as the backtest judges the product's first warnings
 * (`judge`), and the bench reports the best recall reached at each precision. Nothing here reads the scorer: the
 * observer bounds it from the generator's side. It is the best of this family of observers, not a proof about every
 * scorer; what the family leaves out (a customer's type, their owner) tells nothing of who deletes in this corp.
 *
 * BENCH_CHURN_SEEDS: the seeds (comma-separated); by default the three development seeds and the five held-out ones.
 */
import { CHURN_WORLD_PARAMS, generateChurnWorld, type ChurnWorld, type CustomerTruth } from './churn-world.js';
import { HELD_OUT_SEED, WARM_UP_DAYS, WINDOW_DAYS, judge } from './churn-backtest.bench.js';

/** The last scored night of a whole replay (the backtest's nights 181 … 394), as the backtest derives it. */
const LAST_NIGHT = CHURN_WORLD_PARAMS.days - 1;
/** Development seeds 1, 2, 3, then the held-out seeds in the order they were spent (docs/churn-backtest.md). */
const DEFAULT_SEEDS = [1, 2, 3, 20261206, 4227949231, 3579486108, 642575883, HELD_OUT_SEED];
/** Lags tried per process, in days after its onset (a policy may also never warn for a process). */
const LAGS = Array.from({ length: 18 }, (_, i) => i * 7);
/**
 * For the lapsed and the orphaned, of whom only some delete: the most days after the onset a first warning may come.
 * Their deleters go within months, so a customer whose process began long before the first scored night is more
 * likely one who stays; an observer may leave them alone.
 */
const MAX_AGES = [Infinity, 30, 60, 90, 120];
const PROCESSES = ['unhappy', 'lapsed', 'owner_left'] as const;
type Process = (typeof PROCESSES)[number];
type Policy = Record<Process, { lag: number; maxAge: number } | null>;

/** The onset the observer may warn on, per process; an unhappy customer who recovers is never warned (generous). */
function onsets(t: CustomerTruth): Record<Process, number | null> {
  return { unhappy: t.unhappyFrom !== null && !t.recovered ? t.unhappyFrom : null, lapsed: t.lapsedFrom, owner_left: t.orphanedFrom };
}

/** The observer's first warning night for one customer under `policy`, or undefined. */
function warningNight(t: CustomerTruth, o: Record<Process, number | null>, policy: Policy): number | undefined {
  let w = Infinity;
  for (const p of PROCESSES) {
    const rule = policy[p];
    const from = o[p];
    if (rule === null || from === null) continue;
    const night = Math.max(WARM_UP_DAYS + 1, from + rule.lag);
    if (night - from <= rule.maxAge) w = Math.min(w, night);
  }
  // Only a relation that still exists can be warned about, on a scored night.
  if (w > LAST_NIGHT || (t.deletedDay !== null && t.deletedDay <= w)) return undefined;
  return w;
}

function warnings(world: ChurnWorld, policy: Policy): Map<string, number> {
  const first = new Map<string, number>();
  for (const t of world.truth) {
    const w = warningNight(t, onsets(t), policy);
    if (w !== undefined) first.set(t.externalUserId, w);
  }
  return first;
}

function* policies(): Generator<Policy> {
  const rules = (ages: number[]) => [null, ...LAGS.flatMap((lag) => ages.map((maxAge) => ({ lag, maxAge })))];
  for (const unhappy of rules([Infinity])) for (const lapsed of rules(MAX_AGES)) for (const owner_left of rules(MAX_AGES)) yield { unhappy, lapsed, owner_left };
}

interface Judged {
  policy: Policy;
  precision: number;
  recall: number;
  notice: number | null;
  warnings: number;
}

function ceilingOf(seed: number): Record<string, unknown> {
  const world = generateChurnWorld(seed);
  const people = world.truth.map((t) => ({ t, o: onsets(t), counted: t.deletedDay !== null && t.deletedDay > WARM_UP_DAYS + 1 && t.deletedDay <= LAST_NIGHT }));
  const deletions = people.filter((p) => p.counted).length;
  // Every policy is counted here the way `judge` counts (a warning is right when the deletion follows within the
  // window); the ones reported are then judged by `judge` itself, which also gives their notice.
  const counted: Array<{ policy: Policy; precision: number; recall: number }> = [];
  for (const policy of policies()) {
    let warned = 0;
    let right = 0;
    let caught = 0;
    for (const { t, o, counted: inRecall } of people) {
      const w = warningNight(t, o, policy);
      if (w === undefined) continue;
      warned++;
      if (t.deletedDay !== null && t.deletedDay > w && t.deletedDay <= w + WINDOW_DAYS) {
        right++;
        if (inRecall) caught++;
      }
    }
    if (warned) counted.push({ policy, precision: right / warned, recall: caught / deletions });
  }
  const judged = (policy: Policy): Judged => {
    const f = judge(world, warnings(world, policy), LAST_NIGHT);
    return { policy, precision: Number(f.precision), recall: Number(f.recall), notice: f.noticeMedianDays, warnings: Number(f.warnings) };
  };
  // The most recall at a precision, with the goal's notice of 14 days.
  const bestAt = (minPrecision: number): Judged | undefined => {
    for (const c of counted.filter((x) => x.precision >= minPrecision).sort((a, b) => b.recall - a.recall || b.precision - a.precision)) {
      const j = judged(c.policy);
      if ((j.notice ?? 0) >= 14) return j;
    }
    return undefined;
  };
  const f1 = (x: { precision: number; recall: number }) => (x.precision + x.recall ? (2 * x.precision * x.recall) / (x.precision + x.recall) : 0);
  const bestF1 = judged([...counted].sort((a, b) => f1(b) - f1(a))[0]!.policy);
  const mostRecall = judged([...counted].sort((a, b) => b.recall - a.recall || b.precision - a.precision)[0]!.policy);
  const show = (p: Policy) => Object.fromEntries(PROCESSES.map((k) => [k, p[k] === null ? null : `${p[k]!.lag}d${p[k]!.maxAge === Infinity ? '' : `≤${p[k]!.maxAge}d`}`]));
  const row = (j: Judged | undefined) => (j ? { precision: j.precision, recall: j.recall, noticeMedianDays: j.notice, warnings: j.warnings, policy: show(j.policy) } : null);
  const goal = counted.filter((x) => x.precision >= 0.6 && x.recall >= 0.6).some((x) => (judged(x.policy).notice ?? 0) >= 14);
  return {
    seed,
    heldOut: ![1, 2, 3].includes(seed),
    windowDays: WINDOW_DAYS,
    deletions,
    // Deletions that come without a sign (sudden, staff removed): no observer catches them but by chance.
    unsignalled: people.filter((p) => p.counted && (p.t.cause === 'sudden' || p.t.cause === 'staff_removed')).length,
    policies: counted.length,
    goalReachable: goal,
    maxRecall: row(mostRecall),
    maxF1: { ...row(bestF1), f1: Math.round(f1(bestF1) * 1000) / 1000 },
    maxRecallAtPrecision050: row(bestAt(0.5)),
    maxRecallAtPrecision060: row(bestAt(0.6)),
    maxRecallAtPrecision070: row(bestAt(0.7)),
  };
}

export async function runChurnCeilingBench(): Promise<Record<string, unknown>[]> {
  const seeds = process.env.BENCH_CHURN_SEEDS ? process.env.BENCH_CHURN_SEEDS.split(',').map(Number) : DEFAULT_SEEDS;
  const rows: Record<string, unknown>[] = [];
  for (const seed of seeds) {
    const started = Date.now();
    const r = ceilingOf(seed);
    const at60 = r.maxRecallAtPrecision060 as { recall: number } | null;
    process.stderr.write(`churn-ceiling seed ${seed}: deletions ${String(r.deletions)}, max recall at precision ≥ 0.6: ${at60 ? at60.recall : 'none'} (${Date.now() - started} ms)\n`);
    rows.push({ ...r, ms: Date.now() - started });
  }
  return rows;
}
