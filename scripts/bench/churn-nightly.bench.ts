/**
 * `npm run bench -- churn-nightly`: the nightly churn-risk pass (docs/churn.md §The nightly job) over a large corp,
 * its time and peak RSS (docs/churn-backtest.md §The nightly pass at a million customers).
 *
 * Per engine, a database gets the audience bench's corp (scripts/bench/audience-corp.ts: BENCH_CHURN_CUSTOMERS
 * customers, default 1,000,000, about 1.35 relations each, orders for 40 %) and on top of it what the churn signals
 * read: a regular buyer's rhythm for 15 % of the customers (6 … 20 orders about a month apart, so the pass reads their
 * gaps), the customer's own WeChat-KF messages for 30 %, staff notes for 20 % (1 in 50 of them a complaint), a survey
 * score for 10 %, two broadcasts to everyone in the last 60 days, and two of the 50 members resigned. Then, in a
 * process of its own (scripts/bench/churn-nightly-score.ts, so the peak RSS is the pass's), two passes one night apart:
 * the first, where every customer at risk crosses and gets a warning, and the next night's, where few do.
 *
 * BENCH_CHURN_NIGHTLY_KEEP=1 keeps the seeded database (a fixed name per engine and size) for the next run, so the
 * seeding (minutes) and the passes can be run as separate commands; BENCH_CHURN_NIGHTLY_SEED_ONLY=1 seeds and stops.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/databases.js';
import type { DbEngine } from '../../src/persistence/data-source.js';
import { createPrng } from '../../src/shared/prng.js';
import { customerId, mysqlWriter, seedCorp, sqliteWriter, STAFF } from './audience-corp.js';
import { keptDatabase, migrate, resetKept, withDriver } from './bench-db.js';

const DAY = 86_400_000;
/** The night scored: 02:00 Asia/Shanghai on 2026-01-16 (the audience corp's customers are added 2023-01 … 2026-01). */
export const NIGHT = Date.parse('2026-01-15T18:00:00Z');
const KF_TEXTS = ['请问还有货吗', '什么时候发货', '好的谢谢', '这个怎么用', '有优惠吗'];
const NOTE_TEXTS = ['电话回访，客户满意', '客户咨询新品', '约了下周到店', '客户说最近比较忙', '已发送使用说明'];
const COMPLAINT = '客户投诉发货太慢，很失望';

