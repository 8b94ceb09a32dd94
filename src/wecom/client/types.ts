/**
 * The camelCase domain view of WeCom's data, as the WecomGateway returns and accepts it.
 * Timestamps are Dates; WeCom's numeric enums keep their documented numbers (docs/wecom-protocol.md, the section cited).
 */

/** One page of a cursor-paged list; `nextCursor` is '' on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string;
}

/**
 * A customer (`external_contact`, docs/wecom-protocol.md §Customer details). `type` 1 = WeChat user, 2 = WeCom user;
 * `gender` 0/1/2.
 */
export interface ExternalContact {
  externalUserId: string;
  name: string;
  type: number;
  gender: number;
  position?: string;
  avatar?: string;
  corpName?: string;
  corpFullName?: string;
  unionId?: string;
}

/**
 * A tag on a follow relation (docs/wecom-protocol.md §Customer details). `type` 1 enterprise, 2 personal (no id), 3
 * strategy.
 */
export interface FollowUserTag {
  groupName: string;
  tagName: string;
  tagId?: string;
  type: number;
}

/** Fields common to a follow relation in docs/wecom-protocol.md §Customer details, §Batch customer details. */
interface FollowBase {
  userId: string;
  remark: string;
  description: string;
  addedAt: Date;
  remarkCorpName?: string;
  remarkMobiles: string[];
  /**
   * Who initiated the add: a member userid, or the customer's external_userid
   * (docs/wecom-protocol.md §Customer details).
   */
  operUserId?: string;
  /** 来源 (docs/wecom-protocol.md §Customer details); unknown numbers are possible, treat them generically. */
  addWay: number;
  /** The 「联系我」 state that brought the customer in. */
  state?: string;
}

/**
 * A staff member following a customer, with that relation's tags (`follow_user`,
 * docs/wecom-protocol.md §Customer details).
 */
export interface FollowUser extends FollowBase {
  tags: FollowUserTag[];
}

/** A customer with every follower, all pages merged (docs/wecom-protocol.md §Customer details). */
export interface ExternalContactDetail {
  contact: ExternalContact;
  followUsers: FollowUser[];
}

/**
 * A follow relation from batch/get_by_user: enterprise and strategy tag ids only
 * (docs/wecom-protocol.md §Batch customer details).
 */
export interface FollowInfo extends FollowBase {
  tagIds: string[];
}

/** One (customer, follower) pair from batch/get_by_user (docs/wecom-protocol.md §Batch customer details). */
export interface CustomerFollow {
  contact: ExternalContact;
  followInfo: FollowInfo;
}

/** Input of batchGetByUser (docs/wecom-protocol.md §Batch customer details): ≤ 100 userids, limit ≤ 100. */
export interface BatchGetByUserInput {
  userIds: string[];
  cursor?: string;
  limit?: number;
}

/** Input of remark (docs/wecom-protocol.md §Remarks). `remarkMobiles` overwrites; `['']` clears. */
export interface RemarkInput {
  userId: string;
  externalUserId: string;
  remark?: string;
  description?: string;
  remarkCompany?: string;
  remarkMobiles?: string[];
  remarkPicMediaId?: string;
}

/** An enterprise tag (docs/wecom-protocol.md §Corp tag library). */
export interface CorpTag {
  id: string;
  name: string;
  createdAt?: Date;
  order: number;
  deleted?: boolean;
}

/** An enterprise tag group with its tags (docs/wecom-protocol.md §Corp tag library). */
export interface CorpTagGroup {
  groupId: string;
  groupName: string;
  createdAt?: Date;
  order: number;
  deleted?: boolean;
  tags: CorpTag[];
}

/** Filter for getCorpTagList; both empty means all (docs/wecom-protocol.md §Corp tag library). */
export interface CorpTagFilter {
  tagIds?: string[];
  groupIds?: string[];
}

/**
 * Input of addCorpTag: `groupId` adds to a group, otherwise `groupName` creates one
 * (docs/wecom-protocol.md §Corp tag library).
 */
export interface AddCorpTagInput {
  groupId?: string;
  groupName?: string;
  order?: number;
  tags: Array<{ name: string; order?: number }>;
}

