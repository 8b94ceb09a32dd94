import { z } from 'zod';

const days = (d: number) => z.number().int().min(0).max(36_500).default(d);

/**
 * How long personal data is kept (PIPL art. 19: the shortest period necessary; art. 17: the notice states it;
 * docs/reliability.md §PIPL duties). `config/care-rules.json` → `settings.retention`. Every period is in days; 0 keeps
 * forever.
 */
export const retentionSettingsSchema = z.object({
  /**
   * Decrypted-callback payloads of handled (`done`/`ignored`) events: the archive already holds what they said, and
   * the row's metadata (kind, times, status, content hash) stays for the event list and duplicate detection. WeCom
   * retries within minutes, so 30 days leaves ample room to replay by hand.
   */
  inboxPayloadDays: days(30),
  /** `failed` callbacks are deleted outright: three months is enough to notice, fix and replay them. */
  inboxFailedDays: days(90),
  /**
   * Timeline of a customer with no active relation for this long (deleted by both sides, transferred away): the
   * purpose (serving an existing contact) has ended (PIPL art. 47 (1)). The profile row stays for the ledger and for
   * a possible return; the sync marks such customers churned.
   */
  departedTimelineDays: days(365),
  /** The text of WeChat-KF messages on the timeline is replaced by its type; the entry and its date stay. */
  kfTextDays: days(180),
  /** Rendered message text (names, note text) of finished ledger rows and batches; statuses and counts stay. */
  deliveryTextDays: days(180),
  /** Rows changed per statement: each batch is its own short transaction, so no table is locked for long. */
  batchSize: z.number().int().min(10).max(10_000).default(500),
});

/** Validated retention settings. */
export type RetentionSettings = z.infer<typeof retentionSettingsSchema>;
