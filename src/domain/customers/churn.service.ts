import type { Db } from '../../persistence/db.js';
import type { CustomerRepository } from '../../persistence/repositories/customer.repository.js';
import type { StaffRepository } from '../../persistence/repositories/staff.repository.js';
import type { FollowRelationRepository } from '../../persistence/repositories/follow-relation.repository.js';
import type { RelationStatus } from './follow-relation.types.js';
import type { TimelineRepository } from '../../persistence/repositories/timeline.repository.js';
import type { TimelineSourceRepository } from '../../persistence/repositories/timeline-source.repository.js';
import type { StaffMessenger } from '../notify/staff-messenger.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { ChannelService } from '../channels/channel.service.js';
import { WecomApiError } from '../../shared/errors.js';
import type { RecordRelationChange } from '../analytics/analytics-recorder.js';

/** Which side ended a relation. */
export type RelationLoss = 'customer_deleted_staff' | 'staff_deleted_customer';

/** The outcome of a loss event. */
export interface LossOutcome {
  status: RelationStatus;
  isStale: boolean;
  alerted: string[];
}

/**
 * Relation losses (删人提醒): marks the relation, keeps activity and channel stats right, and alerts people by app
 * message (message/send, docs/wecom-protocol.md §App messages to staff). `DELETE_BY_TRANSFER` is an on-job transfer,
 * not a loss (docs/wecom-protocol.md §Customer contact events). Alerts are sent at most once per event: a timeline
 * record (source `alert`) is checked before and written after.
 */
export class ChurnService {
  constructor(
    private readonly db: Db,
    private readonly customers: CustomerRepository,
    private readonly relations: FollowRelationRepository,
    private readonly timeline: TimelineRepository,
    private readonly sources: TimelineSourceRepository,
    private readonly channels: ChannelService,
    private readonly messenger: Pick<StaffMessenger, 'send'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly adminUserids: readonly string[],
    private readonly staff: Pick<StaffRepository, 'displayName'>,
    /** Port to analytics: the loss (or transfer) is counted in the transaction that applied it. */
    private readonly recordChange?: RecordRelationChange,
  ) {}

  /** Apply a del_follow_user / del_external_contact event. */
  async onRelationLost(e: { loss: RelationLoss; userid: string; externalUserId: string; eventTime: number | null; source?: string }): Promise<LossOutcome> {
    const isTransfer = e.loss === 'staff_deleted_customer' && e.source === 'DELETE_BY_TRANSFER';
    const status: RelationStatus = e.loss === 'customer_deleted_staff' ? 'deleted_by_customer' : isTransfer ? 'transferred' : 'deleted_by_staff';
    const now = this.clock.now();
    const at = new Date(e.eventTime ?? now.getTime());
    const result = await this.db.tx(async (em) => {
      const r = await this.relations.setStatusInTx(em, e.userid, e.externalUserId, status, e.eventTime, now.getTime());
      if (r.applied && r.before === 'active') {
        const channel = r.relation?.state ? await this.channels.findByStateInTx(em, r.relation.state) : null;
        if (channel && !isTransfer) await this.channels.recordDelete(em, channel, at);
        const kind = isTransfer ? 'transferred_out' : e.loss === 'customer_deleted_staff' ? 'lost_by_customer' : 'lost_by_staff';
        if (this.recordChange) await this.recordChange(em, { kind, userid: e.userid, externalUserId: e.externalUserId, channelId: channel?.id ?? null, occurredAt: at });
      }
      await this.customers.refreshActivityInTx(em, e.externalUserId, now.getTime());
      return r;
    });
    if (result.isStale) return { status: result.before ?? status, isStale: true, alerted: [] };
    if (isTransfer) return { status, isStale: false, alerted: [] };
    const recipients = [...new Set([...(e.loss === 'customer_deleted_staff' ? [e.userid] : []), ...this.adminUserids])];
    if (recipients.length === 0) return { status, isStale: false, alerted: [] };
    const sourceId = `${e.loss}|${e.userid}|${e.externalUserId}|${e.eventTime ?? 'na'}`;
    if (await this.sources.has('alert', sourceId)) return { status, isStale: false, alerted: [] };
    const customer = await this.customers.find(e.externalUserId);
    const name = customer?.name || e.externalUserId;
    // Admins read the alert: the staff member's name first, the userid to find them in the admin console.
    const staffName = await this.staff.displayName(e.userid);
    const member = staffName === e.userid ? e.userid : `${staffName}（${e.userid}）`;
    const what = e.loss === 'customer_deleted_staff' ? `客户「${name}」删除了员工 ${member}` : `员工 ${member} 删除了客户「${name}」`;
    const content = e.loss === 'customer_deleted_staff' ? `【删人提醒】${what}，请及时跟进挽回。` : `【删人提醒】${what}。`;
    try {
      // Members over WeCom's per-member cap get the alert in their next digest instead of losing it
      // (docs/wecom-protocol.md §API rate limits).
      const sent = await this.messenger.send(recipients, content, { kind: 'churn_alert', digestLine: `删人提醒：${what}`, externalUserId: e.externalUserId });
      this.log.info({ loss: e.loss, recipients: sent.sent.length, deferred: sent.deferred.length }, 'churn alert sent');
    } catch (err) {
      // 81013/40031: every recipient is invalid or outside the app's visible range
      // (docs/wecom-protocol.md §App messages to staff). Retrying cannot help; the miss is recorded on the timeline and
      // logged for the operator to fix the config.
      if (!(err instanceof WecomApiError && (err.errcode === 81013 || err.errcode === 40031))) throw err;
      this.log.warn({ errcode: err.errcode, recipients: recipients.length }, 'churn alert recipients invalid');
    }
    await this.timeline.add(
      { externalUserId: e.externalUserId, staffUserid: e.userid, kind: 'alert', summary: `已提醒：${recipients.join('、')}`.slice(0, 500), data: { recipients, loss: e.loss }, source: 'alert', sourceId, occurredAt: now },
      now,
    );
    return { status, isStale: false, alerted: recipients };
  }
}
