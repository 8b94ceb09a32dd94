import type {
  AddCorpTagInput,
  AppMessage,
  AppMessageResult,
  BatchGetByUserInput,
  ContactWay,
  ContactWayChanges,
  ContactWayInput,
  CorpTagFilter,
  CorpTagGroup,
  CustomerFollow,
  DelCorpTagInput,
  EditCorpTagInput,
  ExternalContactDetail,
  GroupChat,
  GroupChatListQuery,
  GroupChatRef,
  GroupChatStatFigures,
  GroupChatStatQuery,
  GroupChatTransferFailure,
  GroupMsg,
  GroupMsgListQuery,
  GroupMsgSendResult,
  GroupMsgTask,
  GroupWelcomeTemplateInput,
  JoinWay,
  JoinWayInput,
  KfSendInput,
  KfSendOnEventInput,
  KfSyncInput,
  KfSyncResult,
  MarkTagInput,
  MediaUploadInput,
  ImageUploadInput,
  Member,
  MsgTemplateInput,
  MsgTemplateResult,
  Page,
  RemarkInput,
  TransferCustomerOutcome,
  TransferCustomersInput,
  TransferGroupChatsInput,
  TransferKind,
  TransferResult,
  UnassignedCustomer,
  UploadedMedia,
  UserBehaviorDay,
  UserBehaviorQuery,
  UserIdentity,
  WelcomeMsgInput,
} from './types.js';

export type * from './types.js';

/**
 * Everything the domain asks of WeCom. Domain services depend on this interface, never on the axios
 * client, and unit tests hand them a fake (STYLE "Dependency direction").
 *
 * Every method throws `WecomApiError { api, errcode, errmsg }` when WeCom answers with a business
 * error, and `WecomTransportError` when no answer came back (see errors.ts).
 */
export interface WecomGateway {
  /**
   * The corp jsapi_ticket for wx.config (docs/wecom-protocol.md §JS-SDK tickets and signatures), cached until shortly
   * before it expires.
   */
  getJsapiTicket(): Promise<string>;
  /**
   * The app ticket for wx.agentConfig (docs/wecom-protocol.md §JS-SDK tickets and signatures), cached until shortly
   * before it expires.
   */
  getAgentTicket(): Promise<string>;

  /** Staff with 客户联系 inside the app's visible range (docs/wecom-protocol.md §Staff and customer lists). */
  getFollowUserList(): Promise<string[]>;
  /**
   * A member's customers' external_userids; [] when the member has none
   * (docs/wecom-protocol.md §Staff and customer lists, 84061).
   */
  listExternalContacts(userId: string): Promise<string[]>;
  /**
   * A customer with all followers, following next_cursor past 500 followers (docs/wecom-protocol.md §Customer details).
   */
  getExternalContact(externalUserId: string): Promise<ExternalContactDetail>;
  /** One page of (customer, follower) pairs for ≤ 100 members (docs/wecom-protocol.md §Batch customer details). */
  batchGetByUser(input: BatchGetByUserInput): Promise<Page<CustomerFollow>>;
  /** Every page of batch/get_by_user for any number of members (chunked by 100). */
  iterateBatchGetByUser(userIds: string[], options?: { limit?: number }): AsyncIterable<Page<CustomerFollow>>;
  /** Set a follower's remark fields for a customer (docs/wecom-protocol.md §Remarks). */
  remark(input: RemarkInput): Promise<void>;

  /** The enterprise tag library, optionally filtered (docs/wecom-protocol.md §Corp tag library). */
  getCorpTagList(filter?: CorpTagFilter): Promise<CorpTagGroup[]>;
  /**
   * Add tags to a group, creating it when only a name is given (docs/wecom-protocol.md §Corp tag library). Not
   * idempotent.
   */
  addCorpTag(input: AddCorpTagInput): Promise<CorpTagGroup>;
  /** Rename or reorder a tag or group (docs/wecom-protocol.md §Corp tag library). */
  editCorpTag(input: EditCorpTagInput): Promise<void>;
  /** Delete tags or groups (docs/wecom-protocol.md §Corp tag library). */
  delCorpTag(input: DelCorpTagInput): Promise<void>;
  /** Add/remove enterprise tags on one (follower, customer) pair (docs/wecom-protocol.md §Tagging a customer). */
  markTag(input: MarkTagInput): Promise<void>;

