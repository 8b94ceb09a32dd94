import type { EventHandler, TimelineNote } from '../../inbox/event-router.js';
import { eventCreateTimeMs, eventField } from '../../inbox/inbound-event.js';
import type { InboundEvent } from '../../inbox/inbox.types.js';
import type { ChurnService } from '../churn.service.js';

/**
 * del_follow_user (the customer deleted the staff member) and del_external_contact (the staff member deleted the
 * customer; `Source=DELETE_BY_TRANSFER` for an on-job transfer), docs/wecom-protocol.md §Customer contact events.
 */
export class ContactLostHandler implements EventHandler {
  readonly name = 'customers.contact-lost';
  readonly kinds = ['event/change_external_contact/del_follow_user', 'event/change_external_contact/del_external_contact'];

  constructor(private readonly churn: ChurnService) {}

  /** Mark the relation and alert. */
  async handle(event: InboundEvent): Promise<TimelineNote | void> {
    const ext = eventField(event, 'ExternalUserID');
    const userid = eventField(event, 'UserID');
    if (!ext || !userid) return;
    const isCustomerSide = event.kind.endsWith('/del_follow_user');
    const source = eventField(event, 'Source');
    const out = await this.churn.onRelationLost({
      loss: isCustomerSide ? 'customer_deleted_staff' : 'staff_deleted_customer',
      userid,
      externalUserId: ext,
      eventTime: eventCreateTimeMs(event.fields),
      source,
    });
    if (out.status === 'transferred') return { summary: '客户已转接给其他员工（在职继承）', data: { source } };
    return { data: { source, status: out.status, stale: out.isStale || undefined } };
  }
}
