import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createTestDatabase, noteMysqlSkipped, type TestDatabase } from '../helpers/databases.js';
import { TEST_DATA_KEY } from '../helpers/app.js';
import { startSandboxServer, type RunningSandbox } from '../../src/wecom/sandbox/server.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';

// Two real processes (tsx start-up, migrations) and 5 windows of hammering.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });
noteMysqlSkipped();

const API = 'externalcontact/get_follow_user_list';
/** The sandbox's limit per aligned window, and the window (short, so the test takes seconds). */
const N = 300;
const WINDOW_MS = 2000;
const WINDOWS = 5;

interface Burner {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
}

/** Start test/helpers/rate-burner.ts and wait for its READY line. */
async function startBurner(env: Record<string, string>): Promise<Burner> {
  const root = resolve(import.meta.dirname, '../..');
  const proc = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'test/helpers/rate-burner.ts')], {
    cwd: root,
    // Callback keys of a made-up app: this test sends no callbacks.
    env: { ...process.env, NODE_ENV: 'test', WECOM_TOKEN: 'rate-limit-test', WECOM_ENCODING_AES_KEY: 'R'.repeat(43), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (err += String(d)));
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`burner did not start: ${err}`)), 50_000);
    proc.stdout!.on('data', () => {
      if (out.includes('READY')) {
        clearTimeout(timer);
        ok();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`burner exited with ${code}: ${err}`));
    });
  });
  return { proc, stdout: () => out, stderr: () => err };
}

async function resultOf(b: Burner): Promise<{ ok: number; failed: number; errcodes: Record<string, number> }> {
  if (b.proc.exitCode === null) await new Promise((r) => b.proc.once('exit', r));
  const m = /RESULT (\{.*\})/.exec(b.stdout());
  if (!m) throw new Error(`no result from burner: ${b.stderr()}`);
  return JSON.parse(m[1]);
}

/**
 * Two instances, shared limits: two app processes on one database call one WeCom API as hard as they can,
 * against a standalone sandbox that allows N calls per aligned window. The sandbox never sees more than N (1 %
 * tolerance) in any window, and the two together get at least 90 % of N (docs/rate-limits.md).
 */
describe.each([
  { engine: 'mysql' as const, store: 'the database', run: !!process.env.TEST_MYSQL_URL },
  { engine: 'sqlite' as const, store: 'the database', run: true },
  // REDIS_URL set: the counters live in Redis (TEST_REDIS_URL, e.g. redis://127.0.0.1:6379).
  { engine: 'mysql' as const, store: 'redis', run: !!process.env.TEST_MYSQL_URL && !!process.env.TEST_REDIS_URL },
])('two instances on one $engine database share one WeCom limit, counted in $store', ({ engine, store, run }) => {
  let db: TestDatabase;
  let sandbox: RunningSandbox;
  const burners: Burner[] = [];

  beforeAll(async () => {
    if (!run) return;
    db = await createTestDatabase(engine);
    sandbox = await startSandboxServer({ port: 0, rateLimits: { [API]: N }, rateWindow: { windowMs: WINDOW_MS, aligned: true } });
  });
  afterAll(async () => {
    for (const b of burners) if (b.proc.exitCode === null) b.proc.kill('SIGKILL');
    await sandbox?.close();
    await db?.drop();
  });

  it.runIf(run)('the sandbox never sees more than N in a window, and the instances together get ≥ 90 % of N', async () => {
    const env = {
      DATABASE_URL: db.url,
      DATA_KEY: TEST_DATA_KEY,
      SANDBOX: 'false',
      WECOM_CORP_ID: SANDBOX_CORP.corpId,
      WECOM_SECRET: SANDBOX_CORP.secret,
      WECOM_API_BASE: sandbox.url,
      PUBLIC_URL: 'http://127.0.0.1:9',
      RATE_WINDOW_MS: String(WINDOW_MS),
      RATE_LIMIT: String(N),
      RATE_WORKERS: '8',
      ...(store === 'redis' ? { REDIS_URL: process.env.TEST_REDIS_URL!, RATE_REDIS_PREFIX: `wecom-ops-test:${randomBytes(6).toString('hex')}` } : {}),
    };
    // The first migrates; the second then finds nothing to do and starts quicker.
    burners.push(await startBurner(env));
    burners.push(await startBurner(env));
    // Start both at the same instant, at the start of a window one window from now.
    const startAt = (Math.floor(Date.now() / WINDOW_MS) + 2) * WINDOW_MS;
    for (const b of burners) b.proc.stdin!.write(`GO ${startAt} ${WINDOWS * WINDOW_MS}\n`);
    const results = await Promise.all(burners.map(resultOf));

    const calls = sandbox.sandbox.calls(API).filter((c) => c.at >= startAt && c.at < startAt + WINDOWS * WINDOW_MS);
    const seen = new Array<number>(WINDOWS).fill(0);
    const ok = new Array<number>(WINDOWS).fill(0);
    for (const c of calls) {
      const w = Math.floor((c.at - startAt) / WINDOW_MS);
      seen[w]++;
      if (c.errcode === 0) ok[w]++;
    }
    const report = { seen, ok, results };
    // Every call the sandbox saw counts, refused ones included.
    for (const n of seen) expect(n, JSON.stringify(report)).toBeLessThanOrEqual(Math.floor(N * 1.01));
    const mean = ok.reduce((a, b) => a + b, 0) / WINDOWS;
    expect(mean, JSON.stringify(report)).toBeGreaterThanOrEqual(0.9 * N);
    // The limit was kept by the instances, not enforced on them: WeCom would have blocked the API for a minute.
    for (const r of results) expect(r.errcodes['45009'] ?? 0, JSON.stringify(report)).toBe(0);
    // Both instances took part: the budget is shared, not won by one.
    for (const r of results) expect(r.ok, JSON.stringify(report)).toBeGreaterThan(0.2 * N * WINDOWS);
    process.stderr.write(`[rate-limits-shared ${engine}, ${store}] per window seen ${seen.join(',')} ok ${ok.join(',')}; instances ok ${results.map((r) => r.ok).join(' + ')}\n`);
  });
});
