import type { EventHandler, TimelineNote } from '../../inbox/event-router.js';
import { eventField } from '../../inbox/inbound-event.js';
import type { InboundEvent } from '../../inbox/inbox.types.js';

const REASONS: Record<string, string> = { customer_refused: '客户拒绝', customer_limit_exceed: '接替成员的客户数已达上限' };

/** transfer_fail (docs/wecom-protocol.md §Customer contact events): nothing changes hands; the timeline says why. */
export class TransferFailedHandler implements EventHandler {
  readonly name = 'customers.transfer-failed';
  readonly kinds = ['event/change_external_contact/transfer_fail'];

  /** Describe the failure on the timeline. */
  async handle(event: InboundEvent): Promise<TimelineNote | void> {
    const reason = eventField(event, 'FailReason') ?? 'unknown';
    return { summary: `客户转接失败：${REASONS[reason] ?? reason}`, data: { failReason: reason } };
  }
}
