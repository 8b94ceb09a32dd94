import type { QuickReply } from '../../domain/quick-replies/quick-reply.types.js';
import type { RenderedQuickReply } from '../../domain/quick-replies/quick-reply.service.js';

/** A quick reply as operators manage it: `text` is the template, with {{name}} and {{staff}} unrendered. */
export function presentQuickReply(r: QuickReply) {
  return { id: r.id, kind: r.kind, category: r.category, title: r.title, text: r.text, sort: r.sort, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString() };
}

/**
 * A quick reply for the sidebar: `content` is `text` rendered for the customer in the chat, and `chat` the argument
 * of `ww.sendChatMessage` (text, image, news for a link, miniprogram, video or file), null while its WeCom media is
 * being made (docs/content.md §Quick replies).
 */
export function presentRenderedQuickReply({ reply, content, chat }: RenderedQuickReply) {
  return { id: reply.id, kind: reply.kind, category: reply.category, title: reply.title, text: reply.text, content, chat, sendable: chat !== null };
}
