import Router from '@koa/router';
import { ANY_ROLE, OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { BroadcastService } from '../../domain/broadcasts/broadcast.service.js';
import type { BroadcastPreviewService } from '../../domain/broadcasts/broadcast-preview.service.js';
import type { BroadcastProgressService } from '../../domain/broadcasts/broadcast-progress.service.js';
import type { BroadcastImageService } from '../../domain/broadcasts/broadcast-image.service.js';
import type { BroadcastRemindService } from '../../domain/broadcasts/broadcast-remind.service.js';
import { BROADCAST_STATUSES } from '../../domain/broadcasts/broadcast.types.js';
import { broadcastInput, broadcastPreviewInput } from '../../domain/broadcasts/broadcast.schema.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { ValidationError } from '../../shared/errors.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentBroadcast, presentCancelledBroadcast, presentCreatedBroadcast } from '../presenters/broadcast.presenter.js';
import { auditNote } from '../write-guards.js';
import { principalLabel } from './erasure.router.js';

const idParam = z.object({ id: z.string().min(1).max(36) });
const remindBody = z.object({ userid: z.string().trim().min(1).max(64).optional() }).default({});
const listQuery = pageQuery.extend({ status: z.enum(BROADCAST_STATUSES).optional() });
// Base64 in JSON: the API's 1 MB body limit leaves room for an image of about 750 KB.
const imageBody = z.object({
  filename: z.string().trim().max(200).default('image'),
  data: z.base64('图片数据须为 base64 / data must be base64').min(8, '请选择图片'),
});

/** The body field each of the service's 400 codes is about, so a form shows it next to that field. */
const FIELD_OF_CODE: Record<string, string> = {
  invalid_audience: 'audience',
  unknown_variable: 'message.text',
  text_too_long: 'message.text',
  send_at_in_past: 'sendAt',
};

/** A service's 400 with `details.fields` added when its code names a field (README §HTTP, errors). */
function withField(err: unknown): unknown {
  if (!(err instanceof ValidationError)) return err;
  const field = FIELD_OF_CODE[err.code];
  const details = (err.details ?? {}) as Record<string, unknown>;
  if (!field || details.fields) return err;
  const out = new ValidationError(err.message, { ...details, fields: { [field]: err.message } }, err.code);
  out.stack = err.stack;
  return out;
}

/**
 * Broadcasts (定时群发): `GET/POST /api/v1/broadcasts`, `GET /api/v1/broadcasts/:id`, `GET …/:id/progress`,
 * `POST …/preview`, `POST …/images`, `POST …/:id/cancel`, `POST …/:id/remind`. Operators and admins create, preview,
 * cancel and remind; staff may list and read, and see only their own part of a broadcast's progress.
 */
export function broadcastsRouter(broadcasts: BroadcastService, more: { preview: BroadcastPreviewService; progress: BroadcastProgressService; images: BroadcastImageService; remind: BroadcastRemindService }): Router {
  const router = new Router({ prefix: '/api/v1/broadcasts', sensitive: true });
  router.get('/', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    const { items, total } = await broadcasts.list(parseInput(listQuery, ctx.query));
    ctx.body = { items: items.map(presentBroadcast), total };
  });
  router.get('/:id', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    ctx.body = presentBroadcast(await broadcasts.get(parseInput(idParam, ctx.params).id));
  });
  // Counts per member and the funnel, no customer data; a staff caller gets their own tasks and rows only.
  router.get('/:id/progress', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    const principal = ctx.state.principal as Principal;
    const only = principal.role === 'staff' ? (principal.userid ?? '') : null;
    ctx.body = await more.progress.progress(parseInput(idParam, ctx.params).id, only);
  });
  // A read: the message rendered for one customer of the audience (a customer's name, so operators only).
  router.post('/preview', allow(api(OPERATORS, 'all')), async (ctx) => {
    auditNote(ctx, { skip: true });
    ctx.body = await more.preview.preview(parseInput(broadcastPreviewInput, bodyOf(ctx))).catch((err: unknown) => Promise.reject(withField(err)));
  });
  // An image for an attachment, uploaded to WeCom's media/uploadimg; the answer's url goes into `picUrl`.
  router.post('/images', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { filename, data } = parseInput(imageBody, bodyOf(ctx));
    const uploaded = await more.images.upload({ filename, data: Buffer.from(data, 'base64') });
    auditNote(ctx, { after: { filename, ...uploaded } });
    ctx.status = 201;
    ctx.body = uploaded;
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const principal = ctx.state.principal as Principal;
    const created = await broadcasts.create(parseInput(broadcastInput, bodyOf(ctx)), principal.userid ?? principal.role).catch((err: unknown) => Promise.reject(withField(err)));
    ctx.status = 201;
    ctx.body = presentCreatedBroadcast(created);
  });
  router.post('/:id/cancel', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParam, ctx.params);
    // The audit log's before/after (docs/security.md §Audit log).
    auditNote(ctx, { before: presentBroadcast(await broadcasts.get(id)) });
    ctx.body = presentCancelledBroadcast(await broadcasts.cancel(id));
  });
  // 提醒成员群发: remind_groupmsg_send for the tasks members have not confirmed in 群发助手, all or one member's
  // (docs/wecom-protocol.md §Reminding members of a mass message). It notifies staff, so it is audit-logged.
  router.post('/:id/remind', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParam, ctx.params);
    const { userid } = parseInput(remindBody, bodyOf(ctx));
    const outcome = await more.remind.remind(id, { userid, requestedBy: principalLabel(ctx.state.principal as Principal) });
    auditNote(ctx, { after: { userid: userid ?? null, ...outcome } });
    ctx.body = outcome;
  });
  return router;
}
