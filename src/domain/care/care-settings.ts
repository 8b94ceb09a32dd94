import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { CareRuleInput } from './care-rule.types.js';
import { careRuleInput } from './care-rule.schema.js';
import { retentionSettingsSchema } from '../privacy/retention-settings.js';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:mm');

/** Scheduling, delivery and win-back settings (config/care-rules.json `settings`; every field has a default). */
export const careSettingsSchema = z.object({
  /** Local time of the daily care run; a missed run is caught up on start the same day. */
  careTime: hhmm.default('09:00'),
  /** Cron expressions of the jobs (node-cron syntax, APP_TIMEZONE). `care` is derived from careTime. */
  schedules: z
    .object({
      winback: z.string().default('0 10 * * *'),
      scoring: z.string().default('30 3 * * *'),
      broadcasts: z.string().default('* * * * *'),
      'delivery-results': z.string().default('*/2 * * * *'),
      /** 客户群群发: submit due group tasks, reconcile, poll results, count the groups' quota (src/jobs/group-broadcasts.job.ts). */
      'group-broadcasts': z.string().default('*/2 * * * *'),
      sync: z.string().default('0 4 * * *'),
      /** Personal-data retention purge (src/jobs/retention.job.ts); after `sync`, before the morning's sends. */
      retention: z.string().default('10 4 * * *'),
      /**
       * Customer transfer results (src/jobs/transfers.job.ts): a takeover completes 24 h after the request
       * (docs/wecom-protocol.md §Customer transfers).
       */
      transfers: z.string().default('*/30 * * * *'),
      /** Bulk tag changes no process is working on (src/jobs/bulk-tags.job.ts): resumed within a minute. */
      'bulk-tags': z.string().default('* * * * *'),
      /** Digests of staff alerts that waited for WeCom's per-member message cap (src/jobs/staff-digest.job.ts). */
      'staff-digest': z.string().default('* * * * *'),
      /** Analytics rollups and the nightly snapshot (src/jobs/analytics.job.ts): just after the day ends. */
      analytics: z.string().default('20 0 * * *'),
      /** Churn-risk scores (src/jobs/churn.job.ts): after `scoring`, before the morning. */
      churn: z.string().default('45 3 * * *'),
      /** Points expiry and tier evaluation (src/jobs/loyalty.job.ts): after midnight, before the morning's sends. */
      loyalty: z.string().default('40 2 * * *'),
      /** Survey invitations by trigger (src/jobs/surveys.job.ts): after the care run, so a greeting keeps the day. */
      surveys: z.string().default('30 10 * * *'),
      /** Feedback tickets: owner notices still to send, and missed first-contact SLAs escalated (src/jobs/feedback.job.ts). */
      feedback: z.string().default('* * * * *'),
      /** 群SOP fires (src/jobs/group-sop.job.ts): every minute, so a step goes out at its minute. */
      'group-sop': z.string().default('* * * * *'),
      /** 客户旅程 (src/jobs/journeys.job.ts): every minute, so a step goes out at its minute. */
      journeys: z.string().default('* * * * *'),
      /** 客户旅程's nightly entries (birthdays, audiences, stages): after the scoring run has set stages. */
      'journeys-nightly': z.string().default('30 4 * * *'),
      /** 今日待办's morning digest (src/jobs/todo-digest.job.ts): "今天有 N 项待办" to each member, once a day. */
      'todo-digest': z.string().default('30 9 * * *'),
      /** 素材库: WeCom media ids re-made before their 3 days run out, failed image uploads retried (src/jobs/content-media.job.ts). */
      'content-media': z.string().default('17 * * * *'),
    })
    .prefault({}),
  /**
   * Nothing is submitted to WeCom inside this local window; planned rows wait
   * (docs/reliability.md §Quiet hours and caps).
   */
  quietHours: z.object({ start: hhmm, end: hhmm }).default({ start: '21:00', end: '09:00' }),
  /** The corp's 群发规则, which the API cannot read (docs/wecom-protocol.md §Mass message quota). */
  massQuotaRule: z.enum(['days_of_month', 'seven_per_week', 'one_per_day']).default('days_of_month'),
  /** Our own cap: customer-facing care/win-back messages per customer per local day. */
  perCustomerPerDay: z.number().int().min(1).max(20).default(1),
  /** Which follower sends when a customer has several: the most recently added active relation, or the first. */
  senderPolicy: z.enum(['latest', 'earliest']).default('latest'),
  /** Customers read per page when planning; memory stays flat whatever the customer count. */
  pageSize: z.number().int().min(100).max(50_000).default(5000),
  /** How often a submitted mass task is polled for results. */
  resultPollMinutes: z.number().int().min(1).max(1440).default(10),
  /** A task nobody confirmed within this many days is cancelled and its rows expire. */
  taskExpiryDays: z.number().int().min(1).max(30).default(3),
  /** A `submitting` batch older than this is presumed crashed and reconciled against WeCom. */
  reconcileAfterSeconds: z.number().int().min(1).max(3600).default(120),
  activity: z
    .object({
      /** Silent this many days → dormant. */
      dormantDays: z.number().int().min(1).default(30),
      /** Silent this many days (or no active relation) → churned. */
      churnedDays: z.number().int().min(2).default(90),
    })
    .prefault({}),
  /** RFM segments and lifecycle stages, computed by the nightly `scoring` job (src/domain/scoring/). */
  scoring: z
    .object({
      /** RFM and `loyal` look at orders of the last this many local days, today included. */
      windowDays: z.number().int().min(1).max(3650).default(365),
      /** Added fewer than this many days ago and no order yet → stage `new`. */
      newDays: z.number().int().min(1).max(365).default(7),
      /** At least this many orders in the window → stage `loyal`. */
      loyalOrders: z.number().int().min(2).max(1000).default(3),
    })
    .prefault({}),
  /** Retention periods of personal data, applied by the daily `retention` job (PIPL art. 19). */
  retention: retentionSettingsSchema.prefault({}),
});

/** Validated scheduling settings. */
export type CareSettings = z.infer<typeof careSettingsSchema>;

/** The whole config/care-rules.json file: settings plus the default rules seeded on first start. */
export const careConfigSchema = z.object({
  settings: careSettingsSchema.prefault({}),
  rules: z.array(careRuleInput.extend({ seedKey: z.string().min(1).max(64) })).default([]),
});

/** The parsed config file. */
export type CareConfig = { settings: CareSettings; rules: (CareRuleInput & { seedKey: string })[] };

/** Defaults when no file is given (tests). */
export function defaultCareSettings(overrides: Partial<CareSettings> = {}): CareSettings {
  return { ...careSettingsSchema.parse({}), ...overrides };
}

/** Read and validate config/care-rules.json; every problem is listed in the thrown error. */
export function loadCareConfig(file: string | URL = new URL('../../../config/care-rules.json', import.meta.url)): CareConfig {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const r = careConfigSchema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`config/care-rules.json is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  return r.data as CareConfig;
}
