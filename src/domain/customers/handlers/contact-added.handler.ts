import type { EventHandler, HandlerContext, TimelineNote } from '../../inbox/event-router.js';
import { eventCreateTimeMs, eventField, type InboundEvent } from '../../inbox/inbound-event.js';
import type { StaffRepository } from '../../../persistence/repositories/staff.repository.js';
import type { CustomerArchiveService } from '../customer-archive.service.js';
import type { ChannelService } from '../../channels/channel.service.js';
import { isRelationGone } from './relation-gone.js';

/**
 * add_external_contact / add_half_external_contact (reference §2.2). Order matters: the welcome_code lives 20 s
 * (§4.9), so the customer is read and the channel's welcome sent before anything else; then the archive, the
 * channel's tags, and the channel's stats (counted in the same transaction as the relation becoming active, so
 * a replay counts nothing twice).
 */
export class ContactAddedHandler implements EventHandler {
  readonly name = 'customers.contact-added';
  readonly kinds = ['event/change_external_contact/add_external_contact', 'event/change_external_contact/add_half_external_contact'];

  constructor(
    private readonly archive: CustomerArchiveService,
    private readonly channels: ChannelService,
    private readonly staff: StaffRepository,
  ) {}

  /** Handle one add event. */
  async handle(event: InboundEvent, ctx: HandlerContext): Promise<TimelineNote | void> {
    const ext = eventField(event, 'ExternalUserID');
    const userid = eventField(event, 'UserID');
    if (!ext || !userid) return;
    const eventTime = eventCreateTimeMs(event.fields);
    const channel = await this.channels.findByState(eventField(event, 'State'));
    let detail;
    try {
      detail = await this.archive.fetch(ext);
    } catch (err) {
      if (isRelationGone(err)) return { summary: '添加了客户（客户资料已不可读）' };
      throw err;
    }
    const welcomeCode = eventField(event, 'WelcomeCode');
    if (channel && welcomeCode) {
      await this.channels.sendWelcome(channel, {
        userid,
        externalUserId: ext,
        welcomeCode,
        customerName: detail.contact.name,
        staffName: await this.staff.displayName(userid),
      });
    }
    const at = new Date(eventTime ?? ctx.now.getTime());
    await this.archive.store(detail, {
      eventTime,
      reactivateUserid: userid,
      inTx: async (em, changes) => {
        const mine = changes.find((c) => c.userid === userid);
        if (channel && mine && mine.before !== 'active' && mine.after === 'active') await this.channels.recordAdd(em, channel, ext, at);
      },
    });
    if (channel) await this.channels.applyTags(channel, { userid, externalUserId: ext });
    return channel ? { summary: `通过渠道「${channel.name}」添加了客户`, data: { state: channel.state, channelId: channel.id } } : undefined;
  }
}
