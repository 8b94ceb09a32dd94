import type { Db } from '../db.js';
import type { AuditEntry, AuditFilter, NewAuditEntry } from '../../domain/audit/audit.types.js';
import type { SweepOptions } from '../../domain/privacy/retention.types.js';
import { yieldToEventLoop } from '../../shared/yield.js';

type Row = {
  id: number | string;
  at: number | string;
  actor_kind: string;
  actor_id: string;
  actor_name: string;
  actor_role: string;
  source: string;
  ip: string;
  method: string;
  route: string;
  action: string;
  target_id: string | null;
  customer_id: string | null;
  status: number | string;
  request_json: string | null;
  before_json: string | null;
  after_json: string | null;
  redacted_at: number | string | null;
};

/** A JSON column holds at most this much; a larger value is replaced by a note saying so. */
const MAX_JSON_CHARS = 64 * 1024;

function json(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const s = JSON.stringify(v);
  return s.length <= MAX_JSON_CHARS ? s : JSON.stringify({ truncated: true, chars: s.length });
}

const parse = (s: string | null): unknown => (s ? (JSON.parse(s) as unknown) : null);

/** LIKE pattern for "contains `s`", with the wildcards in `s` escaped by `!` (a backslash is an escape in MySQL literals). */
const containing = (s: string) => `%${s.replace(/[!%_]/g, (c) => `!${c}`)}%`;

function toEntry(r: Row): AuditEntry {
  return {
    id: Number(r.id),
    at: new Date(Number(r.at)),
    actorKind: r.actor_kind as AuditEntry['actorKind'],
    actorId: r.actor_id,
    actorName: r.actor_name,
    actorRole: r.actor_role,
    source: r.source as AuditEntry['source'],
    ip: r.ip,
    method: r.method,
    route: r.route,
    action: r.action,
    targetId: r.target_id,
    customerId: r.customer_id,
    status: Number(r.status),
    request: parse(r.request_json),
    before: parse(r.before_json),
    after: parse(r.after_json),
    redactedAt: r.redacted_at === null ? null : new Date(Number(r.redacted_at)),
  };
}

/**
 * The audit log (操作日志, `audit_log`). Append-only as far as the product goes: rows are added, listed, redacted by an
 * erasure and deleted past their retention period; nothing else changes them.
 */
export class AuditLogRepository {
  constructor(private readonly db: Db) {}

  async append(e: NewAuditEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO audit_log (at, actor_kind, actor_id, actor_name, actor_role, source, ip, method, route, action, target_id, customer_id, status,
         request_json, before_json, after_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      [
        e.at.getTime(),
        e.actorKind,
        e.actorId.slice(0, 100),
        e.actorName.slice(0, 100),
        e.actorRole.slice(0, 16),
        e.source,
        e.ip.slice(0, 64),
        e.method.slice(0, 8),
        e.route.slice(0, 200),
        e.action.slice(0, 64),
        e.targetId?.slice(0, 128) ?? null,
        e.customerId?.slice(0, 128) ?? null,
        e.status,
        json(e.request),
        json(e.before),
        json(e.after),
      ],
    );
  }

  /** A page, newest first. */
  async list(f: AuditFilter): Promise<{ items: AuditEntry[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.actor) {
      where.push('(actor_id = ? OR actor_name = ?)');
      params.push(f.actor, f.actor);
    }
    if (f.action) {
      if (f.action.endsWith('.')) {
        where.push("action LIKE ? ESCAPE '!'");
        params.push(`${f.action.replace(/[!%_]/g, (c) => `!${c}`)}%`);
      } else {
        where.push('action = ?');
        params.push(f.action);
      }
    }
    if (f.target) {
      where.push('target_id = ?');
      params.push(f.target);
    }
    if (f.from) {
      where.push('at >= ?');
      params.push(f.from.getTime());
    }
    if (f.to) {
      where.push('at < ?');
      params.push(f.to.getTime());
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ n }] = await this.db.apiRead<{ n: number | string }>(`SELECT COUNT(*) AS n FROM audit_log ${w}`, params);
    const rows = await this.db.apiRead<Row>(`SELECT * FROM audit_log ${w} ORDER BY id DESC LIMIT ? OFFSET ?`, [...params, f.pageSize, (f.page - 1) * f.pageSize]);
    return { items: rows.map(toEntry), total: Number(n) };
  }

  /**
   * An erasure (docs/reliability.md §PIPL duties): every row about the customer, or whose request, before or after
   * mentions their ExternalUserID, loses its data and carries `stub` instead of the id. Who, when, from where and
   * which action stay. Returns how many rows were redacted.
   */
  async redactCustomer(externalUserId: string, stub: string, now: Date): Promise<number> {
    const like = containing(externalUserId);
    return this.db.exec(
      `UPDATE audit_log SET
         target_id = CASE WHEN target_id = ? THEN ? ELSE target_id END,
         customer_id = ?, request_json = NULL, before_json = NULL, after_json = NULL, redacted_at = ?
       WHERE customer_id = ? OR target_id = ?
          OR request_json LIKE ? ESCAPE '!' OR before_json LIKE ? ESCAPE '!' OR after_json LIKE ? ESCAPE '!'`,
      [externalUserId, stub, stub, now.getTime(), externalUserId, externalUserId, like, like, like],
    );
  }

  /** Delete rows older than the cutoff, `batch` per statement (a dry run counts). */
  async purge(o: SweepOptions): Promise<number> {
    let total = 0;
    let last = 0;
    for (;;) {
      await yieldToEventLoop();
      const rows = await this.db.query<{ id: number | string }>('SELECT id FROM audit_log WHERE id > ? AND at < ? ORDER BY id LIMIT ?', [last, o.cutoff, o.batch]);
      if (rows.length === 0) break;
      const ids = rows.map((r) => Number(r.id));
      last = ids[ids.length - 1];
      total += o.isDryRun ? ids.length : await this.db.exec(`DELETE FROM audit_log WHERE id IN (${ids.map(() => '?').join(',')})`, ids);
      if (rows.length < o.batch) break;
    }
    return total;
  }
}
