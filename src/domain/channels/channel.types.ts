// Channel QR codes (渠道活码). Not a delivery channel: that is delivery.types.ts's DeliveryChannel.

/** A welcome message template; attachments use the gateway's MessageAttachment shape. */
export interface ChannelWelcome {
  text: string;
  attachments?: unknown[];
  /** 素材库 items after the text and attachments, resolved from cached media at each add (docs/content.md §Composers). */
  contentIds?: string[];
}

/** A channel QR code (渠道活码): a 「联系我」 contact way with a unique state (docs/wecom-protocol.md §Contact ways). */
export interface Channel {
  id: string;
  name: string;
  state: string;
  configId: string | null;
  qrCode: string | null;
  staff: string[];
  tags: string[];
  welcome: ChannelWelcome | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Per-day adds and deletes of a channel. */
export interface ChannelDayStats {
  day: string;
  adds: number;
  deletes: number;
}
