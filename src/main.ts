import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { buildContainer, type BuildOptions, type Container } from './container.js';
import type { AppConfig } from './config/schema.js';
import type { Logger } from './shared/logger.js';
import { secureSqliteFiles } from './persistence/data-source.js';
import { isMemoryDatabase } from './config/load.js';
import { HandlerThread } from './handler-thread.js';

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
  const role = config.serveRole ?? 'all';
  if (role === 'worker') {
    // Callbacks are stored by ingress processes, whose commits cannot wake this one: the poll is the wake-up
    // (docs/inbox.md §Roles).
    config = { ...config, inbox: { ...config.inbox, pollIntervalMs: config.inbox.workerPollIntervalMs ?? 50 } };
  }
  if (config.databaseUrl.startsWith('sqlite:')) {
    const file = config.databaseUrl.slice('sqlite:'.length);
    if (file && file !== ':memory:') {
      const tightened = secureSqliteFiles(file);
      if (tightened.length > 0) {
        log.warn({ files: tightened }, '数据库文件原先其他用户可读，已改为仅所有者可读写（0600）/ database files were readable by other users; now 0600 (docs/security.md §Files at rest)');
      }
    }
  }
  // Role all may run its handlers in a thread of their own (docs/inbox.md §Handler thread). Test overrides in opts
  // (a fake clock, probes, a wrapped gateway) live in this thread's memory, so with any of them it stays in one.
  const threaded = role === 'all' && usesHandlerThread(config) && Object.keys(opts).length === 0;
  const container = await buildContainer(config, log, opts);
  const app = createApp(container);
  const server = createServer(app.callback());
  // WeCom gives up after 5 s (docs/wecom-protocol.md §Acknowledging callbacks); nothing of ours should hold a socket
  // longer than that idle.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  if (config.hostIsSandboxDefault) {
    // docs/security.md §Sandbox exposure: the sandbox's controls and demo identity stay on this machine by default.
    log.info(
      { host: config.host, port },
      '沙箱模式：只监听本机 127.0.0.1，其他机器无法访问；如需对外提供，请设置 HOST（如 HOST=0.0.0.0）/ sandbox mode: listening on 127.0.0.1 only; set HOST (e.g. HOST=0.0.0.0) to listen on other addresses',
    );
  }
  for (const f of container.onListen) f(url);
  log.info({ role, url, handlerThread: threaded }, ROLE_BANNER[role]);
  // Background services (inbox workers, scheduler and the jobs it runs, delivery dispatch) belong to the worker role;
  // an ingress process only answers (docs/inbox.md §Roles). Threaded, they run in the handler thread instead.
  let thread: HandlerThread | null = null;
  const inThisThread = role !== 'ingress' && !threaded;
  if (threaded) {
    thread = new HandlerThread({ config, logLevel: log.level, logPretty: config.logPretty }, log);
    const t = thread;
    container.readiness.push(() => ({ handlerThread: t.state }));
    try {
      await thread.start();
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await container.close();
      throw err;
    }
    container.inboxWriter.events.on('stored', (ms: number) => t.stored(ms));
    container.metricsFrom.push(() => t.metrics());
  }
  if (inThisThread) for (const s of container.services) await s.start();
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await thread?.stop();
      for (const s of inThisThread ? [...container.services].reverse() : []) {
        await s.stop().catch((err) => log.error({ err, service: s.name }, 'service did not stop cleanly'));
      }
      await container.close();
    })());
  return { container, server, url, stop };
}

/** Whether role all runs its handlers in a thread: HANDLER_THREAD, and `auto` decides as config/schema.ts says. */
export function usesHandlerThread(config: AppConfig): boolean {
  if (config.handlerThread === 'off') return false;
  if (config.handlerThread === 'on') return true;
  return !config.sandboxEnabled && !isMemoryDatabase(config.databaseUrl);
}

/**
 * The background services of a `worker` role without an HTTP port: the handler thread's side of role `all`
 * (docs/inbox.md §Handler thread). The database was migrated by the main thread before the thread started.
 */
export async function startBackground(config: AppConfig, log: Logger): Promise<{ container: Container; stop(): Promise<void> }> {
  const container = await buildContainer({ ...config, serveRole: 'worker', dbSkipMigrations: true }, log, { http: false });
  for (const s of container.services) await s.start();
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      for (const s of [...container.services].reverse()) {
        await s.stop().catch((err) => log.error({ err, service: s.name }, 'service did not stop cleanly'));
      }
      await container.close();
    })());
  return { container, stop };
}

/** What each role runs, said once at start (zh-CN first). */
const ROLE_BANNER: Record<AppConfig['serveRole'], string> = {
  all: '运行角色 all：接收回调、提供 API，并运行事件处理、定时任务和消息发送 / role all: callbacks, the API, handlers, scheduler and dispatch in one process',
  ingress: '运行角色 ingress：只接收回调、提供 API 和页面，不运行事件处理和定时任务 / role ingress: callbacks, the API and the pages only; no handlers, scheduler or dispatch',
  worker: '运行角色 worker：运行事件处理、定时任务和消息发送，端口上只提供 /healthz、/readyz、/metrics / role worker: handlers, scheduler and dispatch; this port serves /healthz, /readyz and /metrics only',
};
