import Router from '@koa/router';
import { allow, metricsPolicy, publicRoute } from '../access.js';
import type { DataSource } from 'typeorm';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import { withDeadline } from '../../shared/deadline.js';

/**
 * `/healthz` (alive), `/readyz` (database reachable and migrated), `/metrics` (Prometheus text). `/readyz` answers
 * within `readyTimeoutMs` even when the database does not, so a load balancer sees 503 rather than its own timeout.
 */
export function healthRouter(d: {
  dataSource: DataSource;
  registry: Registry;
  beforeMetrics?: () => Promise<void>;
  readyTimeoutMs?: number;
  /** The inbox backlog for `/readyz` (docs/inbox.md §Backlog and readiness); informative, never a reason for 503. */
  inbox?: () => Promise<unknown>;
  /** Other threads' metrics, merged into this registry's (docs/inbox.md §Handler thread). */
  metricsFrom?: (() => Promise<MetricObjectWithValues<MetricValue<string>>[]>)[];
  /** Other parts' checks, reported with the database's but never a reason for 503. */
  readiness?: (() => Record<string, string>)[];
}): Router {
  const router = new Router({ sensitive: true });
  router.get('/healthz', allow(publicRoute('liveness and readiness hold no data')), (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', allow(publicRoute('liveness and readiness hold no data')), async (ctx) => {
    const checks: Record<string, string> = {};
    try {
      const ms = d.readyTimeoutMs ?? 2000;
      await withDeadline(d.dataSource.query('SELECT 1'), ms);
      checks.database = 'ok';
      checks.migrations = (await withDeadline(d.dataSource.showMigrations(), ms)) ? 'pending' : 'ok';
    } catch (err) {
      checks.database = `error: ${(err as Error).message}`;
    }
    const ready = Object.values(checks).every((v) => v === 'ok') && checks.migrations !== undefined;
    // A backlog is reported, not refused: a backlogged instance that went unready would stop receiving callbacks,
    // and WeCom's retries would only pile onto the others (docs/inbox.md §Backlog and readiness).
    let inbox: unknown;
    if (ready && d.inbox) {
      try {
        inbox = await withDeadline(d.inbox(), Math.min(d.readyTimeoutMs ?? 2000, 1000));
      } catch (err) {
        inbox = { error: (err as Error).message };
      }
    }
    // A restarting handler thread is reported, not refused: callbacks are still stored and wait for it.
    for (const check of d.readiness ?? []) Object.assign(checks, check());
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks, ...(inbox === undefined ? {} : { inbox }) };
  });
  router.get('/metrics', allow(metricsPolicy), async (ctx) => {
    await d.beforeMetrics?.();
    ctx.type = d.registry.contentType;
    const others = d.metricsFrom?.length ? await Promise.all(d.metricsFrom.map((f) => f())) : [];
    if (others.every((m) => m.length === 0)) {
      ctx.body = await d.registry.metrics();
      return;
    }
    // Counters and histograms of the threads add up. The process's own figures (CPU, memory, handles) are the same
    // process seen from each thread: the main thread's are kept, the others' dropped so they are not counted twice.
    const own = (name: string) => name.startsWith('process_') || name.startsWith('nodejs_');
    const merged = AggregatorRegistry.aggregate([
      await d.registry.getMetricsAsJSON(),
      ...others.map((m) => m.filter((x) => !own(x.name))),
    ]);
    ctx.body = await merged.metrics();
  });
  return router;
}
