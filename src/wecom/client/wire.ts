/**
 * WeCom's wire shapes, snake_case exactly as the API sends them (docs/wecom-protocol.md, a section per API).
 * Only the client and its mappers see these; the rest of the code uses the camelCase types in types.ts.
 */

/** Every WeCom response carries these; errcode 0 is success. */
export interface WireResponse {
  errcode?: number;
  errmsg?: string;
}

/** gettoken (docs/wecom-protocol.md §Access tokens). */
export interface WireToken extends WireResponse {
  access_token: string;
  expires_in: number;
}

/** get_jsapi_ticket and ticket/get?type=agent_config (docs/wecom-protocol.md §JS-SDK tickets and signatures). */
export interface WireTicket extends WireResponse {
  ticket: string;
  expires_in: number;
}

/** get_follow_user_list response (docs/wecom-protocol.md §Staff and customer lists). */
export interface WireFollowUserList extends WireResponse {
  follow_user?: string[];
}

/** externalcontact/list response (docs/wecom-protocol.md §Staff and customer lists). */
export interface WireExternalContactList extends WireResponse {
  external_userid?: string[];
}

/** `external_contact` (docs/wecom-protocol.md §Customer details). */
export interface WireExternalContact {
  external_userid: string;
  name: string;
  position?: string;
  avatar?: string;
  corp_name?: string;
  corp_full_name?: string;
  type: number;
  gender?: number;
  unionid?: string;
  external_profile?: unknown;
}

/** `follow_user[].tags[]`; personal tags (type 2) have no tag_id (docs/wecom-protocol.md §Customer details). */
export interface WireFollowUserTag {
  group_name?: string;
  tag_name: string;
  tag_id?: string;
  type: number;
}

/** `follow_user[]` (docs/wecom-protocol.md §Customer details). */
export interface WireFollowUser {
  userid: string;
  remark?: string;
  description?: string;
  createtime: number;
  tags?: WireFollowUserTag[];
  remark_corp_name?: string;
  remark_mobiles?: string[];
  oper_userid?: string;
  add_way?: number;
  state?: string;
}

/** externalcontact/get (docs/wecom-protocol.md §Customer details). */
export interface WireExternalContactDetail extends WireResponse {
  external_contact: WireExternalContact;
  follow_user?: WireFollowUser[];
  next_cursor?: string;
}

/** `follow_info`: tag ids only, enterprise and strategy (docs/wecom-protocol.md §Batch customer details). */
export interface WireFollowInfo {
  userid: string;
  remark?: string;
  description?: string;
  createtime: number;
  tag_id?: string[];
  remark_corp_name?: string;
  remark_mobiles?: string[];
  oper_userid?: string;
  add_way?: number;
  state?: string;
}

/** batch/get_by_user request (docs/wecom-protocol.md §Batch customer details). */
export interface WireBatchGetByUserRequest {
  userid_list: string[];
  cursor?: string;
  limit?: number;
}

/** batch/get_by_user response (docs/wecom-protocol.md §Batch customer details). */
export interface WireBatchGetByUser extends WireResponse {
  external_contact_list?: Array<{ external_contact: WireExternalContact; follow_info: WireFollowInfo }>;
  next_cursor?: string;
}

/** remark request (docs/wecom-protocol.md §Remarks). */
export interface WireRemarkRequest {
  userid: string;
  external_userid: string;
  remark?: string;
  description?: string;
  remark_company?: string;
  remark_mobiles?: string[];
  remark_pic_mediaid?: string;
}

/** one tag (docs/wecom-protocol.md §Corp tag library). */
export interface WireCorpTag {
  id: string;
  name: string;
  create_time?: number;
  order?: number;
  deleted?: boolean;
}

/** one tag group (docs/wecom-protocol.md §Corp tag library). */
export interface WireCorpTagGroup {
  group_id: string;
  group_name: string;
  create_time?: number;
  order?: number;
  deleted?: boolean;
  tag?: WireCorpTag[];
}

/** get_corp_tag_list response (docs/wecom-protocol.md §Corp tag library). */
export interface WireCorpTagList extends WireResponse {
  tag_group?: WireCorpTagGroup[];
}

/** add_corp_tag request (docs/wecom-protocol.md §Corp tag library). */
export interface WireAddCorpTagRequest {
  group_id?: string;
  group_name?: string;
  order?: number;
  tag: Array<{ name: string; order?: number }>;
}

/** add_corp_tag response (docs/wecom-protocol.md §Corp tag library). */
export interface WireAddCorpTag extends WireResponse {
  tag_group: WireCorpTagGroup;
}

