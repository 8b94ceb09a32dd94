import { createServer, type Server } from 'node:http';
import type Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/load.js';
import type { AppConfig } from '../../src/config/schema.js';
import { buildContainer, type BuildOptions, type Container } from '../../src/container.js';
import { createApp } from '../../src/app.js';
import { silentLogger, type Logger } from '../../src/shared/logger.js';
import type { TestDatabase } from './databases.js';
import { createMigratedTestDatabase } from './migrated-template.js';
import type { DbEngine } from '../../src/persistence/data-source.js';
import { TEST_SANDBOX_KEYS } from './callbacks.js';

/** A test DATA_KEY (never used outside tests). */
export const TEST_DATA_KEY = Buffer.alloc(32, 7).toString('base64');
/** The admin token tests authenticate with. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Config for tests: NODE_ENV=test, a given database, sandbox identity unless overridden. */
export function testConfig(databaseUrl: string, overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): AppConfig {
  return loadConfig({
    env: {
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl,
      DATA_KEY: TEST_DATA_KEY,
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      // Known sandbox callback keys, so tests can sign callbacks (an install generates its own).
      WECOM_TOKEN: TEST_SANDBOX_KEYS.token,
      WECOM_ENCODING_AES_KEY: TEST_SANDBOX_KEYS.encodingAesKey,
      ...env,
    },
    overrides,
  });
}

/** An app on a real HTTP listener (ephemeral port) over a real database. */
export interface TestApp {
  db: TestDatabase;
  config: AppConfig;
  container: Container;
  server: Server;
  /** The Koa app the server runs (its route table: registeredRoutes). */
  koa: Koa;
  url: string;
  log: Logger;
  close(): Promise<void>;
}

/**
 * Create a database, build the container and listen on 127.0.0.1:0. Workers are NOT started unless
 * `startServices` is true, so a test can decide when processing happens.
 */
export async function startTestApp(
  engine: DbEngine,
  opts: { overrides?: Record<string, unknown>; env?: NodeJS.ProcessEnv; build?: BuildOptions; startServices?: boolean; logger?: Logger } = {},
): Promise<TestApp> {
  const db = await createMigratedTestDatabase(engine);
  const config = testConfig(db.url, opts.overrides, opts.env);
  const log = opts.logger ?? silentLogger;
  const container = await buildContainer(config, log, { registry: new Registry(), ...opts.build });
  const koa = createApp(container);
  const server = createServer(koa.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const f of container.onListen) f(url);
  if (opts.startServices) for (const s of container.services) await s.start();
  return {
    db,
    config,
    container,
    server,
    koa,
    url,
    log,
    close: async () => {
      for (const s of [...container.services].reverse()) await s.stop().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await container.close();
      await db.drop();
    },
  };
}

/** Admin-authenticated JSON fetch against a test app. */
export async function api<T = any>(app: { url: string }, method: string, path: string, body?: unknown, token = TEST_ADMIN_TOKEN): Promise<{ status: number; body: T }> {
  const res = await fetch(`${app.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Wait until `fn` returns a truthy value, polling every 20 ms, or throw after `timeoutMs`. */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Wait until no callback is pending or being handled (an add's archive work goes on after its welcome). */
export function inboxIdle(container: { repos: { inbox: { countByStatus(): Promise<Record<string, number>> } } }, timeoutMs = 20_000): Promise<boolean> {
  return waitFor(async () => {
    const counts = await container.repos.inbox.countByStatus();
    return (counts.pending ?? 0) + (counts.running ?? 0) === 0;
  }, timeoutMs, 'the inbox to be idle');
}
