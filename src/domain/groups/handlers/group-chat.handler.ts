import type { EventHandler, TimelineNote } from '../../inbox/event-router.js';
import { eventCreateTimeMs, eventField } from '../../inbox/inbound-event.js';
import type { InboundEvent } from '../../inbox/inbox.types.js';
import type { Clock } from '../../../shared/clock.js';
import type { GroupArchiveService, LeaveReport } from '../group-archive.service.js';

/**
 * change_external_chat create, update (add_member, del_member, change_owner, change_name, change_notice) and dismiss
 * (docs/wecom-protocol.md §Customer group events). Member versions that do not chain make deltas unreliable, so every
 * kind re-reads the group with groupchat/get and diffs it against who is in now (docs/groups.md §Callbacks): replays
 * and any order change nothing twice. The event only adds what the snapshot cannot say: when and how the members a
 * del_member named left.
 */
export class GroupChatHandler implements EventHandler {
  readonly name = 'groups.group-chat';
  readonly kinds = ['event/change_external_chat/*'];

  constructor(
    private readonly groups: GroupArchiveService,
    private readonly clock: Clock,
  ) {}

  /** Refresh or dismiss the group; the customers' join and leave lines are written with the change. */
  async handle(event: InboundEvent): Promise<TimelineNote | void> {
    const chatId = eventField(event, 'ChatId');
    if (!chatId) return;
    const at = eventCreateTimeMs(event.fields) ?? this.clock.now().getTime();
    if (eventField(event, 'ChangeType') === 'dismiss') {
      const left = await this.groups.dismiss(chatId, at);
      return left > 0 ? { isSilent: true } : undefined;
    }
    const outcome = await this.groups.refresh(chatId, { leave: leaveReport(event, at) });
    return outcome.joined + outcome.left > 0 ? { isSilent: true } : undefined;
  }
}

/** A del_member's named members, time and QuitScene (0 left, 1 removed); undefined for any other update. */
function leaveReport(event: InboundEvent, at: number): LeaveReport | undefined {
  if (eventField(event, 'UpdateDetail') !== 'del_member') return undefined;
  const list = event.fields.MemChangeList;
  const memberIds = Array.isArray(list) ? list : typeof list === 'string' && list ? [list] : [];
  const scene = Number(eventField(event, 'QuitScene'));
  return { memberIds, at, quitScene: Number.isInteger(scene) ? scene : null };
}
