import Router from '@koa/router';
import { ADMINS, allow, api } from '../access.js';
import { z } from 'zod';
import type { ErasureService } from '../../domain/privacy/erasure.service.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { parseInput } from '../pagination.js';
import { presentErasure } from '../presenters/erasure.presenter.js';
import { auditNote } from '../write-guards.js';
import { erasedStubId } from '../../domain/privacy/erasure.service.js';

const idParams = z.object({ externalUserId: z.string().min(1).max(64) });

/** Who asked, for the audit row: role and token id, never a name (PIPL art. 51 access records). */
export function principalLabel(p: Principal): string {
  return `${p.role}:${p.tokenId ?? 'ADMIN_TOKEN'}`;
}

/** `POST /api/v1/customers/:externalUserId/erase` (admin only): 删除个人信息 (PIPL art. 47). */
export function erasureRouter(erasure: ErasureService): Router {
  const router = new Router({ prefix: '/api/v1/customers', sensitive: true });
  router.post('/:externalUserId/erase', allow(api(ADMINS, 'all')), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    const result = await erasure.erase(externalUserId, principalLabel(ctx.state.principal as Principal));
    // The audit row of an erasure names the erased customer by the stub, never by the id it just removed.
    const stub = erasedStubId(result.subjectHash);
    auditNote(ctx, { targetId: stub, customerId: stub });
    ctx.body = presentErasure(result);
  });
  return router;
}
