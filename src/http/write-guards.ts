import type { Context, Next } from 'koa';
import type { Principal } from '../domain/auth/api-token.service.js';
import type { AuditLogService } from '../domain/audit/audit-log.service.js';
import type { IdempotencyService } from '../domain/audit/idempotency.service.js';
import type { AuditActorKind, AuditSource } from '../domain/audit/audit.types.js';
import { bodyOf } from './body.js';

/**
 * What a route may add to its audit row (docs/security.md §Audit log): `before` (the setting as it was, where the
 * service can give it cheaply), `after` (default: the answer), the target and customer when the route's params do
 * not name them, or `skip` for a POST that writes nothing (a preview).
 */
export interface AuditNote {
  action?: string;
  targetId?: string | null;
  customerId?: string | null;
  before?: unknown;
  after?: unknown;
  skip?: boolean;
}

/** Add to the current request's audit row. */
export function auditNote(ctx: Context, note: AuditNote): void {
  ctx.state.audit = { ...(ctx.state.audit as AuditNote | undefined), ...note };
}

const VERB: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete' };
/** POST routes that only read (an audience count or preview): nothing to record. */
const READ_ONLY_POSTS = new Set(['audiences.count', 'audiences.preview']);
/** Resources whose answers are customer archives: their rows keep the request (the change), not the whole archive. */
const ARCHIVE_ANSWERS = new Set(['customers']);

/**
 * `<resource>.<verb>` from the route pattern: `POST /api/v1/channels` → `channels.create`, `PATCH …/:id` →
 * `channels.update`, `POST …/:id/cancel` → `broadcasts.cancel`, `PUT /api/v1/users/:userid/role` → `users.role`.
 */
export function actionOf(method: string, route: string): { resource: string; action: string } {
  const parts = route.replace(/^\/(api\/v1|sidebar\/api)\//, '').split('/').filter(Boolean);
  const resource = parts[0] ?? 'root';
  const literals = parts.slice(1).filter((p) => !p.startsWith(':'));
  const sub = literals[literals.length - 1];
  return { resource, action: `${resource}.${sub ?? VERB[method] ?? method.toLowerCase()}` };
}

function actorOf(p: Principal): { kind: AuditActorKind; id: string; name: string } {
  if (p.via === 'console' || p.via === 'sidebar') return { kind: 'member', id: p.userid ?? '', name: p.name ?? p.userid ?? '' };
  if (p.tokenId) return { kind: 'token', id: p.tokenId, name: p.name ?? '' };
  return { kind: 'admin_token', id: 'ADMIN_TOKEN', name: 'ADMIN_TOKEN' };
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);

/**
 * Record a write that succeeded (2xx/3xx) in the audit log, after the handler: who (member, token or ADMIN_TOKEN,
 * with role), from where (console, API, sidebar; the client address), the route's pattern, the action, the target,
 * and the request with before/after. A refused write (4xx/5xx) changed nothing and is not recorded.
 */
export async function auditWrite(ctx: Context, audit: Pick<AuditLogService, 'record'> | undefined, principal: Principal, next: Next): Promise<void> {
  await next();
  if (!audit || ctx.status >= 400) return;
  const note = (ctx.state.audit as AuditNote | undefined) ?? {};
  if (note.skip) return;
  const route = String((ctx as { _matchedRoute?: unknown })._matchedRoute ?? ctx.path);
  const { resource, action } = actionOf(ctx.method, route);
  if (READ_ONLY_POSTS.has(action)) return;
  const params = (ctx.params ?? {}) as Record<string, string>;
  const answer = ctx.body as Record<string, unknown> | undefined;
  const answerObj = answer && typeof answer === 'object' && !Array.isArray(answer) && !Buffer.isBuffer(answer) ? answer : undefined;
  const actor = actorOf(principal);
  const source: AuditSource = principal.via === 'console' ? 'console' : principal.via === 'sidebar' ? 'sidebar' : 'api';
  await audit.record({
    actorKind: actor.kind,
    actorId: actor.id,
    actorName: actor.name,
    actorRole: principal.role,
    source,
    ip: ctx.ip ?? '',
    method: ctx.method,
    route,
    action: note.action ?? action,
    targetId: note.targetId !== undefined ? note.targetId : (str(Object.values(params)[0]) ?? str(answerObj?.id) ?? str(answerObj?.requestId)),
    customerId: note.customerId !== undefined ? note.customerId : (str(params.externalUserId) ?? str(answerObj?.externalUserId)),
    status: ctx.status,
    request: bodyOf(ctx),
    before: note.before ?? null,
    after: note.after !== undefined ? note.after : ARCHIVE_ANSWERS.has(resource) ? null : (answerObj ?? null),
  });
}

/** Whose keys these are: one namespace per token, member, or ADMIN_TOKEN. */
function keyOwner(p: Principal): string {
  if (p.tokenId) return `token:${p.tokenId}`;
  if (p.userid) return `member:${p.userid}`;
  return 'admin-token';
}

/**
 * `Idempotency-Key` on a JSON POST (docs/security.md §Idempotency keys): the first answer to a key is remembered for
 * 24 h per principal and path; the same request again gets it back (`Idempotent-Replayed: true`) and runs nothing, not even
 * its audit row. A request that throws releases the key, so a retry runs again.
 */
export async function withIdempotency(ctx: Context, idem: Pick<IdempotencyService, 'begin'> | undefined, principal: Principal, run: () => Promise<void>): Promise<void> {
  const key = ctx.get('idempotency-key');
  if (!idem || ctx.method !== 'POST' || !key) return run();
  const raw = (ctx.request as { rawBody?: string }).rawBody;
  // A body the JSON parser did not read (a streamed CSV order import) cannot be compared with the first request's, so
  // the key is ignored there; order imports are idempotent by order number anyway.
  if (raw === undefined && ctx.request.length) return run();
  const decision = await idem.begin({ principalKey: keyOwner(principal), route: `${ctx.method} ${ctx.path}`, key, body: raw ?? JSON.stringify(bodyOf(ctx)) });
  if (decision.kind === 'replay') {
    ctx.status = decision.status;
    if (decision.body !== null && decision.body !== undefined) ctx.body = decision.body;
    ctx.set('Idempotent-Replayed', 'true');
    return;
  }
  try {
    await run();
  } catch (err) {
    await decision.abandon().catch(() => undefined);
    throw err;
  }
  if (ctx.status >= 500) await decision.abandon();
  else await decision.finish(ctx.status, ctx.body ?? null);
}