/** Add what the churn signals read to a seeded audience corp. */
async function seedChurnExtras(engine: DbEngine, url: string, n: number, log: (s: string) => void): Promise<Record<string, number>> {
  const w = engine === 'sqlite' ? await sqliteWriter(url.slice('sqlite:'.length)) : await mysqlWriter(url);
  const rand = createPrng(20261207);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const counts = { orders: 0, kf: 0, notes: 0, answers: 0, deliveries: 0 };
  const t0 = Date.now();
  try {
    const batch = 20_000;
    const broadcasts = [NIGHT - 40 * DAY, NIGHT - 12 * DAY];
    for (let start = 0; start < n; start += batch) {
      const ords: unknown[][] = [];
      const kf: unknown[][] = [];
      const notes: unknown[][] = [];
      const answers: unknown[][] = [];
      const dels: unknown[][] = [];
      for (let i = start; i < Math.min(n, start + batch); i++) {
        const id = customerId(i);
        if (rand() < 0.15) {
          // A regular buyer: about monthly, the last order 0 … 90 days ago.
          const count = 6 + Math.floor(rand() * 15);
          const gap = 20 + rand() * 25;
          let at = NIGHT - Math.floor(rand() * 90 * DAY);
          for (let k = 0; k < count; k++) {
            ords.push([`c${String(i).padStart(10, "0")}-${String(k).padStart(2, "0")}-`.padEnd(36, "0"), id, `churn-${i}-${k}`, 5000 + Math.floor(rand() * 20000), at, at]);
            at -= Math.round(gap * (0.8 + rand() * 0.4) * DAY);
          }
        }
        if (rand() < 0.3) {
          for (let k = 0, m = 1 + Math.floor(rand() * 6); k < m; k++) {
            const at = NIGHT - Math.floor(rand() * 180 * DAY);
            const msgid = `kfmsg-${i}-${k}`;
            kf.push([id, null, 'kf/text', `微信客服：${pick(KF_TEXTS)}`, JSON.stringify({ msgid, origin: 3, msgtype: 'text' }), 'kf', msgid, at, at]);
          }
        }
        if (rand() < 0.2) {
          for (let k = 0, m = 1 + Math.floor(rand() * 4); k < m; k++) {
            const at = NIGHT - Math.floor(rand() * 180 * DAY);
            notes.push([`n${String(i).padStart(10, "0")}-${k}-`.padEnd(36, "0"), id, `staff${i % STAFF}`, rand() < 0.02 ? COMPLAINT : pick(NOTE_TEXTS), null, null, at, 'staff']);
          }
        }
        if (rand() < 0.1) {
          const at = NIGHT - Math.floor(rand() * 90 * DAY);
          answers.push([1, 0, id, '2026-Q1', 'nps', Math.floor(rand() * 11), 'link', `churnnightly${String(i).padStart(10, '0')}`, at, at]);
        }
        for (const [b, sentAt] of broadcasts.entries()) {
          dels.push([`broadcast:churn-nightly-${b}`, id, `b${b}`, 'broadcast', `churn-nightly-${b}`, 'mass', `staff${i % STAFF}`, '2026-01-01', sentAt, sentAt + 7 * DAY, 'sent', sentAt, sentAt, sentAt]);
        }
      }
      await w.begin();
      if (ords.length) await w.insert('orders', ['id', 'external_user_id', 'order_no', 'amount_cents', 'ordered_at', 'created_at'], ords);
      if (kf.length) await w.insert('timeline_entries', ['external_user_id', 'staff_userid', 'kind', 'summary', 'data', 'source', 'source_id', 'occurred_at', 'created_at'], kf);
      if (notes.length) await w.insert('notes', ['id', 'external_user_id', 'userid', 'text', 'due_date', 'done_at', 'created_at', 'source'], notes);
      if (answers.length) await w.insert('survey_answers', ['survey_id', 'invite_id', 'external_user_id', 'period', 'kind', 'score', 'via', 'submission', 'first_answered_at', 'answered_at'], answers);
      await w.insert('deliveries', ['source', 'external_user_id', 'occasion', 'kind', 'broadcast_id', 'channel', 'sender_userid', 'local_date', 'not_before', 'expires_at', 'status', 'created_at', 'updated_at', 'sent_at'], dels);
      await w.commit();
      counts.orders += ords.length;
      counts.kf += kf.length;
      counts.notes += notes.length;
      counts.answers += answers.length;
      counts.deliveries += dels.length;
      if ((start / batch) % 10 === 9) log(`  churn extras for ${start + batch} customers in ${Math.round((Date.now() - t0) / 1000)} s`);
    }
  } catch (e) {
    // Closing after a failed statement fails too (its transaction is still open): say the first error.
    log(` seeding failed: ${String(e)}`);
    throw e;
  } finally {
    await w.close().catch(() => undefined);
  }
  // Two members leave: their customers who follow no one else wait for a handover.
  await withDriver(engine, url, async (q) => {
    await q("UPDATE staff SET status = 'resigned', resigned_at = ? WHERE userid IN ('staff48', 'staff49')", [NIGHT - 30 * DAY]);
  });
  return counts;
}

function score(env: Record<string, string>, limitS: number): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise) => {
    const root = resolve(import.meta.dirname, '../..');
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'scripts/bench/churn-nightly-score.ts')], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => {
      err += String(d);
      process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitS * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const m = /RESULT (\{.*\})/.exec(out);
      if (m) return resolvePromise(JSON.parse(m[1]!) as Record<string, unknown>);
      resolvePromise({ scoreError: code === null ? `not finished after ${limitS} s` : `exit ${code}: ${err.slice(-500)}` });
    });
  });
}

