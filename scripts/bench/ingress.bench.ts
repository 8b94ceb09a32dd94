import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { spawnServer } from '../../test/helpers/child-server.js';
import { sealCallback } from '../../src/wecom/crypto.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';

const root = resolve(import.meta.dirname, '../..');
const creds = { token: SANDBOX_CORP.token, encodingAesKey: SANDBOX_CORP.encodingAesKey, receiveId: SANDBOX_CORP.corpId };

/** Pre-seal unique events (distinct ExternalUserID and ChangeType payloads) so the load generator only sends. */
function sealedEvents(n: number): { path: string; body: string }[] {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: n }, (_, i) => {
    const xml =
      `<xml><ToUserName><![CDATA[${creds.receiveId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
      `<CreateTime>${now}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event>` +
      `<ChangeType><![CDATA[edit_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>` +
      `<ExternalUserID><![CDATA[wmBench${i}x${randomBytes(4).toString('hex')}]]></ExternalUserID></xml>`;
    const s = sealCallback(creds, xml);
    return { path: `/wecom/callback?${new URLSearchParams(s.query)}`, body: s.body };
  });
}

/** The bench server in its own process (the tests' launcher); stop() returns the peak RSS it reported. */
async function startBenchServer(env: Record<string, string>): Promise<{ url: string; stop: () => Promise<{ maxRssMb: number; meanBatch?: number; commits?: number }> }> {
  const child = await spawnServer('scripts/bench/ingress-server.ts', { NODE_ENV: 'production', LOG_LEVEL: 'silent', ...env });
  return {
    url: child.url,
    stop: async () => {
      await child.kill('SIGTERM'); // idempotent: a second stop does not wait for an exit that already happened
      const m = /STATS (\{.*\})/.exec(child.stdout());
      return m ? (JSON.parse(m[1]) as { maxRssMb: number; meanBatch?: number; commits?: number }) : { maxRssMb: -1 };
    },
  };
}

/** Run the load generator in its own process against `url`. */
async function load(url: string, eventsFile: string, seconds: number, connections: number): Promise<Record<string, number>> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/bench/load-generator.ts'), url, eventsFile, String(seconds), String(connections)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  const [code] = await once(proc, 'exit');
  if (code !== 0) throw new Error(`load generator exited ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
}

/**
 * `npm run bench -- ingress`: posts unique encrypted events on loopback to three paths side by side and reports
 * events/s, p50/p99 latency and peak RSS: (a) durable on SQLite, (b) durable on MySQL, (c) the no-store ceiling.
 * Inbox workers are off by default (BENCH_INBOX_WORKERS=4 turns them on): this measures the acknowledgement path.
 * The server's WeCom base is a closed loopback port, so nothing can leave the machine even if a handler runs.
 */
export async function runIngressBench(): Promise<Record<string, unknown>[]> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
  const workers = process.env.BENCH_INBOX_WORKERS ?? '0';
  const events = sealedEvents(Number(process.env.BENCH_EVENTS ?? 60000));
  const dataKey = randomBytes(32).toString('base64');
  const rows: Record<string, unknown>[] = [];
  const eventsFile = join(mkdtempSync(join(tmpdir(), 'bench-events-')), 'events.json');
  writeFileSync(eventsFile, JSON.stringify(events.slice(200)));
  const paths: { name: string; env: () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> }[] = [
    {
      name: 'a-sqlite-durable',
      env: async () => {
        const db = await createTestDatabase('sqlite', { prefix: 'wecom_ops_bench' });
        return { env: { DATABASE_URL: db.url, DATA_KEY: dataKey, INBOX_WORKERS: workers, SANDBOX: 'false', WECOM_API_BASE: 'http://127.0.0.1:9' }, cleanup: db.drop };
      },
    },
    {
      name: 'b-mysql-durable',
      env: async () => {
        const mysqlUrl = process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
        const db = await createTestDatabase('mysql', { mysqlUrl, prefix: 'wecom_ops_bench' });
        return { env: { DATABASE_URL: db.url, DATA_KEY: dataKey, INBOX_WORKERS: workers, SANDBOX: 'false', WECOM_API_BASE: 'http://127.0.0.1:9' }, cleanup: db.drop };
      },
    },
    {
      name: 'c-ceiling-no-store',
      env: async () => ({ env: { BENCH_MODE: 'ceiling', DATABASE_URL: 'sqlite::memory:', DATA_KEY: dataKey, SANDBOX: 'false' }, cleanup: async () => undefined }),
    },
  ];
  // BENCH_PATHS=a,b limits the run to some paths (the ceiling always runs: the other paths are judged against it).
  const only = process.env.BENCH_PATHS?.split(',');
  for (const p of paths.filter((x) => !only || x.name.startsWith('c') || only.some((o) => x.name.startsWith(o)))) {
    const { env, cleanup } = await p.env();
    const server = await startBenchServer(env);
    try {
      // Warm-up (JIT, pools, first pages) with plain fetch: a second autocannon run in one process was seen to hang.
      for (const e of events.slice(0, 200)) await (await fetch(`${server.url}${e.path}`, { method: 'POST', body: e.body })).text();
      const r = await load(server.url, eventsFile, seconds, connections);
      const { maxRssMb, meanBatch } = await server.stop();
      rows.push({ bench: 'ingress', path: p.name, seconds, connections, inboxWorkers: p.name.startsWith('c') ? 0 : Number(workers), ...r, peakRssMb: maxRssMb, meanBatch });
    } finally {
      await server.stop().catch(() => undefined);
      await cleanup();
    }
  }
  const ceiling = rows.find((r) => r.path === 'c-ceiling-no-store')!.eventsPerSec as number;
  for (const r of rows) r.fractionOfCeiling = Math.round(((r.eventsPerSec as number) / ceiling) * 100) / 100;
  return rows;
}
