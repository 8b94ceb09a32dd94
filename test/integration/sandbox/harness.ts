import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { FixedClock, type Clock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { WecomSandbox, type WecomSandboxOptions } from '../../../src/wecom/sandbox/sandbox.js';

/** Listen on an ephemeral loopback port and return the base URL. */
export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A sandbox mounted under /sandbox on a Koa app, the way the bot mounts it, served over real HTTP. */
export async function startMountedSandbox(overrides: Partial<WecomSandboxOptions> & { clock?: Clock } = {}) {
  const clock = overrides.clock ?? new FixedClock('2026-03-10T02:00:00Z');
  const sandbox = new WecomSandbox({ logger: silentLogger, ...overrides, clock });
  const app = new Koa();
  app.use(sandbox.router({ prefix: '/sandbox' }));
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: { code: 'not_found', message: 'bot route' } };
  });
  const server = createServer(app.callback());
  const base = `${await listen(server)}/sandbox`;
  return { sandbox, clock, base, server, close: () => close(server) };
}

/** GET or POST JSON and return the parsed response with its status. */
export async function http(url: string, init: { method?: string; json?: unknown } = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
    headers: init.json === undefined ? undefined : { 'content-type': 'application/json' },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  return { status: res.status, body: await res.json() };
}

/** Read a whole request body as text. */
export async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