/** mark_tag request (docs/wecom-protocol.md §Tagging a customer). */
export interface WireMarkTagRequest {
  userid: string;
  external_userid: string;
  add_tag?: string[];
  remove_tag?: string[];
}

/** attachments (docs/wecom-protocol.md §Welcome messages, §Mass messages). */
export type WireAttachment =
  | { msgtype: 'image'; image: { media_id?: string; pic_url?: string } }
  | { msgtype: 'link'; link: { title: string; picurl?: string; desc?: string; url: string } }
  | { msgtype: 'miniprogram'; miniprogram: { title: string; pic_media_id: string; appid: string; page: string } }
  | { msgtype: 'video'; video: { media_id: string } }
  | { msgtype: 'file'; file: { media_id: string } };

/** `conclusions` (message after a temporary session ends) (docs/wecom-protocol.md §Contact ways). */
export interface WireConclusions {
  text?: { content: string };
  image?: { media_id?: string; pic_url?: string };
  link?: { title: string; picurl?: string; desc?: string; url: string };
  miniprogram?: { title: string; pic_media_id: string; appid: string; page: string };
}

/**
 * add_contact_way request, also the body of update_contact_way (with config_id) (docs/wecom-protocol.md §Contact ways).
 */
export interface WireContactWayRequest {
  config_id?: string;
  type?: number;
  scene?: number;
  style?: number;
  remark?: string;
  skip_verify?: boolean;
  state?: string;
  user?: string[];
  party?: number[];
  is_temp?: boolean;
  expires_in?: number;
  chat_expires_in?: number;
  unionid?: string;
  conclusions?: WireConclusions;
}

/** add_contact_way response (docs/wecom-protocol.md §Contact ways). */
export interface WireAddContactWay extends WireResponse {
  config_id: string;
  qr_code?: string;
}

/** get_contact_way response (docs/wecom-protocol.md §Contact ways). */
export interface WireGetContactWay extends WireResponse {
  contact_way: WireContactWayRequest & { config_id: string; type: number; scene: number; qr_code?: string };
}

/** send_welcome_msg request (docs/wecom-protocol.md §Welcome messages). */
export interface WireWelcomeMsgRequest {
  welcome_code: string;
  text?: { content: string };
  attachments?: WireAttachment[];
}

/** add_msg_template request (docs/wecom-protocol.md §Mass messages). */
export interface WireMsgTemplateRequest {
  chat_type?: 'single' | 'group';
  external_userid?: string[];
  chat_id_list?: string[];
  tag_filter?: { group_list: Array<{ tag_list: string[] }> };
  sender?: string;
  allow_select?: boolean;
  text?: { content: string };
  attachments?: WireAttachment[];
}

/** add_msg_template response (docs/wecom-protocol.md §Mass messages). */
export interface WireAddMsgTemplate extends WireResponse {
  msgid: string;
  fail_list?: string[];
}

/** get_groupmsg_list_v2 request (docs/wecom-protocol.md §Mass message results). */
export interface WireGroupMsgListRequest {
  chat_type: 'single' | 'group';
  start_time: number;
  end_time: number;
  creator?: string;
  filter_type?: number;
  limit?: number;
  cursor?: string;
}

/** get_groupmsg_list_v2 response (docs/wecom-protocol.md §Mass message results). */
export interface WireGroupMsgList extends WireResponse {
  next_cursor?: string;
  group_msg_list?: Array<{
    msgid: string;
    creator?: string;
    create_time: number | string;
    create_type: number;
    text?: { content: string };
    attachments?: WireAttachment[];
  }>;
}

/** get_groupmsg_task response (docs/wecom-protocol.md §Mass message results). */
export interface WireGroupMsgTask extends WireResponse {
  next_cursor?: string;
  task_list?: Array<{ userid: string; status: number; send_time?: number }>;
}

/** get_user_behavior_data response (docs/wecom-protocol.md §Contact statistics): one entry per day of the range. */
export interface WireUserBehaviorData extends WireResponse {
  behavior_data?: Array<{
    stat_time: number;
    chat_cnt?: number;
    message_cnt?: number;
    /** Only on days with chats. */
    reply_percentage?: number;
    /** Only on days with chats. */
    avg_reply_time?: number;
    negative_feedback_cnt?: number;
    new_apply_cnt?: number;
    new_contact_cnt?: number;
  }>;
}

/** get_groupmsg_send_result response (docs/wecom-protocol.md §Mass message results). */
export interface WireGroupMsgSendResult extends WireResponse {
  next_cursor?: string;
  send_list?: Array<{ external_userid?: string; chat_id?: string; userid: string; status: number; send_time?: number }>;
}

