/**
 * Builders for the decrypted callback XML WeCom posts (docs/wecom-protocol.md §Event XML, §Customer contact events,
 * §Customer group events, §Tag library events, §WeChat customer service). Field names and order follow the official
 * samples; strings are CDATA-wrapped, CreateTime is bare unix seconds.
 */

type XmlField = [name: string, value: string | number | undefined];

/** Wrap text in CDATA; a literal "]]>" has to be split across two sections. */
function cdata(value: string): string {
  return `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

/** Serialise fields in order; numbers stay bare like CreateTime, undefined fields are omitted. */
export function buildXml(fields: XmlField[]): string {
  const body = fields
    .filter((f): f is [string, string | number] => f[1] !== undefined)
    .map(([name, value]) => `<${name}>${typeof value === 'number' ? value : cdata(value)}</${name}>`)
    .join('');
  return `<xml>${body}</xml>`;
}

/** The shared envelope of a system event: ToUserName CorpID, FromUserName sys (docs/wecom-protocol.md §Event XML). */
function eventEnvelope(corpId: string, createTime: number, event: string): XmlField[] {
  return [
    ['ToUserName', corpId],
    ['FromUserName', 'sys'],
    ['CreateTime', createTime],
    ['MsgType', 'event'],
    ['Event', event],
  ];
}

/**
 * A 通讯录 member change (change_contact update_user, docs/wecom-protocol.md §Member events): only the changed fields are
 * sent.
 */
export function contactUserUpdateXml(input: { corpId: string; createTime: number; userid: string; newUserid?: string; name?: string }): string {
  return buildXml([
    ...eventEnvelope(input.corpId, input.createTime, 'change_contact'),
    ['ChangeType', 'update_user'],
    ['UserID', input.userid],
    ['NewUserID', input.newUserid],
    ['Name', input.name],
  ]);
}

/** The change types of change_external_contact (docs/wecom-protocol.md §Customer contact events). */
export type ExternalContactChange =
  | 'add_external_contact'
  | 'edit_external_contact'
  | 'add_half_external_contact'
  | 'del_external_contact'
  | 'del_follow_user'
  | 'transfer_fail';

/** A change_external_contact event (docs/wecom-protocol.md §Customer contact events). */
export function externalContactEventXml(input: {
  corpId: string;
  createTime: number;
  changeType: ExternalContactChange;
  userid: string;
  externalUserId: string;
  state?: string;
  welcomeCode?: string;
  source?: string;
  failReason?: string;
}): string {
  return buildXml([
    ...eventEnvelope(input.corpId, input.createTime, 'change_external_contact'),
    ['ChangeType', input.changeType],
    ['FailReason', input.failReason],
    ['UserID', input.userid],
    ['ExternalUserID', input.externalUserId],
    ['State', input.state],
    ['WelcomeCode', input.welcomeCode],
    ['Source', input.source],
  ]);
}

/** A change_external_tag event (docs/wecom-protocol.md §Tag library events). */
export function externalTagEventXml(input: {
  corpId: string;
  createTime: number;
  id: string;
  tagType: 'tag' | 'tag_group';
  changeType: 'create' | 'update' | 'delete' | 'shuffle';
}): string {
  return buildXml([
    ...eventEnvelope(input.corpId, input.createTime, 'change_external_tag'),
    ['Id', input.id],
    ['TagType', input.tagType],
    ['ChangeType', input.changeType],
  ]);
}

/**
 * A kf_msg_or_event: no content, only a pull Token and the KF account (the doc's sample has no FromUserName;
 * docs/wecom-protocol.md §WeChat customer service).
 */
export function kfEventXml(input: { corpId: string; createTime: number; token: string; openKfId: string }): string {
  return buildXml([
    ['ToUserName', input.corpId],
    ['CreateTime', input.createTime],
    ['MsgType', 'event'],
    ['Event', 'kf_msg_or_event'],
    ['Token', input.token],
    ['OpenKfId', input.openKfId],
  ]);
}

/**
 * A change_external_chat event (docs/wecom-protocol.md §Customer group events): create, update with its UpdateDetail
 * (member changes carry JoinScene or QuitScene, the count, the ids and the member-list versions), or dismiss.
 */
export function externalChatEventXml(input: {
  corpId: string;
  createTime: number;
  chatId: string;
  changeType: 'create' | 'update' | 'dismiss';
  updateDetail?: 'add_member' | 'del_member' | 'change_owner' | 'change_name' | 'change_notice';
  joinScene?: number;
  quitScene?: number;
  memberIds?: string[];
  lastMemVer?: string;
  curMemVer?: string;
}): string {
  const fields: XmlField[] = [
    ...eventEnvelope(input.corpId, input.createTime, 'change_external_chat'),
    ['ChatId', input.chatId],
    ['ChangeType', input.changeType],
    ['UpdateDetail', input.updateDetail],
    ['JoinScene', input.joinScene],
    ['QuitScene', input.quitScene],
    ['MemChangeCnt', input.memberIds?.length],
  ];
  const xml = buildXml(fields);
  if (!input.memberIds) return xml;
  // MemChangeList nests <Item> elements, which buildXml's flat fields cannot express.
  const items = input.memberIds.map((id) => `<Item>${cdata(id)}</Item>`).join('');
  const versions = buildXml([
    ['LastMemVer', input.lastMemVer],
    ['CurMemVer', input.curMemVer],
  ]).slice('<xml>'.length, -'</xml>'.length);
  return `${xml.slice(0, -'</xml>'.length)}<MemChangeList>${items}</MemChangeList>${versions}</xml>`;
}
