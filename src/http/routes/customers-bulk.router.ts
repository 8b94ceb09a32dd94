import Router from '@koa/router';
import { z } from 'zod';
import { ANY_ROLE, allow, api } from '../access.js';
import type { BulkTaggingService, BulkTagStatus } from '../../domain/customers/bulk-tagging.service.js';
import { MAX_BULK_CUSTOMERS } from '../../domain/customers/bulk-tagging.service.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { auditNote } from '../write-guards.js';
import { principalLabel } from './erasure.router.js';
import { viewerOf, tagsBody } from './customers.router.js';

const bulkBody = tagsBody
  .extend({
    customers: z
      .array(z.string().trim().min(1).max(64))
      .min(1, '请选择客户')
      .max(MAX_BULK_CUSTOMERS, `一次最多 ${MAX_BULK_CUSTOMERS} 位客户`)
      .optional(),
    audience: z.string().max(4000).optional(),
  })
  .strict();
const idParams = z.object({ id: z.string().min(1).max(36) });

function present(s: BulkTagStatus) {
  return {
    id: s.job.id,
    status: s.job.status,
    total: s.job.total,
    done: s.progress.done,
    failed: s.progress.failed,
    pending: s.progress.pending,
    failures: s.progress.failures,
    ...(s.skipped !== undefined ? { skipped: s.skipped } : {}),
    createdAt: s.job.createdAt.toISOString(),
    finishedAt: s.job.finishedAt?.toISOString() ?? null,
  };
}

/**
 * `POST /api/v1/customers/bulk-tags` `{ customers: [id…] | audience, add: [tag], remove: [tag] }`: add or remove tags on
 * many customers (at most MAX_BULK_CUSTOMERS), as a job. 200 when it finished within a few seconds, else 202; either
 * way `{ id, status, total, done, failed, pending, failures }`, and `GET /api/v1/customers/bulk-tags/:id` follows it.
 * Staff act on, and see the jobs of, their own customers only.
 */
export function customersBulkRouter(bulk: BulkTaggingService): Router {
  const router = new Router({ prefix: '/api/v1/customers/bulk-tags', sensitive: true });
  router.post('/', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const principal = ctx.state.principal as Principal;
    const status = await bulk.request(parseInput(bulkBody, bodyOf(ctx)), viewerOf(principal), principalLabel(principal));
    ctx.status = status.job.status === 'done' ? 200 : 202;
    ctx.body = present(status);
    auditNote(ctx, { after: { id: status.job.id, total: status.job.total, done: status.progress.done, failed: status.progress.failed, skipped: status.skipped ?? 0 } });
  });
  router.get('/:id', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    ctx.body = present(await bulk.status(id, viewerOf(ctx.state.principal as Principal)));
  });
  return router;
}
