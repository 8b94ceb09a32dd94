// 素材库 / 话术库: the content library's shapes (docs/content.md).
import type { MessageAttachment } from '../../wecom/client/types.js';

/** What an item is. Text goes into a message's text; the others become attachments. */
export type ContentKind = 'text' | 'image' | 'link' | 'miniprogram' | 'file' | 'video';

/** The file an item keeps: the content of an image, file or video, or the cover of a link or mini-program card. */
export interface ContentFile {
  key: string;
  name: string;
  /** The sniffed MIME type (never the one the client declared). */
  type: string;
  size: number;
}

/** A library item (素材). */
export interface ContentItem {
  id: string;
  /** Set on quick replies seeded from config/quick-replies.json. */
  seedKey: string | null;
  kind: ContentKind;
  /** 分组 (话术分组). */
  group: string;
  title: string;
  /** text: the message, with {{name}} and {{staff}}; link: its description. */
  text: string | null;
  /** link: the page it opens. */
  url: string | null;
  /** miniprogram: its appid and page path. */
  appId: string | null;
  page: string | null;
  tags: string[];
  /** Listed in the sidebar's 快捷回复. */
  quickReply: boolean;
  sort: number;
  file: ContentFile | null;
  /** media/uploadimg's permanent URL (image, link cover). */
  picUrl: string | null;
  /** media/upload's temporary id and when it was made (docs/content.md §Media lifecycle). */
  mediaId: string | null;
  mediaUploadedAt: Date | null;
  mediaError: string | null;
  useCount: number;
  lastUsedAt: Date | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * The message a set of items makes: texts joined, the rest as attachments in order, with the item each attachment
 * came from (`attachmentItems[i]` is `attachments[i]`'s item).
 */
export interface ResolvedContent {
  text: string;
  attachments: MessageAttachment[];
  attachmentItems: { id: string; title: string }[];
}

/**
 * An attachment kept in prepared content (a staff task's) that names the library item it came from, so a later send
 * reads the item as it is then, with the media the media job kept fresh (docs/todo.md §One-tap send).
 */
export type SourcedAttachment = MessageAttachment & { contentId?: string; contentTitle?: string };

/** What `ww.sendChatMessage` takes for an item (docs/wecom-protocol.md §Chat toolbar sidebar), or null if it cannot. */
export type ChatMessage =
  | { msgtype: 'text'; text: { content: string } }
  | { msgtype: 'image' | 'video' | 'file'; image?: { mediaid: string }; video?: { mediaid: string }; file?: { mediaid: string } }
  | { msgtype: 'news'; news: { link: string; title: string; desc: string; imgUrl: string } }
  | { msgtype: 'miniprogram'; miniprogram: { appid: string; title: string; imgUrl: string; page: string } };

/** One message of a one-tap send: what it is in words, and the sendChatMessage argument or, when it cannot go now, why. */
export interface ChatSend {
  label: string;
  chat: ChatMessage | null;
  problem: string | null;
}
