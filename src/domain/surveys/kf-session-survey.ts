import { AppError, toError } from '../../shared/errors.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { PlanSink } from '../delivery/delivery-ledger.js';
import type { EventReplyOutcome } from '../delivery/delivery-dispatcher.js';
import type { Delivery } from '../delivery/delivery.types.js';
import type { KfSessionEnded } from '../customers/kf-sync.service.js';
import { KF_EVENT_REPLY_MS, KF_WINDOW_MS, type SurveySender } from './survey-sender.js';
import type { Survey } from './survey.types.js';

/**
 * How long before the code's 20 s run out the reply is no longer tried: the call itself takes time, and a code spent
 * by WeCom's clock would only be refused.
 */
const REPLY_MARGIN_MS = 2_000;

/** What one session end came to (for logs and tests). */
export type SessionEndOutcome =
  | 'no_survey'
  | 'stale'
  | 'not_planned'
  | 'already_this_period'
  | 'skipped'
  | 'duplicate'
  | 'waiting'
  | EventReplyOutcome;

/**
 * The survey after a WeChat-KF session (docs/surveys.md §After a WeChat-KF session). When the KF pull sees a session
 * end, the oldest active survey with the trigger `kf_session_end` plans its invitation in the delivery ledger and, if
 * the event's `msg_code` is still fresh, sends it at once as the event reply (kf/send_msg_on_event). A reply that
 * cannot go (quiet hours, a stale or refused code) leaves the row planned for kf/send_msg once the customer writes
 * again within 48 h of the end.
 */
export class KfSessionSurveys {
  constructor(
    private readonly surveys: () => Promise<Survey[]>,
    private readonly sender: Pick<SurveySender, 'planAfterKfSession'>,
    private readonly ledger: () => PlanSink,
    private readonly reply: (d: Pick<Delivery, 'id' | 'externalUserId' | 'text'>, code: string, now: Date) => Promise<EventReplyOutcome>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Called by the KF pull for each session end, after its messages are written; safe to call again for the same end. */
  async onSessionEnd(e: KfSessionEnded): Promise<SessionEndOutcome> {
    const now = this.clock.now();
    // A first pull reads three days back: an end older than the 48 h window can no longer be answered at all.
    if (now.getTime() - e.endedAt.getTime() > KF_WINDOW_MS) return 'stale';
    const survey = (await this.surveys()).filter((s) => s.status === 'active' && s.trigger === 'kf_session_end').sort((a, b) => a.id - b.id)[0];
    if (!survey) return 'no_survey';
    let planned: Awaited<ReturnType<SurveySender['planAfterKfSession']>>;
    try {
      planned = await this.sender.planAfterKfSession(survey, e, this.ledger());
    } catch (err) {
      // A setting that is missing (the site's address) is the operator's to fix; the pull itself goes on.
      if (!(err instanceof AppError)) throw err;
      this.log.warn({ err: toError(err), surveyId: survey.id }, 'session-end survey not planned');
      return 'not_planned';
    }
    const c = planned.counts;
    if (planned.deliveryId === null) return c.alreadyThisPeriod ? 'already_this_period' : c.skipped ? 'skipped' : c.duplicate ? 'duplicate' : 'not_planned';
    if (!e.msgCode || this.clock.now().getTime() - e.endedAt.getTime() > KF_EVENT_REPLY_MS - REPLY_MARGIN_MS) return 'waiting';
    return this.reply({ id: planned.deliveryId, externalUserId: e.externalUserId, text: planned.text }, e.msgCode, this.clock.now());
  }
}
