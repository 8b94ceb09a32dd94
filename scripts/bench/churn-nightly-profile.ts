/**
 * Development only: one nightly churn pass over a kept churn-nightly database with the time of each statement of the
 * scorer's repository summed by its text (docs/churn-backtest.md §The nightly pass at a million customers).
 * DATABASE_URL as for churn-nightly-score.ts; prints a table of statements by total time.
 */
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/load.js';
import { buildContainer } from '../../src/container.js';
import { silentLogger } from '../../src/shared/logger.js';

const night = Number(process.env.BENCH_CHURN_NIGHT);
const c = await buildContainer(loadConfig(), silentLogger, { registry: new Registry() });
const db = c.db as unknown as { query: (sql: string, params?: unknown[]) => Promise<unknown[]>; exec: (sql: string, params?: unknown[]) => Promise<number>; tx: (fn: (em: unknown) => Promise<unknown>) => Promise<unknown> };
const spent = new Map<string, { n: number; ms: number; max: number }>();
const key = (sql: string) => sql.replace(/\?(,\?)+/g, '?…').replace(/\s+/g, ' ').slice(0, 150);
const add = (k: string, ms: number) => {
  const e = spent.get(k) ?? spent.set(k, { n: 0, ms: 0, max: 0 }).get(k)!;
  e.n++;
  e.ms += ms;
  e.max = Math.max(e.max, ms);
};
const q = db.query.bind(db);
db.query = async (sql, params) => {
  const t = performance.now();
  try {
    return await q(sql, params);
  } finally {
    add(key(sql), performance.now() - t);
  }
};
const ex = db.exec.bind(db);
db.exec = async (sql, params) => {
  const t = performance.now();
  try {
    return await ex(sql, params);
  } finally {
    add(key(sql), performance.now() - t);
  }
};
const tx = db.tx.bind(db);
db.tx = async (fn) => {
  const t = performance.now();
  try {
    return await tx(fn);
  } finally {
    add('(write transaction)', performance.now() - t);
  }
};
try {
  const t0 = performance.now();
  const counts = await c.churn.scoreAll({ now: new Date(night), isDryRun: false });
  const total = performance.now() - t0;
  process.stdout.write(`pass ${Math.round(total)} ms ${JSON.stringify(counts)}\n`);
  const sorted = [...spent].sort((a, b) => b[1].ms - a[1].ms);
  for (const [k, v] of sorted) process.stdout.write(`${String(Math.round(v.ms)).padStart(8)} ms ${String(v.n).padStart(5)}x max ${String(Math.round(v.max)).padStart(6)}  ${k}\n`);
  // One line for the bench rows: the pass and its five costliest statements (total ms, count, the statement's start).
  const top = sorted.slice(0, 5).map(([k, v]) => ({ sql: k.slice(0, 90), ms: Math.round(v.ms), n: v.n }));
  process.stdout.write(`ROW ${JSON.stringify({ passMs: Math.round(total), scored: counts.scored, warned: counts.warned, top })}\n`);
} finally {
  await c.close();
}
