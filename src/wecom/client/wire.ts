/**
 * WeCom's wire shapes, snake_case exactly as the API sends them (reference §3, §4, §2.7, §6.3).
 * Only the client and its mappers see these; the rest of the code uses the camelCase types in types.ts.
 */

/** Every WeCom response carries these; errcode 0 is success. */
export interface WireResponse {
  errcode?: number;
  errmsg?: string;
}

/** §3 gettoken. */
export interface WireToken extends WireResponse {
  access_token: string;
  expires_in: number;
}

/** §6.3 get_jsapi_ticket and ticket/get?type=agent_config. */
export interface WireTicket extends WireResponse {
  ticket: string;
  expires_in: number;
}

/** §4.1 */
export interface WireFollowUserList extends WireResponse {
  follow_user?: string[];
}

/** §4.2 */
export interface WireExternalContactList extends WireResponse {
  external_userid?: string[];
}

/** §4.3 `external_contact`. */
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

/** §4.3 `follow_user[].tags[]`; personal tags (type 2) have no tag_id. */
export interface WireFollowUserTag {
  group_name?: string;
  tag_name: string;
  tag_id?: string;
  type: number;
}

/** §4.3 `follow_user[]`. */
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

/** §4.3 externalcontact/get. */
export interface WireExternalContactDetail extends WireResponse {
  external_contact: WireExternalContact;
  follow_user?: WireFollowUser[];
  next_cursor?: string;
}

/** §4.4 `follow_info`: tag ids only, enterprise and strategy. */
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

/** §4.4 batch/get_by_user request. */
export interface WireBatchGetByUserRequest {
  userid_list: string[];
  cursor?: string;
  limit?: number;
}

/** §4.4 batch/get_by_user response. */
export interface WireBatchGetByUser extends WireResponse {
  external_contact_list?: Array<{ external_contact: WireExternalContact; follow_info: WireFollowInfo }>;
  next_cursor?: string;
}

/** §4.5 remark request. */
export interface WireRemarkRequest {
  userid: string;
  external_userid: string;
  remark?: string;
  description?: string;
  remark_company?: string;
  remark_mobiles?: string[];
  remark_pic_mediaid?: string;
}

/** §4.6 one tag. */
export interface WireCorpTag {
  id: string;
  name: string;
  create_time?: number;
  order?: number;
  deleted?: boolean;
}

/** §4.6 one tag group. */
export interface WireCorpTagGroup {
  group_id: string;
  group_name: string;
  create_time?: number;
  order?: number;
  deleted?: boolean;
  tag?: WireCorpTag[];
}

/** §4.6 get_corp_tag_list response. */
export interface WireCorpTagList extends WireResponse {
  tag_group?: WireCorpTagGroup[];
}

/** §4.6 add_corp_tag request. */
export interface WireAddCorpTagRequest {
  group_id?: string;
  group_name?: string;
  order?: number;
  tag: Array<{ name: string; order?: number }>;
}

/** §4.6 add_corp_tag response. */
export interface WireAddCorpTag extends WireResponse {
  tag_group: WireCorpTagGroup;
}

/** §4.7 mark_tag request. */
export interface WireMarkTagRequest {
  userid: string;
  external_userid: string;
  add_tag?: string[];
  remove_tag?: string[];
}

/** §4.9 / §4.10 attachments. */
export type WireAttachment =
  | { msgtype: 'image'; image: { media_id?: string; pic_url?: string } }
  | { msgtype: 'link'; link: { title: string; picurl?: string; desc?: string; url: string } }
  | { msgtype: 'miniprogram'; miniprogram: { title: string; pic_media_id: string; appid: string; page: string } }
  | { msgtype: 'video'; video: { media_id: string } }
  | { msgtype: 'file'; file: { media_id: string } };

/** §4.8 `conclusions` (message after a temporary session ends). */
export interface WireConclusions {
  text?: { content: string };
  image?: { media_id?: string; pic_url?: string };
  link?: { title: string; picurl?: string; desc?: string; url: string };
  miniprogram?: { title: string; pic_media_id: string; appid: string; page: string };
}

/** §4.8 add_contact_way request, also the body of update_contact_way (with config_id). */
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

/** §4.8 add_contact_way response. */
export interface WireAddContactWay extends WireResponse {
  config_id: string;
  qr_code?: string;
}

/** §4.8 get_contact_way response. */
export interface WireGetContactWay extends WireResponse {
  contact_way: WireContactWayRequest & { config_id: string; type: number; scene: number; qr_code?: string };
}

