import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/databases.js';
import { spawnServer, type ChildServer } from '../../test/helpers/child-server.js';
import { json } from '../../test/helpers/json-fetch.js';
import { TEST_SANDBOX_KEYS } from '../../test/helpers/callbacks.js';
import { createDataSource, type DbEngine } from '../../src/persistence/data-source.js';
import { botEnv } from './bot-env.js';
import { runScript } from './child-run.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ADMIN = 'bench-admin-token-0123456789';
const DEMO_CUSTOMERS = 200;

/** What `wecom-ops sync` printed about the group phase. */
interface GroupLine {
  groups: number;
  joins: number;
  leaves: number;
  ms: number;
  isResumed: boolean;
}

function parseDone(out: string): GroupLine {
  const m = /groups (\d+) \((\d+) joins, (\d+) leaves, \d+ dismissed, (\d+) ms\)/.exec(out);
  if (!m) throw new Error(`no group line in the sync's output: ${out.slice(-1000)}`);
  return { groups: Number(m[1]), joins: Number(m[2]), leaves: Number(m[3]), ms: Number(m[4]), isResumed: /\(resumed\)/.test(out) };
}

/** `wecom-ops sync` in its own process, SIGKILLed once it has read `killAfter` groups. */
function syncKilledMidway(env: Record<string, string>, killAfter: number): Promise<number> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'src/cli.ts'), 'sync'], {
      cwd: ROOT,
      env: { ...process.env, ...env, WECOM_TOKEN: TEST_SANDBOX_KEYS.token, WECOM_ENCODING_AES_KEY: TEST_SANDBOX_KEYS.encodingAesKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const read = [...out.matchAll(/syncing groups: (\d+) groups read/g)].at(-1);
      if (read && Number(read[1]) >= killAfter && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? done(Number([...out.matchAll(/syncing groups: (\d+) groups read/g)].at(-1)?.[1] ?? 0)) : reject(new Error(`the sync ended (${code}) before it was killed: ${out.slice(-500)}`))));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[]) => ({ min: Math.min(...xs), max: Math.max(...xs) });

/**
 * `npm run bench -- group-sync` (docs/benchmarks.md §Group sync): the sandbox in its own process holds 2,000 customer
 * groups with 100,000 memberships (49 customers and the owner each, over 5,000 customers). Per run, on a fresh
 * database: a full `wecom-ops sync` (the group phase's time reported apart); 100 joins and 100 leaves behind the bot's
 * back and a re-sync that heals them, verified against the sandbox; then another 100 + 100, a sync SIGKILLed after 800
 * groups and the next `wecom-ops sync` resuming it, verified again with no spell opened twice. Rows per engine give
 * the median of BENCH_GROUP_SYNC_RUNS runs (default 3) and their spread.
 */