async function benchEngine(engine: DbEngine): Promise<Record<string, unknown>> {
  const n = Number(process.env.BENCH_CHURN_CUSTOMERS ?? 1_000_000);
  const mysqlUrl = process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
  const say = (s: string) => process.stderr.write(`churn-nightly ${engine}:${s}\n`);
  let db: TestDatabase | undefined;
  const keep = process.env.BENCH_CHURN_NIGHTLY_KEEP === '1';
  try {
    const kept = keep ? await keptDatabase(engine, `wecom_ops_churn_nightly_keep_${engine}_${n}`, mysqlUrl) : undefined;
    db = kept?.db ?? (await createTestDatabase(engine, { mysqlUrl, prefix: 'wecom_ops_churn_nightly' }));
    await migrate(db.url);
    const seeded = await withDriver(engine, db.url, async (q) => Number((await q("SELECT COUNT(*) AS n FROM deliveries WHERE broadcast_id = 'churn-nightly-1'"))[0]!.n) === n);
    let seedSeconds: number | string = 'kept';
    if (!seeded) {
      if (kept) {
        await resetKept(engine, db.url);
        await migrate(db.url);
      }
      const t0 = Date.now();
      const corp = await seedCorp(engine, db.url, n, say);
      const extras = await seedChurnExtras(engine, db.url, n, say);
      seedSeconds = Math.round((Date.now() - t0) / 1000);
      say(` seeded ${corp.customers} customers, ${corp.relations} relations, ${corp.orders} + ${extras.orders} orders, ${extras.kf} KF messages, ${extras.notes} notes, ${extras.answers} survey answers, ${extras.deliveries} broadcast rows in ${seedSeconds} s`);
    } else say(` reusing the kept database ${db.url}`);
    if (process.env.BENCH_CHURN_NIGHTLY_SEED_ONLY === '1') return { engine, customers: n, seedSeconds, seedOnly: true };
    const rows = await withDriver(engine, db.url, async (q) => {
      const c = async (sql: string) => Number((await q(sql))[0]!.n);
      // A pass starts from no scores: the first night's crossings are every customer at risk.
      await q('DELETE FROM churn_risk');
      await q("DELETE FROM notes WHERE source = 'churn'");
      await q("DELETE FROM timeline_entries WHERE source = 'churn'");
      return {
        relations: await c("SELECT COUNT(*) AS n FROM follow_relations WHERE status = 'active'"),
        orders: await c('SELECT COUNT(*) AS n FROM orders'),
        buyersWithGaps: await c('SELECT COUNT(*) AS n FROM (SELECT external_user_id FROM orders GROUP BY external_user_id HAVING COUNT(*) >= 4) b'),
        kfMessages: await c("SELECT COUNT(*) AS n FROM timeline_entries WHERE source = 'kf'"),
        staffNotes: await c("SELECT COUNT(*) AS n FROM notes WHERE source = 'staff'"),
        broadcastRows: await c("SELECT COUNT(*) AS n FROM deliveries WHERE kind = 'broadcast'"),
      };
    });
    const env = { NODE_ENV: 'production', LOG_LEVEL: 'silent', DATABASE_URL: db.url, DATA_KEY: kept?.dataKey ?? Buffer.alloc(32, 9).toString('base64'), ADMIN_TOKEN: 'bench-admin-token-0123456789', SANDBOX: 'false', WECOM_API_BASE: 'http://127.0.0.1:9', PUBLIC_URL: 'http://127.0.0.1', BENCH_CHURN_NIGHT: String(NIGHT) };
    const result = await score(env, 1500);
    return { engine, customers: n, seedSeconds, ...rows, ...result };
  } finally {
    if (db && !keep) await db.drop();
  }
}

/** The bench entry: BENCH_ENGINES (sqlite, mysql or both), BENCH_CHURN_CUSTOMERS. */
export async function runChurnNightlyBench(): Promise<Record<string, unknown>[]> {
  const engines = (process.env.BENCH_ENGINES?.split(',') as DbEngine[] | undefined) ?? ['sqlite'];
  const out: Record<string, unknown>[] = [];
  for (const engine of engines) out.push(await benchEngine(engine));
  return out;
}
