// Quick replies of the sidebar: the library items marked 快捷回复 (docs/content.md §Quick replies).
import type { ContentKind } from '../content/content.types.js';

/**
 * A quick reply (快捷回复): a library item staff send into the chat from the sidebar. `category` is its 话术分组;
 * `text` (text items) may use {{name}} and {{staff}}.
 */
export interface QuickReply {
  id: string;
  /** Set on defaults seeded from config/quick-replies.json; null for replies created through the API. */
  seedKey: string | null;
  kind: ContentKind;
  category: string;
  title: string;
  text: string;
  sort: number;
  createdAt: Date;
  updatedAt: Date;
}
