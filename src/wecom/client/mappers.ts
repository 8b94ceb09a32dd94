/**
 * Translation between WeCom's snake_case wire shapes (wire.ts) and the camelCase domain types (types.ts).
 * Pure functions; the client calls them on the way out and the way in.
 */
import type {
  AppMessage,
  AppMessageResult,
  ContactWay,
  ContactWayChanges,
  ContactWayConclusions,
  ContactWayInput,
  CorpTagGroup,
  CustomerFollow,
  ExternalContact,
  FollowUser,
  GroupChat,
  GroupMsg,
  GroupWelcomeTemplateInput,
  JoinWay,
  JoinWayInput,
  KfMessage,
  KfSendInput,
  KfSendOnEventInput,
  Member,
  MessageAttachment,
} from './types.js';
import type {
  WireAppMessage,
  WireAppMessageRequest,
  WireAttachment,
  WireBatchGetByUser,
  WireConclusions,
  WireContactWayRequest,
  WireCorpTagGroup,
  WireExternalContact,
  WireFollowUser,
  WireGetContactWay,
  WireGroupChat,
  WireGroupMsgList,
  WireGroupWelcomeTemplate,
  WireGetJoinWay,
  WireJoinWayRequest,
  WireKfSendRequest,
  WireKfSendOnEventRequest,
  WireKfSync,
  WireMember,
} from './wire.js';

/** WeCom timestamps are Unix seconds, sometimes as strings (media/upload created_at, docs/wecom-protocol.md §Media). */
export function fromUnixSeconds(value: number | string): Date {
  return new Date(Number(value) * 1000);
}

/**
 * Optional Unix seconds; 0 and absent both mean "not yet" (send_time, docs/wecom-protocol.md §Mass message results).
 */
function optionalDate(value: number | undefined): Date | undefined {
  return value ? fromUnixSeconds(value) : undefined;
}

/** A Date as Unix seconds for request bodies. */
export function toUnixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** Drop undefined fields so request bodies carry only what the caller set. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** "a|b" lists in message/send responses (docs/wecom-protocol.md §App messages to staff). */
function splitBar(value: string | undefined): string[] {
  return value ? value.split('|').filter(Boolean) : [];
}

/** external_contact (docs/wecom-protocol.md §Customer details). */
export function toExternalContact(w: WireExternalContact): ExternalContact {
  return compact({
    externalUserId: w.external_userid,
    name: w.name,
    type: w.type,
    gender: w.gender ?? 0,
    position: w.position,
    avatar: w.avatar,
    corpName: w.corp_name,
    corpFullName: w.corp_full_name,
    unionId: w.unionid,
  });
}

/** follow_user[] (docs/wecom-protocol.md §Customer details). */
export function toFollowUser(w: WireFollowUser): FollowUser {
  return compact({
    userId: w.userid,
    remark: w.remark ?? '',
    description: w.description ?? '',
    addedAt: fromUnixSeconds(w.createtime),
    tags: (w.tags ?? []).map((t) => compact({ groupName: t.group_name ?? '', tagName: t.tag_name, tagId: t.tag_id, type: t.type })),
    remarkCorpName: w.remark_corp_name,
    remarkMobiles: w.remark_mobiles ?? [],
    operUserId: w.oper_userid,
    addWay: w.add_way ?? 0,
    state: w.state,
  });
}

/** one external_contact_list entry (docs/wecom-protocol.md §Batch customer details). */
export function toCustomerFollow(w: NonNullable<WireBatchGetByUser['external_contact_list']>[number]): CustomerFollow {
  const f = w.follow_info;
  return {
    contact: toExternalContact(w.external_contact),
    followInfo: compact({
      userId: f.userid,
      remark: f.remark ?? '',
      description: f.description ?? '',
      addedAt: fromUnixSeconds(f.createtime),
      tagIds: f.tag_id ?? [],
      remarkCorpName: f.remark_corp_name,
      remarkMobiles: f.remark_mobiles ?? [],
      operUserId: f.oper_userid,
      addWay: f.add_way ?? 0,
      state: f.state,
    }),
  };
}

/** user/get (读取成员, doc path/90196). Empty position strings are dropped like absent ones. */
export function toMember(w: WireMember): Member {
  return compact({
    userId: w.userid,
    name: w.name ?? '',
    position: w.position || undefined,
    status: w.status,
    departmentIds: w.department ?? [],
  });
}