/** Input of editCorpTag; `id` is a tag or a group id (docs/wecom-protocol.md §Corp tag library). */
export interface EditCorpTagInput {
  id: string;
  name?: string;
  order?: number;
}

/** Input of delCorpTag; not both empty (docs/wecom-protocol.md §Corp tag library). */
export interface DelCorpTagInput {
  tagIds?: string[];
  groupIds?: string[];
}

/** Input of markTag; tags are per (follower, customer) pair (docs/wecom-protocol.md §Tagging a customer). */
export interface MarkTagInput {
  userId: string;
  externalUserId: string;
  addTagIds?: string[];
  removeTagIds?: string[];
}

/** An attachment of a welcome or mass message (docs/wecom-protocol.md §Welcome messages). */
export type MessageAttachment =
  | { kind: 'image'; mediaId?: string; picUrl?: string }
  | { kind: 'link'; title: string; url: string; picUrl?: string; desc?: string }
  | { kind: 'miniprogram'; title: string; picMediaId: string; appId: string; page: string }
  | { kind: 'video'; mediaId: string }
  | { kind: 'file'; mediaId: string };

/** Message shown when a temporary contact-way session ends (`conclusions`, docs/wecom-protocol.md §Contact ways). */
export interface ContactWayConclusions {
  text?: string;
  image?: { mediaId?: string; picUrl?: string };
  link?: { title: string; url: string; picUrl?: string; desc?: string };
  miniprogram?: { title: string; picMediaId: string; appId: string; page: string };
}

/**
 * Fields of a 「联系我」 config that update_contact_way may change (docs/wecom-protocol.md §Contact ways; lists overwrite).
 */
export interface ContactWayChanges {
  style?: number;
  remark?: string;
  skipVerify?: boolean;
  /** ≤ 30 chars; comes back in the add event and follow_user.state. */
  state?: string;
  users?: string[];
  parties?: number[];
  expiresIn?: number;
  chatExpiresIn?: number;
  unionId?: string;
  conclusions?: ContactWayConclusions;
}

/** Input of addContactWay (docs/wecom-protocol.md §Contact ways). */
export interface ContactWayInput extends ContactWayChanges {
  type: 'single' | 'multi';
  scene: 'miniprogram' | 'qrcode';
  isTemp?: boolean;
}

/** A 「联系我」 config as WeCom stores it (docs/wecom-protocol.md §Contact ways). */
export interface ContactWay extends ContactWayInput {
  configId: string;
  qrCode?: string;
}

/**
 * Input of sendWelcomeMsg; text and attachments not both empty, ≤ 9 attachments
 * (docs/wecom-protocol.md §Welcome messages).
 */
export interface WelcomeMsgInput {
  welcomeCode: string;
  text?: string;
  attachments?: MessageAttachment[];
}

/**
 * Input of addMsgTemplate (docs/wecom-protocol.md §Mass messages). `tagFilter`: OR within an inner list, AND across
 * lists.
 */
export interface MsgTemplateInput {
  chatType?: 'single' | 'group';
  externalUserIds?: string[];
  chatIds?: string[];
  tagFilter?: string[][];
  sender?: string;
  allowSelect?: boolean;
  text?: string;
  attachments?: MessageAttachment[];
}

/** Result of addMsgTemplate: keep `msgId` for tracking (docs/wecom-protocol.md §Mass messages). */
export interface MsgTemplateResult {
  msgId: string;
  /** external_userids WeCom could not send to. */
  failList: string[];
}

/** Query of getGroupMsgListV2; the range is ≤ 1 month (docs/wecom-protocol.md §Mass message results). */
export interface GroupMsgListQuery {
  chatType: 'single' | 'group';
  startTime: Date;
  endTime: Date;
  creator?: string;
  /** 0 enterprise-created, 1 member-created, 2 all. */
  filterType?: 0 | 1 | 2;
  limit?: number;
  cursor?: string;
}

/**
 * A mass message (`group_msg_list`, docs/wecom-protocol.md §Mass message results). `createType` 0 enterprise, 1 member.
 */
export interface GroupMsg {
  msgId: string;
  creator?: string;
  createdAt: Date;
  createType: number;
  text?: string;
  attachments: MessageAttachment[];
}

