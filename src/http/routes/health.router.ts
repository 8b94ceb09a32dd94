import Router from '@koa/router';
import { allow, metricsPolicy, publicRoute } from '../access.js';
import type { DataSource } from 'typeorm';
import type { Registry } from 'prom-client';
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
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks, ...(inbox === undefined ? {} : { inbox }) };
  });
  router.get('/metrics', allow(metricsPolicy), async (ctx) => {
    await d.beforeMetrics?.();
    ctx.type = d.registry.contentType;
    ctx.body = await d.registry.metrics();
  });
  return router;
}