/** §4.9 send_welcome_msg request. */
export interface WireWelcomeMsgRequest {
  welcome_code: string;
  text?: { content: string };
  attachments?: WireAttachment[];
}

/** §4.10 add_msg_template request. */
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

/** §4.10 add_msg_template response. */
export interface WireAddMsgTemplate extends WireResponse {
  msgid: string;
  fail_list?: string[];
}

/** §4.11 get_groupmsg_list_v2 request. */
export interface WireGroupMsgListRequest {
  chat_type: 'single' | 'group';
  start_time: number;
  end_time: number;
  creator?: string;
  filter_type?: number;
  limit?: number;
  cursor?: string;
}

/** §4.11 get_groupmsg_list_v2 response. */
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

/** §4.11 get_groupmsg_task response. */
export interface WireGroupMsgTask extends WireResponse {
  next_cursor?: string;
  task_list?: Array<{ userid: string; status: number; send_time?: number }>;
}

/** §4.11 get_groupmsg_send_result response. */
export interface WireGroupMsgSendResult extends WireResponse {
  next_cursor?: string;
  send_list?: Array<{ external_userid?: string; chat_id?: string; userid: string; status: number; send_time?: number }>;
}

/** §4.12 groupchat/list request. */
export interface WireGroupChatListRequest {
  status_filter?: number;
  owner_filter?: { userid_list: string[] };
  cursor?: string;
  limit: number;
}

/** §4.12 groupchat/list response. */
export interface WireGroupChatList extends WireResponse {
  group_chat_list?: Array<{ chat_id: string; status: number }>;
  next_cursor?: string;
}

/** §4.12 groupchat/get response. */
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
    }>;
    admin_list?: Array<{ userid: string }>;
  };
}

/** §4.13 message/send request (the payload key is named after msgtype). */
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

/** §4.13 message/send response; the invalid* fields are "|"-joined lists. */
export interface WireAppMessage extends WireResponse {
  invaliduser?: string;
  invalidparty?: string;
  invalidtag?: string;
  unlicenseduser?: string;
  msgid?: string;
  response_code?: string;
}

/** §4.15 media/upload response; created_at is a string. */
export interface WireMediaUpload extends WireResponse {
  type: string;
  media_id: string;
  created_at: string | number;
}

/** §2.7 kf/sync_msg request. */
export interface WireKfSyncRequest {
  cursor?: string;
  token?: string;
  limit?: number;
  voice_format?: number;
  open_kfid?: string;
}

/** §2.7 kf/sync_msg response. */
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

/** §4.16 auth/getuserinfo: members get userid, non-members openid/external_userid. */
export interface WireUserInfo extends WireResponse {
  userid?: string;
  user_ticket?: string;
  openid?: string;
  external_userid?: string;
}

/**
 * user/get (读取成员, doc path/90196). A self-built app reads members inside its visible range only (60011
 * otherwise, reference §7); since 2022-06-20 new apps no longer get avatar, gender, mobile, email or address.
 */
export interface WireMember extends WireResponse {
  userid: string;
  name?: string;
  department?: number[];
  main_department?: number;
  position?: string;
  /** 1 activated, 2 disabled, 4 not activated, 5 left the corp (reference §2.5). */
  status?: number;
}

/** §4.14 transfer_customer / resigned/transfer_customer request (the resigned variant has no transfer_success_msg). */
export interface WireTransferCustomerRequest {
  handover_userid: string;
  takeover_userid: string;
  external_userid: string[];
  transfer_success_msg?: string;
}

/** §4.14 transfer_customer / resigned/transfer_customer response: one errcode per customer, 0 = started. */
export interface WireTransferCustomer extends WireResponse {
  customer?: Array<{ external_userid: string; errcode: number }>;
}

/** §4.14 get_unassigned_list response (request: `{ cursor?, page_size ≤ 1000 }`). */
export interface WireUnassignedList extends WireResponse {
  info?: Array<{ handover_userid: string; external_userid: string; dimission_time: number }>;
  is_last?: boolean;
  next_cursor?: string;
}

/** §4.14 transfer_result / resigned/transfer_result request. */
export interface WireTransferResultRequest {
  handover_userid: string;
  takeover_userid: string;
  cursor?: string;
}

/** §4.14 transfer_result response. `takeover_time` is the (future, when waiting) takeover instant in unix seconds. */
export interface WireTransferResult extends WireResponse {
  customer?: Array<{ external_userid: string; status: number; takeover_time?: number }>;
  next_cursor?: string;
}
