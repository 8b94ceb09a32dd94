import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { TEST_DATA_KEY, waitFor } from './app.js';
import { TEST_SANDBOX_KEYS } from './callbacks.js';
import { type TestDatabase } from './databases.js';
import { createMigratedTestDatabase } from './migrated-template.js';
import { createDataSource, type DbEngine } from '../../src/persistence/data-source.js';
import { startSandboxServer, type RunningSandbox } from '../../src/wecom/sandbox/server.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';

const root = resolve(import.meta.dirname, '../..');

/** `wecom-ops serve [args]` as its own process, on a free port, once /healthz answers. */
export interface ServeProcess {
  url: string;
  proc: ChildProcess;
  output(): string;
  /** Signal it and wait for its exit (SIGKILL unless told). */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as import('node:net').AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

export async function serveProcess(args: string[], env: Record<string, string>): Promise<ServeProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, [resolve(root, 'bin/wecom-ops.js'), 'serve', ...args], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  const url = `http://127.0.0.1:${port}`;
  const name = ['serve', ...args].join(' ');
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}: ${out}`);
      return fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    },
    60_000,
    `${name} listening (${out})`,
  );
  return {
    url,
    proc,
    output: () => out,
    kill: async (signal = 'SIGKILL') => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill(signal);
      await exited;
    },
  };
}

/**
 * A database of the engine, a standalone sandbox playing WeCom in the test process (it records every API call), and
 * the `serve` processes a test starts, all set up and torn down with the describe block it is called in.
 */
export function useServeFixture(engine: DbEngine) {
  const f = {
    db: undefined as unknown as TestDatabase,
    sandbox: undefined as unknown as RunningSandbox,
    probe: undefined as import('typeorm').DataSource | undefined,
    procs: [] as ServeProcess[],
    /** The environment of a `serve` against this database and sandbox (SANDBOX=false: WeCom is elsewhere). */
    env: (adminToken: string): Record<string, string> => ({
      DATABASE_URL: f.db.url,
      DATA_KEY: TEST_DATA_KEY,
      ADMIN_TOKEN: adminToken,
      SANDBOX: 'false',
      WECOM_API_BASE: f.sandbox.url,
      WECOM_TOKEN: TEST_SANDBOX_KEYS.token,
      WECOM_ENCODING_AES_KEY: TEST_SANDBOX_KEYS.encodingAesKey,
    }),
    /** A connection of the test's own to the database the processes share (opened on first use). */
    query: async <T>(sql: string): Promise<T[]> => {
      if (!f.probe) {
        f.probe = createDataSource({ databaseUrl: f.db.url });
        await f.probe.initialize();
      }
      return f.probe.query(sql);
    },
    /** The inbox's events by status. */
    statuses: async (): Promise<Record<string, number>> => {
      const rows = await f.query<{ status: string; n: number | string }>('SELECT status, COUNT(*) AS n FROM inbox_events GROUP BY status');
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    },
  };
  beforeAll(async () => {
    f.db = await createMigratedTestDatabase(engine);
    f.sandbox = await startSandboxServer({ port: 0, seed: true, corp: { ...SANDBOX_CORP, token: TEST_SANDBOX_KEYS.token, encodingAesKey: TEST_SANDBOX_KEYS.encodingAesKey } });
  });
  afterEach(async () => {
    for (const p of f.procs.splice(0)) await p.kill();
  });
  afterAll(async () => {
    if (f.probe?.isInitialized) await f.probe.destroy();
    await f.sandbox?.close();
    await f.db?.drop();
  });
  return f;
}
