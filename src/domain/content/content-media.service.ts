import type { ContentRepository } from '../../persistence/repositories/content.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { TooManyRequestsError } from '../../shared/errors.js';
import { localDate, zonedTimeToUtc, addDays } from '../../shared/dates.js';
import type { ContentItem, ContentKind } from './content.types.js';
import type { ContentStorage } from './storage/content-storage.js';

/** A media/upload id lives 3 days (docs/wecom-protocol.md §Media). */
export const MEDIA_TTL_MS = 3 * 24 * 3600_000;
/** The media job re-uploads an id once it is this old, a day before it expires (docs/content.md §Media lifecycle). */
export const MEDIA_REFRESH_AFTER_MS = 2 * 24 * 3600_000;
/** A send refuses an id that expires within this of the send: WeCom checks it when members confirm, later. */
export const MEDIA_SEND_MARGIN_MS = 3600_000;
/** media/uploadimg's per-corp budget (docs/wecom-protocol.md §Media). */
export const UPLOADIMG_PER_DAY = 1000;
export const UPLOADIMG_PER_MONTH = 3000;

/** Kinds whose messages carry a permanent image URL: the image itself, a link's cover, a mini-program card's cover (for the sidebar). */
const PIC_URL_KINDS: ContentKind[] = ['image', 'link', 'miniprogram'];
/**
 * Kinds whose messages carry a media/upload id; images only when the sidebar sends them (sendChatMessage takes a media
 * id): quick replies, and the images of open staff tasks (`imagesInUse`).
 */
const MEDIA_KINDS: ContentKind[] = ['file', 'video', 'miniprogram'];

/** What WeCom gave an item at save, merged into the item before it is inserted. */
export type MediaFields = Pick<ContentItem, 'picUrl' | 'mediaId' | 'mediaUploadedAt' | 'mediaError'>;

/**
 * The WeCom side of the library (docs/content.md §Media lifecycle): permanent image URLs from media/uploadimg within
 * its budget, and media/upload ids made at save and re-made by the media job before they expire. A send only reads
 * what is here; it never uploads.
 */
export class ContentMediaService {
  constructor(
    private readonly items: ContentRepository,
    private readonly storage: ContentStorage,
    private readonly wecom: Pick<WecomGateway, 'uploadMedia' | 'uploadImage'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: {
      timezone: string;
      perDay?: number;
      perMonth?: number;
      /** Image items open staff tasks will send into a chat, which need a media id like quick replies (docs/todo.md §One-tap send). */
      imagesInUse?: () => Promise<string[]>;
    },
  ) {}

  /** Whether an item's media id is still good for a send at `at` (with the send margin). */
  isFresh(item: Pick<ContentItem, 'mediaUploadedAt'>, at: Date): boolean {
    return item.mediaUploadedAt !== null && at.getTime() + MEDIA_SEND_MARGIN_MS < item.mediaUploadedAt.getTime() + MEDIA_TTL_MS;
  }

  /** Whether an item's messages use an uploadimg URL. */
  needsPicUrl(item: Pick<ContentItem, 'kind' | 'file'>): boolean {
    return item.file !== null && PIC_URL_KINDS.includes(item.kind);
  }

  /** Whether an item's messages use a media/upload id. */
  needsMedia(item: Pick<ContentItem, 'kind' | 'file' | 'quickReply'>): boolean {
    return item.file !== null && (MEDIA_KINDS.includes(item.kind) || (item.kind === 'image' && item.quickReply));
  }

  /** Used and allowed uploadimg calls today and this month (the corp's days, Asia/Shanghai unless configured). */
  async quota(): Promise<{ day: number; month: number; dayLimit: number; monthLimit: number }> {
    const { day, month } = this.periods();
    const used = await this.items.uploadQuotaUsed(day, month);
    return { ...used, dayLimit: this.perDay, monthLimit: this.perMonth };
  }

  /**
   * Upload a new file to WeCom as its item needs, at save. Past the uploadimg budget the save is refused (429) with
   * nothing kept; any other WeCom failure keeps the item with `mediaError`, and the media job tries again.
   */
  async makeForSave(item: ContentItem, data: Buffer): Promise<MediaFields> {
    const out: MediaFields = { picUrl: null, mediaId: null, mediaUploadedAt: null, mediaError: null };
    if (this.needsPicUrl(item)) {
      await this.takeImageQuota();
      try {
        out.picUrl = (await this.wecom.uploadImage({ filename: this.fileName(item), data, contentType: item.file!.type })).url;
      } catch (err) {
        out.mediaError = `图片上传企业微信失败：${(err as Error).message}`;
        this.log.warn({ err, id: item.id }, 'content image upload failed at save; the media job retries');
      }
    }
    if (this.needsMedia(item)) {
      try {
        const m = await this.wecom.uploadMedia({ type: this.mediaType(item), filename: this.fileName(item), data, contentType: item.file!.type });
        out.mediaId = m.mediaId;
        out.mediaUploadedAt = m.createdAt;
      } catch (err) {
        out.mediaError = `素材上传企业微信失败：${(err as Error).message}`;
        this.log.warn({ err, id: item.id }, 'content media upload failed at save; the media job retries');
      }
    }
    return out;
  }