/**
 * What get_user_behavior_data is asked (docs/wecom-protocol.md §Contact statistics): members and/or departments (each
 * ≤ 100, not both empty) and a range of whole days, both ends included, at most 30 days long and at most 180 days back.
 * Several members or departments answer ONE summed row per day, so a caller wanting a member's own figures asks for
 * that member alone.
 */
export interface UserBehaviorQuery {
  userIds?: string[];
  partyIds?: number[];
  /** Any instant of the first day; WeCom rounds it down to that day's 00:00 (China time). */
  startTime: Date;
  /** Any instant of the last day, included. */
  endTime: Date;
}

/** One day of WeCom's 联系客户统计 for the members asked. */
export interface UserBehaviorDay {
  /** 00:00 of the day, China time (stat_time). */
  statTime: Date;
  /** 聊天总数: one-to-one chats in which the member sent a message. */
  chatCnt: number;
  /** 发送消息数: messages the member sent in one-to-one chats. */
  messageCnt: number;
  /** 已回复聊天占比, a percentage (0–100, may have decimals); null on days without chats (WeCom leaves it out). */
  replyPercentage: number | null;
  /** 平均首次回复时长 in minutes; null on days without chats (WeCom leaves it out). */
  avgReplyTime: number | null;
  /** 删除/拉黑成员的客户数: customers who deleted or blocked the member. */
  negativeFeedbackCnt: number;
  /** 发起申请数: friend requests the member sent. */
  newApplyCnt: number;
  /** 新增客户数: customers added. */
  newContactCnt: number;
}

/**
 * A member's task for a mass message. `status` 0 not sent; any non-zero is sent
 * (docs/wecom-protocol.md §Mass message results).
 */
export interface GroupMsgTask {
  userId: string;
  status: number;
  sentAt?: Date;
}

/**
 * One recipient's result. `status` 0 not sent, 1 sent, 2 not a friend, 3 quota exceeded
 * (docs/wecom-protocol.md §Mass message results).
 */
export interface GroupMsgSendResult {
  userId: string;
  externalUserId?: string;
  chatId?: string;
  status: number;
  sentAt?: Date;
}

/** Query of groupChatList (docs/wecom-protocol.md §Customer groups). `limit` 1–1000. */
export interface GroupChatListQuery {
  statusFilter?: number;
  ownerUserIds?: string[];
  cursor?: string;
  limit: number;
}

/** A group chat id and status from groupChatList (docs/wecom-protocol.md §Customer groups). */
export interface GroupChatRef {
  chatId: string;
  status: number;
}

/** A member of a customer group (docs/wecom-protocol.md §Customer groups). `type` 1 member, 2 external. */
export interface GroupChatMember {
  userId: string;
  type: number;
  unionId?: string;
  joinedAt: Date;
  joinScene: number;
  invitorUserId?: string;
  groupNickname?: string;
  name?: string;
  /** The join way's state when the member joined through a 群活码 that carries one (docs/wecom-protocol.md §Group join ways). */
  state?: string;
}

/** A customer group's details (docs/wecom-protocol.md §Customer groups). */
export interface GroupChat {
  chatId: string;
  name: string;
  owner: string;
  createdAt: Date;
  notice?: string;
  members: GroupChatMember[];
  adminUserIds: string[];
}

/**
 * A 「加入群聊」 join way as add/update_join_way take it (docs/wecom-protocol.md §Group join ways): 1–5 groups, a state
 * ≤ 30 characters, and the naming of rooms WeCom opens when every listed group is full.
 */
export interface JoinWayInput {
  /** `qrcode` (scene 2) answers a QR code; `miniprogram` (scene 1) a mini-program button. */
  scene: 'qrcode' | 'miniprogram';
  chatIds: string[];
  state?: string;
  remark?: string;
  autoCreateRoom: boolean;
  roomBaseName?: string;
  roomBaseId?: number;
}

/** A join way as get_join_way answers it (docs/wecom-protocol.md §Group join ways). */
export interface JoinWay extends JoinWayInput {
  configId: string;
  qrCode?: string;
}

