import type { EventHandler, TimelineNote } from '../../inbox/event-router.js';
import { eventCreateTimeMs, eventField } from '../../inbox/inbound-event.js';
import type { InboundEvent } from '../../inbox/inbox.types.js';
import type { CustomerArchiveService } from '../customer-archive.service.js';
import { isRelationGone } from './relation-gone.js';

/**
 * edit_external_contact only says "something changed" (remark, description or enterprise tags,
 * docs/wecom-protocol.md §Customer contact events), so the customer is re-read and stored whole. Our own mark_tag echo,
 * if any, re-reads the same state: harmless.
 */
export class ContactEditedHandler implements EventHandler {
  readonly name = 'customers.contact-edited';
  readonly kinds = ['event/change_external_contact/edit_external_contact'];

  constructor(private readonly archive: CustomerArchiveService) {}

  /** Re-read the customer; it is stored in the transaction that finishes the event (docs/inbox.md §Cheap handlers). */
  async handle(event: InboundEvent): Promise<TimelineNote | void> {
    const ext = eventField(event, 'ExternalUserID');
    if (!ext) return;
    let write: Awaited<ReturnType<CustomerArchiveService['prepareStore']>>;
    try {
      write = await this.archive.prepareStore(await this.archive.fetch(ext), { eventTime: eventCreateTimeMs(event.fields) });
    } catch (err) {
      if (!isRelationGone(err)) throw err;
      return;
    }
    if (write) return { inFinish: async (em) => void (await write(em)) };
  }
}
