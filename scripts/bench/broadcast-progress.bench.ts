/**
 * `npm run bench -- broadcast-progress`: the broadcast detail page's progress (GET /api/v1/broadcasts/:id/progress:
 * each member's tasks and the delivery funnel) for one broadcast of BENCH_PROGRESS_RECIPIENTS ledger rows (default
 * 100,000) over 40 members, in a ledger that also holds BENCH_PROGRESS_OTHER_ROWS rows of other sources (default
 * 200,000). The rows are in the states a broadcast goes through (sent, waiting for 群发助手, skipped for a reason, over
 * quota, no longer a contact, withdrawn, refused), one task per member and 10,000 customers as the dispatcher makes
 * them. Times the whole answer and one member's part, BENCH_PROGRESS_RUNS runs each (default 5; median and range),
 * first with the ledger indexes as they were before migration 0034 (its down run), then after it; the answers of
 * both, and of both engines, must be equal. Timed as calls into BroadcastProgressService in this process (the read
 * goes to the SQLite reader thread as in the bot), not through HTTP. SQLite and MySQL (BENCH_MYSQL_URL, else
 * TEST_MYSQL_URL, else the local MariaDB); BENCH_PROGRESS_ENGINES=sqlite|mysql narrows it.
 */
import { createHash } from 'node:crypto';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { createDataSource, type DbEngine } from '../../src/persistence/data-source.js';
import { Db } from '../../src/persistence/db.js';
import { migrations } from '../../migrations/index.js';
import { DeliveryRepository } from '../../src/persistence/repositories/delivery.repository.js';
import { BroadcastProgressService } from '../../src/domain/broadcasts/broadcast-progress.service.js';
import { BroadcastProgress1795000000034 } from '../../migrations/0034-broadcast-progress.js';

const BENCH_MYSQL_URL = process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const MEMBERS = 40;
const TASK_SIZE = 10_000;
const BROADCAST = 'b0000000-0000-4000-8000-000000000001';

/** A deterministic state for the i-th row of a member's task: mostly sent, some waiting, some fallen out. */
function stateOf(member: number, i: number): { status: string; reason: string | null; inTask: boolean } {
  // Members 0-9 have not confirmed yet: all their rows wait in 群发助手.
  if (member < 10) return { status: 'submitted', reason: null, inTask: true };
  // Members 36-37 had their task withdrawn; 38 was refused by WeCom; 39 never got a sender-side task (skipped).
  if (member === 36 || member === 37) return { status: 'expired', reason: 'withdrawn', inTask: true };
  if (member === 38) return { status: 'failed', reason: 'errcode 41063: refused', inTask: false };
  const r = (i * 7919 + member * 104729) % 1000;
  if (r < 40) return { status: 'skipped', reason: r < 20 ? 'opted_out' : r < 30 ? 'cap_per_customer: 1 per day' : 'held_out', inTask: false };
  if (r < 60) return { status: 'failed', reason: 'not_friend: 15', inTask: true };
  if (r < 90) return { status: 'over_quota', reason: null, inTask: true };
  return { status: 'sent', reason: null, inTask: true };
}

async function plant(db: Db, recipients: number, otherRows: number): Promise<void> {
  const now = Date.UTC(2026, 9, 1, 2);
  const cols = '(source, external_user_id, occasion, kind, broadcast_id, rule_id, channel, priority, sender_userid, text, attachments, local_date, not_before, expires_at, status, reason, batch_id, msgid, created_at, updated_at)';
  const chunk = 500;
  const rows: unknown[][] = [];
  const flush = async () => {
    if (rows.length === 0) return;
    const ph = rows.map((r) => `(${r.map(() => '?').join(', ')})`).join(', ');
    await db.exec(`INSERT INTO deliveries ${cols} VALUES ${ph}`, rows.flat());
    rows.length = 0;
  };
  for (let n = 0; n < recipients; n++) {
    const member = n % MEMBERS;
    const i = Math.floor(n / MEMBERS);
    const s = stateOf(member, i);
    const task = Math.floor(i / TASK_SIZE);
    const batch = s.status === 'skipped' ? null : `t-${member}-${task}`;
    const sender = member === 39 && s.status === 'skipped' ? null : `staff${String(member).padStart(2, '0')}`;
    rows.push([`broadcast:${BROADCAST}`, `wm${String(n).padStart(10, '0')}`, 'broadcast', 'mass', BROADCAST, null, 'mass', 5, sender, '国庆快乐', '[]', '2026-10-01', now, now + 86_400_000, s.status, s.reason, batch, s.inTask ? `msg-${member}-${task}` : null, now, now + (i % 1000)]);
    if (rows.length >= chunk) await flush();
  }
  for (let n = 0; n < otherRows; n++) {
    const member = n % MEMBERS;
    rows.push([`care:rule-${n % 5}`, `wo${String(n).padStart(10, '0')}`, `birthday:${2000 + (n % 20)}`, 'care', null, `rule-${n % 5}`, 'mass', 3, `staff${String(member).padStart(2, '0')}`, '生日快乐', '[]', '2026-09-01', now, now + 86_400_000, 'sent', null, `c-${n % 997}`, `cm-${n % 997}`, now, now]);
    if (rows.length >= chunk) await flush();
  }
  await flush();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const digest = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 12);

