import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { fileTypeFromBuffer } from 'file-type';
import type { ContentQuery, ContentRepository } from '../../persistence/repositories/content.repository.js';
import type { ChatMessage, ChatSend, ContentFile, ContentItem, ContentKind, ResolvedContent, SourcedAttachment } from './content.types.js';
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { newId } from '../../shared/ids.js';
import { searchGrams } from '../../shared/grams.js';
import { ConflictError, invalidField, toError } from '../../shared/errors.js';
import { fitsByteLimit, renderTemplate, WECOM_TEXT_MAX_BYTES, type TemplateVars } from '../../shared/template.js';
import { localDate } from '../../shared/dates.js';
import type { ContentStorage } from './storage/content-storage.js';
import { checkFile, MAX_ATTACHMENTS } from './content-rules.js';
import type { ContentMediaService } from './content-media.service.js';

const KINDS = ['text', 'image', 'link', 'miniprogram', 'file', 'video'] as const;

// The fields without defaults: a PATCH must not reset what it does not mention.
const fields = {
  kind: z.enum(KINDS, { message: '类型须为 text、image、link、miniprogram、file 或 video' }),
  group: z.string().trim().min(1, '分组不能为空').max(32, '分组至多 32 个字'),
  title: z.string().trim().min(1, '标题不能为空').max(64, '标题至多 64 个字'),
  text: z
    .string()
    .trim()
    .refine((t) => fitsByteLimit(t), `文字不能超过 ${WECOM_TEXT_MAX_BYTES} 字节（UTF-8，企业微信规则）`)
    .nullable(),
  url: z
    .string()
    .trim()
    .max(1000, '链接至多 1000 个字符')
    .regex(/^https?:\/\/[^\s]+$/i, '链接须以 http:// 或 https:// 开头')
    .nullable(),
  appId: z
    .string()
    .trim()
    .regex(/^wx[0-9a-f]{16}$/i, '小程序 AppID 格式为 wx 加 16 位字母数字')
    .nullable(),
  page: z.string().trim().min(1).max(255, '小程序页面路径至多 255 个字符').nullable(),
  tags: z.array(z.string().trim().min(1).max(32, '标签至多 32 个字')).max(20, '至多 20 个标签'),
  quickReply: z.boolean(),
  sort: z.number().int().min(-1_000_000).max(1_000_000),
};

/** An item as created through the API (JSON, or the `data` field of a multipart upload). */
export const contentInput = z
  .object({
    ...fields,
    group: fields.group.default('默认分组'),
    text: fields.text.optional().default(null),
    url: fields.url.optional().default(null),
    appId: fields.appId.optional().default(null),
    page: fields.page.optional().default(null),
    tags: fields.tags.default([]),
    quickReply: fields.quickReply.default(false),
    sort: fields.sort.default(0),
  })
  .strict();
/** Parsed item input. */
export type ContentInput = z.infer<typeof contentInput>;

/** A PATCH: any subset of the fields except the kind, none defaulted. */
export const contentPatch = z.object(fields).omit({ kind: true }).partial().strict();
/** Parsed item changes. */
export type ContentPatch = z.infer<typeof contentPatch>;

/** A file as a client sent it: the name it gave and the bytes (the type is sniffed, never trusted). */
export interface UploadedFile {
  name: string;
  data: Buffer;
}

export type { ChatMessage, ChatSend } from './content.types.js';


/**
 * A mini-program page as sendChatMessage takes it: the path with `.html` (WeChat opens a page without it as not found)
 * and its query kept. See docs/wecom-protocol.md §Chat toolbar sidebar
 */
export function chatPage(page: string): string {
  const q = page.indexOf('?');
  const path = q < 0 ? page : page.slice(0, q);
  return path.endsWith('.html') ? page : `${path}.html${q < 0 ? '' : page.slice(q)}`;
}

const ATTACHMENT_WORDS: Record<Exclude<ContentKind, 'text'>, string> = { image: '图片', link: '链接', miniprogram: '小程序', video: '视频', file: '文件' };

/** Thrown when an item cannot be sent now: its WeCom media is missing or too old, and sends never upload. */
export class ContentNotReadyError extends ConflictError {
  constructor(message: string) {
    super(message, 'content_not_ready');
  }
}

/** Options of the content service that come from configuration. */
export interface ContentOptions {
  /** The deployment's own cap on a stored file (CONTENT_MAX_BYTES). */
  maxBytes: number;
  /** Mini-program appids linked to the corp (CONTENT_MINIPROGRAM_APPIDS); WeCom offers no API that lists them. */
  linkedAppIds: string[];
  timezone: string;
}

