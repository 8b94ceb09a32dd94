/**
 * `npm run bench -- ledger-writes`: what the ledger's indexes cost the dispatch and results path (docs/analytics.md
 * §Size), with the indexes as before migration 0039 (its down run) and after it, alternating, BENCH_LEDGER_RUNS times
 * each (default 3). Each run plants BENCH_LEDGER_BATCHES (20) mass-send tasks of BENCH_LEDGER_RECIPIENTS (500) planned
 * rows in a ledger of BENCH_LEDGER_ROWS (300,000) sent rows of earlier tasks, then takes them through the product's
 * own statements, timed per step over all the tasks: opening the batches (planned → submitting, DeliveryBatchRepository
 * .openBatch), WeCom's acceptance (→ submitted, with 1 % on its fail list), the results poll (each recipient's result,
 * DeliveryRepository.applyResults: 70 % sent, 15 % no longer a contact, 5 % over quota, 10 % still waiting) and the
 * expiry of the rest. Since 0039 each status change also moves the row's entry in (batch_id, status, sent_at, reason).
 * Figures are milliseconds per step (median run, range), and on MySQL the plan of applyResults' read of the task's
 * waiting rows. Called in this process, not through the bot. SQLite and MySQL (BENCH_MYSQL_URL, else TEST_MYSQL_URL,
 * else the local MariaDB); BENCH_LEDGER_ENGINES=sqlite|mysql narrows it. A benchmark: run it under
 * `flock /tmp/bench.lock`.
 */
import { createTestDatabase } from '../../test/helpers/databases.js';
import { createDataSource, type DbEngine } from '../../src/persistence/data-source.js';
import { Db } from '../../src/persistence/db.js';
import { migrations } from '../../migrations/index.js';
import { DeliveryRepository } from '../../src/persistence/repositories/delivery.repository.js';
import { DeliveryBatchRepository } from '../../src/persistence/repositories/delivery-batch.repository.js';
import { StaffRollCovering1795000000039 } from '../../migrations/0039-staff-roll-covering.js';
import type { RecipientResult } from '../../src/domain/delivery/delivery.types.js';

const BENCH_MYSQL_URL = process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const DAY = 86_400_000;
const COLS = '(source, external_user_id, occasion, kind, rule_id, channel, priority, sender_userid, text, attachments, local_date, not_before, expires_at, status, reason, batch_id, msgid, created_at, updated_at, submitted_at, sent_at)';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const customer = (i: number) => `wm${String(i).padStart(10, '0')}`;

async function insertRows(db: Db, rows: unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    await db.exec(`INSERT INTO deliveries ${COLS} VALUES ${chunk.map((r) => `(${r.map(() => '?').join(', ')})`).join(', ')}`, chunk.flat());
  }
}

/** The earlier tasks: `n` sent rows in tasks of 500, a customer's rows spread over the tasks as a real ledger's are. */
async function plantHistory(db: Db, n: number, customers: number, t0: number): Promise<void> {
  const rows: unknown[][] = [];
  for (let k = 0; k < n; k++) {
    const task = Math.floor(k / 500);
    const at = t0 - (n - k) * 1000;
    rows.push([`care:rule-${task % 7}`, customer((k * 7919) % customers), `day:${task}`, 'care', `rule-${task % 7}`, 'mass_task', 3, `staff${task % 40}`, '生日快乐', null, '2026-11-01', at, at + 3 * DAY, 'sent', null, `h${String(task).padStart(7, '0')}-0000-4000-8000-000000000000`, `hmsg-${task}`, at, at, at, at + 60_000]);
    if (rows.length >= 10_000) await insertRows(db, rows.splice(0));
  }
  await insertRows(db, rows);
}

/** One run: plant the planned rows, then time each step of the path over every task. */
async function run(db: Db, round: number, batches: number, recipients: number, customers: number, t0: number): Promise<Record<string, number>> {
  const source = `care:bench-${round}`;
  const planned: unknown[][] = [];
  for (let b = 0; b < batches; b++) {
    for (let r = 0; r < recipients; r++) {
      const i = (round * 104_729 + b * recipients + r) % customers;
      planned.push([source, customer(i), 'day:2026-12-06', 'care', 'rule-bench', 'mass_task', 3, `staff${b}`, '您好', null, '2026-12-06', t0, t0 + 3 * DAY, 'planned', null, null, null, t0, t0, null, null]);
    }
  }
  await insertRows(db, planned);
  const ids = (await db.query<{ id: number | string; sender_userid: string; external_user_id: string }>('SELECT id, sender_userid, external_user_id FROM deliveries WHERE source = ? ORDER BY id', [source])).map((r) => ({ id: Number(r.id), sender: r.sender_userid, ext: r.external_user_id }));
  const batchRepo = new DeliveryBatchRepository(db);
  const repo = new DeliveryRepository(db);
  const now = new Date(t0 + 60_000);
  const out: Record<string, number> = {};
  const timed = async (step: string, fn: () => Promise<unknown>) => {
    const s = performance.now();
    await fn();
    out[step] = Math.round((performance.now() - s) * 10) / 10;
  };
  const tasks: { id: string; exts: string[] }[] = [];
  await timed('openMs', async () => {
    for (let b = 0; b < batches; b++) {
      const mine = ids.filter((x) => x.sender === `staff${b}`);
      const opened = await batchRepo.openBatch({ channel: 'mass_task', senderUserid: `staff${b}`, text: '您好', attachments: [], instanceId: 'bench' }, mine.map((x) => x.id), now);
      if (!opened) throw new Error('a batch found no planned rows');
      tasks.push({ id: opened.batch.id, exts: mine.map((x) => x.ext) });
    }
  });
  await timed('submitMs', async () => {
    for (const [k, t] of tasks.entries()) await batchRepo.markBatchSubmitted(t.id, `msg-${round}-${k}`, t.exts.filter((_, i) => i % 100 === 0), now, new Date(now.getTime() + 60_000));
  });
  let changed = 0;
  await timed('resultsMs', async () => {
    for (const t of tasks) {
      const results: RecipientResult[] = t.exts.map((ext, i) => {
        const x = (i * 37) % 100;
        return { externalUserId: ext, status: x < 70 ? 1 : x < 85 ? 2 : x < 90 ? 3 : 0, sentAt: new Date(now.getTime() + i * 1000) };
      });
      changed += await repo.applyResults(t.id, results, now);
    }
  });
  let expired = 0;
  await timed('expireMs', async () => {
    for (const t of tasks) expired += await repo.expireBatch(t.id, 'not_confirmed: 3 days', now);
  });
  return { ...out, resultsChanged: changed, expired };
}

