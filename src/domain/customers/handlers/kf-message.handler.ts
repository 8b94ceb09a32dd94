import type { EventHandler, HandlerContext, TimelineNote } from '../../inbox/event-router.js';
import { eventField } from '../../inbox/inbound-event.js';
import type { InboundEvent } from '../../inbox/inbox.types.js';
import type { KfSyncService } from '../kf-sync.service.js';

/**
 * kf_msg_or_event (docs/wecom-protocol.md §WeChat customer service): the callback is only a pull token; pull with the
 * stored cursor.
 */
export class KfMessageHandler implements EventHandler {
  readonly name = 'customers.kf-message';
  readonly kinds = ['event/kf_msg_or_event'];

  constructor(private readonly kf: KfSyncService) {}

  /** Pull new KF messages for the account. */
  async handle(event: InboundEvent, ctx: HandlerContext): Promise<TimelineNote | void> {
    const openKfId = eventField(event, 'OpenKfId');
    if (!openKfId) return;
    // The Token is valid 10 minutes; a late retry pulls without it (rate-limited but still correct).
    const isFresh = ctx.now.getTime() - event.receivedAt.getTime() < 9 * 60_000;
    await this.kf.pull(openKfId, isFresh ? eventField(event, 'Token') : undefined);
  }
}