const seedFile = z.object({ replies: z.array(z.object({ key: z.string().trim().min(1).max(64), category: z.string().default('常用'), title: z.string(), text: z.string(), sort: z.number().int().default(0) })) });

/**
 * 素材库 / 话术库 (docs/content.md): items operators compose messages from. Save-time checks hold every WeCom rule
 * an attachment must meet, so a message built from the library is not refused at send time; the WeCom media an item
 * needs is made at save and kept fresh by the media job, never on a send (docs/content.md §Media lifecycle).
 */
export class ContentService {
  constructor(
    private readonly items: ContentRepository,
    private readonly storage: ContentStorage,
    private readonly media: ContentMediaService,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: ContentOptions,
  ) {}

  /** A page of items; `q` searches titles, texts, groups and tags (docs/content.md §Search). */
  list(q: ContentQuery): Promise<{ items: ContentItem[]; total: number }> {
    return this.items.list(q);
  }

  /** One item or NotFoundError. */
  get(id: string): Promise<ContentItem> {
    return this.items.get(id);
  }

  /** Groups and tags in use, with counts, and what is left of the uploadimg budget today and this month. */
  async facets(): Promise<{ groups: { name: string; count: number }[]; tags: { name: string; count: number }[]; imageQuota: { day: number; month: number; dayLimit: number; monthLimit: number } }> {
    return { ...(await this.items.facets()), imageQuota: await this.media.quota() };
  }

  /** Create an item; `file` is required for image, file and video and for a mini-program's cover. */
  async create(input: ContentInput, file: UploadedFile | null, createdBy: string | null): Promise<ContentItem> {
    const now = this.clock.now();
    const draft: ContentItem = {
      id: newId(now.getTime()),
      seedKey: null,
      kind: input.kind,
      group: input.group,
      title: input.title,
      text: input.text,
      url: input.url,
      appId: input.appId,
      page: input.page,
      tags: [...new Set(input.tags)],
      quickReply: input.quickReply,
      sort: input.sort,
      file: null,
      picUrl: null,
      mediaId: null,
      mediaUploadedAt: null,
      mediaError: null,
      useCount: 0,
      lastUsedAt: null,
      createdBy,
      createdAt: now,
      updatedAt: now,
    };
    this.checkFields(draft, file !== null);
    const item: ContentItem = { ...draft, file: file ? await this.checkedFile(draft, file) : null };
    if (file && item.file) {
      // WeCom first: past the uploadimg budget the save is refused with nothing kept.
      Object.assign(item, await this.media.makeForSave(item, file.data));
      await this.storage.put(item.file.key, file.data, item.file.type);
    }
    await this.items.insert(item, this.gramsOf(item));
    return item;
  }

