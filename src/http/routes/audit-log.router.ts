import Router from '@koa/router';
import { z } from 'zod';
import { OPERATORS, allow, api } from '../access.js';
import type { AuditLogService } from '../../domain/audit/audit-log.service.js';
import type { AuditEntry } from '../../domain/audit/audit.types.js';
import { pageQuery, parseInput } from '../pagination.js';
import { ValidationError } from '../../shared/errors.js';

/** A time bound: an ISO instant, or a date (YYYY-MM-DD) read as Asia/Shanghai midnight. */
const instant = z
  .string()
  .max(40)
  .transform((v, c) => {
    const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00+08:00` : v);
    if (Number.isNaN(d.getTime())) {
      c.addIssue({ code: 'custom', message: '须为 ISO 时间或 YYYY-MM-DD 日期' });
      return z.NEVER;
    }
    return d;
  });
const listQuery = pageQuery.extend({
  actor: z.string().trim().min(1).max(100).optional(),
  action: z.string().trim().min(1).max(64).optional(),
  target: z.string().trim().min(1).max(128).optional(),
  from: instant.optional(),
  to: instant.optional(),
});

export function presentAuditEntry(e: AuditEntry) {
  return {
    id: e.id,
    at: e.at.toISOString(),
    actor: { kind: e.actorKind, id: e.actorId, name: e.actorName, role: e.actorRole },
    source: e.source,
    ip: e.ip,
    method: e.method,
    route: e.route,
    action: e.action,
    targetId: e.targetId,
    status: e.status,
    request: e.request,
    before: e.before,
    after: e.after,
    redacted: e.redactedAt !== null,
  };
}

/**
 * `GET /api/v1/audit-log` (操作日志, docs/security.md §Audit log): admins and operators read it; nobody writes it
 * through the API. Rows hold the data of any customer a write touched, so staff cannot read it.
 */
export function auditLogRouter(audit: AuditLogService): Router {
  const router = new Router({ prefix: '/api/v1/audit-log', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'all')), async (ctx) => {
    const q = parseInput(listQuery, ctx.query);
    if (q.from && q.to && q.from > q.to) throw new ValidationError('from 不能晚于 to', undefined, 'invalid_range');
    const { items, total } = await audit.list(q);
    ctx.body = { items: items.map(presentAuditEntry), total };
  });
  return router;
}
