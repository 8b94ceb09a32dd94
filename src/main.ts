import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { buildContainer, type BuildOptions, type Container } from './container.js';
import type { AppConfig } from './config/schema.js';
import type { Logger } from './shared/logger.js';

/** A running server, for `serve` and in-process tests. */
export interface Running {
  container: Container;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/**
 * Boot: config → DataSource → migrations → wiring → listen → background services.
 * Stop runs in reverse: stop taking requests, stop services (in-flight work finishes or is released), close the DB.
 */
export async function startServer(config: AppConfig, log: Logger, opts: BuildOptions = {}): Promise<Running> {
  const container = await buildContainer(config, log, opts);
  const app = createApp(container);
  const server = createServer(app.callback());
  // WeCom gives up after 5 s (reference §1.6); nothing of ours should hold a socket longer than that idle.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  for (const f of container.onListen) f(url);
  for (const s of container.services) await s.start();
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      for (const s of [...container.services].reverse()) {
        await s.stop().catch((err) => log.error({ err, service: s.name }, 'service did not stop cleanly'));
      }
      await container.close();
    })());
  return { container, server, url, stop };
}
