import Router from '@koa/router';
import { z } from 'zod';
import type { OrderService } from '../../domain/orders/order.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { requireRole } from '../middleware/auth.js';
import { bodyOf } from '../body.js';
import { presentImportReport, presentOrder } from '../presenters/order.presenter.js';
import { viewerOf } from './customers.router.js';

const customerParams = z.object({ externalUserId: z.string().min(1).max(64) });
// Rows are validated one by one by the service, so one bad row never rejects the request.
const importBody = z.object({ orders: z.array(z.unknown()).max(50_000) });

/**
 * Orders (订单): `POST /api/v1/orders/import` (operator; JSON `{ orders: [...] }` or `text/csv`) and
 * `GET /api/v1/customers/:externalUserId/orders`.
 */
export function ordersRouter(orders: OrderService): Router {
  const router = new Router({ prefix: '/api/v1' });
  router.post('/orders/import', requireRole('operator'), async (ctx) => {
    const body = bodyOf(ctx);
    const report = ctx.is('text/csv') ? await orders.importCsv(typeof body === 'string' ? body : '') : await orders.importJson(parseInput(importBody, body).orders);
    ctx.body = presentImportReport(report);
  });
  router.get('/customers/:externalUserId/orders', requireRole('staff'), async (ctx) => {
    const { externalUserId } = parseInput(customerParams, ctx.params);
    const { items, total } = await orders.list(externalUserId, parseInput(pageQuery, ctx.query), viewerOf(ctx.state.principal));
    ctx.body = { items: items.map(presentOrder), total };
  });
  return router;
}