/**
 * A group welcome template's content (docs/wecom-protocol.md §Group welcome templates): text ≤ 3000 bytes and at most one
 * attachment of each kind; `notify` tells members a new template is available.
 */
export interface GroupWelcomeTemplateInput {
  text?: string;
  image?: { mediaId?: string; picUrl?: string };
  link?: { title: string; url: string; picUrl?: string; desc?: string };
  miniprogram?: { title: string; picMediaId: string; appId: string; page: string };
  file?: { mediaId: string };
  video?: { mediaId: string };
  notify?: boolean;
}

/** The content of an internal app message (docs/wecom-protocol.md §App messages to staff). */
export type AppMessageContent =
  | { msgtype: 'text'; content: string }
  | { msgtype: 'markdown'; content: string }
  | { msgtype: 'textcard'; title: string; description: string; url: string; btnText?: string }
  | { msgtype: 'template_card'; card: Record<string, unknown> };

/**
 * An internal app message (docs/wecom-protocol.md §App messages to staff): at least one of toUsers/toParties/toTags.
 */
export interface AppMessage {
  toUsers?: string[] | '@all';
  toParties?: string[];
  toTags?: string[];
  content: AppMessageContent;
  safe?: boolean;
  /** Let WeCom drop an identical message within `duplicateCheckIntervalSeconds` (default 1800). */
  enableDuplicateCheck?: boolean;
  duplicateCheckIntervalSeconds?: number;
}

/** Result of sendAppMessage; recipients WeCom rejected are listed (docs/wecom-protocol.md §App messages to staff). */
export interface AppMessageResult {
  msgId?: string;
  invalidUsers: string[];
  invalidParties: string[];
  invalidTags: string[];
  unlicensedUsers: string[];
}

/** Input of uploadMedia (docs/wecom-protocol.md §Media): type, file name and bytes. */
export interface MediaUploadInput {
  type: 'image' | 'voice' | 'video' | 'file';
  filename: string;
  data: Uint8Array;
  contentType?: string;
}

/** Input of uploadImage (docs/wecom-protocol.md §Media): a JPG or PNG, its file name and bytes. */
export interface ImageUploadInput {
  filename: string;
  data: Uint8Array;
  contentType?: string;
}

/** An uploaded temporary media; `mediaId` is valid 3 days (docs/wecom-protocol.md §Media). */
export interface UploadedMedia {
  type: string;
  mediaId: string;
  createdAt: Date;
}

/**
 * Input of kfSyncMsg (docs/wecom-protocol.md §WeChat customer service). `token` is the callback's Token (valid 10 min).
 */
export interface KfSyncInput {
  cursor?: string;
  token?: string;
  limit?: number;
  voiceFormat?: 0 | 1;
  openKfId?: string;
}

/**
 * A WeChat-KF message (docs/wecom-protocol.md §WeChat customer service). `origin` 3 customer, 4 system event, 5
 * servicer.
 */
export interface KfMessage {
  msgId: string;
  openKfId: string;
  externalUserId?: string;
  sentAt: Date;
  origin: number;
  servicerUserId?: string;
  msgType: string;
  /** The msgtype-specific object, as sent by WeCom. */
  body: unknown;
}

/** One batch from kfSyncMsg; persist `nextCursor` per open_kfid (docs/wecom-protocol.md §WeChat customer service). */
export interface KfSyncResult {
  nextCursor: string;
  hasMore: boolean;
  messages: KfMessage[];
}

/** A message to a WeChat-KF customer. */
export interface KfSendInput {
  toUser: string;
  openKfId: string;
  /** Optional caller-chosen id. */
  msgId?: string;
  content: { msgtype: 'text'; content: string } | { msgtype: 'image' | 'voice' | 'video' | 'file'; mediaId: string };
}

/**
 * An event reply to a WeChat-KF customer: the `msg_code` of a session's end (or the welcome code of its start) lets one
 * text through within 20 seconds (docs/wecom-protocol.md §KF sessions and event replies).
 */
export interface KfSendOnEventInput {
  code: string;
  /** Optional caller-chosen id (≤ 32 bytes of [0-9a-zA-Z_-]). */
  msgId?: string;
  content: { msgtype: 'text'; content: string };
}