/** tag_group (docs/wecom-protocol.md §Corp tag library). */
export function toCorpTagGroup(w: WireCorpTagGroup): CorpTagGroup {
  return compact({
    groupId: w.group_id,
    groupName: w.group_name,
    createdAt: optionalDate(w.create_time),
    order: w.order ?? 0,
    deleted: w.deleted,
    tags: (w.tag ?? []).map((t) =>
      compact({ id: t.id, name: t.name, createdAt: optionalDate(t.create_time), order: t.order ?? 0, deleted: t.deleted }),
    ),
  });
}

/** attachments, domain → wire (docs/wecom-protocol.md §Welcome messages). */
export function toWireAttachment(a: MessageAttachment): WireAttachment {
  switch (a.kind) {
    case 'image':
      return { msgtype: 'image', image: compact({ media_id: a.mediaId, pic_url: a.picUrl }) };
    case 'link':
      return { msgtype: 'link', link: compact({ title: a.title, picurl: a.picUrl, desc: a.desc, url: a.url }) };
    case 'miniprogram':
      return { msgtype: 'miniprogram', miniprogram: { title: a.title, pic_media_id: a.picMediaId, appid: a.appId, page: a.page } };
    case 'video':
      return { msgtype: 'video', video: { media_id: a.mediaId } };
    case 'file':
      return { msgtype: 'file', file: { media_id: a.mediaId } };
  }
}

/** attachments, wire → domain (docs/wecom-protocol.md §Welcome messages). */
export function fromWireAttachment(w: WireAttachment): MessageAttachment {
  switch (w.msgtype) {
    case 'image':
      return compact({ kind: 'image', mediaId: w.image.media_id, picUrl: w.image.pic_url });
    case 'link':
      return compact({ kind: 'link', title: w.link.title, url: w.link.url, picUrl: w.link.picurl, desc: w.link.desc });
    case 'miniprogram':
      return { kind: 'miniprogram', title: w.miniprogram.title, picMediaId: w.miniprogram.pic_media_id, appId: w.miniprogram.appid, page: w.miniprogram.page };
    case 'video':
      return { kind: 'video', mediaId: w.video.media_id };
    case 'file':
      return { kind: 'file', mediaId: w.file.media_id };
  }
}

function toWireConclusions(c: ContactWayConclusions): WireConclusions {
  return compact({
    text: c.text === undefined ? undefined : { content: c.text },
    image: c.image && compact({ media_id: c.image.mediaId, pic_url: c.image.picUrl }),
    link: c.link && compact({ title: c.link.title, picurl: c.link.picUrl, desc: c.link.desc, url: c.link.url }),
    miniprogram: c.miniprogram && {
      title: c.miniprogram.title,
      pic_media_id: c.miniprogram.picMediaId,
      appid: c.miniprogram.appId,
      page: c.miniprogram.page,
    },
  });
}

function fromWireConclusions(w: WireConclusions): ContactWayConclusions {
  return compact({
    text: w.text?.content,
    image: w.image && compact({ mediaId: w.image.media_id, picUrl: w.image.pic_url }),
    link: w.link && compact({ title: w.link.title, url: w.link.url, picUrl: w.link.picurl, desc: w.link.desc }),
    miniprogram: w.miniprogram && {
      title: w.miniprogram.title,
      picMediaId: w.miniprogram.pic_media_id,
      appId: w.miniprogram.appid,
      page: w.miniprogram.page,
    },
  });
}

/** the fields update_contact_way accepts (docs/wecom-protocol.md §Contact ways). */
export function toWireContactWayChanges(c: ContactWayChanges): WireContactWayRequest {
  return compact({
    style: c.style,
    remark: c.remark,
    skip_verify: c.skipVerify,
    state: c.state,
    user: c.users,
    party: c.parties,
    expires_in: c.expiresIn,
    chat_expires_in: c.chatExpiresIn,
    unionid: c.unionId,
    conclusions: c.conclusions && toWireConclusions(c.conclusions),
  });
}

/**
 * add_contact_way: type 1 single / 2 multi, scene 1 mini-program / 2 QR code (docs/wecom-protocol.md §Contact ways).
 */