  /** Create a 「联系我」 config; persist the configId (docs/wecom-protocol.md §Contact ways). Not idempotent. */
  addContactWay(input: ContactWayInput): Promise<{ configId: string; qrCode?: string }>;
  /** Read a 「联系我」 config (docs/wecom-protocol.md §Contact ways). */
  getContactWay(configId: string): Promise<ContactWay>;
  /** Change a 「联系我」 config; lists overwrite (docs/wecom-protocol.md §Contact ways). */
  updateContactWay(configId: string, changes: ContactWayChanges): Promise<void>;
  /** Delete a 「联系我」 config (docs/wecom-protocol.md §Contact ways). */
  delContactWay(configId: string): Promise<void>;

  /**
   * Send the welcome message for a welcome_code (20 s, once; docs/wecom-protocol.md §Welcome messages). Not idempotent.
   */
  sendWelcomeMsg(input: WelcomeMsgInput): Promise<void>;
  /** Create a mass-send task staff must confirm (docs/wecom-protocol.md §Mass messages). Not idempotent. */
  addMsgTemplate(input: MsgTemplateInput): Promise<MsgTemplateResult>;
  /** One page of mass messages in a ≤ 1 month range (docs/wecom-protocol.md §Mass message results). */
  getGroupMsgListV2(query: GroupMsgListQuery): Promise<Page<GroupMsg>>;
  /** Every member task of a mass message, all pages (docs/wecom-protocol.md §Mass message results). */
  getGroupMsgTask(msgId: string): Promise<GroupMsgTask[]>;
  /**
   * Every recipient result of a mass message, optionally for one sender, all pages
   * (docs/wecom-protocol.md §Mass message results).
   */
  getGroupMsgSendResult(msgId: string, userId?: string): Promise<GroupMsgSendResult[]>;
  /** Re-notify staff of a mass message; ≤ 3 per 24 h (docs/wecom-protocol.md §Mass message results). Not idempotent. */
  remindGroupMsgSend(msgId: string): Promise<void>;
  /** Stop a mass message staff have not sent yet (docs/wecom-protocol.md §Mass message results). */
  cancelGroupMsgSend(msgId: string): Promise<void>;

  /**
   * 联系客户统计, one entry per day of the range (docs/wecom-protocol.md §Contact statistics). Several members answer
   * their sum, so ask for one member at a time for per-member figures. The range must be ≤ 30 days and ≤ 180 days back
   * (600018 otherwise).
   */
  getUserBehaviorData(query: UserBehaviorQuery): Promise<UserBehaviorDay[]>;

  /** One page of customer groups (docs/wecom-protocol.md §Customer groups). */
  groupChatList(query: GroupChatListQuery): Promise<Page<GroupChatRef>>;
  /** A customer group's details (docs/wecom-protocol.md §Customer groups). */
  groupChatGet(chatId: string, options?: { needName?: boolean }): Promise<GroupChat>;

  /**
   * Create a 群活码 (「加入群聊」 join way) for 1–5 groups; persist the configId (docs/wecom-protocol.md §Group join ways).
   * Not idempotent.
   */
  addJoinWay(input: JoinWayInput): Promise<{ configId: string }>;
  /** Read a join way, with its groups (including rooms WeCom opened) and QR code (docs/wecom-protocol.md §Group join ways). */
  getJoinWay(configId: string): Promise<JoinWay>;
  /** Replace a join way's configuration; lists overwrite (docs/wecom-protocol.md §Group join ways). */
  updateJoinWay(configId: string, input: JoinWayInput): Promise<void>;
  /** Delete a join way; its QR code stops working (docs/wecom-protocol.md §Group join ways). */
  delJoinWay(configId: string): Promise<void>;

  /** Add a group welcome template, ≤ 100 per corp (docs/wecom-protocol.md §Group welcome templates). Not idempotent. */
  addGroupWelcomeTemplate(input: GroupWelcomeTemplateInput): Promise<{ templateId: string }>;
  /** Replace a group welcome template's content (docs/wecom-protocol.md §Group welcome templates). */
  editGroupWelcomeTemplate(templateId: string, input: GroupWelcomeTemplateInput): Promise<void>;
  /** Read a group welcome template (docs/wecom-protocol.md §Group welcome templates). */
  getGroupWelcomeTemplate(templateId: string): Promise<GroupWelcomeTemplateInput>;
  /** Delete a group welcome template (docs/wecom-protocol.md §Group welcome templates). */
  delGroupWelcomeTemplate(templateId: string): Promise<void>;

