/**
 * `npm run bench -- <name>`: runs a benchmark, prints its figures and appends them to bench/results.jsonl with the
 * machine facts (cores, Node version), the commit it ran and BENCH_NOTE. Benchmarks never run in `npm test`; no test
 * asserts on speed.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';

const benches: Record<string, () => Promise<unknown>> = {
  ingress: async () => (await import('./ingress.bench.js')).runIngressBench(),
  client: async () => (await import('./client.bench.js')).runClientBench(),
  care: async () => (await import('./care.bench.js')).runCareBench(),
  'care-calendar': async () => (await import('./care-calendar.bench.js')).runCareCalendarBench(),
  welcome: async () => (await import('./welcome.bench.js')).runWelcomeBench(),
  surge: async () => (await import('./surge.bench.js')).runSurgeBench(),
  claim: async () => (await import('./claim.bench.js')).runClaimBench(),
  audience: async () => (await import('./audience.bench.js')).runAudienceBench(),
  console: async () => (await import('./console.bench.js')).runConsoleBench(),
  'console-first': async () => (await import('./console-first.bench.js')).runConsoleFirstBench(),
  analytics: async () => (await import('./analytics.bench.js')).runAnalyticsBench(),
  'broadcast-progress': async () => (await import('./broadcast-progress.bench.js')).runBroadcastProgressBench(),
  'ledger-writes': async () => (await import('./ledger-writes.bench.js')).runLedgerWritesBench(),
  'survey-pages': async () => (await import('./survey-pages.bench.js')).runSurveyPagesBench(),
  'repurchase-backtest': async () => (await import('./repurchase-backtest.bench.js')).runRepurchaseBacktest(),
  'churn-backtest': async () => (await import('./churn-backtest.bench.js')).runChurnBacktestBench(),
  'churn-ceiling': async () => (await import('./churn-ceiling.bench.js')).runChurnCeilingBench(),
  'churn-nightly': async () => (await import('./churn-nightly.bench.js')).runChurnNightlyBench(),
  'group-sync': async () => (await import('./group-sync.bench.js')).runGroupSyncBench(),
  journeys: async () => (await import('./journeys.bench.js')).runJourneysBench(),
};

const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (names.length === 0 || names.some((n) => !benches[n])) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [...]\n`);
  process.exit(2);
}
const out = resolve(import.meta.dirname, '../../bench/results.jsonl');
mkdirSync(resolve(out, '..'), { recursive: true });
// BENCH_NOTE says what a run is (which build, what it is compared with); the code is the commit checked out, with
// `+changes` when the tree differs from it (a run of uncommitted work).
const code = (() => {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return undefined;
  }
})();
const env = { at: new Date().toISOString(), node: process.version, cores: cpus().length, memGb: Math.round(totalmem() / 2 ** 30), code, ...(process.env.BENCH_NOTE ? { note: process.env.BENCH_NOTE } : {}) };
for (const name of names) {
  const result = await benches[name]();
  const rows = Array.isArray(result) ? result : [result];
  for (const row of rows) {
    const line = { ...env, bench: name, ...(row as object) };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    if (process.env.BENCH_NO_APPEND !== '1') appendFileSync(out, `${JSON.stringify(line)}\n`);
  }
  if (Array.isArray(result)) console.table(result);
}
