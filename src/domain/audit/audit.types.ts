// The audit log (操作日志): who changed what, from where (docs/security.md §Audit log).

/** Who acted: a signed-in member, an API token, ADMIN_TOKEN, or the command line. */
export type AuditActorKind = 'member' | 'token' | 'admin_token' | 'cli';
/** Where the write came from. */
export type AuditSource = 'console' | 'api' | 'sidebar' | 'cli';

/** One row to append. */
export interface NewAuditEntry {
  at: Date;
  actorKind: AuditActorKind;
  /** The member's userid, the token's id, `ADMIN_TOKEN`, or the OS user for the CLI. */
  actorId: string;
  actorName: string;
  actorRole: string;
  source: AuditSource;
  ip: string;
  method: string;
  /** The route's pattern (`/api/v1/channels/:id`), never the concrete path, which may hold a customer's id. */
  route: string;
  /** `<resource>.<verb>`, e.g. `channels.create`, `users.role`, `customers.erase`. */
  action: string;
  targetId: string | null;
  /** The customer the write concerns, so an erasure finds the row (redaction). */
  customerId: string | null;
  status: number;
  request: unknown;
  before: unknown;
  after: unknown;
}

/** A stored row. */
export interface AuditEntry extends NewAuditEntry {
  id: number;
  redactedAt: Date | null;
}

/** Filters of the audit list. */
export interface AuditFilter {
  actor?: string;
  /** An exact action, or a prefix ending in `.` (`channels.`). */
  action?: string;
  target?: string;
  from?: Date;
  to?: Date;
  page: number;
  pageSize: number;
}
