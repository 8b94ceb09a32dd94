import Router from '@koa/router';
import { ANY_ROLE, allow, api } from '../access.js';
import { z } from 'zod';
import type { CustomerService } from '../../domain/customers/customer.service.js';
import { parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentCustomerItem } from '../presenters/customer.presenter.js';
import { viewerOf } from './customers.router.js';

/**
 * `POST /api/v1/audiences/count` → `{ count }`, cheap enough to ask as the operator types (docs/audiences.md);
 * `POST /api/v1/audiences/preview` → `{ count, byStaff, sample }`.
 */
export function audiencesRouter(customers: CustomerService): Router {
  const router = new Router({ prefix: '/api/v1/audiences', sensitive: true });
  router.post('/count', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { audience } = parseInput(z.object({ audience: z.string().max(4000) }), bodyOf(ctx));
    ctx.body = { count: await customers.count(audience, viewerOf(ctx.state.principal)) };
  });
  router.post('/preview', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { audience } = parseInput(z.object({ audience: z.string().max(4000) }), bodyOf(ctx));
    const r = await customers.preview(audience, viewerOf(ctx.state.principal));
    ctx.body = { count: r.count, byStaff: r.byStaff, sample: r.sample.map(presentCustomerItem) };
  });
  return router;
}
