import Router from '@koa/router';
import { ANY_ROLE, allow, api } from '../access.js';
import { z } from 'zod';
import type { NoteService } from '../../domain/customers/note.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentNote } from '../presenters/note.presenter.js';
import { viewerOf } from './customers.router.js';

const customerParams = z.object({ externalUserId: z.string().min(1).max(64) });
const noteParams = z.object({ id: z.string().min(1).max(36) });
const listQuery = pageQuery.extend({ status: z.enum(['open', 'done']).optional() });
const text = z.string().trim().min(1).max(2000);
// Checked as a real calendar date by the service, which answers 400 invalid_date.
const dueDate = z.string().max(32).nullable().optional();
const createBody = z.object({ text, dueDate, userid: z.string().trim().min(1).max(64).nullable().optional() }).strict();
const patchBody = z.object({ text: text.optional(), dueDate, done: z.boolean().optional() }).strict();

/**
 * Follow-up notes (跟进记录): `GET/POST /api/v1/customers/:externalUserId/notes`, `PATCH/DELETE /api/v1/notes/:id`.
 * Staff see the notes of customers they follow and change only their own.
 */
export function notesRouter(notes: NoteService): Router {
  const router = new Router({ prefix: '/api/v1', sensitive: true });
  router.get('/customers/:externalUserId/notes', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { externalUserId } = parseInput(customerParams, ctx.params);
    const { items, total } = await notes.list(externalUserId, parseInput(listQuery, ctx.query), viewerOf(ctx.state.principal));
    ctx.body = { items: items.map(presentNote), total };
  });
  router.post('/customers/:externalUserId/notes', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { externalUserId } = parseInput(customerParams, ctx.params);
    ctx.status = 201;
    ctx.body = presentNote(await notes.add(externalUserId, parseInput(createBody, bodyOf(ctx)), viewerOf(ctx.state.principal)));
  });
  router.patch('/notes/:id', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { id } = parseInput(noteParams, ctx.params);
    ctx.body = presentNote(await notes.update(id, parseInput(patchBody, bodyOf(ctx)), viewerOf(ctx.state.principal)));
  });
  router.delete('/notes/:id', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    await notes.remove(parseInput(noteParams, ctx.params).id, viewerOf(ctx.state.principal));
    ctx.status = 204;
  });
  return router;
}
