import type { AuditLogRepository } from '../../persistence/repositories/audit-log.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { AuditActorKind, AuditEntry, AuditFilter, AuditSource, NewAuditEntry } from './audit.types.js';

/** Who did it, as the audit log records them. */
export interface AuditActor {
  kind: AuditActorKind;
  id: string;
  name: string;
  role: string;
}

/**
 * The audit log (操作日志, docs/security.md §Audit log): every write through the API, the console and the CLI, with
 * who, from where, what, and before/after where the feature gives them. Append-only: nothing in the product updates
 * or deletes a row, except an erasure's redaction and the retention purge.
 */
export class AuditLogService {
  constructor(
    private readonly repo: AuditLogRepository,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /**
   * Append one row. A failure to record is logged and never fails the write it describes: the write already
   * happened, and answering 500 would make the client retry it.
   */
  async record(e: Omit<NewAuditEntry, 'at'> & { at?: Date }): Promise<void> {
    try {
      await this.repo.append({ ...e, at: e.at ?? this.clock.now() });
    } catch (err) {
      this.log.error({ err, action: e.action, actorId: e.actorId }, 'audit log row could not be written');
    }
  }

  /** A row for a command-line action (token and role grants, erasure). */
  recordCli(action: string, targetId: string | null, extra: { before?: unknown; after?: unknown; request?: unknown } = {}): Promise<void> {
    return this.record({
      actorKind: 'cli',
      actorId: cliUser(),
      actorName: cliUser(),
      actorRole: 'cli',
      source: 'cli' satisfies AuditSource,
      ip: '',
      method: '',
      route: `wecom-ops ${action.replace('.', ' ')}`,
      action,
      targetId,
      customerId: null,
      status: 0,
      request: extra.request ?? null,
      before: extra.before ?? null,
      after: extra.after ?? null,
    });
  }

  list(f: AuditFilter): Promise<{ items: AuditEntry[]; total: number }> {
    return this.repo.list(f);
  }
}

/** The operating-system user running the CLI. */
function cliUser(): string {
  return process.env.SUDO_USER || process.env.USER || process.env.USERNAME || 'cli';
}
