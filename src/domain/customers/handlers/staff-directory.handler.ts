import type { EventHandler, HandlerContext, TimelineNote } from '../../inbox/event-router.js';
import { eventField } from '../../inbox/inbound-event.js';
import type { InboundEvent } from '../../inbox/inbox.types.js';
import type { StaffAccessService } from '../../auth/staff-access.service.js';
import type { StaffRepository } from '../../../persistence/repositories/staff.repository.js';
import { NotFoundError } from '../../../shared/errors.js';
import type { StaffRenameService } from '../staff-rename.service.js';

/** change_contact `Status` 2: the member is disabled (禁用) in the directory (docs/wecom-protocol.md §Member events). */
const STATUS_DISABLED = '2';

/**
 * Member changes (change_contact, docs/wecom-protocol.md §Member events). WeCom sends them to the 通讯录同步 callback, not
 * to a self-built app (docs/wecom-protocol.md §Where callbacks come from); they reach the bot when the admin points
 * 管理工具 → 通讯录同步 → 设置接收事件服务器 at this server's `/wecom/callback` with the app's Token and EncodingAESKey (the receive id
 * is the CorpID for both).
 *
 * - `delete_user`: the member left. They are marked resigned and lose the sidebar and their staff tokens at once
 *   (StaffAccessService), instead of keeping a session for up to 8 hours.
 * - `update_user` with `Status` 2: disabled; access is revoked, but they may sign in again once enabled.
 * - `update_user` / `create_user` with a `Name` (only callbacks configured before 2022-08-15 carry it): the WeCom
 *   display name of a member the bot knows is refreshed; an operator's manual name still wins.
 *
 * - `update_user` with `NewUserID`: the member's account changed; every row kept under the old userid moves to the
 *   new one (StaffRenameService), before any name in the same event is applied to the new userid.
 */
export class StaffDirectoryHandler implements EventHandler {
  readonly name = 'customers.staff-directory';
  readonly kinds = ['event/change_contact/delete_user', 'event/change_contact/update_user', 'event/change_contact/create_user'];

  constructor(
    private readonly staff: Pick<StaffRepository, 'exists' | 'setWecomNames'>,
    private readonly access: Pick<StaffAccessService, 'revoke'>,
    private readonly renames: Pick<StaffRenameService, 'rename'>,
  ) {}

  /** Apply one member change; unknown members (no 客户联系) are left alone. */
  async handle(event: InboundEvent, ctx: HandlerContext): Promise<TimelineNote | void> {
    const oldUserid = eventField(event, 'UserID');
    if (!oldUserid) return;
    if (event.kind.endsWith('/delete_user')) return this.revoke(oldUserid, true, ctx);
    // The other fields of this event describe the member under their new userid.
    const newUserid = eventField(event, 'NewUserID')?.trim();
    if (newUserid && newUserid !== oldUserid) await this.renames.rename(oldUserid, newUserid, ctx.now.getTime());
    const userid = newUserid || oldUserid;
    if (eventField(event, 'Status') === STATUS_DISABLED) await this.revoke(userid, false, ctx);
    const name = eventField(event, 'Name')?.trim();
    if (name && (await this.staff.exists(userid))) await this.staff.setWecomNames([{ userid, name: name.slice(0, 100) }], ctx.now.getTime());
  }

  private async revoke(userid: string, resigned: boolean, ctx: HandlerContext): Promise<void> {
    try {
      await this.access.revoke(userid, { resigned, by: resigned ? 'wecom:delete_user' : 'wecom:disabled' });
    } catch (err) {
      // A member the bot never knew (no 客户联系) has nothing to revoke here.
      if (!(err instanceof NotFoundError)) throw err;
      ctx.log.debug({ userid }, 'change_contact for a member the bot does not know');
    }
  }
}
