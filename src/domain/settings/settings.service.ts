import type { AppConfig } from '../../config/schema.js';
import type { CareSettings } from '../care/care-settings.js';
import { DEFAULT_LIMIT, DEFAULT_LIMITS, type ApiLimit } from '../../wecom/client/api-policy.js';
import { STAFF_MESSAGE_CAPS } from '../notify/staff-messenger.js';
import type { Setting, SettingSource, SettingsView } from './settings.types.js';

/** The file the scheduling, delivery, retention and scoring settings are read from (src/domain/care/care-settings.ts). */
export const CARE_SETTINGS_FILE = 'config/care-rules.json';

/** A job as the settings page lists it. */
export interface ScheduledJob {
  name: string;
  description: string;
  schedule: string;
}

/** What the service reads: the loaded config, the care settings and the jobs with their schedules. */
export interface SettingsSources {
  config: Pick<AppConfig, 'appTimezone' | 'audit' | 'auth' | 'search' | 'wecom' | 'loyalty' | 'sources'> & {
    /** The feedback SLA and escalation list (docs/feedback.md §SLA and escalation); absent in callers that predate it. */
    feedback?: AppConfig['feedback'];
    /** Who is escalated to when FEEDBACK_ESCALATE_TO is empty. */
    console?: Pick<AppConfig['console'], 'adminUserids'>;
  };
  care: CareSettings;
  jobs: readonly ScheduledJob[];
}

/** Where a WeCom API's limit would be overridden. */
const LIMITS_DEFAULT: SettingSource = { kind: 'default', file: 'config/local.json', key: 'wecom.limits' };

/** AppConfig paths the page shows, with the environment variable that sets each (src/config/load.ts ENV_MAP). */
const ENV_OF: Record<string, string> = {
  appTimezone: 'APP_TIMEZONE',
  'audit.retentionDays': 'AUDIT_RETENTION_DAYS',
  'auth.maxFailures': 'AUTH_MAX_FAILURES',
  'search.maxPerMinute': 'SEARCH_MAX_PER_MINUTE',
  'search.maxPerDay': 'SEARCH_MAX_PER_DAY',
  'loyalty.pointsPerYuan': 'LOYALTY_POINTS_PER_YUAN',
  'loyalty.birthdayMultiplier': 'LOYALTY_BIRTHDAY_MULTIPLIER',
  'loyalty.expiryYears': 'LOYALTY_EXPIRY_YEARS',
  'loyalty.tierBasis': 'LOYALTY_TIER_BASIS',
  'loyalty.spendWindowDays': 'LOYALTY_SPEND_WINDOW_DAYS',
  'loyalty.tiers': 'LOYALTY_TIERS',
  'loyalty.downgradeGraceDays': 'LOYALTY_DOWNGRADE_GRACE_DAYS',
  'loyalty.linkTtlDays': 'LOYALTY_LINK_TTL_DAYS',
  'loyalty.pagePerMinutePerAddress': 'LOYALTY_PAGE_PER_MINUTE_ADDRESS',
  'loyalty.pagePerMinutePerToken': 'LOYALTY_PAGE_PER_MINUTE_TOKEN',
  'loyalty.upgradeMessage': 'LOYALTY_UPGRADE_MESSAGE',
  'feedback.firstContactHours': 'FEEDBACK_FIRST_CONTACT_HOURS',
  'feedback.escalateTo': 'FEEDBACK_ESCALATE_TO',
};
/** The 积分与会员 settings the page lists, in order (docs/loyalty.md; every one is a LOYALTY_* variable). */
const LOYALTY_KEYS = [
  'pointsPerYuan',
  'birthdayMultiplier',
  'expiryYears',
  'tierBasis',
  'spendWindowDays',
  'tiers',
  'downgradeGraceDays',
  'linkTtlDays',
  'pagePerMinutePerAddress',
  'pagePerMinutePerToken',
  'upgradeMessage',
] as const;

/**
 * The settings the engine runs with, read-only, each with where it comes from (系统设置). Every value is read once at
 * start from config/care-rules.json, the config/*.json files and the environment, and nothing changes them at
 * runtime, so none is editable here: a page that wrote them would be overwritten by the files at the next start.
 * Only whitelisted, non-secret values are listed: no token, key, secret or database URL can appear.
 */
export class SettingsService {
  private readonly view: SettingsView;

  constructor(sources: SettingsSources) {
    this.view = buildView(sources);
  }

  /** Every setting by group. */
  list(): SettingsView {
    return this.view;
  }
}