export function toWireContactWay(c: ContactWayInput): WireContactWayRequest {
  return compact({
    type: c.type === 'single' ? 1 : 2,
    scene: c.scene === 'miniprogram' ? 1 : 2,
    is_temp: c.isTemp,
    ...toWireContactWayChanges(c),
  });
}

/** get_contact_way (docs/wecom-protocol.md §Contact ways). */
export function toContactWay(w: WireGetContactWay['contact_way']): ContactWay {
  return compact({
    configId: w.config_id,
    type: w.type === 1 ? ('single' as const) : ('multi' as const),
    scene: w.scene === 1 ? ('miniprogram' as const) : ('qrcode' as const),
    qrCode: w.qr_code,
    style: w.style,
    remark: w.remark,
    skipVerify: w.skip_verify,
    state: w.state,
    users: w.user,
    parties: w.party,
    isTemp: w.is_temp,
    expiresIn: w.expires_in,
    chatExpiresIn: w.chat_expires_in,
    unionId: w.unionid,
    conclusions: w.conclusions && fromWireConclusions(w.conclusions),
  });
}

/** group_msg_list entry (docs/wecom-protocol.md §Mass message results). */
export function toGroupMsg(w: NonNullable<WireGroupMsgList['group_msg_list']>[number]): GroupMsg {
  return compact({
    msgId: w.msgid,
    creator: w.creator,
    createdAt: fromUnixSeconds(w.create_time),
    createType: w.create_type,
    text: w.text?.content,
    attachments: (w.attachments ?? []).map(fromWireAttachment),
  });
}

/** group_chat (docs/wecom-protocol.md §Customer groups). */
export function toGroupChat(w: WireGroupChat['group_chat']): GroupChat {
  return compact({
    chatId: w.chat_id,
    name: w.name ?? '',
    owner: w.owner,
    createdAt: fromUnixSeconds(w.create_time),
    notice: w.notice,
    members: (w.member_list ?? []).map((m) =>
      compact({
        userId: m.userid,
        type: m.type,
        unionId: m.unionid,
        joinedAt: fromUnixSeconds(m.join_time),
        joinScene: m.join_scene,
        invitorUserId: m.invitor?.userid,
        groupNickname: m.group_nickname,
        name: m.name,
        state: m.state || undefined,
      }),
    ),
    adminUserIds: (w.admin_list ?? []).map((a) => a.userid),
  });
}

/** message/send body; recipient lists are "|"-joined (docs/wecom-protocol.md §App messages to staff). */
export function toWireAppMessage(m: AppMessage, agentId: number): WireAppMessageRequest {
  const c = m.content;
  const body: WireAppMessageRequest = compact({
    touser: m.toUsers === '@all' ? '@all' : m.toUsers?.join('|'),
    toparty: m.toParties?.join('|'),
    totag: m.toTags?.join('|'),
    msgtype: c.msgtype,
    agentid: agentId,
    safe: m.safe === undefined ? undefined : m.safe ? (1 as const) : (0 as const),
    enable_duplicate_check: m.enableDuplicateCheck === undefined ? undefined : m.enableDuplicateCheck ? (1 as const) : (0 as const),
    duplicate_check_interval: m.duplicateCheckIntervalSeconds,
  });
  switch (c.msgtype) {
    case 'text':
      body.text = { content: c.content };
      break;
    case 'markdown':
      body.markdown = { content: c.content };
      break;
    case 'textcard':
      body.textcard = compact({ title: c.title, description: c.description, url: c.url, btntxt: c.btnText });
      break;
    case 'template_card':
      body.template_card = c.card;
      break;
  }
  return body;
}

/** message/send response (docs/wecom-protocol.md §App messages to staff). */
export function toAppMessageResult(w: WireAppMessage): AppMessageResult {
  return compact({
    msgId: w.msgid,
    invalidUsers: splitBar(w.invaliduser),
    invalidParties: splitBar(w.invalidparty),
    invalidTags: splitBar(w.invalidtag),
    unlicensedUsers: splitBar(w.unlicenseduser),
  });
}

/**
 * msg_list entry; the msgtype-specific object is passed through as `body`
 * (docs/wecom-protocol.md §WeChat customer service).
 */