  /**
   * The media job (docs/content.md §Media lifecycle): re-upload every media id older than two days (or missing), so
   * any id a send reads has at least a day left, and retry permanent URLs that failed at save, within the budget.
   */
  async refresh(limit = 200): Promise<{ uploaded: number; images: number; failed: number }> {
    const now = this.clock.now();
    let uploaded = 0;
    let images = 0;
    let failed = 0;
    const alsoIds = this.opts.imagesInUse ? await this.opts.imagesInUse() : [];
    const stale = await this.items.needingMedia({ always: MEDIA_KINDS, quickReplyOnly: ['image'], alsoIds }, new Date(now.getTime() - MEDIA_REFRESH_AFTER_MS), limit);
    for (const item of stale) {
      try {
        const data = await this.storage.get(item.file!.key);
        const m = await this.wecom.uploadMedia({ type: this.mediaType(item), filename: this.fileName(item), data, contentType: item.file!.type });
        await this.items.setMedia(item.id, item.file!.key, { mediaId: m.mediaId, mediaUploadedAt: m.createdAt, error: null });
        uploaded += 1;
      } catch (err) {
        failed += 1;
        // Parked where operators see it (the item's 上传状态); the next run tries again.
        await this.items.setMedia(item.id, item.file!.key, { error: `素材上传企业微信失败：${(err as Error).message}` });
        this.log.warn({ err, id: item.id }, 'content media refresh failed');
      }
    }
    const noUrl = await this.items.needingPicUrl(PIC_URL_KINDS, limit);
    for (const item of noUrl) {
      const { day, month } = this.periods();
      if (!(await this.items.takeUploadQuota(day, month, { day: this.perDay, month: this.perMonth }))) {
        this.log.warn({ left: noUrl.length - images }, 'uploadimg budget spent; content images wait for the next day');
        break;
      }
      try {
        const data = await this.storage.get(item.file!.key);
        const { url } = await this.wecom.uploadImage({ filename: this.fileName(item), data, contentType: item.file!.type });
        await this.items.setMedia(item.id, item.file!.key, { picUrl: url, error: null });
        images += 1;
      } catch (err) {
        failed += 1;
        await this.items.setMedia(item.id, item.file!.key, { error: `图片上传企业微信失败：${(err as Error).message}` });
        this.log.warn({ err, id: item.id }, 'content image upload retry failed');
      }
    }
    if (uploaded + images + failed > 0) this.log.info({ uploaded, images, failed }, 'content media refreshed');
    return { uploaded, images, failed };
  }

  private get perDay(): number {
    return this.opts.perDay ?? UPLOADIMG_PER_DAY;
  }

  private get perMonth(): number {
    return this.opts.perMonth ?? UPLOADIMG_PER_MONTH;
  }

  private periods(): { day: string; month: string } {
    const day = localDate(this.clock.now(), this.opts.timezone);
    return { day, month: day.slice(0, 7) };
  }

  /**
   * Take one media/uploadimg call from the corp's day and month budget, or refuse with 429 and the limit in words. Every
   * uploadimg the bot makes goes through it, the library's and the broadcasts' old image upload alike
   * (docs/content.md §Media lifecycle).
   */
  async takeImageQuota(): Promise<void> {
    const { day, month } = this.periods();
    if (await this.items.takeUploadQuota(day, month, { day: this.perDay, month: this.perMonth })) return;
    const used = await this.items.uploadQuotaUsed(day, month);
    const monthSpent = used.month >= this.perMonth;
    const nextDay = zonedTimeToUtc(addDays(day, 1), '00:00', this.opts.timezone);
    const retryAfter = Math.max(60, Math.ceil((nextDay.getTime() - this.clock.now().getTime()) / 1000));
    throw new TooManyRequestsError(
      monthSpent
        ? `本月图片上传额度已用完（企业微信 media/uploadimg 每月至多 ${this.perMonth} 张），下月再上传图片、链接封面或小程序封面`
        : `今日图片上传额度已用完（企业微信 media/uploadimg 每天至多 ${this.perDay} 张），明天再上传图片、链接封面或小程序封面`,
      retryAfter,
      'image_upload_quota',
    );
  }

  private mediaType(item: ContentItem): 'image' | 'video' | 'file' {
    return item.kind === 'video' ? 'video' : item.kind === 'file' ? 'file' : 'image';
  }

  private fileName(item: ContentItem): string {
    const ext = item.file!.key.split('.').pop() ?? 'bin';
    return item.file!.name.toLowerCase().endsWith(`.${ext}`) ? item.file!.name : `${item.file!.name || 'file'}.${ext}`;
  }
}
