import { Worker } from 'node:worker_threads';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { AppConfig } from './config/schema.js';
import type { Logger } from './shared/logger.js';

/** What the main thread hands the handler thread (structured-cloned). */
export interface HandlerThreadData {
  config: AppConfig;
  logLevel: string;
  logPretty: boolean;
}

/** Messages between the two threads. */
export type ToHandlerThread = { type: 'stored'; storeMs: number } | { type: 'metrics'; id: number } | { type: 'stop' };
export type FromHandlerThread =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'metrics'; id: number; metrics: MetricObjectWithValues<MetricValue<string>>[] }
  | { type: 'stopped' };

/** How long a stop waits for in-flight handlers before the thread is terminated (a lease brings its events back). */
const STOP_TIMEOUT_MS = 30_000;
/** Restart delays after the thread died, doubling up to the last (docs/inbox.md §Handler thread). */
const RESTART_DELAYS_MS = [1000, 2000, 5000, 10_000, 30_000];

/**
 * Role `all` with its background services (inbox handlers, scheduler, dispatcher) in a worker thread of this process
 * (docs/inbox.md §Handler thread). The main thread keeps only what answers: callbacks, the API and the pages. The
 * thread is the same code as a `--role worker` process, with its own database connection, woken by a message when
 * the main thread's inbox writer commits instead of by polling. If it dies it is started again, with backoff; its
 * leases bring back whatever it was handling.
 */
export class HandlerThread {
  private worker: Worker | null = null;
  private stopping = false;
  private restarts = 0;
  private everStarted = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, (m: MetricObjectWithValues<MetricValue<string>>[]) => void>();
  private stopped: (() => void) | null = null;

  constructor(
    private readonly data: HandlerThreadData,
    private readonly log: Logger,
  ) {}

  /** Start the thread and wait until its services run; a thread that cannot start fails the boot. */
  async start(): Promise<void> {
    await this.spawn();
  }

  /** For /readyz: `starting` until its services run, `ok`, then `restarting` after it died, `stopped` at the end. */
  get state(): 'starting' | 'ok' | 'restarting' | 'stopped' {
    if (this.stopping) return 'stopped';
    if (this.worker) return 'ok';
    return this.restarts === 0 && !this.everStarted ? 'starting' : 'restarting';
  }

  /**
   * The main thread stored callbacks, committing them in `storeMs`: wake the handlers now rather than at their next
   * poll, and let them give way if the commit was slow.
   */
  stored(storeMs: number): void {
    this.post({ type: 'stored', storeMs });
  }

  /** The thread's metrics, to be merged with the main thread's on /metrics; none while it is down. */
  async metrics(timeoutMs = 2000): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    if (!this.worker) return [];
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve([]);
      }, timeoutMs);
      this.pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.post({ type: 'metrics', id });
    });
  }

  /** Stop the services in the thread (in-flight handlers finish or are released), then end it. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn('处理线程未在 30 秒内停止，已强制结束 / the handler thread did not stop within 30 s; terminated');
        resolve();
      }, STOP_TIMEOUT_MS);
      this.stopped = () => {
        clearTimeout(timer);
        resolve();
      };
      worker.once('exit', () => this.stopped?.());
      this.post({ type: 'stop' });
    });
    // Its services have stopped and its database is closed: nothing of it may keep the process alive.
    await worker.terminate();
    this.worker = null;
  }

  private post(m: ToHandlerThread): void {
    this.worker?.postMessage(m);
  }

  private spawn(): Promise<void> {
    // bin/handler-thread.js loads the TypeScript sources through tsx, as bin/wecom-ops.js does for the main thread.
    const worker = new Worker(new URL('../bin/handler-thread.js', import.meta.url), { workerData: this.data });
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on('message', (m: FromHandlerThread) => {
        switch (m.type) {
          case 'ready':
            started = true;
            this.everStarted = true;
            this.worker = worker;
            this.restarts = 0;
            resolve();
            break;
          case 'failed':
            if (!started) reject(new Error(m.message));
            break;
          case 'metrics':
            this.pending.get(m.id)?.(m.metrics);
            this.pending.delete(m.id);
            break;
          case 'stopped':
            this.stopped?.();
            break;
        }
      });
      worker.on('error', (err) => {
        this.log.error({ err }, '处理线程出错 / the handler thread failed');
        if (!started) reject(err);
      });
      worker.on('exit', (code) => {
        if (this.worker === worker) this.worker = null;
        for (const [, r] of this.pending) r([]);
        this.pending.clear();
        if (!started) return reject(new Error(`handler thread exited with code ${code} before it started`));
        if (this.stopping) return;
        // Died while running: start it again; events it held come back when their leases lapse
        // (docs/inbox.md §Roles).
        const delay = RESTART_DELAYS_MS[Math.min(this.restarts, RESTART_DELAYS_MS.length - 1)];
        this.restarts++;
        this.log.error({ code, restartInMs: delay }, '处理线程意外退出，将重新启动 / the handler thread exited; restarting');
        this.restartTimer = setTimeout(() => {
          this.spawn().catch((err) => this.log.error({ err }, '处理线程重启失败 / restarting the handler thread failed'));
        }, delay);
      });
    });
  }
}
