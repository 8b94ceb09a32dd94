import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Db } from '../../persistence/db.js';
import type { ChannelRepository } from '../../persistence/repositories/channel.repository.js';
import type { Channel, ChannelDayStats, ChannelWelcome } from './channel.types.js';
import type { CustomerRepository } from '../../persistence/repositories/customer.repository.js';
import type { TimelineRepository } from '../../persistence/repositories/timeline.repository.js';
import type { TimelineSourceRepository } from '../../persistence/repositories/timeline-source.repository.js';
import type { MessageAttachment, WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { AppError, WecomApiError, invalidField, toError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { addDays, daysBetween, localDate } from '../../shared/dates.js';
import { renderTemplate, fitsByteLimit } from '../../shared/template.js';
import type { Tag } from '../tags/tag.types.js';
import type { TagLibraryService } from '../tags/tag-library.service.js';
import type { CustomerTaggingService } from '../tags/customer-tagging.service.js';
import type { StaffService } from '../customers/staff.service.js';

/** A channel as the API creates it (contract: `{ name, staff, tags, welcome: { text, attachments? } }`). */
export interface ChannelInput {
  name: string;
  staff: string[];
  tags: string[];
  welcome?: ChannelWelcome | null;
}

// 41050 expired code, 41051 chat already started / another app won, 41096 already sending: the welcome window
// is gone and retrying cannot help (docs/wecom-protocol.md §Welcome messages).
const WELCOME_GONE = new Set([41050, 41051, 41096]);
/** Errcodes of a contact way whose members cannot take customers (see staffRefusal). */
const STAFF_REFUSED = new Set([40003, 60011, 60111]);

const minDate = (a: string, b: string) => (a < b ? a : b);

/** 素材库 as a welcome uses it (docs/content.md §Composers); written in the container. */
export interface WelcomeContentPort {
  /** Save-time check: the items exist and fit with `extraAttachments` in 9; their kinds and texts. */
  check: (ids: string[], extraAttachments: number) => Promise<{ kind: string; text: string | null }[]>;
  /** The items as one message at `at` from cached media only (never an upload); refuses an item not ready. */
  resolve: (ids: string[], at: Date, vars: Record<string, string>) => Promise<{ text: string; attachments: MessageAttachment[] }>;
  countUse: (ids: string[]) => Promise<void>;
}

/**
 * How long a channel, as an add event finds it by state, is reused without reading it again
 * (docs/inbox.md §Cheap handlers). A surge brings thousands of adds through one channel a minute; an edit made on this
 * instance takes effect at once, one made on another instance within this long.
 */
const CHANNEL_REUSE_MS = 5_000;

/** A welcome WeCom accepted: what its timeline entry says (kept with the add as JSON, so plain values). */
export interface SentWelcome {
  channelId: string;
  channelName: string;
  text: string;
  /** Epoch ms. */
  sentAt: number;
  /** Why the welcome's 素材库 items were left out (not ready, deleted), when they were. */
  contentOmitted?: string;
}

/** The timeline source id that marks a welcome_code as used (at most one welcome per code). */
function welcomeSourceId(welcomeCode: string): string {
  return `welcome|${welcomeCode}`.slice(0, 128);
}

/** Channel QR codes (渠道活码): contact ways with a unique state, their welcome, tags and daily stats. */
export class ChannelService {
  constructor(
    private readonly db: Db,
    private readonly channels: ChannelRepository,
    private readonly customers: CustomerRepository,
    private readonly timeline: TimelineRepository,
    private readonly sources: TimelineSourceRepository,
    private readonly library: TagLibraryService,
    private readonly tagging: CustomerTaggingService,
    private readonly wecom: WecomGateway,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly timezone: string,
    private readonly staffNames: Pick<StaffService, 'ensureNames'>,
    private readonly content?: WelcomeContentPort,
  ) {}

  /** Channels by state, including "no channel" for states of other tools (see CHANNEL_REUSE_MS). */
  private readonly byState = new LRUCache<string, { channel: Channel | null }>({ max: 10_000, ttl: CHANNEL_REUSE_MS });
  /** A channel's tags as the library resolved them, keyed by channel id and version (see CHANNEL_REUSE_MS). */
  private readonly channelTags = new LRUCache<string, Tag[]>({ max: 10_000, ttl: CHANNEL_REUSE_MS });

  /** Forget what this instance remembers of channels, after one changed here. */
  private forgetChannels(): void {
    this.byState.clear();
    this.channelTags.clear();
  }

  /**
   * Create the channel: its tags exist in WeCom first (so an add can be tagged at once), then the contact way
   * with a fresh state ≤ 30 chars (docs/wecom-protocol.md §Contact ways). The config_id is persisted: API-made contact
   * ways are not visible in the admin console.
   */
  async create(input: ChannelInput): Promise<Channel> {
    this.validate(input);
    await this.validateContent(input.welcome);
    await this.library.ensureTags(input.tags);
    const now = this.clock.now();
    const channel: Channel = {
      id: newId(now.getTime()),
      name: input.name,
      // 'ch_' + 24 base64url chars = 27 ≤ 30; random, so a state never collides with or reveals another channel.
      state: `ch_${randomBytes(18).toString('base64url')}`,
      configId: null,
      qrCode: null,
      staff: input.staff,
      tags: input.tags,
      welcome: input.welcome ?? null,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.channels.insert(channel))) throw new Error('channel state collision');
    this.forgetChannels();
    try {
      const way = await this.staffRefusal(() => this.wecom.addContactWay({
        type: input.staff.length > 1 ? 'multi' : 'single',
        scene: 'qrcode',
        remark: input.name.slice(0, 30),
        skipVerify: true,
        state: channel.state,
        users: input.staff,
      }));
      channel.configId = way.configId;
      channel.qrCode = way.qrCode ?? null;
    } catch (err) {
      await this.channels.delete(channel.id);
      this.forgetChannels();
      throw err;
    }
    await this.channels.update(channel);
    this.forgetChannels();
    await this.lookUpStaffNames(channel.staff);
    return channel;
  }

  /** Change name, staff, tags or welcome; staff changes go to WeCom (update_contact_way overwrites lists). */
  async update(id: string, changes: Partial<ChannelInput>): Promise<Channel> {
    const current = await this.channels.get(id);
    const next: Channel = {
      ...current,
      name: changes.name ?? current.name,
      staff: changes.staff ?? current.staff,
      tags: changes.tags ?? current.tags,
      welcome: changes.welcome === undefined ? current.welcome : changes.welcome,
      updatedAt: this.clock.now(),
    };
    this.validate(next);
    if (changes.welcome !== undefined) await this.validateContent(next.welcome);
    if (changes.tags) await this.library.ensureTags(next.tags);
    if (current.configId && (changes.staff || changes.name)) {
      await this.staffRefusal(() => this.wecom.updateContactWay(current.configId!, { users: next.staff, remark: next.name.slice(0, 30) }));
    }
    await this.channels.update(next);
    this.forgetChannels();
    if (changes.staff) await this.lookUpStaffNames(next.staff);
    return next;
  }

  /**
   * The welcome's {{staff}} shows the member's name, so names of staff new since the last sync are read now,
   * off the 20 s welcome path (docs/wecom-protocol.md §Welcome messages). A failure only leaves the userid showing
   * until the next sync.
   */
  private async lookUpStaffNames(userids: string[]): Promise<void> {
    try {
      await this.staffNames.ensureNames(userids);
    } catch (err) {
      this.log.warn({ err: toError(err).message }, 'could not read channel staff names from WeCom');
    }
  }

  /** One channel or NotFoundError. */
  get(id: string): Promise<Channel> {
    return this.channels.get(id);
  }

  /** A page of channels. */
  list(page: number, pageSize: number): Promise<{ items: Channel[]; total: number }> {
    return this.channels.list(page, pageSize);
  }

  /** Daily adds/deletes of a channel. */
  stats(id: string): Promise<ChannelDayStats[]> {
    return this.channels.stats(id);
  }

  /**
   * A channel's adds, deletions and net per local day from `from` to `to` (inclusive, APP_TIMEZONE dates; default the
   * last 30 days to today), every day present, 0 where nothing happened. At most 366 days.
   */
  async daily(id: string, range: { from?: string; to?: string }): Promise<{ from: string; to: string; days: (ChannelDayStats & { net: number })[] }> {
    await this.channels.get(id);
    const today = localDate(this.clock.now(), this.timezone);
    const to = range.to ?? (range.from ? minDate(addDays(range.from, 29), today) : today);
    const from = range.from ?? addDays(to, -29);
    if (from > to) throw invalidField('from', '开始日期不能晚于结束日期');
    if (daysBetween(from, to) > 365) throw invalidField('from', '一次最多查看 366 天');
    const counted = new Map((await this.channels.statsBetween(id, from, to)).map((d) => [d.day, d]));
    const days: (ChannelDayStats & { net: number })[] = [];
    for (let day = from; day <= to; day = addDays(day, 1)) {
      const d = counted.get(day);
      days.push({ day, adds: d?.adds ?? 0, deletes: d?.deletes ?? 0, net: (d?.adds ?? 0) - (d?.deletes ?? 0) });
    }
    return { from, to, days };
  }

  /** The channel behind a contact-way state, or null (states from other tools are ignored). */
  async findByState(state: string | undefined): Promise<Channel | null> {
    if (!state) return null;
    const known = this.byState.get(state);
    if (known) return known.channel;
    const channel = await this.channels.findByState(state);
    this.byState.set(state, { channel });
    return channel;
  }

  /** findByState inside a caller's transaction (SQLite: never use the Db from inside db.tx). */
  findByStateInTx(em: import('typeorm').EntityManager, state: string): Promise<Channel | null> {
    return this.channels.findByStateInTx(em, state);
  }

  /** Whether the channel has a welcome to send (text or attachments). */
  hasWelcome(channel: Channel): channel is Channel & { welcome: ChannelWelcome } {
    return Boolean(channel.welcome && (channel.welcome.text || channel.welcome.attachments?.length || channel.welcome.contentIds?.length));
  }

  /**
   * Whether a welcome was already sent with this welcome_code (its timeline entry exists, recordWelcomeInTx): then
   * sendWelcome must not be called again for it.
   */
  isWelcomed(welcomeCode: string): Promise<boolean> {
    return this.sources.has('welcome', welcomeSourceId(welcomeCode));
  }

  /**
   * Send the channel's welcome for an add event; the caller has checked isWelcomed, so a code gets at most one welcome.
   * Time-critical: the code lives 20 s and works once (docs/wecom-protocol.md §Welcome messages), so callers do this
   * before any other work, and check while they read the customer. Returns what was sent, or null when nothing was.
   * The caller writes its timeline entry (recordWelcomeInTx) with the rest of the add, off the deadline's path
   * (docs/inbox.md §Deadline first); that entry is what a re-run's isWelcomed finds.
   */
  async sendWelcome(channel: Channel, e: { userid: string; externalUserId: string; welcomeCode: string; customerName: string; staffName?: string }): Promise<SentWelcome | null> {
    if (!this.hasWelcome(channel)) return null;
    const vars = { name: e.customerName, staff: e.staffName ?? e.userid, 姓名: e.customerName };
    let text = renderTemplate(channel.welcome.text ?? '', vars);
    let attachments = (channel.welcome.attachments as MessageAttachment[] | undefined) ?? [];
    const contentIds = channel.welcome.contentIds ?? [];
    let contentOmitted: string | undefined;
    let used: string[] = [];
    if (contentIds.length > 0) {
      // Cached media only, never an upload, and never a reason to lose the welcome: the code works once within 20 s
      // (docs/wecom-protocol.md §Welcome messages). Items that cannot be resolved now are left out, and why is kept.
      const extra = await this.resolveWelcomeContent(contentIds, vars);
      text = extra.text ? (text ? `${text}\n\n${extra.text}` : extra.text) : text;
      attachments = [...attachments, ...extra.attachments];
      used = extra.used;
      if (extra.omitted.length > 0) {
        contentOmitted = extra.omitted.join('；');
        this.log.warn({ channelId: channel.id, reason: contentOmitted }, 'welcome sent without some of its 素材库 items');
      }
    }
    if (!text && attachments.length === 0) {
      this.log.warn({ channelId: channel.id, reason: contentOmitted }, 'welcome not sent: nothing left to send');
      return null;
    }
    try {
      await this.wecom.sendWelcomeMsg({
        welcomeCode: e.welcomeCode,
        text: text || undefined,
        attachments: attachments.length ? attachments.slice(0, 9) : undefined,
      });
    } catch (err) {
      if (err instanceof WecomApiError && WELCOME_GONE.has(err.errcode)) {
        this.log.info({ errcode: err.errcode, channelId: channel.id }, 'welcome not sent: code no longer usable');
        return null;
      }
      throw err;
    }
    if (used.length > 0) {
      // After the send, off the deadline; a lost count is not worth failing an add for.
      await this.content?.countUse(used);
    }
    return { channelId: channel.id, channelName: channel.name, text, sentAt: this.clock.now().getTime(), ...(contentOmitted ? { contentOmitted } : {}) };
  }

  /**
   * The welcome's items as text and attachments, in their order. All at once first (one read); when that refuses,
   * item by item, so one item not ready (or deleted since the save) leaves out only itself.
   */
  private async resolveWelcomeContent(ids: string[], vars: Record<string, string>): Promise<{ text: string; attachments: MessageAttachment[]; used: string[]; omitted: string[] }> {
    if (!this.content) return { text: '', attachments: [], used: [], omitted: ['本实例未启用素材库'] };
    const now = this.clock.now();
    try {
      return { ...(await this.content.resolve(ids, now, vars)), used: ids, omitted: [] };
    } catch {
      const texts: string[] = [];
      const attachments: MessageAttachment[] = [];
      const used: string[] = [];
      const omitted: string[] = [];
      for (const id of ids) {
        try {
          const one = await this.content.resolve([id], now, vars);
          if (one.text) texts.push(one.text);
          attachments.push(...one.attachments);
          used.push(id);
        } catch (err) {
          omitted.push(toError(err).message);
        }
      }
      return { text: texts.join('\n\n'), attachments, used, omitted };
    }
  }

  /** The timeline entry of a sent welcome (source `welcome|<code>`), in the caller's transaction. */
  async recordWelcomeInTx(em: import('typeorm').EntityManager, e: { userid: string; externalUserId: string; welcomeCode: string }, sent: SentWelcome): Promise<void> {
    const at = new Date(sent.sentAt);
    await this.timeline.addInTx(
      em,
      {
        externalUserId: e.externalUserId,
        staffUserid: e.userid,
        kind: 'welcome',
        summary: sent.contentOmitted ? `发送欢迎语（渠道：${sent.channelName}），素材未随欢迎语发送：${sent.contentOmitted}` : `发送欢迎语（渠道：${sent.channelName}）`,
        data: { channelId: sent.channelId, text: sent.text, ...(sent.contentOmitted ? { contentOmitted: sent.contentOmitted } : {}) },
        source: 'welcome',
        sourceId: welcomeSourceId(e.welcomeCode),
        occurredAt: at,
      },
      this.clock.now(),
    );
  }

  /**
   * Put the channel's tags on the customer: in WeCom on the adding relation now, locally (source `channel`) by the
   * returned write, which the caller runs in the transaction that stores the relation (null: nothing to write).
   * `shown`: the tag ids WeCom showed on the adding relation when the customer was read, so that read tells what to
   * mark and no query is needed (CustomerTaggingService.prepareAdd).
   */
  async prepareTags(
    channel: Channel,
    e: { userid: string; externalUserId: string; shown?: readonly string[] },
  ): Promise<((em: import('typeorm').EntityManager) => Promise<void>) | null> {
    if (channel.tags.length === 0) return null;
    const key = `${channel.id}@${channel.updatedAt.getTime()}`;
    let tags = this.channelTags.get(key);
    if (!tags) {
      tags = await this.library.ensureTags(channel.tags);
      this.channelTags.set(key, tags);
    }
    const shown = e.shown;
    return this.tagging.prepareAdd({ externalUserId: e.externalUserId, tags, source: 'channel', userids: [e.userid], ...(shown ? { shown: () => shown } : {}) });
  }

  /** Run a `prepareTags` write in a transaction of its own, when there was no relation's transaction to join. */
  async writeTags(write: (em: import('typeorm').EntityManager) => Promise<void>): Promise<void> {
    await this.db.tx(write);
  }

  /** Record the source channel and count the add on the event's local day, in the relation's transaction. */
  async recordAdd(em: import('typeorm').EntityManager, channel: Channel, ext: string, eventTime: Date): Promise<void> {
    await this.customers.setChannelIfUnsetInTx(em, ext, channel.id, this.clock.now().getTime());
    await this.channels.bumpInTx(em, channel.id, localDate(eventTime, this.timezone), 'adds');
  }

  /** Count a lost relation on its channel's day. */
  async recordDelete(em: import('typeorm').EntityManager, channel: Channel, eventTime: Date): Promise<void> {
    await this.channels.bumpInTx(em, channel.id, localDate(eventTime, this.timezone), 'deletes');
  }

  /**
   * The welcome's 素材库 items exist and fit with its own attachments in 9 (the check broadcasts make), and the
   * text with the items' texts fits WeCom's 4000 bytes, as written (docs/wecom-protocol.md §Welcome messages).
   */
  private async validateContent(welcome: ChannelWelcome | null | undefined): Promise<void> {
    const ids = welcome?.contentIds ?? [];
    if (ids.length === 0) return;
    if (!this.content) throw invalidField('welcome.contentIds', '本实例未启用素材库', 'content_unavailable');
    let items: { kind: string; text: string | null }[];
    try {
      items = await this.content.check(ids, welcome?.attachments?.length ?? 0);
    } catch (err) {
      if (err instanceof AppError && err.status === 400) throw invalidField('welcome.contentIds', err.message, err.code);
      throw err;
    }
    const texts = [welcome?.text ?? '', ...items.filter((i) => i.kind === 'text').map((i) => i.text ?? '')].filter(Boolean);
    if (!fitsByteLimit(texts.join('\n\n'))) throw invalidField('welcome.contentIds', '欢迎语与所选话术素材合计不能超过 4000 字节（约 1333 个汉字）');
  }

  // text.content ≤ 4000 bytes (UTF-8) and ≤ 9 attachments (docs/wecom-protocol.md §Welcome messages); the text is
  // checked before rendering, as the form shows it.
  private validate(input: ChannelInput): void {
    if (input.staff.length === 0 || input.staff.length > 100) throw invalidField('staff', '接待员工需为 1–100 人');
    if (input.welcome?.text && !fitsByteLimit(input.welcome.text)) throw invalidField('welcome.text', '欢迎语不能超过 4000 字节（约 1333 个汉字）');
    if ((input.welcome?.attachments?.length ?? 0) > 9) throw invalidField('welcome.attachments', '欢迎语附件最多 9 个');
  }

  /**
   * WeCom refuses a contact way whose members cannot take customers: unknown or departed (40003, 60111), outside the
   * app's visible range (60011), without 客户联系 or unverified (docs/wecom-protocol.md §Contact ways, §Error codes).
   * That is the form's staff field, so it answers 400 next to it; other errors pass through.
   */
  private async staffRefusal<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof WecomApiError && STAFF_REFUSED.has(err.errcode)) {
        throw invalidField('staff', `企业微信拒绝了所选员工（错误码 ${err.errcode}）：请确认他们在职、在应用可见范围内并已开通客户联系`);
      }
      throw err;
    }
  }
}