/** groupchat/list request (docs/wecom-protocol.md §Customer groups). */
export interface WireGroupChatListRequest {
  status_filter?: number;
  owner_filter?: { userid_list: string[] };
  cursor?: string;
  limit: number;
}

/** groupchat/list response (docs/wecom-protocol.md §Customer groups). */
export interface WireGroupChatList extends WireResponse {
  group_chat_list?: Array<{ chat_id: string; status: number }>;
  next_cursor?: string;
}

/** groupchat/get response (docs/wecom-protocol.md §Customer groups). */
export interface WireGroupChat extends WireResponse {
  group_chat: {
    chat_id: string;
    name?: string;
    owner: string;
    create_time: number;
    notice?: string;
    member_list?: Array<{
      userid: string;
      type: number;
      unionid?: string;
      join_time: number;
      join_scene: number;
      invitor?: { userid: string };
      group_nickname?: string;
      name?: string;
      state?: string;
    }>;
    admin_list?: Array<{ userid: string }>;
  };
}

/** add_join_way / update_join_way body (docs/wecom-protocol.md §Group join ways). */
export interface WireJoinWayRequest {
  config_id?: string;
  scene: 1 | 2;
  remark?: string;
  auto_create_room: 0 | 1;
  room_base_name?: string;
  room_base_id?: number;
  chat_id_list: string[];
  state?: string;
}

/** add_join_way response (docs/wecom-protocol.md §Group join ways). */
export interface WireAddJoinWay extends WireResponse {
  config_id: string;
}

/** get_join_way response (docs/wecom-protocol.md §Group join ways). */
export interface WireGetJoinWay extends WireResponse {
  join_way: {
    config_id: string;
    scene: number;
    remark?: string;
    auto_create_room?: number;
    room_base_name?: string;
    room_base_id?: number;
    chat_id_list?: string[];
    qr_code?: string;
    state?: string;
  };
}

/** group_welcome_template add/edit body and get answer (docs/wecom-protocol.md §Group welcome templates). */
export interface WireGroupWelcomeTemplate {
  text?: { content: string };
  image?: { media_id?: string; pic_url?: string };
  link?: { title: string; picurl?: string; desc?: string; url: string };
  miniprogram?: { title: string; pic_media_id: string; appid: string; page: string };
  file?: { media_id: string };
  video?: { media_id: string };
}

/** group_welcome_template/add response (docs/wecom-protocol.md §Group welcome templates). */
export interface WireAddGroupWelcomeTemplate extends WireResponse {
  template_id: string;
}

/** group_welcome_template/get response (docs/wecom-protocol.md §Group welcome templates). */
export type WireGetGroupWelcomeTemplate = WireResponse & WireGroupWelcomeTemplate;

/** message/send request (the payload key is named after msgtype) (docs/wecom-protocol.md §App messages to staff). */
export interface WireAppMessageRequest {
  touser?: string;
  toparty?: string;
  totag?: string;
  msgtype: 'text' | 'textcard' | 'markdown' | 'template_card';
  agentid: number;
  safe?: 0 | 1;
  enable_duplicate_check?: 0 | 1;
  duplicate_check_interval?: number;
  text?: { content: string };
  textcard?: { title: string; description: string; url: string; btntxt?: string };
  markdown?: { content: string };
  template_card?: Record<string, unknown>;
}

/** message/send response; the invalid* fields are "|"-joined lists (docs/wecom-protocol.md §App messages to staff). */
export interface WireAppMessage extends WireResponse {
  invaliduser?: string;
  invalidparty?: string;
  invalidtag?: string;
  unlicenseduser?: string;
  msgid?: string;
  response_code?: string;
}

/** media/upload response; created_at is a string (docs/wecom-protocol.md §Media). */
/** media/uploadimg response: a permanent image URL (docs/wecom-protocol.md §Media). */
export interface WireImageUpload extends WireResponse {
  url: string;
}

export interface WireMediaUpload extends WireResponse {
  type: string;
  media_id: string;
  created_at: string | number;
}

/** kf/sync_msg request (docs/wecom-protocol.md §WeChat customer service). */
export interface WireKfSyncRequest {
  cursor?: string;
  token?: string;
  limit?: number;
  voice_format?: number;
  open_kfid?: string;
}