function buildView({ config, care, jobs }: SettingsSources): SettingsView {
  // Where a value of AppConfig came from: the variable or file that set it (or an ancestor/descendant path), else default.
  const appSource = (path: string): SettingSource => {
    const sources = config.sources ?? {};
    const hit = sources[path] ?? Object.entries(sources).find(([p]) => p.startsWith(`${path}.`) || path.startsWith(`${p}.`))?.[1];
    if (hit?.startsWith('env:')) return { kind: 'env', name: hit.slice(4) };
    if (hit?.startsWith('file:')) return { kind: 'file', file: hit.slice(5), key: path };
    return ENV_OF[path] ? { kind: 'default', env: ENV_OF[path] } : { kind: 'default', file: 'config/local.json', key: path };
  };
  const careFile = (key: string): SettingSource => ({ kind: 'file', file: CARE_SETTINGS_FILE, key: `settings.${key}` });
  const item = (key: string, value: unknown, source: SettingSource): Setting => ({ key, value, source, isEditable: false });

  const limits = config.wecom.limits as Partial<Record<string, ApiLimit>> | undefined;
  const apis = [...new Set([...Object.keys(DEFAULT_LIMITS), ...Object.keys(limits ?? {})])].sort();
  const limitOf = (l: ApiLimit) => ({ perMinute: l.perMinute, perHour: l.perHour ?? null, concurrency: l.concurrency });

  return {
    delivery: [
      item('appTimezone', config.appTimezone, appSource('appTimezone')),
      item('quietHours', { start: care.quietHours.start, end: care.quietHours.end }, careFile('quietHours')),
      item('careTime', care.careTime, careFile('careTime')),
      item('perCustomerPerDay', care.perCustomerPerDay, careFile('perCustomerPerDay')),
      item('massQuotaRule', care.massQuotaRule, careFile('massQuotaRule')),
      item('senderPolicy', care.senderPolicy, careFile('senderPolicy')),
      item('taskExpiryDays', care.taskExpiryDays, careFile('taskExpiryDays')),
      item('resultPollMinutes', care.resultPollMinutes, careFile('resultPollMinutes')),
    ],
    // `care` runs at careTime; every other job's cron is settings.schedules.<name>.
    schedules: jobs.map((j) =>
      item(`job:${j.name}`, { schedule: j.schedule, description: j.description.split(' / ')[0] }, j.name === 'care' ? careFile('careTime') : careFile(`schedules.${j.name}`)),
    ),
    retention: [
      ...Object.entries(care.retention)
        .filter(([k]) => k !== 'batchSize')
        .map(([k, v]) => item(`retention.${k}`, v, careFile(`retention.${k}`))),
      item('audit.retentionDays', config.audit.retentionDays, appSource('audit.retentionDays')),
    ],
    rateLimits: [
      // Per-API overrides go in wecom.limits of a config file (docs/rate-limits.md); the defaults are the code's.
      item('wecom:*', limitOf(DEFAULT_LIMIT), LIMITS_DEFAULT),
      ...apis.map((api) => {
        const override = limits?.[api];
        return item(`wecom:${api}`, limitOf(override ?? DEFAULT_LIMITS[api as keyof typeof DEFAULT_LIMITS] ?? DEFAULT_LIMIT), override ? appSource('wecom.limits') : LIMITS_DEFAULT);
      }),
      item('staffMessages', { perMinute: STAFF_MESSAGE_CAPS.perMinute, perHour: STAFF_MESSAGE_CAPS.perHour, concurrency: null }, { kind: 'builtin' }),
      item('auth.maxFailures', { count: config.auth.maxFailures, windowMinutes: Math.round(config.auth.windowMs / 60_000) }, appSource('auth.maxFailures')),
      item('search.maxPerMinute', config.search.maxPerMinute, appSource('search.maxPerMinute')),
      item('search.maxPerDay', config.search.maxPerDay, appSource('search.maxPerDay')),
    ],
    scoring: [
      item('activity.dormantDays', care.activity.dormantDays, careFile('activity.dormantDays')),
      item('activity.churnedDays', care.activity.churnedDays, careFile('activity.churnedDays')),
      item('scoring.windowDays', care.scoring.windowDays, careFile('scoring.windowDays')),
      item('scoring.newDays', care.scoring.newDays, careFile('scoring.newDays')),
      item('scoring.loyalOrders', care.scoring.loyalOrders, careFile('scoring.loyalOrders')),
    ],
    loyalty: LOYALTY_KEYS.map((k) => item(`loyalty.${k}`, config.loyalty[k], appSource(`loyalty.${k}`))),
    // 客户反馈处理 (docs/feedback.md §SLA and escalation): the escalation list as the feedback job uses it, saying when
    // it is ADMIN_USERIDS because FEEDBACK_ESCALATE_TO is empty.
    feedback: [
      item('feedback.firstContactHours', config.feedback?.firstContactHours ?? 24, appSource('feedback.firstContactHours')),
      item(
        'feedback.escalateTo',
        config.feedback?.escalateTo.length
          ? { userids: [...config.feedback.escalateTo], fromAdmins: false }
          : { userids: [...(config.console?.adminUserids ?? [])], fromAdmins: true },
        appSource('feedback.escalateTo'),
      ),
    ],
  };
}
