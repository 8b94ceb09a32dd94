/**
 * WeCom errcodes the sandbox answers with, and the error a handler throws to produce one.
 * Codes and meanings come from docs/wecom-protocol.md §Error codes; where that table gives no code for a case we use
 * the closest documented one and say so next to the throw.
 */
export const Errcode = {
  SystemBusy: -1,
  Ok: 0,
  InvalidSecret: 40001,
  InvalidUserid: 40003,
  InvalidMediaType: 40004,
  InvalidFileSize: 40006,
  InvalidMediaId: 40007,
  InvalidCorpId: 40013,
  InvalidAccessToken: 40014,
  InvalidOauthCode: 40029,
  InvalidParameter: 40035,
  InvalidChatId: 40050,
  InvalidAgentId: 40056,
  InvalidParameterValue: 40058,
  ParameterEmpty: 40063,
  InvalidTagId: 40068,
  TagNameExists: 40071,
  InvalidExternalUserid: 40096,
  HandoverNotResigned: 40097,
  TransferLimitReached: 40128,
  TagLimitReached: 40126,
  MissingAccessToken: 41001,
  MissingMediaData: 41005,
  MissingExternalUserid: 41035,
  NoSendableCustomer: 41048,
  InvalidWelcomeCode: 41050,
  ChatAlreadyStarted: 41051,
  GroupMsgDispatching: 41063,
  TooManyAttachments: 41064,
  InvalidAttachmentType: 41065,
  GroupMsgCancelled: 41093,
  RemindTooOften: 41094,
  AccessTokenExpired: 42001,
  ContentTooLong: 45002,
  RateLimited: 45009,
  NoApiPermission: 48002,
  NoContactPrivilege: 60011,
  UseridNotFound: 60111,
  AllRecipientsInvalid: 81013,
  NoExternalContactRelation: 84061,
  KfMessageLimit: 95001,
  KfWindowExpired: 95002,
  KfInvalidMsgToken: 95007,
  KfSessionStateInvalid: 95018,
  InvalidMsgType: 40008,
  InvalidStartEndTime: 600018,
} as const;

const MESSAGES: Record<number, string> = {
  [-1]: 'system busy',
  0: 'ok',
  40001: 'invalid credential, access_token is invalid or not latest',
  40003: 'invalid userid',
  40004: 'invalid media type',
  40006: 'invalid file size',
  40007: 'invalid media_id',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40029: 'invalid code',
  40035: 'invalid parameter',
  40050: 'chatid not found',
  40056: 'invalid agentid',
  40058: 'invalid parameter value',
  40063: 'some parameters are empty',
  40068: 'invalid tagid',
  40071: 'tag name already exists',
  40096: 'invalid external userid',
  40097: 'handover user is not resigned',
  40128: 'customer transfer count exceed limit',
  40126: 'corp tag count exceed limit',
  41001: 'access_token missing',
  41005: 'media data missing',
  41035: 'missing external userid',
  41048: 'no valid external contact to send',
  41050: 'invalid welcome code',
  41051: 'externaluser has started chatting',
  41063: 'group msg is being dispatched, please retry later',
  41064: 'attachment count exceed limit',
  41065: 'invalid attachment type',
  41093: 'group msg has been cancelled',
  41094: 'remind group msg frequency exceed limit',
  42001: 'access_token expired',
  45002: 'content size out of limit',
  45009: 'api freq out of limit',
  48002: 'api forbidden',
  60011: 'no privilege to access/modify contact/party/agent',
  60111: 'userid not found',
  81013: 'user & party & tag all invalid',
  84061: 'not exist external contact relation',
  95001: 'send msg count limit',
  95002: 'send msg time window expired',
  95007: 'invalid msg token',
  95018: 'send msg session status invalid',
  40008: 'invalid message type',
  600018: 'invalid start endtime',
};

/** The errmsg WeCom pairs with an errcode. Callers branch on errcode only (docs/wecom-protocol.md §Conventions). */
export function errmsgFor(errcode: number, detail?: string): string {
  const base = MESSAGES[errcode] ?? 'error';
  // Real errmsgs carry a "hint: [...]" suffix; a readable detail in the same spot helps debugging.
  return detail ? `${base}, hint: [${detail}]` : base;
}

/** Thrown by an emulated API to answer `{ errcode, errmsg }` instead of a success body. */
export class SandboxApiError extends Error {
  constructor(
    readonly errcode: number,
    detail?: string,
  ) {
    super(errmsgFor(errcode, detail));
    this.name = 'SandboxApiError';
  }
}