  /** Change some fields of an item (not its kind or file). */
  async update(id: string, patch: ContentPatch): Promise<ContentItem> {
    const current = await this.items.get(id);
    const next: ContentItem = {
      ...current,
      ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)),
      tags: patch.tags ? [...new Set(patch.tags)] : current.tags,
      updatedAt: this.clock.now(),
    };
    this.checkFields(next, current.file !== null);
    await this.items.update(next, this.gramsOf(next));
    return next;
  }

  /** Replace an item's file (or a card's cover): stored, checked and uploaded to WeCom again. */
  async replaceFile(id: string, file: UploadedFile): Promise<ContentItem> {
    const current = await this.items.get(id);
    if (current.kind === 'text') throw invalidField('file', '文字素材没有文件', 'content_no_file');
    const stored = await this.checkedFile(current, file);
    const next: ContentItem = { ...current, file: stored, updatedAt: this.clock.now() };
    Object.assign(next, await this.media.makeForSave(next, file.data));
    await this.storage.put(stored.key, file.data, stored.type);
    await this.items.update(next, this.gramsOf(next));
    if (current.file) await this.storage.remove(current.file.key).catch((err: unknown) => this.log.warn({ err, key: current.file!.key }, 'old content file not removed'));
    return next;
  }

  /** Delete an item; a seeded quick reply stays deleted across restarts. Its file stays (deliveries may show it). */
  async remove(id: string): Promise<void> {
    await this.items.get(id);
    await this.items.softDelete(id, this.clock.now().getTime());
  }

  /** The stored bytes of an item's file, with their sniffed type. */
  async readFile(id: string): Promise<{ data: Buffer; type: string; name: string }> {
    const item = await this.items.get(id);
    if (!item.file) throw invalidField('id', '该素材没有文件', 'content_no_file');
    return { data: await this.storage.get(item.file.key), type: item.file.type, name: item.file.name };
  }

  /**
   * Count `n` uses of each item: one per customer or group chat a message made with it was newly planned for or sent
   * to (docs/content.md §Use counts). Composers count after the ledger (or WeCom) took the message, never on a retry.
   */
  recordUses(ids: string[], n = 1): Promise<void> {
    return this.items.recordUses(ids, this.clock.now(), n);
  }

  /**
   * `recordUses` for the composers' ports: a count that fails is logged and lost, and never fails the message it
   * counts, so counts can only come out low (docs/content.md §Use counts).
   */
  async countUses(ids: string[], n = 1): Promise<void> {
    await this.recordUses(ids, n).catch((err: unknown) => this.log.warn({ err: toError(err).message, ids, n }, 'content use not counted'));
  }

  /**
   * Save-time check of a message composed of library items: they exist and their attachments fit WeCom's rules
   * (at most 9). Composers call it when they save, so a send never meets the refusal.
   */
  async checkMessage(ids: string[], extraAttachments = 0): Promise<ContentItem[]> {
    const found = await this.items.byIds(ids);
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) throw invalidField('contentIds', `素材不存在或已删除：${missing.join('、')}`, 'content_not_found');
    const items = ids.map((id) => found.get(id)!);
    const attachments = items.filter((i) => i.kind !== 'text').length + extraAttachments;
    if (attachments > MAX_ATTACHMENTS) {
      throw invalidField('contentIds', `附件最多 ${MAX_ATTACHMENTS} 个（企业微信群发与欢迎语规则），当前 ${attachments} 个`, 'too_many_attachments');
    }
    return items;
  }

  /**
   * The attachments (and text) of library items for a message sent at `at` (docs/content.md §Media lifecycle): the
   * cached WeCom media, never an upload. An item whose media id is missing or expires before `at` plus a margin is
   * refused with ContentNotReadyError; the caller defers the send and the media job makes fresh media.
   * Texts are rendered with `vars` and joined by blank lines.
   */
  async resolve(ids: string[], opts: { at?: Date; vars?: TemplateVars } = {}): Promise<ResolvedContent> {
    const items = await this.checkMessage(ids);
    const at = opts.at ?? this.clock.now();
    const texts: string[] = [];
    const attachments: MessageAttachment[] = [];
    const attachmentItems: { id: string; title: string }[] = [];
    for (const item of items) {
      if (item.kind === 'text') texts.push(renderTemplate(item.text ?? '', opts.vars ?? {}));
      else {
        attachments.push(this.attachmentOf(item, at));
        attachmentItems.push({ id: item.id, title: item.title });
      }
    }
    return { text: texts.join('\n\n'), attachments, attachmentItems };
  }

  /** What `ww.sendChatMessage` sends for an item in the sidebar, or null when the item cannot go that way now. */
  chatMessage(item: ContentItem, renderedText: string): ChatMessage | null {
    const now = this.clock.now();
    switch (item.kind) {
      case 'text':
        return { msgtype: 'text', text: { content: renderedText } };
      case 'link':
        return item.url ? { msgtype: 'news', news: { link: item.url, title: item.title, desc: item.text ?? '', imgUrl: item.picUrl ?? '' } } : null;
      case 'miniprogram':
        return item.appId && item.page && item.picUrl ? { msgtype: 'miniprogram', miniprogram: { appid: item.appId, title: item.title, imgUrl: item.picUrl, page: chatPage(item.page) } } : null;
      case 'image':
      case 'video':
      case 'file':
        // sendChatMessage takes a media/upload id (docs/wecom-protocol.md §Chat toolbar sidebar).
        if (!item.mediaId || !this.media.isFresh(item, now)) return null;
        return { msgtype: item.kind, [item.kind]: { mediaid: item.mediaId } } as ChatMessage;
    }
  }

  /**
   * The sendChatMessage messages of prepared attachments (a staff task's), per message in the order given, each in
   * the attachments' order (docs/todo.md §One-tap send). One from the library goes as its item is now, through
   * chatMessage like a quick reply, so its media id is the one the media job keeps fresh rather than the one the
   * task was made with. One entered by hand goes as stored when sendChatMessage can take it; its media id is at
   * least as old as the message (`preparedAt`), so past 3 days it is known dead. Each that cannot go says why.
   */
  async chatSends(messages: { attachments: SourcedAttachment[]; preparedAt: Date }[]): Promise<ChatSend[][]> {
    const ids = [...new Set(messages.flatMap((m) => m.attachments.map((a) => a.contentId).filter((id): id is string => typeof id === 'string')))];
    const items = ids.length > 0 ? await this.items.byIds(ids) : new Map<string, ContentItem>();
    const now = this.clock.now();
    return messages.map((m) => m.attachments.map((a) => this.chatSendOf(a, a.contentId === undefined ? undefined : (items.get(a.contentId) ?? null), m.preparedAt, now)));
  }

  private chatSendOf(a: SourcedAttachment, item: ContentItem | null | undefined, preparedAt: Date, now: Date): ChatSend {
    const title = item?.title ?? a.contentTitle ?? ('title' in a ? a.title : undefined);
    const label = `${ATTACHMENT_WORDS[a.kind]}${title ? `「${title}」` : ''}`;
    const no = (why: string): ChatSend => ({ label, chat: null, problem: `${label}${why}` });
    if (item === null) return no('已从素材库删除，不能发送');
    if (item) {
      const chat = this.chatMessage(item, '');
      if (chat) return { label, chat, problem: null };
      if (item.kind === 'miniprogram' || (item.kind === 'link' && !item.url)) return no(`的封面尚未上传到企业微信（${item.mediaError ?? '等待上传'}），请稍后再发`);
      return no('尚未上传到企业微信或即将过期，系统会在后台重新上传，请稍后再发');
    }
    // Entered by hand: only what sendChatMessage takes (docs/wecom-protocol.md §Chat toolbar sidebar).
    const mediaChat = (kind: 'image' | 'video' | 'file', mediaId: string): ChatSend =>
      this.media.isFresh({ mediaUploadedAt: preparedAt }, now) ? { label, chat: { msgtype: kind, [kind]: { mediaid: mediaId } } as ChatMessage, problem: null } : no('的企业微信临时素材已超过 3 天失效，请改用素材库中的素材');
    switch (a.kind) {
      case 'link':
        return { label, chat: { msgtype: 'news', news: { link: a.url, title: a.title, desc: a.desc ?? '', imgUrl: a.picUrl ?? '' } }, problem: null };
      case 'image':
        return a.mediaId ? mediaChat('image', a.mediaId) : no('只有链接，没有企业微信临时素材，聊天中不能发送，请改用素材库中的图片');
      case 'video':
      case 'file':
        return mediaChat(a.kind, a.mediaId);
      case 'miniprogram':
        return no('的封面是临时素材，聊天中须用永久图片链接，请改用素材库中的小程序');
    }
  }

  /** Insert each default quick reply from config/quick-replies.json once (by its key). */
  async seedQuickReplies(file: string): Promise<number> {
    let parsed: z.infer<typeof seedFile>;
    try {
      parsed = seedFile.parse(JSON.parse(await readFile(file, 'utf8')));
    } catch (err) {
      this.log.warn({ file, err: (err as Error).message }, 'default quick replies not seeded');
      return 0;
    }
    const seeded = await this.items.seedKeys();
    let added = 0;
    for (const r of parsed.replies) {
      if (seeded.has(r.key)) continue;
      const input = contentInput.parse({ kind: 'text', group: r.category, title: r.title, text: r.text, sort: r.sort, quickReply: true });
      const now = this.clock.now();
      const item = this.blankText(input, now, r.key);
      // A concurrent instance may seed the same key first; the unique seed_key makes that a no-op here.
      if (await this.items.insert(item, this.gramsOf(item))) added += 1;
    }
    if (added > 0) this.log.info({ added }, 'default quick replies seeded');
    return added;
  }

  private blankText(input: ContentInput, now: Date, seedKey: string | null): ContentItem {
    return {
      id: newId(now.getTime()),
      seedKey,
      kind: 'text',
      group: input.group,
      title: input.title,
      text: input.text,
      url: null,
      appId: null,
      page: null,
      tags: input.tags,
      quickReply: input.quickReply,
      sort: input.sort,
      file: null,
      picUrl: null,
      mediaId: null,
      mediaUploadedAt: null,
      mediaError: null,
      useCount: 0,
      lastUsedAt: null,
      createdBy: null,
      createdAt: now,
      updatedAt: now,
    };
  }

  private attachmentOf(item: ContentItem, at: Date): MessageAttachment {
    const needMedia = (what: string): string => {
      if (!item.mediaId || !this.media.isFresh(item, at)) {
        throw new ContentNotReadyError(`素材「${item.title}」的${what}尚未上传到企业微信或即将过期，系统会在后台重新上传，请稍后再发`);
      }
      return item.mediaId;
    };
    const needPic = (what: string): string => {
      if (!item.picUrl) throw new ContentNotReadyError(`素材「${item.title}」的${what}尚未上传到企业微信（${item.mediaError ?? '等待上传'}），请稍后再发`);
      return item.picUrl;
    };
    switch (item.kind) {
      case 'image':
        return { kind: 'image', picUrl: needPic('图片') };
      case 'link':
        return { kind: 'link', title: item.title, url: item.url ?? '', ...(item.text ? { desc: item.text } : {}), ...(item.file ? { picUrl: needPic('封面') } : {}) };
      case 'miniprogram':
        return { kind: 'miniprogram', title: item.title, appId: item.appId ?? '', page: item.page ?? '', picMediaId: needMedia('封面') };
      case 'video':
        return { kind: 'video', mediaId: needMedia('视频') };
      case 'file':
        return { kind: 'file', mediaId: needMedia('文件') };
      case 'text':
        throw new Error('text items are not attachments');
    }
  }

  /** Save-time rules of each kind (docs/wecom-protocol.md §Welcome messages): refused with the limit in the message. */
  private checkFields(item: ContentItem, hasFile: boolean): void {
    const need = (ok: unknown, field: string, message: string) => {
      if (!ok) throw invalidField(field, message, 'content_invalid');
    };
    const kindNeedsFile: ContentKind[] = ['image', 'file', 'video', 'miniprogram'];
    switch (item.kind) {
      case 'text':
        need(item.text, 'text', '文字素材须填写内容');
        break;
      case 'link':
        need(item.url, 'url', '链接素材须填写链接地址');
        need(Buffer.byteLength(item.title) <= 128, 'title', '链接标题不能超过 128 字节（企业微信规则）');
        need(Buffer.byteLength(item.text ?? '') <= 512, 'text', '链接描述不能超过 512 字节（企业微信规则）');
        break;
      case 'miniprogram':
        need(item.appId, 'appId', '小程序素材须填写 AppID');
        need(item.page, 'page', '小程序素材须填写页面路径');
        need(Buffer.byteLength(item.title) <= 64, 'title', '小程序标题不能超过 64 字节（企业微信规则）');
        // WeCom sends only mini-programs linked to the corp and has no API that lists them: the configured list is it.
        need(
          item.appId && this.opts.linkedAppIds.map((a) => a.toLowerCase()).includes(item.appId.toLowerCase()),
          'appId',
          this.opts.linkedAppIds.length === 0
            ? '小程序须已关联到企业；请先在配置 CONTENT_MINIPROGRAM_APPIDS 中登记已关联的 AppID'
            : `小程序 ${item.appId ?? ''} 未关联到企业（已登记：${this.opts.linkedAppIds.join('、')}），请先在企业微信管理后台关联并登记到 CONTENT_MINIPROGRAM_APPIDS`,
        );
        break;
      default:
        break;
    }
    if (kindNeedsFile.includes(item.kind)) need(hasFile, 'file', item.kind === 'miniprogram' ? '小程序素材须上传封面图片（JPG 或 PNG）' : '请上传文件');
  }

  /** The file's sniffed type checked against the kind's rules, and the key it will be stored under. */
  private async checkedFile(item: ContentItem, file: UploadedFile): Promise<ContentFile> {
    if (item.kind === 'text') throw invalidField('file', '文字素材不能带文件', 'content_no_file');
    const sniffed = await fileTypeFromBuffer(file.data);
    checkFile(item.kind, sniffed?.mime ?? null, file.data.length, this.opts.maxBytes);
    const type = sniffed?.mime ?? 'application/octet-stream';
    const ext = sniffed?.ext ?? (/\.([a-z0-9]{1,8})$/i.exec(file.name)?.[1]?.toLowerCase() ?? 'bin');
    const now = this.clock.now();
    const [y, m] = localDate(now, this.opts.timezone).split('-');
    const key = `${y}/${m}/${newId(now.getTime())}.${ext}`;
    const name = file.name.replace(/[\\/\r\n"]/g, '_').slice(0, 200) || `file.${ext}`;
    return { key, name, type, size: file.data.length };
  }

  private gramsOf(item: ContentItem): Set<string> {
    return searchGrams([item.title, item.text ?? '', item.group, ...item.tags, item.file?.name ?? ''].join(' '));
  }
}

