import Router from '@koa/router';
import type { DataSource } from 'typeorm';
import type { Registry } from 'prom-client';

/** `/healthz` (alive), `/readyz` (database reachable and migrated), `/metrics` (Prometheus text). */
export function healthRouter(d: { dataSource: DataSource; registry: Registry; beforeMetrics?: () => Promise<void> }): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const checks: Record<string, string> = {};
    try {
      await d.dataSource.query('SELECT 1');
      checks.database = 'ok';
      checks.migrations = (await d.dataSource.showMigrations()) ? 'pending' : 'ok';
    } catch (err) {
      checks.database = `error: ${(err as Error).message}`;
    }
    const ready = Object.values(checks).every((v) => v === 'ok') && checks.migrations !== undefined;
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks };
  });
  router.get('/metrics', async (ctx) => {
    await d.beforeMetrics?.();
    ctx.type = d.registry.contentType;
    ctx.body = await d.registry.metrics();
  });
  return router;
}