/**
 * A member as user/get (读取成员, doc path/90196) shows them to a self-built app. `status` 1 activated,
 * 2 disabled, 4 not activated, 5 left (docs/wecom-protocol.md §Member events). No avatar, gender, mobile or email:
 * WeCom stopped returning them to apps created after 2022-06-20.
 */
export interface Member {
  userId: string;
  /** The member's display name (姓名); '' if WeCom sent none. */
  name: string;
  position?: string;
  status?: number;
  departmentIds: number[];
}

/** Who an OAuth code belongs to (docs/wecom-protocol.md §Staff sign-in for web pages). */
export type UserIdentity =
  | { kind: 'member'; userId: string; userTicket?: string }
  | { kind: 'external'; openId?: string; externalUserId?: string };

/** Which 客户继承 API: 在职继承 (on-job) or 离职继承 (resigned), docs/wecom-protocol.md §Customer transfers. */
export type TransferKind = 'onjob' | 'resigned';

/** Input of transferCustomers (docs/wecom-protocol.md §Customer transfers): ≤ 100 customers of `handoverUserId`. */
export interface TransferCustomersInput {
  kind: TransferKind;
  handoverUserId: string;
  takeoverUserId: string;
  externalUserIds: string[];
  /** ≤ 200 characters, sent to the customer on success; on-job only (WeCom's default text otherwise). */
  successMessage?: string;
}

/**
 * One customer's answer to a transfer call: errcode 0 means the 24 h takeover started, not that it succeeded
 * (docs/wecom-protocol.md §Customer transfers).
 */
export interface TransferCustomerOutcome {
  externalUserId: string;
  errcode: number;
}

/**
 * A customer of a member who left, not yet handed to anyone (get_unassigned_list,
 * docs/wecom-protocol.md §Customer transfers).
 */
export interface UnassignedCustomer {
  handoverUserId: string;
  externalUserId: string;
  /** When the member left (dimission_time). */
  dimissionAt: Date;
}

/**
 * One customer's transfer state (transfer_result, docs/wecom-protocol.md §Customer transfers). `status` 1 done, 2
 * waiting, 3 customer refused, 4 the taker's customer limit is reached, 5 no transfer record. `takeoverAt` is the
 * planned instant while waiting.
 */
export interface TransferResult {
  externalUserId: string;
  status: number;
  takeoverAt?: Date;
}

/**
 * Input of transferGroupChats (docs/wecom-protocol.md §Group transfers): `resigned` calls groupchat/transfer (the
 * owner has left), `onjob` groupchat/onjob_transfer; 1–100 groups, all handed to `newOwner`.
 */
export interface TransferGroupChatsInput {
  kind: TransferKind;
  chatIds: string[];
  newOwner: string;
}

/** A group WeCom refused to hand over, with its own errcode (failed_chat_list). Groups not listed were handed over. */
export interface GroupChatTransferFailure {
  chatId: string;
  errcode: number;
  errmsg: string;
}

/** The figures of 群聊数据统计 for one owner or one day (docs/wecom-protocol.md §Group statistics). */
export interface GroupChatStatFigures {
  /** 新增客户群数量 */
  newChatCnt: number;
  /** 截至当天客户群总数量 */
  chatTotal: number;
  /** 有发过消息的客户群数量 */
  chatHasMsg: number;
  /** 客户群新增群人数 */
  newMemberCnt: number;
  /** 截至当天客户群总人数 */
  memberTotal: number;
  /** 有发过消息的群成员数 */
  memberHasMsg: number;
  /** 客户群消息总数 */
  msgTotal: number;
  /** 新增迁移群数 (教培 corps only; 0 elsewhere) */
  migrateTraineeChatCnt: number;
}

/**
 * A query of group statistics: whole China days `fromDay`..`toDay` (both included, ≤ 30 days apart, ≤ 180 days back)
 * and 1–100 owners (docs/wecom-protocol.md §Group statistics).
 */
export interface GroupChatStatQuery {
  /** `YYYY-MM-DD`, a China calendar day. */
  fromDay: string;
  toDay: string;
  ownerUserIds: string[];
}