export function toKfMessage(w: NonNullable<WireKfSync['msg_list']>[number]): KfMessage {
  return compact({
    msgId: w.msgid,
    openKfId: w.open_kfid,
    externalUserId: w.external_userid,
    sentAt: fromUnixSeconds(w.send_time),
    origin: w.origin,
    servicerUserId: w.servicer_userid,
    msgType: w.msgtype,
    body: w[w.msgtype],
  });
}

/** kf/send_msg body; the payload key is named after msgtype. */
export function toWireKfSend(m: KfSendInput): WireKfSendRequest {
  const c = m.content;
  const payload = c.msgtype === 'text' ? { content: c.content } : { media_id: c.mediaId };
  return compact({ touser: m.toUser, open_kfid: m.openKfId, msgid: m.msgId, msgtype: c.msgtype, [c.msgtype]: payload });
}

/** kf/send_msg_on_event body (docs/wecom-protocol.md §KF sessions and event replies). */
export function toWireKfSendOnEvent(m: KfSendOnEventInput): WireKfSendOnEventRequest {
  return compact({ code: m.code, msgid: m.msgId, msgtype: m.content.msgtype, text: { content: m.content.content } });
}

/** A join way, domain → wire (docs/wecom-protocol.md §Group join ways). */
export function toWireJoinWay(w: JoinWayInput): WireJoinWayRequest {
  return compact({
    scene: w.scene === 'qrcode' ? (2 as const) : (1 as const),
    remark: w.remark,
    auto_create_room: w.autoCreateRoom ? (1 as const) : (0 as const),
    // The naming only counts with auto-create on (docs/wecom-protocol.md §Group join ways).
    room_base_name: w.autoCreateRoom ? w.roomBaseName : undefined,
    room_base_id: w.autoCreateRoom ? w.roomBaseId : undefined,
    chat_id_list: w.chatIds,
    state: w.state,
  });
}

/** join_way, wire → domain (docs/wecom-protocol.md §Group join ways). */
export function toJoinWay(w: WireGetJoinWay['join_way']): JoinWay {
  return compact({
    configId: w.config_id,
    scene: w.scene === 1 ? ('miniprogram' as const) : ('qrcode' as const),
    chatIds: w.chat_id_list ?? [],
    state: w.state || undefined,
    remark: w.remark || undefined,
    // auto_create_room defaults to 1 when absent.
    autoCreateRoom: w.auto_create_room !== 0,
    roomBaseName: w.room_base_name || undefined,
    roomBaseId: w.room_base_id,
    qrCode: w.qr_code || undefined,
  });
}

/** A group welcome template, domain → wire (docs/wecom-protocol.md §Group welcome templates). */
export function toWireGroupWelcomeTemplate(t: GroupWelcomeTemplateInput): WireGroupWelcomeTemplate {
  return compact({
    text: t.text ? { content: t.text } : undefined,
    image: t.image && compact({ media_id: t.image.mediaId, pic_url: t.image.picUrl }),
    link: t.link && compact({ title: t.link.title, picurl: t.link.picUrl, desc: t.link.desc, url: t.link.url }),
    miniprogram: t.miniprogram && { title: t.miniprogram.title, pic_media_id: t.miniprogram.picMediaId, appid: t.miniprogram.appId, page: t.miniprogram.page },
    file: t.file && { media_id: t.file.mediaId },
    video: t.video && { media_id: t.video.mediaId },
  });
}

/** A group welcome template, wire → domain (docs/wecom-protocol.md §Group welcome templates). */
export function toGroupWelcomeTemplate(w: WireGroupWelcomeTemplate): GroupWelcomeTemplateInput {
  return compact({
    text: w.text?.content || undefined,
    image: w.image && compact({ mediaId: w.image.media_id, picUrl: w.image.pic_url }),
    link: w.link && compact({ title: w.link.title, url: w.link.url, picUrl: w.link.picurl, desc: w.link.desc }),
    miniprogram: w.miniprogram && { title: w.miniprogram.title, picMediaId: w.miniprogram.pic_media_id, appId: w.miniprogram.appid, page: w.miniprogram.page },
    file: w.file && { mediaId: w.file.media_id },
    video: w.video && { mediaId: w.video.media_id },
  });
}
