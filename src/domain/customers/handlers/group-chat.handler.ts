import type { EventHandler, TimelineNote } from '../../inbox/event-router.js';
import { eventCreateTimeMs, eventField } from '../../inbox/inbound-event.js';
import type { InboundEvent } from '../../inbox/inbox.types.js';
import type { GroupChatRepository } from '../../../persistence/repositories/group-chat.repository.js';
import type { WecomGateway } from '../../../wecom/client/gateway.js';
import type { Clock } from '../../../shared/clock.js';

/**
 * change_external_chat create/update/dismiss (docs/wecom-protocol.md §Customer group events). Member-version gaps make
 * incremental updates unreliable, so every change re-reads the group with groupchat/get
 * (docs/wecom-protocol.md §Customer groups) and replaces the member list.
 */
export class GroupChatHandler implements EventHandler {
  readonly name = 'customers.group-chat';
  readonly kinds = ['event/change_external_chat/*'];

  constructor(
    private readonly chats: GroupChatRepository,
    private readonly wecom: WecomGateway,
    private readonly clock: Clock,
  ) {}

  /** Refresh or dismiss the group. */
  async handle(event: InboundEvent): Promise<TimelineNote | void> {
    const chatId = eventField(event, 'ChatId');
    if (!chatId) return;
    const eventTime = eventCreateTimeMs(event.fields);
    const now = this.clock.now().getTime();
    if (eventField(event, 'ChangeType') === 'dismiss') {
      await this.chats.markDismissed(chatId, eventTime, now);
      return;
    }
    const g = await this.wecom.groupChatGet(chatId, { needName: true });
    await this.chats.applySnapshot(
      { chatId, name: g.name, owner: g.owner, createdAt: g.createdAt, members: g.members.map((m) => ({ memberId: m.userId, type: m.type, joinedAt: m.joinedAt })) },
      eventTime,
      now,
    );
  }
}
