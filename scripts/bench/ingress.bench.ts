import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { spawnServer } from '../../test/helpers/child-server.js';
import { sealCallback } from '../../src/wecom/crypto.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';
import { TEST_SANDBOX_KEYS } from '../../test/helpers/callbacks.js';

const root = resolve(import.meta.dirname, '../..');
// spawnServer gives the bench server these keys (WECOM_TOKEN/WECOM_ENCODING_AES_KEY).
const creds = { token: TEST_SANDBOX_KEYS.token, encodingAesKey: TEST_SANDBOX_KEYS.encodingAesKey, receiveId: SANDBOX_CORP.corpId };

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

/** The median of some numbers (the middle one, or the mean of the middle two). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : Math.round(((s[m - 1] + s[m]) / 2) * 100) / 100;
}

/**
 * `npm run bench -- ingress`: posts unique encrypted events on loopback to three paths side by side and reports
 * events/s, p50/p99 latency and peak RSS: (a) durable on SQLite, (b) durable on MySQL, (c) the no-store ceiling.
 *
 * The three servers run at once (idle when not loaded) and are loaded in turn for BENCH_ROUNDS rounds (default 3),
 * in alternating order (a b c, c b a, …). A VM's speed drifts by tens of percent within minutes here; measuring each
 * path once, one after the other, compared a durable path at one speed with a ceiling at another. Each row gives the
 * median over its rounds, and `fractionOfCeiling` is the median of the per-round ratios, each against the ceiling
 * measured next to it. Every load gets events never sent before, so no round measures the cheaper duplicate path.
 * Inbox workers are off by default: this measures the acknowledgement path alone. BENCH_INBOX_WORKERS=16 turns them on
 * as the product runs, and then WeCom is the sandbox in its own process (30 ms per API call), so handlers do their
 * real work meanwhile. With workers off, the WeCom base is a closed loopback port: nothing can leave the machine.
 */
export async function runIngressBench(): Promise<Record<string, unknown>[]> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const perLoad = Number(process.env.BENCH_EVENTS ?? 80000);
  const workers = process.env.BENCH_INBOX_WORKERS ?? '0';
  const dataKey = randomBytes(32).toString('base64');
  const sandbox = workers !== '0' ? await spawnServer('scripts/bench/sandbox-server.ts', { LOG_LEVEL: 'silent' }) : null;
  if (sandbox) await fetch(`${sandbox.url}/_control/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs: 30 }) });
  const wecomBase = sandbox?.url ?? 'http://127.0.0.1:9';
  const dir = mkdtempSync(join(tmpdir(), 'bench-events-'));
  const paths: { name: string; env: () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> }[] = [
    {
      name: 'a-sqlite-durable',
      env: async () => {
        const db = await createTestDatabase('sqlite', { prefix: 'wecom_ops_bench' });
        return { env: { DATABASE_URL: db.url, DATA_KEY: dataKey, INBOX_WORKERS: workers, SANDBOX: 'false', WECOM_API_BASE: wecomBase, PUBLIC_URL: 'http://127.0.0.1' }, cleanup: db.drop };
      },
    },
    {
      name: 'b-mysql-durable',
      env: async () => {
        const mysqlUrl = process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
        const db = await createTestDatabase('mysql', { mysqlUrl, prefix: 'wecom_ops_bench' });
        return { env: { DATABASE_URL: db.url, DATA_KEY: dataKey, INBOX_WORKERS: workers, SANDBOX: 'false', WECOM_API_BASE: wecomBase, PUBLIC_URL: 'http://127.0.0.1' }, cleanup: db.drop };
      },
    },
    {
      name: 'c-ceiling-no-store',
      env: async () => ({ env: { BENCH_MODE: 'ceiling', DATABASE_URL: 'sqlite::memory:', DATA_KEY: dataKey, SANDBOX: 'false' }, cleanup: async () => undefined }),
    },
  ];
  // BENCH_PATHS=a,b limits the run to some paths (the ceiling always runs: the other paths are judged against it).
  const only = process.env.BENCH_PATHS?.split(',');
  const chosen = paths.filter((x) => !only || x.name.startsWith('c') || only.some((o) => x.name.startsWith(o)));
  const running: { name: string; server: Awaited<ReturnType<typeof startBenchServer>>; cleanup: () => Promise<void>; results: Record<string, number>[] }[] = [];
  try {
    for (const p of chosen) {
      const { env, cleanup } = await p.env();
      const server = await startBenchServer(env).catch(async (err: unknown) => {
        await cleanup();
        throw err;
      });
      running.push({ name: p.name, server, cleanup, results: [] });
      // Warm-up (JIT, pools, first pages) with plain fetch: a second autocannon run in one process was seen to hang.
      for (const e of sealedEvents(200)) await (await fetch(`${server.url}${e.path}`, { method: 'POST', body: e.body })).text();
    }
    for (let round = 0; round < rounds; round++) {
      for (const r of round % 2 === 0 ? running : [...running].reverse()) {
        // Sealed before the clock starts, so the generator only sends.
        const file = join(dir, `${r.name}-${round}.json`);
        writeFileSync(file, JSON.stringify(sealedEvents(perLoad)));
        r.results.push(await load(r.server.url, file, seconds, connections));
        rmSync(file);
      }
    }
    const rows: Record<string, unknown>[] = [];
    const ceiling = running.find((r) => r.name === 'c-ceiling-no-store')!.results.map((x) => x.eventsPerSec);
    for (const r of running) {
      const { maxRssMb, meanBatch } = await r.server.stop();
      const per = (k: string) => r.results.map((x) => x[k]);
      rows.push({
        bench: 'ingress',
        path: r.name,
        seconds,
        connections,
        rounds,
        inboxWorkers: r.name.startsWith('c') ? 0 : Number(workers),
        eventsPerSec: median(per('eventsPerSec')),
        eventsPerSecByRound: per('eventsPerSec'),
        p50Ms: median(per('p50Ms')),
        p99Ms: median(per('p99Ms')),
        p99MsMax: Math.max(...per('p99Ms')),
        non2xx: per('non2xx').reduce((a, b) => a + b, 0),
        errors: per('errors').reduce((a, b) => a + b, 0),
        timeouts: per('timeouts').reduce((a, b) => a + b, 0),
        sent: per('sent').reduce((a, b) => a + b, 0),
        // Peak RSS over the whole run (all rounds), as the server process reported it.
        peakRssMb: maxRssMb,
        meanBatch,
        fractionOfCeiling: median(per('eventsPerSec').map((v, i) => Math.round((v / ceiling[i]) * 100) / 100)),
      });
    }
    return rows;
  } finally {
    for (const r of running) {
      await r.server.stop().catch(() => undefined);
      await r.cleanup();
    }
    rmSync(dir, { recursive: true, force: true });
    await sandbox?.kill('SIGTERM').catch(() => undefined);
  }
}