async function benchEngine(engine: DbEngine): Promise<Record<string, unknown>[]> {
  const history = Number(process.env.BENCH_LEDGER_ROWS ?? 300_000);
  const batches = Number(process.env.BENCH_LEDGER_BATCHES ?? 20);
  const recipients = Number(process.env.BENCH_LEDGER_RECIPIENTS ?? 500);
  const runs = Number(process.env.BENCH_LEDGER_RUNS ?? 3);
  const customers = Math.max(history / 2, batches * recipients * 2);
  const target = await createTestDatabase(engine, { mysqlUrl: BENCH_MYSQL_URL, prefix: 'wecom_ops_bench_ledger' });
  const ds = createDataSource({ databaseUrl: target.url, migrations });
  await ds.initialize();
  const db = new Db(ds);
  try {
    await ds.runMigrations({ transaction: 'each' });
    const t0 = Date.UTC(2026, 11, 6, 2);
    const s = performance.now();
    await plantHistory(db, history, customers, t0);
    process.stderr.write(`[bench] ${engine}: ${history} ledger rows planted in ${Math.round((performance.now() - s) / 1000)} s\n`);
    const m = new StaffRollCovering1795000000039();
    let up = true;
    const set = async (want: boolean) => {
      if (want === up) return;
      const qr = ds.createQueryRunner();
      await (want ? m.up(qr) : m.down(qr));
      await qr.release();
      up = want;
      await db.query(engine === 'mysql' ? 'ANALYZE TABLE deliveries, delivery_batches' : 'ANALYZE');
    };
    const byVariant: Record<string, Record<string, number>[]> = { 'before 0039': [], '0039': [] };
    const plans: Record<string, string> = {};
    let round = 0;
    for (let r = 0; r < runs; r++) {
      for (const variant of ['before 0039', '0039'] as const) {
        await set(variant === '0039');
        const x = await run(db, round++, batches, recipients, customers, t0);
        process.stderr.write(`[bench] ${engine} ${variant} run ${r + 1}/${runs}: ${JSON.stringify(x)}\n`);
        byVariant[variant].push(x);
        if (engine === 'mysql' && !plans[variant]) {
          const [task] = await db.query<{ batch_id: string }>("SELECT batch_id FROM deliveries WHERE source = ? AND batch_id IS NOT NULL LIMIT 1", [`care:bench-${round - 1}`]);
          const plan = await db.query<Record<string, unknown>>("EXPLAIN SELECT id, external_user_id FROM deliveries WHERE batch_id = ? AND status = 'submitted'", [task.batch_id]);
          plans[variant] = plan.map((p) => `${String(p.type)} ${String(p.key)} rows=${String(p.rows)}`).join('; ');
        }
      }
    }
    return Object.entries(byVariant).map(([indexes, xs]) => {
      const row: Record<string, unknown> = { engine, indexes, history, batches, recipients, runs };
      for (const k of ['openMs', 'submitMs', 'resultsMs', 'expireMs']) {
        row[k] = median(xs.map((x) => x[k]));
        row[`${k}Spread`] = `${Math.min(...xs.map((x) => x[k]))}–${Math.max(...xs.map((x) => x[k]))}`;
      }
      row.resultsChanged = xs[0].resultsChanged;
      row.expired = xs[0].expired;
      if (plans[indexes]) row.resultsPlan = plans[indexes];
      return row;
    });
  } finally {
    await db.close();
    await ds.destroy();
    await target.drop();
  }
}

/** Run the ledger write benchmark: one row per engine and index variant. */
export async function runLedgerWritesBench(): Promise<Record<string, unknown>[]> {
  const engines = (process.env.BENCH_LEDGER_ENGINES?.split(',') as DbEngine[] | undefined) ?? (['sqlite', 'mysql'] as DbEngine[]);
  const out: Record<string, unknown>[] = [];
  for (const engine of engines) out.push(...(await benchEngine(engine)));
  return out;
}
