import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { QuickReplyRepository } from '../../persistence/repositories/quick-reply.repository.js';
import type { QuickReply } from './quick-reply.types.js';
import type { StaffRepository } from '../../persistence/repositories/staff.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { newId } from '../../shared/ids.js';
import { fitsByteLimit, renderTemplate, WECOM_TEXT_MAX_BYTES } from '../../shared/template.js';
import type { CustomerService, Viewer } from '../customers/customer.service.js';

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

/** A reply with its text rendered for one customer and staff member, as the sidebar sends it. */
export interface RenderedQuickReply {
  reply: QuickReply;
  content: string;
}

const seedFile = z.object({ replies: z.array(quickReplyInput.extend({ key: z.string().trim().min(1).max(64) })) });

/**
 * Quick replies (快捷回复): operators manage them, the sidebar lists them rendered for the customer in the chat.
 * `{{name}}` is the customer's name and `{{staff}}` the staff member's display name, as in welcome and care
 * templates (shared/template.ts).
 */
export class QuickReplyService {
  constructor(
    private readonly replies: QuickReplyRepository,
    private readonly customers: Pick<CustomerService, 'getVisible'>,
    private readonly staff: Pick<StaffRepository, 'displayName'>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** A page of replies in display order. */
  list(q: { category?: string; page: number; pageSize: number }): Promise<{ items: QuickReply[]; total: number }> {
    return this.replies.list(q);
  }

  /** One reply or NotFoundError. */
  get(id: string): Promise<QuickReply> {
    return this.replies.get(id);
  }

  /** Create a reply. */
  async create(input: QuickReplyInput): Promise<QuickReply> {
    const reply = this.build(input, null);
    // Only seed_key is unique, and it is null here, so the insert cannot collide.
    await this.replies.insert(reply);
    return reply;
  }

  /** Change some fields of a reply. */
  async update(id: string, patch: QuickReplyPatch): Promise<QuickReply> {
    const current = await this.replies.get(id);
    const next: QuickReply = {
      ...current,
      category: patch.category ?? current.category,
      title: patch.title ?? current.title,
      text: patch.text ?? current.text,
      sort: patch.sort ?? current.sort,
      updatedAt: this.clock.now(),
    };
    await this.replies.update(next);
    return next;
  }

  /** Delete a reply; a seeded default stays deleted across restarts. */
  async remove(id: string): Promise<void> {
    await this.replies.get(id);
    await this.replies.softDelete(id, this.clock.now().getTime());
  }

  /**
   * The replies for the sidebar, rendered for `externalUserId` (NotFoundError when this viewer may not see that
   * customer, the same rule as the archive) and for the viewer as `{{staff}}`. Without a customer `{{name}}` is empty.
   */
  async listRendered(externalUserId: string | undefined, viewer: Viewer): Promise<RenderedQuickReply[]> {
    const customer = externalUserId ? await this.customers.getVisible(externalUserId, viewer) : null;
    const staff = viewer.userid ? await this.staff.displayName(viewer.userid) : '';
    // The sidebar shows every reply at once; operators keep a short list, 500 is far beyond it.
    const { items } = await this.replies.list({ page: 1, pageSize: 500 });
    return items.map((reply) => ({ reply, content: renderTemplate(reply.text, { name: customer?.name ?? '', staff }) }));
  }

  /** Insert each default from config/quick-replies.json once (by its key); deleted or edited ones are left alone. */
  async seedDefaults(file: string): Promise<number> {
    let parsed: z.infer<typeof seedFile>;
    try {
      parsed = seedFile.parse(JSON.parse(await readFile(file, 'utf8')));
    } catch (err) {
      this.log.warn({ file, err: (err as Error).message }, 'default quick replies not seeded');
      return 0;
    }
    const seeded = await this.replies.seedKeys();
    let added = 0;
    for (const { key, ...input } of parsed.replies) {
      if (seeded.has(key)) continue;
      // A concurrent instance may seed the same key first; the unique seed_key makes that a no-op here.
      if (await this.replies.insert(this.build(input, key))) added += 1;
    }
    if (added > 0) this.log.info({ added }, 'default quick replies seeded');
    return added;
  }

  private build(input: QuickReplyInput, seedKey: string | null): QuickReply {
    const now = this.clock.now();
    return { id: newId(now.getTime()), seedKey, category: input.category, title: input.title, text: input.text, sort: input.sort, createdAt: now, updatedAt: now };
  }
}
