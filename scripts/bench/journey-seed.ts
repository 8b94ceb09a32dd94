/**
 * The journeys bench's generator, in its own process: bulk SQL through the engine's driver, sharing no code with the
 * journeys' tick it bounds (docs/benchmarks.md §Journeys).
 *
 *   journey-seed.ts seed <engine> <customers> <journeyId>…  staff0…staff49, the customers and their relations, and
 *       one membership per customer in every journey: the first journey's due now, the others' in the days ahead.
 *   journey-seed.ts reset <engine> <journeyId>  the first journey's members back at step 0 and due now, with the
 *       step runs, the ledger and its batches and slots emptied, so each run advances the same 50,000. With
 *       BENCH_JOURNEY_IDLE=1 they are due in 30 days instead: nothing is due, for the bot's memory without the tick's work.
 *
 * DATABASE_URL names the database. Prints `RESULT {"ms":…}`.
 */
import { insertArchiveCustomers, insertMemberships } from '../../test/helpers/journey-corp.js';
import type { DbEngine } from '../../src/persistence/data-source.js';
import { withDriver } from './bench-db.js';

const [mode, engine, ...rest] = process.argv.slice(2) as [string, DbEngine, ...string[]];
const url = process.env.DATABASE_URL!;
const STAFF = Array.from({ length: 50 }, (_, i) => `staff${i}`);
const t0 = Date.now();

await withDriver(engine, url, async (q) => {
  const tx = async (fn: () => Promise<void>) => {
    await q(engine === 'sqlite' ? 'BEGIN' : 'START TRANSACTION');
    await fn();
    await q('COMMIT');
  };
  if (mode === 'seed') {
    const [customersArg, ...journeyIds] = rest;
    const n = Number(customersArg);
    const now = Date.now();
    await tx(async () => {
      for (const s of STAFF) await q("INSERT INTO staff (userid, name, status, updated_at) VALUES (?, ?, 'active', 0)", [s, `员工${s.slice(5)}`]);
      await insertArchiveCustomers(q, n, STAFF, now - 30 * 86_400_000);
    });
    for (const [j, journeyId] of journeyIds.entries()) {
      // The first journey's members are due now; each other journey's are due a day later than the one before.
      const due = j === 0 ? now - 30_000 : now + j * 86_400_000;
      await tx(() => insertMemberships(q, { journeyId, from: 0, to: n, staff: STAFF, enteredAtMs: now - 60_000, dueAtMs: due }));
    }
  } else if (mode === 'reset') {
    const [journeyId] = rest;
    await tx(async () => {
      for (const t of ['journey_step_runs', 'send_slots', 'delivery_batches', 'deliveries']) await q(`DELETE FROM ${t}`);
      await q("UPDATE journey_memberships SET status = 'active', current_step = 0, step_since = entered_at, next_due_at = ?, ended_at = NULL WHERE journey_id = ?", [process.env.BENCH_JOURNEY_IDLE === '1' ? Date.now() + 30 * 86_400_000 : Date.now() - 30_000, journeyId]);
    });
  } else throw new Error(`unknown mode ${mode}`);
});
process.stdout.write(`RESULT ${JSON.stringify({ ms: Date.now() - t0 })}\n`);
