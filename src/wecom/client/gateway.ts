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
  GroupMsg,
  GroupMsgListQuery,
  GroupMsgSendResult,
  GroupMsgTask,
  KfSendInput,
  KfSyncInput,
  KfSyncResult,
  MarkTagInput,
  MediaUploadInput,
  Member,
  MsgTemplateInput,
  MsgTemplateResult,
  Page,
  RemarkInput,
  TransferCustomerOutcome,
  TransferCustomersInput,
  TransferKind,
  TransferResult,
  UnassignedCustomer,
  UploadedMedia,
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
  /** The corp jsapi_ticket for wx.config (§6.3), cached until shortly before it expires. */
  getJsapiTicket(): Promise<string>;
  /** The app ticket for wx.agentConfig (§6.3), cached until shortly before it expires. */
  getAgentTicket(): Promise<string>;

  /** Staff with 客户联系 inside the app's visible range (§4.1). */
  getFollowUserList(): Promise<string[]>;
  /** A member's customers' external_userids; [] when the member has none (§4.2, 84061). */
  listExternalContacts(userId: string): Promise<string[]>;
  /** A customer with all followers, following next_cursor past 500 followers (§4.3). */
  getExternalContact(externalUserId: string): Promise<ExternalContactDetail>;
  /** One page of (customer, follower) pairs for ≤ 100 members (§4.4). */
  batchGetByUser(input: BatchGetByUserInput): Promise<Page<CustomerFollow>>;
  /** Every page of batch/get_by_user for any number of members (chunked by 100). */
  iterateBatchGetByUser(userIds: string[], options?: { limit?: number }): AsyncIterable<Page<CustomerFollow>>;
  /** Set a follower's remark fields for a customer (§4.5). */
  remark(input: RemarkInput): Promise<void>;

  /** The enterprise tag library, optionally filtered (§4.6). */
  getCorpTagList(filter?: CorpTagFilter): Promise<CorpTagGroup[]>;
  /** Add tags to a group, creating it when only a name is given (§4.6). Not idempotent. */
  addCorpTag(input: AddCorpTagInput): Promise<CorpTagGroup>;
  /** Rename or reorder a tag or group (§4.6). */
  editCorpTag(input: EditCorpTagInput): Promise<void>;
  /** Delete tags or groups (§4.6). */
  delCorpTag(input: DelCorpTagInput): Promise<void>;
  /** Add/remove enterprise tags on one (follower, customer) pair (§4.7). */
  markTag(input: MarkTagInput): Promise<void>;

  /** Create a 「联系我」 config; persist the configId (§4.8). Not idempotent. */
  addContactWay(input: ContactWayInput): Promise<{ configId: string; qrCode?: string }>;
  /** Read a 「联系我」 config (§4.8). */
  getContactWay(configId: string): Promise<ContactWay>;
  /** Change a 「联系我」 config; lists overwrite (§4.8). */
  updateContactWay(configId: string, changes: ContactWayChanges): Promise<void>;
  /** Delete a 「联系我」 config (§4.8). */
  delContactWay(configId: string): Promise<void>;

  /** Send the welcome message for a welcome_code (20 s, once; §4.9). Not idempotent. */
  sendWelcomeMsg(input: WelcomeMsgInput): Promise<void>;
  /** Create a mass-send task staff must confirm (§4.10). Not idempotent. */
  addMsgTemplate(input: MsgTemplateInput): Promise<MsgTemplateResult>;
  /** One page of mass messages in a ≤ 1 month range (§4.11). */
  getGroupMsgListV2(query: GroupMsgListQuery): Promise<Page<GroupMsg>>;
  /** Every member task of a mass message, all pages (§4.11). */
  getGroupMsgTask(msgId: string): Promise<GroupMsgTask[]>;
  /** Every recipient result of a mass message, optionally for one sender, all pages (§4.11). */
  getGroupMsgSendResult(msgId: string, userId?: string): Promise<GroupMsgSendResult[]>;
  /** Re-notify staff of a mass message; ≤ 3 per 24 h (§4.11). Not idempotent. */
  remindGroupMsgSend(msgId: string): Promise<void>;
  /** Stop a mass message staff have not sent yet (§4.11). */
  cancelGroupMsgSend(msgId: string): Promise<void>;

  /** One page of customer groups (§4.12). */
  groupChatList(query: GroupChatListQuery): Promise<Page<GroupChatRef>>;
  /** A customer group's details (§4.12). */
  groupChatGet(chatId: string, options?: { needName?: boolean }): Promise<GroupChat>;

  /**
   * Hand ≤ 100 of a member's customers to another member (§4.14): `onjob` calls transfer_customer (在职继承),
   * `resigned` resigned/transfer_customer (离职继承). Each customer gets its own errcode; 0 only means the 24 h
   * takeover started. A whole-call errcode (e.g. 40097 handover not resigned) throws. Not idempotent.
   */
  transferCustomers(input: TransferCustomersInput): Promise<TransferCustomerOutcome[]>;
  /** Every transfer record between a handover and a takeover member, all cursor pages (§4.14 transfer_result). */
  getTransferResults(kind: TransferKind, handoverUserId: string, takeoverUserId: string): Promise<TransferResult[]>;
  /** One page (≤ 1000) of customers of members who left and are not assigned yet (§4.14 get_unassigned_list). */
  getUnassignedList(input: { cursor?: string; pageSize?: number }): Promise<Page<UnassignedCustomer>>;

  /** Send an internal notification from the app (§4.13). Not idempotent. */
  sendAppMessage(message: AppMessage): Promise<AppMessageResult>;
  /** Upload a temporary media file, valid 3 days (§4.15). */
  uploadMedia(input: MediaUploadInput): Promise<UploadedMedia>;

  /** Pull WeChat-KF messages with the KF secret's token when configured (§2.7). */
  kfSyncMsg(input: KfSyncInput): Promise<KfSyncResult>;
  /** Send a WeChat-KF message (§2.7). Not idempotent. */
  kfSendMsg(input: KfSendInput): Promise<{ msgId: string }>;

  /** Resolve a single-use OAuth code to a member or an external user (§4.16). */
  getUserInfoByCode(code: string): Promise<UserIdentity>;

  /**
   * Read one member (读取成员 user/get, doc path/90196): name, position, status. 60011 when the member is
   * outside the app's visible range, 60111 when the userid does not exist (reference §7).
   */
  getMember(userId: string): Promise<Member>;
}
