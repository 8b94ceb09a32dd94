import { z } from 'zod';
import type { QuickReply } from './quick-reply.types.js';
import type { StaffRepository } from '../../persistence/repositories/staff.repository.js';
import { fitsByteLimit, renderTemplate, WECOM_TEXT_MAX_BYTES } from '../../shared/template.js';
import { NotFoundError } from '../../shared/errors.js';
import type { CustomerService, Viewer } from '../customers/customer.service.js';
import type { ChatMessage, ContentService } from '../content/content.service.js';
import type { ContentItem } from '../content/content.types.js';

// The fields without defaults: a PATCH must not reset what it does not mention (zod's partial() keeps defaults).
const fields = {
  category: z.string().trim().min(1).max(32),
  title: z.string().trim().min(1).max(64),
  // sendChatMessage text goes into the customer's chat; keep to WeCom's 4000-byte text limit (shared/template.ts).
  text: z
    .string()
    .trim()
    .min(1)
    .refine((t) => fitsByteLimit(t), `不能超过 ${WECOM_TEXT_MAX_BYTES} 字节（UTF-8）`),
  sort: z.number().int().min(-1_000_000).max(1_000_000),
};

/** A reply as created through the API (and in config/quick-replies.json). */
export const quickReplyInput = z.object({ ...fields, category: fields.category.default('常用'), sort: fields.sort.default(0) }).strict();
/** Parsed reply input. */
export type QuickReplyInput = z.infer<typeof quickReplyInput>;

/** A PATCH: any subset of the fields, none defaulted. */
export const quickReplyPatch = z.object(fields).partial().strict();
/** Parsed reply changes. */
export type QuickReplyPatch = z.infer<typeof quickReplyPatch>;

/**
 * A reply rendered for one customer and staff member, as the sidebar sends it: `content` is the text rendered, and
 * `chat` what `ww.sendChatMessage` takes (null while the item's WeCom media is not ready).
 */
export interface RenderedQuickReply {
  reply: QuickReply;
  content: string;
  chat: ChatMessage | null;
}

type Library = Pick<ContentService, 'list' | 'get' | 'create' | 'update' | 'remove' | 'seedQuickReplies' | 'chatMessage' | 'recordUses'>;

function toReply(item: ContentItem): QuickReply {
  return {
    id: item.id,
    seedKey: item.seedKey,
    kind: item.kind,
    category: item.group,
    title: item.title,
    text: item.text ?? '',
    sort: item.sort,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  };
}

/**
 * Quick replies (快捷回复): the library items marked for the sidebar (docs/content.md §Quick replies), with their
 * 话术分组 as `category`. Operators manage them here or in 素材库; the sidebar lists them rendered for the customer in
 * the chat. `{{name}}` is the customer's name and `{{staff}}` the staff member's display name (shared/template.ts).
 */
export class QuickReplyService {
  constructor(
    private readonly library: Library,
    private readonly customers: Pick<CustomerService, 'getVisible'>,
    private readonly staff: Pick<StaffRepository, 'displayName'>,
  ) {}

  /** A page of replies in display order. */
  async list(q: { category?: string; page: number; pageSize: number }): Promise<{ items: QuickReply[]; total: number }> {
    const { items, total } = await this.library.list({ quickReply: true, group: q.category, page: q.page, pageSize: q.pageSize });
    return { items: items.map(toReply), total };
  }

  /** One reply or NotFoundError (a library item not marked 快捷回复 is not one). */
  async get(id: string): Promise<QuickReply> {
    return toReply(await this.item(id));
  }

  /** Create a reply: a text item marked 快捷回复. */
  async create(input: QuickReplyInput): Promise<QuickReply> {
    return toReply(await this.library.create({ kind: 'text', group: input.category, title: input.title, text: input.text, url: null, appId: null, page: null, tags: [], quickReply: true, sort: input.sort }, null, null));
  }

  /** Change some fields of a reply. */
  async update(id: string, patch: QuickReplyPatch): Promise<QuickReply> {
    const current = await this.item(id);
    if (patch.text !== undefined && current.kind !== 'text') throw new NotFoundError('快捷回复不存在', 'quick_reply_not_found');
    return toReply(await this.library.update(id, { group: patch.category, title: patch.title, text: patch.text, sort: patch.sort }));
  }

  /** Delete a reply; a seeded default stays deleted across restarts. */
  async remove(id: string): Promise<void> {
    await this.item(id);
    await this.library.remove(id);
  }

  /** A reply was sent from the sidebar: counted as a use of its library item. */
  async recordSent(id: string): Promise<void> {
    await this.item(id);
    await this.library.recordUses([id]);
  }

  /**
   * The replies for the sidebar, rendered for `externalUserId` (NotFoundError when this viewer may not see that
   * customer, the same rule as the archive) and for the viewer as `{{staff}}`. Without a customer `{{name}}` is empty.
   */
  async listRendered(externalUserId: string | undefined, viewer: Viewer): Promise<RenderedQuickReply[]> {
    const customer = externalUserId ? await this.customers.getVisible(externalUserId, viewer) : null;
    const staff = viewer.userid ? await this.staff.displayName(viewer.userid) : '';
    // The sidebar shows every reply at once; operators keep a short list, 500 is far beyond it.
    const { items } = await this.library.list({ quickReply: true, page: 1, pageSize: 500 });
    return items.map((item) => {
      const content = item.kind === 'text' ? renderTemplate(item.text ?? '', { name: customer?.name ?? '', staff }) : '';
      return { reply: toReply(item), content, chat: this.library.chatMessage(item, content) };
    });
  }

  /** Insert each default from config/quick-replies.json once (by its key); deleted or edited ones are left alone. */
  seedDefaults(file: string): Promise<number> {
    return this.library.seedQuickReplies(file);
  }

  private async item(id: string): Promise<ContentItem> {
    const item = await this.library.get(id).catch((err: unknown) => {
      throw err instanceof NotFoundError ? new NotFoundError('快捷回复不存在', 'quick_reply_not_found') : err;
    });
    if (!item.quickReply) throw new NotFoundError('快捷回复不存在', 'quick_reply_not_found');
    return item;
  }
}
