import { addDays, localDate, zonedTimeToUtc } from '../../shared/dates.js';
import { renderTemplate } from '../../shared/template.js';
import { ConflictError } from '../../shared/errors.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import type { Clock } from '../../shared/clock.js';
import type { SurveyRepository } from '../../persistence/repositories/survey.repository.js';
import type { PlanSink } from '../delivery/delivery-ledger.js';
import { SkipReason, type NewDelivery } from '../delivery/delivery.types.js';
import type { SurveyService } from './survey.service.js';
import type { Survey } from './survey.types.js';
import type { KfSessionEnded } from '../customers/kf-sync.service.js';

/** An event reply's code lets one message through within 20 s of the event (docs/wecom-protocol.md §KF sessions and event replies). */
export const KF_EVENT_REPLY_MS = 20_000;
/** After a customer's message, KF may write to them for 48 h (docs/wecom-protocol.md §WeChat customer service). */
export const KF_WINDOW_MS = 48 * 3_600_000;

/**
 * Where a survey invitation stands among the ledger's messages to one customer on one day (docs/surveys.md §Priority):
 * below the care greetings (birthday 300, holiday 200, anniversary 150), tier congratulations (120) and broadcasts and
 * follow-ups (100); above win-back (50).
 */
export const SURVEY_MESSAGE_PRIORITY = 90;

/** What the invitation needs to know of the customers it goes to. */
export interface SurveySendLookups {
  names(ids: string[]): Promise<Map<string, string>>;
  senders(ids: string[]): Promise<Map<string, { userid: string; name: string }>>;
  optedOut(ids: string[]): Promise<Set<string>>;
}

/** What one sending came to. */
export interface SendCounts {
  /** Rows planned in the ledger (the owner's mass-send task will carry them). */
  planned: number;
  /** Rows recorded as skipped (caps, opted out, no active follower; the reason is in the ledger). */
  skipped: number;
  /** Already planned today (a second run, or another instance). */
  duplicate: number;
  /** Already reached this period (planned, on its way or sent): never twice per survey per period. */
  alreadyThisPeriod: number;
}

const noCounts = (): SendCounts => ({ planned: 0, skipped: 0, duplicate: 0, alreadyThisPeriod: 0 });

/**
 * Plans survey invitations into the delivery ledger as care messages are planned (docs/surveys.md §Sending): a
 * mass-send task the customer's owner confirms, under the daily cap and the monthly mass quota, held by quiet hours at
 * dispatch, recorded as skipped for a customer who opted out. The ledger key is `survey:<id>` + the customer +
 * `<period>#<local date>`, and a customer the survey reached in the period is not planned again; one skipped (a full
 * day, say) may be planned on a later day of the period while the trigger still finds them.
 */
export class SurveySender {
  constructor(
    private readonly surveys: Pick<SurveyService, 'inviteLink' | 'periodAt'>,
    private readonly repo: Pick<SurveyRepository, 'reachedInPeriod' | 'candidates' | 'inAudience'>,
    private readonly audienceWhere: (audience: string | null) => Promise<{ sql: string; params: unknown[] }>,
    private readonly lookups: SurveySendLookups,
    private readonly siteOrigin: () => string | null,
    private readonly clock: Clock,
    private readonly tz: string,
    private readonly pageSize = 500,
  ) {}

  /** Plan the survey's invitation for these customers now (by hand, or a trigger's page). */
  async send(s: Survey, exts: string[], sink: PlanSink): Promise<SendCounts> {
    const counts = noCounts();
    if (exts.length === 0) return counts;
    if (s.status !== 'active') throw new ConflictError('问卷未启用，不能发送', 'survey_not_active');
    const origin = this.siteOrigin();
    if (!origin) throw new ConflictError('尚不知道本站地址，无法生成问卷链接：请设置 PUBLIC_URL', 'origin_unknown');
    const now = this.clock.now();
    const today = localDate(now, this.tz);
    const period = this.surveys.periodAt(s, now);
    const source = `survey:${s.id}`;
    const reached = await this.repo.reachedInPeriod(source, period, exts);
    const ids = [...new Set(exts)].filter((ext) => !reached.has(ext));
    counts.alreadyThisPeriod = exts.length - ids.length;
    if (ids.length === 0) return counts;
    const [names, senders, optedOut] = await Promise.all([this.lookups.names(ids), this.lookups.senders(ids), this.lookups.optedOut(ids)]);
    const rows: NewDelivery[] = [];
    for (const ext of ids) {
      const sender = senders.get(ext) ?? null;
      const link = await this.surveys.inviteLink(s, ext, 'mass_task', sender?.userid ?? null);
      rows.push({
        source,
        kind: 'survey',
        ruleId: null,
        externalUserId: ext,
        occasion: `${period}#${today}`,
        channel: 'mass_task',
        priority: SURVEY_MESSAGE_PRIORITY,
        senderUserid: sender?.userid ?? null,
        text: renderTemplate(s.message, { name: names.get(ext) ?? '', staff: sender?.name ?? '', link: `${origin.replace(/\/$/, '')}${link.path}` }),
        attachments: [],
        localDate: today,
        notBefore: now,
        // An invitation may wait out quiet hours and the owner's confirmation for three days, not longer.
        expiresAt: zonedTimeToUtc(addDays(today, 3), '00:00', this.tz),
        skipReason: optedOut.has(ext) ? `${SkipReason.OptedOut}: 客户已退订 / customer opted out` : null,
      });
    }
    for (const o of await sink.planMany(rows)) {
      if (o.result === 'planned') counts.planned += 1;
      else if (o.result === 'skipped') counts.skipped += 1;
      else counts.duplicate += 1;
    }
    return counts;
  }

