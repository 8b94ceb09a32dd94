// Offline tuning of the churn-risk scorer on development seeds (docs/churn-backtest.md §Tuning on development seeds).
//
// A backtest run with BENCH_CHURN_SIGNALS=<file> writes every night's signals as the product's repository read them.
// This script scores those nights again with the product's own scoreChurnRisk (as it is in the working tree) and
// judges the first warnings and the rises exactly as the bench does, so a change to the weights or to the shape of a
// signal can be tried in seconds instead of a replay. It never reads the held-out seed's signals: it refuses to.
//
//   node --import tsx scripts/bench/churn-tune.ts /tmp/churn/sig-1.jsonl:1 /tmp/churn/sig-2.jsonl:2
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { AFTER_LEAVING, DEFAULT_RISK_THRESHOLD, ORDER_REGULARITY, RISK_POINTS, scoreChurnRisk } from '../../src/domain/churn/churn-risk.js';
import type { ChurnSignals } from '../../src/domain/churn/churn-risk.types.js';
import { CHURN_WORLD_PARAMS, generateChurnWorld } from './churn-world.js';
import { diagnose, HELD_OUT_SEED, judge, judgeRises } from './churn-backtest.bench.js';

/** Seeds that were, or are to be, held out: tuning on them would spend them (docs/churn-backtest.md). */
const HELD_OUT = new Set([20261206, 4227949231, 3579486108, 642575883, 1916097056, HELD_OUT_SEED]);

async function tune(file: string, seed: number, threshold: number): Promise<Record<string, unknown>> {
  if (HELD_OUT.has(seed)) throw new Error(`seed ${seed} is held out: tune on development seeds only`);
  const world = generateChurnWorld(seed, CHURN_WORLD_PARAMS);
  const firstWarning = new Map<string, number>();
  const firstReason = new Map<string, string>();
  const rises = new Map<string, number[]>();
  let above = new Set<string>();
  let tonight = new Set<string>();
  let night = -1;
  let lastNight = 0;
  const close = () => {
    above = tonight;
    tonight = new Set();
  };
  for await (const line of createInterface({ input: createReadStream(file) })) {
    if (!line) continue;
    const { day, now, id, s } = JSON.parse(line) as { day: number; now: number; id: string; s: ChurnSignals };
    if (day !== night) {
      if (night >= 0) close();
      night = day;
      lastNight = day;
    }
    const { score, reasons } = scoreChurnRisk(s, now);
    if (score < threshold) continue;
    tonight.add(id);
    if (!firstWarning.has(id)) {
      firstWarning.set(id, day);
      firstReason.set(id, reasons[0]?.code ?? 'none');
    }
    if (!above.has(id)) (rises.get(id) ?? rises.set(id, []).get(id)!).push(day);
  }
  return { seed, threshold, ...judge(world, firstWarning, lastNight), ...judgeRises(world, rises, lastNight), ...diagnose(world, firstWarning, firstReason) };
}

const threshold = Number(process.env.CHURN_TUNE_THRESHOLD ?? DEFAULT_RISK_THRESHOLD);
// Points to try instead of the product's, e.g. CHURN_TUNE_POINTS='{"complaint":40}': the weights are plain data.
if (process.env.CHURN_TUNE_POINTS) Object.assign(RISK_POINTS, JSON.parse(process.env.CHURN_TUNE_POINTS) as Partial<typeof RISK_POINTS>);
// The regularity signal's shape, e.g. CHURN_TUNE_REGULARITY='{"from":2.5}'.
if (process.env.CHURN_TUNE_REGULARITY) Object.assign(ORDER_REGULARITY, JSON.parse(process.env.CHURN_TUNE_REGULARITY) as Partial<typeof ORDER_REGULARITY>);
// What a resigned owner's customer did since the leaving, e.g. CHURN_TUNE_AFTER_LEAVING='{"engagedFrom":3}'.
if (process.env.CHURN_TUNE_AFTER_LEAVING) Object.assign(AFTER_LEAVING, JSON.parse(process.env.CHURN_TUNE_AFTER_LEAVING) as Partial<typeof AFTER_LEAVING>);
for (const arg of process.argv.slice(2)) {
  const [file, seed] = arg.split(':');
  const row = await tune(file!, Number(seed), threshold);
  process.stdout.write(`${JSON.stringify(row)}\n`);
}
