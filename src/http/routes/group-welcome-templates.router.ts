import Router from '@koa/router';
import { z } from 'zod';
import { OPERATORS, allow, api } from '../access.js';
import type { GroupWelcomeService } from '../../domain/groups/group-welcome.service.js';
import { groupWelcomeInput, groupWelcomePatch } from '../../domain/groups/group-acquisition.schema.js';
import { parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentGroupWelcome } from '../presenters/group-acquisition.presenter.js';
import { auditNote } from '../write-guards.js';

const idParams = z.object({ id: z.string().min(1).max(36) });

/** `/api/v1/group-welcome-templates`: 入群欢迎语 (docs/groups.md §Group welcome templates). */
export function groupWelcomeTemplatesRouter(welcomes: GroupWelcomeService): Router {
  const router = new Router({ prefix: '/api/v1/group-welcome-templates', sensitive: true });
  // At most 100 a corp: the whole list, no pages.
  router.get('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const items = await welcomes.list();
    ctx.body = { items: items.map(presentGroupWelcome), total: items.length };
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const t = await welcomes.create(parseInput(groupWelcomeInput, bodyOf(ctx)));
    ctx.status = 201;
    ctx.body = presentGroupWelcome(t);
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const changes = parseInput(groupWelcomePatch, bodyOf(ctx));
    auditNote(ctx, { before: presentGroupWelcome(await welcomes.get(id)) });
    ctx.body = presentGroupWelcome(await welcomes.update(id, changes));
  });
  router.delete('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    auditNote(ctx, { before: presentGroupWelcome(await welcomes.get(id)) });
    await welcomes.remove(id);
    ctx.status = 204;
  });
  router.post('/:id/retry', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = presentGroupWelcome(await welcomes.retry(parseInput(idParams, ctx.params).id));
  });
  return router;
}
