import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { systemClock, type Clock } from '../../shared/clock.js';
import { silentLogger, type Logger } from '../../shared/logger.js';
import { WecomSandbox, type WecomSandboxOptions } from './sandbox.js';

/** Options of the standalone sandbox (`wecom-ops sandbox`). */
export interface SandboxServerOptions extends Partial<Omit<WecomSandboxOptions, 'clock' | 'logger'>> {
  port: number;
  host?: string;
  clock?: Clock;
  logger?: Logger;
  /** Load the demo corp at start (default true). */
  seed?: boolean;
}

/** A running standalone sandbox. */
export interface RunningSandbox {
  sandbox: WecomSandbox;
  server: Server;
  /** Base URL, e.g. http://127.0.0.1:4010 — use it as WECOM_API_BASE. */
  url: string;
  close(): Promise<void>;
}

/** Build the Koa app that serves the sandbox at the root (`/cgi-bin/...`, `/_control/...`). */
export function createSandboxApp(sandbox: WecomSandbox): Koa {
  const app = new Koa();
  app.use(sandbox.router());
  return app;
}

/** Run the sandbox on its own port, seeded with the demo corp unless told otherwise. */
export async function startSandboxServer(opts: SandboxServerOptions): Promise<RunningSandbox> {
  const { port, host = '127.0.0.1', seed = true, clock = systemClock, logger = silentLogger, ...rest } = opts;
  const sandbox = new WecomSandbox({ ...rest, clock, logger });
  if (seed) sandbox.seed();
  const server = createServer(createSandboxApp(sandbox).callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ url, callbackUrl: rest.callbackUrl }, 'wecom sandbox listening');
  return {
    sandbox,
    server,
    url,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