async function timeIt(runs: number, fn: () => Promise<unknown>): Promise<{ ms: number; min: number; max: number; answer: unknown }> {
  const times: number[] = [];
  // One untimed call first (the SQLite reader thread starts, caches warm).
  let answer: unknown = await fn();
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    answer = await fn();
    times.push(performance.now() - t0);
  }
  return { ms: Math.round(median(times)), min: Math.round(Math.min(...times)), max: Math.round(Math.max(...times)), answer };
}

async function benchEngine(engine: DbEngine, recipients: number, otherRows: number, runs: number): Promise<Record<string, number | string>[]> {
  const target = await createTestDatabase(engine, { mysqlUrl: BENCH_MYSQL_URL, prefix: 'wecom_ops_bench_progress' });
  const ds = createDataSource({ databaseUrl: target.url, migrations });
  await ds.initialize();
  const db = new Db(ds);
  try {
    await ds.runMigrations({ transaction: 'each' });
    const t0 = performance.now();
    await plant(db, recipients, otherRows);
    if (engine === 'mysql') await db.query('ANALYZE TABLE deliveries');
    else await db.query('ANALYZE');
    process.stderr.write(`[bench] ${engine}: ${recipients} + ${otherRows} rows planted in ${Math.round((performance.now() - t0) / 1000)} s\n`);
    const repo = new DeliveryRepository(db);
    const service = new BroadcastProgressService({
      exists: async () => true,
      progressGroups: (id, sender) => repo.broadcastProgressGroups(id, sender),
      staffNames: async () => new Map(),
      reminders: async () => [],
    });
    const out: Record<string, number | string>[] = [];
    const measure = async (indexes: string) => {
      const all = await timeIt(runs, () => service.progress(BROADCAST));
      const one = await timeIt(runs, () => service.progress(BROADCAST, 'staff12'));
      const funnel = (all.answer as { funnel: Record<string, unknown> }).funnel;
      out.push({ engine, recipients, otherRows, indexes, progressMs: all.ms, progressMinMs: all.min, progressMaxMs: all.max, memberMs: one.ms, memberMaxMs: one.max, planned: Number(funnel.planned), confirmed: Number(funnel.confirmed), answer: digest(all.answer), memberAnswer: digest(one.answer), runs });
    };
    // Before 0034: its down run puts back the broadcast index as it was.
    const qr = ds.createQueryRunner();
    await new BroadcastProgress1795000000034().down(qr);
    await qr.release();
    await measure('before 0034');
    const qr2 = ds.createQueryRunner();
    await new BroadcastProgress1795000000034().up(qr2);
    await qr2.release();
    if (engine === 'mysql') await db.query('ANALYZE TABLE deliveries');
    else await db.query('ANALYZE');
    await measure('0034');
    return out;
  } finally {
    await db.close();
    await ds.destroy();
    await target.drop();
  }
}

/** Run the broadcast progress benchmark. */
export async function runBroadcastProgressBench(): Promise<Record<string, number | string>[]> {
  const recipients = Number(process.env.BENCH_PROGRESS_RECIPIENTS ?? 100_000);
  const otherRows = Number(process.env.BENCH_PROGRESS_OTHER_ROWS ?? 200_000);
  const runs = Number(process.env.BENCH_PROGRESS_RUNS ?? 5);
  const engines = (process.env.BENCH_PROGRESS_ENGINES?.split(',') as DbEngine[] | undefined) ?? (['sqlite', 'mysql'] as DbEngine[]);
  const out: Record<string, number | string>[] = [];
  for (const engine of engines) out.push(...(await benchEngine(engine, recipients, otherRows, runs)));
  return out;
}