  /**
   * The invitation of a session-end survey for a customer whose WeChat-KF session just ended
   * (docs/surveys.md §After a WeChat-KF session): one ledger row on the `kf` channel, under the daily cap, opt-out and
   * "once per period", that the event reply may send at once. It is due only after the reply's 20 s, so the dispatcher never races the reply;
   * after that it waits for the customer's next message (kf/send_msg), until 48 h after the end. Returns the row's id
   * when one was planned.
   */
  async planAfterKfSession(s: Survey, e: Pick<KfSessionEnded, 'externalUserId' | 'endedAt' | 'servicerUserid'>, sink: PlanSink): Promise<{ counts: SendCounts; deliveryId: number | null; text: string }> {
    const counts = noCounts();
    const none = { counts, deliveryId: null, text: '' };
    if (s.status !== 'active' || s.trigger !== 'kf_session_end') return none;
    const origin = this.siteOrigin();
    if (!origin) throw new ConflictError('尚不知道本站地址，无法生成问卷链接：请设置 PUBLIC_URL', 'origin_unknown');
    const ext = e.externalUserId;
    const now = this.clock.now();
    const today = localDate(now, this.tz);
    const period = this.surveys.periodAt(s, now);
    const source = `survey:${s.id}`;
    if ((await this.repo.reachedInPeriod(source, period, [ext])).has(ext)) {
      counts.alreadyThisPeriod = 1;
      return { ...none, counts };
    }
    if (s.audience && !(await this.repo.inAudience(await this.audienceWhere(s.audience), ext))) return none;
    const [names, senders, optedOut] = await Promise.all([this.lookups.names([ext]), this.lookups.senders([ext]), this.lookups.optedOut([ext])]);
    const owner = senders.get(ext) ?? null;
    // Per-staff results credit whoever served the session, else the owner.
    const link = await this.surveys.inviteLink(s, ext, 'kf', e.servicerUserid ?? owner?.userid ?? null);
    const text = renderTemplate(s.message, { name: names.get(ext) ?? '', staff: owner?.name ?? '', link: `${origin.replace(/\/$/, '')}${link.path}` });
    const [o] = await sink.planMany([
      {
        source,
        kind: 'survey',
        ruleId: null,
        externalUserId: ext,
        occasion: `${period}#${today}`,
        // The message comes from the KF account, not from a member.
        channel: 'kf',
        priority: SURVEY_MESSAGE_PRIORITY,
        senderUserid: null,
        text,
        attachments: [],
        localDate: today,
        notBefore: new Date(e.endedAt.getTime() + KF_EVENT_REPLY_MS),
        expiresAt: new Date(e.endedAt.getTime() + KF_WINDOW_MS),
        skipReason: optedOut.has(ext) ? `${SkipReason.OptedOut}: 客户已退订 / customer opted out` : null,
      },
    ]);
    if (o.result === 'planned') {
      counts.planned = 1;
      return { counts, deliveryId: o.id, text };
    }
    if (o.result === 'skipped') counts.skipped = 1;
    else counts.duplicate = 1;
    return { ...none, counts };
  }

  /**
   * A trigger's run for today (docs/surveys.md §Triggers): the customers first added, or first ordering, N days ago
   * (the last three such days, so a missed run catches up), or for `periodic` every customer of the audience, each
   * within the survey's audience; planned a page at a time.
   */
  async runTrigger(s: Survey, sink: PlanSink): Promise<SendCounts> {
    const counts = noCounts();
    if (s.status !== 'active' || s.trigger === 'manual' || s.trigger === 'kf_session_end') return counts;
    const today = localDate(this.clock.now(), this.tz);
    const where = await this.audienceWhere(s.audience);
    const by = s.trigger === 'periodic' ? null : s.trigger;
    const from = zonedTimeToUtc(addDays(today, -s.triggerDays - 2), '00:00', this.tz).getTime();
    const to = zonedTimeToUtc(addDays(today, -s.triggerDays + 1), '00:00', this.tz).getTime();
    let after = '';
    for (;;) {
      const page = await this.repo.candidates(where, { by, from, to }, after, this.pageSize);
      if (page.length === 0) break;
      after = page[page.length - 1];
      const c = await this.send(s, page, sink);
      counts.planned += c.planned;
      counts.skipped += c.skipped;
      counts.duplicate += c.duplicate;
      counts.alreadyThisPeriod += c.alreadyThisPeriod;
      await yieldToEventLoop();
      if (page.length < this.pageSize) break;
    }
    return counts;
  }
}
