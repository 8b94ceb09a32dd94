import type { QuickReply } from '../../domain/quick-replies/quick-reply.types.js';
import type { RenderedQuickReply } from '../../domain/quick-replies/quick-reply.service.js';

/** A quick reply as operators manage it: `text` is the template, with {{name}} and {{staff}} unrendered. */
export function presentQuickReply(r: QuickReply) {
  return { id: r.id, category: r.category, title: r.title, text: r.text, sort: r.sort, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString() };
}

/** A quick reply for the sidebar: `content` is `text` rendered for the customer in the chat, ready to send. */
export function presentRenderedQuickReply({ reply, content }: RenderedQuickReply) {
  return { id: reply.id, category: reply.category, title: reply.title, text: reply.text, content };
}