export async function runGroupSyncBench(): Promise<Record<string, unknown>[]> {
  const groups = Number(process.env.BENCH_GROUPS ?? 2000);
  const perGroup = Number(process.env.BENCH_GROUP_MEMBERS ?? 49);
  const customers = Number(process.env.BENCH_GROUP_CUSTOMERS ?? 5000);
  const runs = Number(process.env.BENCH_GROUP_SYNC_RUNS ?? 3);
  const engines = (process.env.BENCH_ENGINES?.split(',') ?? ['sqlite', 'mysql']) as DbEngine[];
  const rows: Record<string, unknown>[] = [];
  for (const engine of engines) {
    let sandbox: ChildServer | undefined;
    const results: { fullMs: number; groupMs: number; healMs: number; resumeMs: number; killedAt: number }[] = [];
    let seeded = { groups: 0, memberships: 0 };
    try {
      sandbox = await spawnServer('scripts/bench/sandbox-server.ts', { LOG_LEVEL: 'silent' });
      const control = (path: string, body?: unknown) => json<Record<string, unknown>>(`${sandbox!.url}/_control/${path}`, body === undefined ? {} : { body });
      await control('seed', { large: customers - DEMO_CUSTOMERS });
      seeded = (await control('groups/seed', { groups, membersPerGroup: perGroup })) as typeof seeded;
      for (let run = 0; run < runs; run++) {
        let db: TestDatabase | undefined;
        try {
          db = await createTestDatabase(engine, { mysqlUrl: process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test', prefix: 'wecom_ops_bench' });
          const env = { ...botEnv(db.url, sandbox.url, ADMIN), LOG_LEVEL: 'warn' };
          const sync = async () => {
            const t0 = Date.now();
            const out = await runScript('src/cli.ts', ['sync'], env);
            return { ...parseDone(out), wallMs: Date.now() - t0 };
          };
          const verify = async (what: string) => {
            const truth = (await control('groups/count')) as { groups: number; memberships: number };
            const ds = createDataSource({ databaseUrl: db!.url });
            await ds.initialize();
            try {
              const [open] = (await ds.query('SELECT COUNT(*) AS n FROM group_memberships WHERE current_mark = 1')) as { n: number | string }[];
              const [dupes] = (await ds.query(
                'SELECT COUNT(*) AS n FROM (SELECT chat_id, member_id FROM group_memberships WHERE current_mark = 1 GROUP BY chat_id, member_id HAVING COUNT(*) > 1) d',
              )) as { n: number | string }[];
              const [chats] = (await ds.query('SELECT COUNT(*) AS n FROM group_chats WHERE dismissed_at IS NULL')) as { n: number | string }[];
              if (Number(open.n) !== truth.memberships || Number(chats.n) !== truth.groups || Number(dupes.n) !== 0) {
                throw new Error(`${what}: the archive holds ${chats.n} groups and ${open.n} memberships (${dupes.n} twice), WeCom ${truth.groups} and ${truth.memberships}`);
              }
              return truth;
            } finally {
              await ds.destroy();
            }
          };
          const full = await sync();
          await verify('full sync');
          await control('groups/behind-back', { joins: 100, leaves: 100 });
          const heal = await sync();
          if (heal.joins !== 100 || heal.leaves !== 100) throw new Error(`the re-sync healed ${heal.joins} joins and ${heal.leaves} leaves, not 100 and 100`);
          await verify('re-sync');
          await control('groups/behind-back', { joins: 100, leaves: 100 });
          const killedAt = await syncKilledMidway(env, Math.min(800, Math.floor(groups * 0.4)));
          const resumed = await sync();
          if (!resumed.isResumed) throw new Error('the sync after the SIGKILL did not resume the killed run');
          await verify('resumed sync');
          results.push({ fullMs: full.wallMs, groupMs: full.ms, healMs: heal.ms, resumeMs: resumed.wallMs, killedAt });
          process.stderr.write(`[group-sync] ${engine} run ${run + 1}: full ${full.wallMs} ms (groups ${full.ms} ms), heal ${heal.ms} ms, killed after ${killedAt} groups, resumed in ${resumed.wallMs} ms\n`);
        } finally {
          await db?.drop();
        }
      }
    } finally {
      await sandbox?.kill('SIGTERM');
    }
    const col = (k: keyof (typeof results)[number]) => results.map((r) => r[k]);
    rows.push({
      engine,
      runs: results.length,
      groups: seeded.groups,
      memberships: seeded.memberships,
      fullSyncMs: median(col('fullMs')),
      fullSyncSpread: spread(col('fullMs')),
      groupPhaseMs: median(col('groupMs')),
      groupPhaseSpread: spread(col('groupMs')),
      groupsPerSecond: Math.round(seeded.groups / (median(col('groupMs')) / 1000)),
      healMs: median(col('healMs')),
      healSpread: spread(col('healMs')),
      healed: { joins: 100, leaves: 100 },
      killedAfterGroups: median(col('killedAt')),
      resumeMs: median(col('resumeMs')),
      resumeSpread: spread(col('resumeMs')),
    });
  }
  return rows;
}
