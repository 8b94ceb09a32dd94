import type { EventHandler, HandlerContext, TimelineNote } from '../../inbox/event-router.js';
import { deferredState, eventCreateTimeMs, eventField } from '../../inbox/inbound-event.js';
import type { InboundEvent } from '../../inbox/inbox.types.js';
import type { StaffRepository } from '../../../persistence/repositories/staff.repository.js';
import type { CustomerArchiveService } from '../customer-archive.service.js';
import type { ChannelService, SentWelcome } from '../../channels/channel.service.js';
import type { ExternalContactDetail } from '../../../wecom/client/types.js';
import { isRelationGone } from './relation-gone.js';
import type { RecordRelationChange } from '../../analytics/analytics-recorder.js';

/**
 * What the urgent part keeps for the rest: the customer as externalcontact/get returned it and the welcome it sent
 * (whose timeline entry the rest writes), or that the customer was gone.
 */
type Kept = { detail: ExternalContactDetail; welcome?: SentWelcome } | { gone: true };

/**
 * add_external_contact / add_half_external_contact (docs/wecom-protocol.md §Customer contact events). The welcome_code
 * lives 20 s (docs/wecom-protocol.md §Welcome messages), so reading the customer and sending the channel's welcome is
 * the urgent part, run from the priority lane; the archive, the channel's tags and the channel's stats (counted in the
 * same transaction as the relation becoming active, so a replay counts nothing twice) follow in the ordinary lane, with
 * the customer as read then (docs/inbox.md §Deadline first). An add with no welcome to send is handled whole, at once.
 */
export class ContactAddedHandler implements EventHandler {
  readonly name = 'customers.contact-added';
  readonly kinds = ['event/change_external_contact/add_external_contact', 'event/change_external_contact/add_half_external_contact'];

  constructor(
    private readonly archive: CustomerArchiveService,
    private readonly channels: ChannelService,
    private readonly staff: StaffRepository,
    /** Port to analytics: the add is counted in the transaction that made the relation active. */
    private readonly recordChange?: RecordRelationChange,
  ) {}

  /** Read the customer and send the welcome; nothing when the add brings no welcome to send. */
  async handleUrgent(event: InboundEvent): Promise<Kept | undefined> {
    const ext = eventField(event, 'ExternalUserID');
    const userid = eventField(event, 'UserID');
    const welcomeCode = eventField(event, 'WelcomeCode');
    if (!ext || !userid || !welcomeCode) return undefined;
    const channel = await this.channels.findByState(eventField(event, 'State'));
    if (!channel || !this.channels.hasWelcome(channel)) return undefined;
    // The reads the welcome needs go out together: under a surge each round trip is what holds a priority slot.
    const [detail, isWelcomed, staffName] = await Promise.all([this.read(ext), this.channels.isWelcomed(welcomeCode), this.staff.displayName(userid)]);
    if (!detail) return { gone: true };
    if (isWelcomed) return { detail };
    const welcome = await this.channels.sendWelcome(channel, { userid, externalUserId: ext, welcomeCode, customerName: detail.contact.name, staffName });
    return welcome ? { detail, welcome } : { detail };
  }

  /** Handle one add event: all of it, or what its urgent part left. */
  async handle(event: InboundEvent, ctx: HandlerContext): Promise<TimelineNote | void> {
    const ext = eventField(event, 'ExternalUserID');
    const userid = eventField(event, 'UserID');
    if (!ext || !userid) return;
    const eventTime = eventCreateTimeMs(event.fields);
    const channel = await this.channels.findByState(eventField(event, 'State'));
    const kept = deferredState<Kept>(event, this.name);
    if (kept && 'gone' in kept) return GONE_NOTE;
    // Without a kept read there was no welcome to send (handleUrgent says why), so only the archive needs the customer.
    const detail = kept ? revive(kept.detail) : await this.read(ext);
    if (!detail) return GONE_NOTE;
    const at = new Date(eventTime ?? ctx.now.getTime());
    // The channel's tags are marked in WeCom now (never inside a transaction); what WeCom showed on the relation when
    // it was read says what is missing there.
    const shown = detail.followUsers.find((f) => f.userId === userid)?.tags.filter((t) => t.tagId && t.type !== 2).map((t) => t.tagId!) ?? [];
    const tagWrite = channel ? await this.channels.prepareTags(channel, { userid, externalUserId: ext, shown }) : null;
    const archiveWrite = await this.archive.prepareStore(detail, {
      eventTime,
      reactivateUserid: userid,
      inTx: async (em, changes) => {
        if (tagWrite) await tagWrite(em);
        const mine = changes.find((c) => c.userid === userid);
        if (this.recordChange && mine && mine.before !== 'active' && mine.after === 'active') {
          await this.recordChange(em, { kind: 'added', userid, externalUserId: ext, channelId: channel?.id ?? null, occurredAt: at });
        }
        // Last: the channel's stats row is shared by every add through it, so its lock is held only for the commit.
        if (channel && mine && mine.before !== 'active' && mine.after === 'active') await this.channels.recordAdd(em, channel, ext, at);
      },
    });
    const welcome = kept && 'welcome' in kept ? kept.welcome : undefined;
    const welcomeCode = eventField(event, 'WelcomeCode');
    return {
      ...(channel ? { summary: `通过渠道「${channel.name}」添加了客户`, data: { state: channel.state, channelId: channel.id } } : {}),
      // Every write of the add (the welcome's timeline entry, the archive, the channel's tags and stats) commits with
      // the event's finish: one transaction (docs/inbox.md §Cheap handlers). The archive writes nothing when there is
      // no relation to store or only one older than the customer's erasure; the tags are then written as before.
      inFinish: async (em) => {
        if (welcome && welcomeCode) await this.channels.recordWelcomeInTx(em, { userid, externalUserId: ext, welcomeCode }, welcome);
        if (archiveWrite) await archiveWrite(em);
        else if (tagWrite) await tagWrite(em);
      },
    };
  }

  /** The customer from WeCom, or null when the relation is already gone (deleted before we read it). */
  private async read(ext: string): Promise<ExternalContactDetail | null> {
    try {
      return await this.archive.fetch(ext);
    } catch (err) {
      if (isRelationGone(err)) return null;
      throw err;
    }
  }
}

const GONE_NOTE: TimelineNote = { summary: '添加了客户（客户资料已不可读）' };

/** The customer as kept through JSON: its dates come back as strings. */
function revive(d: ExternalContactDetail): ExternalContactDetail {
  return { ...d, followUsers: d.followUsers.map((f) => ({ ...f, addedAt: new Date(f.addedAt) })) };
}
