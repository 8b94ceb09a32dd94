import type { EventHandler, TimelineNote } from '../../inbox/event-router.js';
import { eventField } from '../../inbox/inbound-event.js';
import type { InboundEvent } from '../../inbox/inbox.types.js';
import type { TagLibraryService } from '../../tags/tag-library.service.js';

/**
 * change_external_tag create/update/delete/shuffle for tags and groups (docs/wecom-protocol.md §Tag library events):
 * re-read and store.
 */
export class TagLibraryHandler implements EventHandler {
  readonly name = 'tags.library';
  readonly kinds = ['event/change_external_tag/*'];

  constructor(private readonly library: TagLibraryService) {}

  /** Apply the change by re-reading WeCom. */
  async handle(event: InboundEvent): Promise<TimelineNote | void> {
    await this.library.applyTagEvent({
      id: eventField(event, 'Id'),
      tagType: eventField(event, 'TagType'),
      changeType: eventField(event, 'ChangeType') ?? 'shuffle',
    });
  }
}