/** kf/sync_msg response (docs/wecom-protocol.md §WeChat customer service). */
export interface WireKfSync extends WireResponse {
  next_cursor?: string;
  has_more?: number;
  msg_list?: Array<
    {
      msgid: string;
      open_kfid: string;
      external_userid?: string;
      send_time: number;
      origin: number;
      servicer_userid?: string;
      msgtype: string;
    } & Record<string, unknown>
  >;
}

/** kf/send_msg request; the payload key is named after msgtype. */
export interface WireKfSendRequest {
  touser: string;
  open_kfid: string;
  msgid?: string;
  msgtype: string;
  [payload: string]: unknown;
}

/** kf/send_msg response. */
export interface WireKfSend extends WireResponse {
  msgid: string;
}

/** kf/send_msg_on_event request (docs/wecom-protocol.md §KF sessions and event replies). */
export interface WireKfSendOnEventRequest {
  code: string;
  msgid?: string;
  msgtype: 'text';
  text: { content: string };
}

/**
 * auth/getuserinfo: members get userid, non-members openid/external_userid
 * (docs/wecom-protocol.md §Staff sign-in for web pages).
 */
export interface WireUserInfo extends WireResponse {
  userid?: string;
  user_ticket?: string;
  openid?: string;
  external_userid?: string;
}

/**
 * user/get (读取成员, doc path/90196). A self-built app reads members inside its visible range only (60011
 * otherwise, docs/wecom-protocol.md §Error codes); since 2022-06-20 new apps no longer get avatar, gender, mobile,
 * email or address.
 */
export interface WireMember extends WireResponse {
  userid: string;
  name?: string;
  department?: number[];
  main_department?: number;
  position?: string;
  /** 1 activated, 2 disabled, 4 not activated, 5 left the corp (docs/wecom-protocol.md §Member events). */
  status?: number;
}

/**
 * transfer_customer / resigned/transfer_customer request (the resigned variant has no transfer_success_msg)
 * (docs/wecom-protocol.md §Customer transfers).
 */
export interface WireTransferCustomerRequest {
  handover_userid: string;
  takeover_userid: string;
  external_userid: string[];
  transfer_success_msg?: string;
}

/**
 * transfer_customer / resigned/transfer_customer response: one errcode per customer, 0 = started
 * (docs/wecom-protocol.md §Customer transfers).
 */
export interface WireTransferCustomer extends WireResponse {
  customer?: Array<{ external_userid: string; errcode: number }>;
}

/**
 * get_unassigned_list response (request: `{ cursor?, page_size ≤ 1000 }`) (docs/wecom-protocol.md §Customer transfers).
 */
export interface WireUnassignedList extends WireResponse {
  info?: Array<{ handover_userid: string; external_userid: string; dimission_time: number }>;
  is_last?: boolean;
  next_cursor?: string;
}

/** transfer_result / resigned/transfer_result request (docs/wecom-protocol.md §Customer transfers). */
export interface WireTransferResultRequest {
  handover_userid: string;
  takeover_userid: string;
  cursor?: string;
}

/**
 * transfer_result response. `takeover_time` is the (future, when waiting) takeover instant in unix seconds
 * (docs/wecom-protocol.md §Customer transfers).
 */
export interface WireTransferResult extends WireResponse {
  customer?: Array<{ external_userid: string; status: number; takeover_time?: number }>;
  next_cursor?: string;
}

/**
 * groupchat/transfer and groupchat/onjob_transfer response (request `{ chat_id_list ≤ 100, new_owner }`): only the
 * groups WeCom refused are listed, each with its own errcode (docs/wecom-protocol.md §Group transfers).
 */
export interface WireGroupChatTransfer extends WireResponse {
  failed_chat_list?: Array<{ chat_id: string; errcode: number; errmsg?: string }>;
}

/** The figures of 群聊数据统计, one owner or one day (docs/wecom-protocol.md §Group statistics). */
export interface WireGroupChatStatData {
  new_chat_cnt?: number;
  chat_total?: number;
  chat_has_msg?: number;
  new_member_cnt?: number;
  member_total?: number;
  member_has_msg?: number;
  msg_total?: number;
  migrate_trainee_chat_cnt?: number;
}

/** groupchat/statistic response: per owner, offset-paged (docs/wecom-protocol.md §Group statistics). */
export interface WireGroupChatStatistic extends WireResponse {
  total?: number;
  next_offset?: number;
  items?: Array<{ owner: string; data: WireGroupChatStatData }>;
}

/** groupchat/statistic_group_by_day response: per day, the owners asked summed (docs/wecom-protocol.md §Group statistics). */
export interface WireGroupChatStatisticByDay extends WireResponse {
  items?: Array<{ stat_time: number; data: WireGroupChatStatData }>;
}
