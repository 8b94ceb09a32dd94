import type { Logger } from '../../shared/logger.js';
import type { RetentionRepository } from '../../persistence/repositories/retention.repository.js';
import type { RetentionSettings } from './retention-settings.js';

const DAY_MS = 86_400_000;

/** What one purge did (or, dry, would do), per rule; a rule whose period is 0 reports -1 (kept forever). */
export interface RetentionCounts {
  inboxPayloadsCleared: number;
  inboxFailedDeleted: number;
  kfTextRedacted: number;
  deliveryTextCleared: number;
  departedCustomers: number;
  departedTimelineDeleted: number;
  /** Audit log rows past AUDIT_RETENTION_DAYS (docs/security.md §Audit log). */
  auditLogDeleted: number;
}

/**
 * The audit log's retention, from the audit feature: its period (AUDIT_RETENTION_DAYS, 0 keeps rows), its sweep, and
 * the housekeeping of the console's short-lived rows (idle sessions, idempotency keys past 24 h).
 */
export interface AuditRetention {
  days: number;
  purge(o: { cutoff: number; batch: number; isDryRun: boolean }): Promise<number>;
  housekeeping(now: Date): Promise<void>;
}

/**
 * Applies the retention periods (PIPL art. 19: keep personal information only as long as the purpose needs; art. 47
 * (1): delete once the period has expired; docs/reliability.md §PIPL duties). Each rule is independent and idempotent,
 * so a run cut short is finished by the next one.
 */
export class RetentionService {
  constructor(
    private readonly repo: RetentionRepository,
    private readonly settings: RetentionSettings,
    private readonly log: Logger,
    private readonly audit?: AuditRetention,
  ) {}

  /** Run every rule whose period is not 0, as of `now`. */
  async purge(now: Date, isDryRun: boolean): Promise<RetentionCounts> {
    const s = this.settings;
    const opts = (days: number) => ({ cutoff: now.getTime() - days * DAY_MS, batch: s.batchSize, isDryRun });
    const rule = async (days: number, fn: (o: ReturnType<typeof opts>) => Promise<number>) => (days > 0 ? fn(opts(days)) : -1);
    const departed = s.departedTimelineDays > 0 ? await this.repo.deleteDepartedTimelines(opts(s.departedTimelineDays)) : { customers: -1, entries: -1 };
    const counts: RetentionCounts = {
      inboxPayloadsCleared: await rule(s.inboxPayloadDays, (o) => this.repo.clearInboxPayloads(o)),
      inboxFailedDeleted: await rule(s.inboxFailedDays, (o) => this.repo.deleteFailedInbox(o)),
      kfTextRedacted: await rule(s.kfTextDays, (o) => this.repo.redactKfText(o)),
      deliveryTextCleared: await rule(s.deliveryTextDays, (o) => this.repo.clearDeliveryText(o)),
      departedCustomers: departed.customers,
      departedTimelineDeleted: departed.entries,
      auditLogDeleted: this.audit ? await rule(this.audit.days, (o) => this.audit!.purge(o)) : -1,
    };
    if (!isDryRun) await this.audit?.housekeeping(now);
    this.log.info({ ...counts, isDryRun }, 'retention purge finished');
    return counts;
  }
}
