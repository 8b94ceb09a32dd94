// Quick replies of the sidebar.

/** A quick reply (快捷回复): a text staff send into the chat from the sidebar. `text` may use {{name}} and {{staff}}. */
export interface QuickReply {
  id: string;
  /** Set on defaults seeded from config/quick-replies.json; null for replies created through the API. */
  seedKey: string | null;
  category: string;
  title: string;
  text: string;
  sort: number;
  createdAt: Date;
  updatedAt: Date;
}
