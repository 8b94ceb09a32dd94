import Router from '@koa/router';
import { ANY_ROLE, OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import { MAX_CSV_BYTES, type OrderService } from '../../domain/orders/order.service.js';
import { csvTooLargeError } from '../../domain/orders/orders-csv.js';
import { BodyTooLargeError, discardRest, readChunks } from '../stream-body.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentImportReport, presentOrder } from '../presenters/order.presenter.js';
import { viewerOf } from './customers.router.js';

const customerParams = z.object({ externalUserId: z.string().min(1).max(64) });
// Rows are validated one by one by the service, so one bad row never rejects the request; the service refuses
// more than MAX_IMPORT_ROWS with 413.
const importBody = z.object({ orders: z.array(z.unknown()) });

/**
 * Orders (订单): `POST /api/v1/orders/import` (operator; JSON `{ orders: [...] }` or `text/csv`) and
 * `GET /api/v1/customers/:externalUserId/orders`.
 */
export function ordersRouter(orders: OrderService): Router {
  const router = new Router({ prefix: '/api/v1', sensitive: true });
  router.post('/orders/import', allow(api(OPERATORS, 'all')), async (ctx) => {
    if (!ctx.is('text/csv')) {
      ctx.body = presentImportReport(await orders.importJson(parseInput(importBody, bodyOf(ctx)).orders));
      return;
    }
    // The CSV is read here as a stream, never by a body parser: rows and bytes are capped while reading, and the
    // whole file is checked before anything is imported (docs/security.md §Order import limits).
    try {
      ctx.body = presentImportReport(await orders.importCsv(readChunks(ctx.req, MAX_CSV_BYTES)));
    } catch (err) {
      // Refused part-way: drop the rest of the upload so the client can read the answer.
      discardRest(ctx.req, 2 * MAX_CSV_BYTES);
      if (err instanceof BodyTooLargeError) throw csvTooLargeError(MAX_CSV_BYTES);
      throw err;
    }
  });
  router.get('/customers/:externalUserId/orders', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { externalUserId } = parseInput(customerParams, ctx.params);
    const { items, total } = await orders.list(externalUserId, parseInput(pageQuery, ctx.query), viewerOf(ctx.state.principal));
    ctx.body = { items: items.map(presentOrder), total };
  });
  return router;
}