  /**
   * Hand 1–100 groups to `newOwner` (docs/wecom-protocol.md §Group transfers): `resigned` calls groupchat/transfer
   * (离职继承, the owner has left), `onjob` groupchat/onjob_transfer (在职继承). Answers only the groups WeCom refused,
   * each with its errcode; a group not listed was handed over. A whole-call errcode throws. Not idempotent.
   */
  transferGroupChats(input: TransferGroupChatsInput): Promise<GroupChatTransferFailure[]>;
  /**
   * 群聊数据统计 by owner (groupchat/statistic, docs/wecom-protocol.md §Group statistics): one entry per owner, the range
   * summed. Ask for a single day to get that day's figures per owner.
   */
  groupChatStatistic(query: GroupChatStatQuery): Promise<{ owner: string; figures: GroupChatStatFigures }[]>;
  /**
   * 群聊数据统计 by day (groupchat/statistic_group_by_day, docs/wecom-protocol.md §Group statistics): one entry per day,
   * the owners asked summed.
   */
  groupChatStatisticByDay(query: GroupChatStatQuery): Promise<{ day: string; figures: GroupChatStatFigures }[]>;

  /**
   * Hand ≤ 100 of a member's customers to another member (docs/wecom-protocol.md §Customer transfers): `onjob` calls
   * transfer_customer (在职继承), `resigned` resigned/transfer_customer (离职继承). Each customer gets its own errcode; 0 only
   * means the 24 h takeover started. A whole-call errcode (e.g. 40097 handover not resigned) throws. Not idempotent.
   */
  transferCustomers(input: TransferCustomersInput): Promise<TransferCustomerOutcome[]>;
  /**
   * Every transfer record between a handover and a takeover member, all cursor pages (transfer_result,
   * docs/wecom-protocol.md §Customer transfers).
   */
  getTransferResults(kind: TransferKind, handoverUserId: string, takeoverUserId: string): Promise<TransferResult[]>;
  /**
   * One page (≤ 1000) of customers of members who left and are not assigned yet (get_unassigned_list,
   * docs/wecom-protocol.md §Customer transfers).
   */
  getUnassignedList(input: { cursor?: string; pageSize?: number }): Promise<Page<UnassignedCustomer>>;

  /** Send an internal notification from the app (docs/wecom-protocol.md §App messages to staff). Not idempotent. */
  sendAppMessage(message: AppMessage): Promise<AppMessageResult>;
  /** Upload a temporary media file, valid 3 days (docs/wecom-protocol.md §Media). */
  uploadMedia(input: MediaUploadInput): Promise<UploadedMedia>;
  /**
   * Upload an image for good (media/uploadimg): its URL serves as `pic_url` of welcome and mass messages with no 3-day
   * expiry, within a per-corp monthly and daily budget (docs/wecom-protocol.md §Media). Not idempotent.
   */
  uploadImage(input: ImageUploadInput): Promise<{ url: string }>;

  /**
   * Pull WeChat-KF messages with the KF secret's token when configured
   * (docs/wecom-protocol.md §WeChat customer service).
   */
  kfSyncMsg(input: KfSyncInput): Promise<KfSyncResult>;
  /** Send a WeChat-KF message (docs/wecom-protocol.md §WeChat customer service). Not idempotent. */
  kfSendMsg(input: KfSendInput): Promise<{ msgId: string }>;
  /**
   * Reply to a KF event with its single-use code, e.g. the end of a session
   * (docs/wecom-protocol.md §KF sessions and event replies). Not idempotent.
   */
  kfSendMsgOnEvent(input: KfSendOnEventInput): Promise<{ msgId: string }>;

  /**
   * Resolve a single-use OAuth code to a member or an external user
   * (docs/wecom-protocol.md §Staff sign-in for web pages).
   */
  getUserInfoByCode(code: string): Promise<UserIdentity>;

  /**
   * Read one member (读取成员 user/get, doc path/90196): name, position, status. 60011 when the member is
   * outside the app's visible range, 60111 when the userid does not exist (docs/wecom-protocol.md §Error codes).
   */
  getMember(userId: string): Promise<Member>;
}
