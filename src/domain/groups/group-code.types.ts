/** Where a 群活码 stands: being created in WeCom, live, parked after WeCom did not take it, or deleted. */
export type GroupCodeStatus = 'pending' | 'active' | 'failed' | 'deleted';

/** A 群活码: a 「加入群聊」 join way with its state, groups and auto-create settings (docs/groups.md §Group QR codes). */
export interface GroupCode {
  id: string;
  name: string;
  /** The join way's state (≤ 30 characters): every join that carries it is this code's. */
  state: string;
  configId: string | null;
  qrCode: string | null;
  /** The groups the code fills, in order; rooms WeCom opened are appended by a sync. */
  chatIds: string[];
  autoCreateRoom: boolean;
  roomBaseName: string;
  roomBaseId: number;
  status: GroupCodeStatus;
  /** Why WeCom did not take the last create or edit, in zh-CN, while parked. */
  lastError: string | null;
  chatsSyncedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One group's joins and leaves through a code on one local day. */
export interface GroupCodeDayRow {
  day: string;
  chatId: string;
  joins: number;
  leaves: number;
}

/** A member of a group as a snapshot lists them, with the join way's state when they came through one. */
export interface GroupMemberSeen {
  memberId: string;
  joinedAt: Date;
  state?: string;
}

/** Where a group welcome template stands in WeCom (as GroupCodeStatus, without deletion: a deleted one is gone). */
export type GroupWelcomeStatus = 'pending' | 'active' | 'failed';

/**
 * A group welcome template (入群欢迎语, docs/groups.md §Group welcome templates): text ≤ 3000 bytes with %NICKNAME%, and at
 * most one attachment of each kind. WeCom does not attach it to a code: group owners choose it in the client.
 */
export interface GroupWelcomeTemplate {
  id: string;
  name: string;
  templateId: string | null;
  text: string;
  attachments: GroupWelcomeAttachments;
  /** 素材库 items, resolved into the template's text and attachments each time it is written to WeCom. */
  contentIds: string[];
  notify: boolean;
  status: GroupWelcomeStatus;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The attachments of a group welcome template: one of each kind at most, by construction. */
export interface GroupWelcomeAttachments {
  image?: { picUrl: string };
  link?: { title: string; url: string; desc?: string; picUrl?: string };
  miniprogram?: { title: string; picMediaId: string; appId: string; page: string };
  file?: { mediaId: string };
  video?: { mediaId: string };
}
