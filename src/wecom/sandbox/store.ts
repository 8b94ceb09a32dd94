/**
 * The sandbox's in-memory world: staff, customers, per-relation data, the tag library, contact ways,
 * welcome codes, mass-send tasks, KF messages and every outbound log. Plain data plus indexes; the API
 * handlers in ./apis enforce WeCom's rules on top of it.
 */

/** A member with 客户联系 enabled (inside the app's visible range unless marked otherwise). */
export interface SandboxStaff {
  userid: string;
  name: string;
  /** 职务, as user/get returns it (doc path/90196). */
  position?: string;
  /** Department ids; the root department is 1. */
  department?: number[];
  /**
   * The app may not read this member: user/get answers 60011 (docs/wecom-protocol.md §Error codes), as when an admin
   * narrows the app's visible range. The member stays in get_follow_user_list, so a test can reproduce a member listed
   * by the sync whose details are then refused.
   */
  isOutsideVisibleRange?: boolean;
  /**
   * When the member left (离职). Their relations stay, waiting to be assigned with resigned/transfer_customer
   * (离职继承, docs/wecom-protocol.md §Customer transfers); the on-job API refuses them and the resigned one requires it
   * (40097).
   */
  resignedAtMs?: number;
}

/** A customer (external contact) as WeCom knows it (`external_contact`, docs/wecom-protocol.md §Customer details). */
export interface SandboxCustomer {
  externalUserId: string;
  name: string;
  /** 1 WeChat user, 2 WeCom user. */
  type: 1 | 2;
  /** 0 unknown, 1 male, 2 female. */
  gender: 0 | 1 | 2;
  avatar: string;
  unionid?: string;
  position?: string;
  corpName?: string;
  corpFullName?: string;
}

/**
 * One staff×customer follow relation; remark, state and tags live here, not on the customer
 * (docs/wecom-protocol.md §Follow relations).
 */
export interface SandboxRelation {
  /** Monotonic creation order; cursors resume after a seq so deletions never shift a page. */
  seq: number;
  userid: string;
  externalUserId: string;
  remark: string;
  description: string;
  remarkCorpName?: string;
  remarkMobiles: string[];
  /** Unix seconds. */
  createtime: number;
  addWay: number;
  state?: string;
  operUserid: string;
  tagIds: string[];
  /**
   * The customer deleted the member: WeCom keeps a one-way relation that APIs still serve
   * (docs/wecom-protocol.md §Error codes, 84061).
   */
  isDeletedByCustomer: boolean;
}

/**
 * An enterprise tag (ids start with `et`, docs/wecom-protocol.md §Customer details); soft-deleted so id filters can
 * report `deleted`.
 */
export interface SandboxTag {
  id: string;
  groupId: string;
  name: string;
  /** Unix seconds. */
  createTime: number;
  order: number;
  isDeleted: boolean;
}

/** A tag group with its tags (docs/wecom-protocol.md §Corp tag library). */
export interface SandboxTagGroup {
  groupId: string;
  name: string;
  createTime: number;
  order: number;
  isDeleted: boolean;
  tags: SandboxTag[];
}

/** A 「联系我」 configuration (docs/wecom-protocol.md §Contact ways). */
export interface SandboxContactWay {
  configId: string;
  type: number;
  scene: number;
  style?: number;
  remark: string;
  skipVerify: boolean;
  state?: string;
  user: string[];
  party: number[];
  isTemp: boolean;
  expiresIn?: number;
  chatExpiresIn?: number;
  unionid?: string;
  conclusions?: unknown;
  createdAtMs: number;
}

/** A welcome_code: valid 20 s after the add event and usable once (docs/wecom-protocol.md §Welcome messages). */
export interface SandboxWelcomeCode {
  code: string;
  userid: string;
  externalUserId: string;
  issuedAtMs: number;
  usedAtMs?: number;
}

/** One sender's share of a mass-send task (`task_list`, docs/wecom-protocol.md §Mass message results). */
export interface SandboxMassSender {
  userid: string;
  /** 0 not sent, 2 sent. */
  status: 0 | 2;
  sendTime?: number;
}

/** One recipient row of a mass-send task (`send_list`, docs/wecom-protocol.md §Mass message results). */
export interface SandboxMassRecipient {
  externalUserId?: string;
  chatId?: string;
  userid: string;
  /** 0 not sent, 1 sent, 2 not a friend, 3 over the per-customer quota. */
  status: 0 | 1 | 2 | 3;
  sendTime?: number;
}

/** A task created by add_msg_template (docs/wecom-protocol.md §Mass messages). */
export interface SandboxMassTask {
  msgid: string;
  chatType: 'single' | 'group';
  createdAtMs: number;
  creator?: string;
  /** 0 enterprise-created (API), 1 member-created. */
  createType: 0 | 1;
  text?: unknown;
  attachments?: unknown[];
  isCancelled: boolean;
  /** remind_groupmsg_send calls answered ok in the last 24 h (the 3-a-day limit counts these). */
  remindsMs: number[];
  /** Every reminder, with the members it reached (those who had not sent yet): what a member's client showed. */
  reminders: { atMs: number; userids: string[] }[];
  senders: SandboxMassSender[];
  recipients: SandboxMassRecipient[];
}

/** A message in a KF account's stream, as kf/sync_msg returns it (docs/wecom-protocol.md §WeChat customer service). */
export interface SandboxKfMessage {
  seq: number;
  msgid: string;
  openKfId: string;
  externalUserId: string;
  /** Unix seconds. */
  sendTime: number;
  /** 3 from the WeChat customer, 4 system event, 5 from a servicer in the WeCom client. */
  origin: 3 | 4 | 5;
  servicerUserid?: string;
  msgtype: string;
  /** The msgtype-specific object, e.g. { content } for text. */
  body: Record<string, unknown>;
}

/** A message the bot sent through kf/send_msg or kf/send_msg_on_event (never returned by sync_msg). */
export interface SandboxKfSent {
  atMs: number;
  msgid: string;
  openKfId: string;
  externalUserId: string;
  msgtype: string;
  body: Record<string, unknown>;
  /** Which API sent it: kf/send_msg, or an event reply with a session's code. */
  via?: 'send_msg' | 'event';
}

/**
 * A KF conversation's state (docs/wecom-protocol.md §KF sessions and event replies): 0 new, 1 smart assistant, 2 in the
 * pool, 3 with a servicer, 4 ended.
 */
export interface SandboxKfSession {
  state: 0 | 1 | 2 | 3 | 4;
  servicerUserid?: string;
}

/** The key of a KF conversation in `SandboxStore.kfSessions`. */
export const kfSessionKey = (openKfId: string, externalUserId: string): string => `${openKfId}|${externalUserId}`;

/** A single-use event code (a session end's msg_code): one reply within 20 s while the session is still ended. */
export interface SandboxKfEventCode {
  code: string;
  openKfId: string;
  externalUserId: string;
  /** The session state the code belongs to; a reply is refused once the session has moved on. */
  state: SandboxKfSession['state'];
  issuedAtMs: number;
  isUsed: boolean;
}

/**
 * A pull token carried by a kf_msg_or_event callback; valid 10 minutes
 * (docs/wecom-protocol.md §WeChat customer service).
 */
export interface SandboxKfToken {
  token: string;
  openKfId: string;
  issuedAtMs: number;
}

/** A message/send call as the sandbox accepted it. */
export interface SandboxAppMessage {
  atMs: number;
  msgid: string;
  agentid: number;
  touser: string[];
  invaliduser: string[];
  /**
   * Recipients WeCom accepted but did not deliver to: over the per-member cap of 30 a minute or 1,000 an hour for
   * the app, dropped without an error (docs/wecom-protocol.md §API rate limits).
   */
  dropped: string[];
  msgtype: string;
  payload: unknown;
}

/** A send_welcome_msg call that succeeded. */
export interface SandboxWelcomeSent {
  atMs: number;
  welcomeCode: string;
  userid: string;
  externalUserId: string;
  text?: unknown;
  attachments?: unknown[];
}

/** An uploaded temporary media; valid 3 days (docs/wecom-protocol.md §Media). */
export interface SandboxMedia {
  mediaId: string;
  type: string;
  filename: string;
  size: number;
  createdAtMs: number;
}

/** One member of a customer group chat (`member_list`, docs/wecom-protocol.md §Customer groups). */
export interface SandboxGroupChatMember {
  userid: string;
  /** 1 member, 2 external. */
  type: 1 | 2;
  unionid?: string;
  joinTime: number;
  joinScene: number;
  invitor?: string;
  groupNickname: string;
  name: string;
  /** The join way's state, for a member who joined through a 群活码 that carries one (docs/wecom-protocol.md §Group join ways). */
  state?: string;
}

/** A customer group chat (docs/wecom-protocol.md §Customer groups). */
export interface SandboxGroupChat {
  chatId: string;
  name: string;
  owner: string;
  createTime: number;
  notice: string;
  /** 0 normal, 1 owner resigned, 2 inheriting, 3 inherited. */
  status: number;
  members: SandboxGroupChatMember[];
  admins: string[];
}

/** A 「加入群聊」 join way (群活码, docs/wecom-protocol.md §Group join ways). */
export interface SandboxJoinWay {
  configId: string;
  /** 1 mini-program button, 2 QR code. */
  scene: 1 | 2;
  remark: string;
  autoCreateRoom: boolean;
  roomBaseName: string;
  roomBaseId: number;
  /** The groups the code fills in order, including rooms it opened itself. */
  chatIds: string[];
  state?: string;
  /** Rooms this code opened so far: the next one is named roomBaseName + (roomBaseId + roomsOpened). */
  roomsOpened: number;
  createdAtMs: number;
}

/** A group welcome template (入群欢迎语素材, docs/wecom-protocol.md §Group welcome templates), stored as its wire body. */
export interface SandboxGroupWelcomeTemplate {
  templateId: string;
  /** text / image / link / miniprogram / file / video, as add or edit last set them. */
  content: Record<string, unknown>;
  notify: boolean;
  createdAtMs: number;
}

/**
 * A group welcome the sandbox "sent" on an owner's behalf: the template the owner applied to the group in the client,
 * to a member who joined it.
 */
export interface SandboxGroupWelcomeSent {
  atMs: number;
  chatId: string;
  templateId: string;
  memberId: string;
  /** The text with %NICKNAME% replaced, as the joiner saw it. */
  text?: string;
}

/**
 * An OAuth2 code: single use, 5 minutes (docs/wecom-protocol.md §Staff sign-in for web pages). A member's code resolves
 * to `userid`; a non-member's (a WeChat user or an external contact opening the page) to `openid` and maybe
 * `externalUserId`.
 */
export interface SandboxOauthCode {
  code: string;
  userid?: string;
  openid?: string;
  externalUserId?: string;
  issuedAtMs: number;
  isUsed: boolean;
}

/**
 * An issued JS-SDK ticket: `corp` from get_jsapi_ticket (wx.config), `agent` from ticket/get (wx.agentConfig),
 * docs/wecom-protocol.md §JS-SDK tickets and signatures.
 */
export interface SandboxJsapiTicket {
  ticket: string;
  kind: 'corp' | 'agent';
  expiresAtMs: number;
}

/**
 * One customer's 客户继承 (docs/wecom-protocol.md §Customer transfers). `status` as transfer_result reports it: 1 done, 2
 * waiting (the takeover happens 24 h after the request), 3 the customer refused, 4 the taker's customer limit was
 * reached.
 */
export interface SandboxTransfer {
  kind: 'onjob' | 'resigned';
  handover: string;
  takeover: string;
  externalUserId: string;
  requestedAtMs: number;
  /** The planned takeover while waiting; the actual one once done. */
  takeoverAtMs: number;
  status: 1 | 2 | 3 | 4;
  successMsg?: string;
}

/** One group handed to a new owner (docs/wecom-protocol.md §Group transfers): the 90-day allowance counts these. */
export interface SandboxGroupTransfer {
  kind: 'onjob' | 'resigned';
  chatId: string;
  from: string;
  to: string;
  atMs: number;
}

/**
 * Which secret a token was issued for: the self-built app's or the WeChat-KF one
 * (docs/wecom-protocol.md §Access tokens).
 */
export type TokenOwner = 'agent' | 'kf';

/** An issued access_token and when it stops working. */
export interface SandboxAccessToken {
  token: string;
  owner: TokenOwner;
  expiresAtMs: number;
  isRevoked: boolean;
}

/** One ww.sendChatMessage call of the sidebar's JS-SDK test mode: the chat it was opened in and the message. */
export interface SandboxChatMessage {
  externalUserId: string | null;
  chatId: string | null;
  msgtype: string;
  message: Record<string, unknown>;
  at: string;
}

/** Everything the emulated WeCom remembers. `reset()` empties it. */
export class SandboxStore {
  staff = new Map<string, SandboxStaff>();
  customers = new Map<string, SandboxCustomer>();
  private relationsByUser = new Map<string, Map<string, SandboxRelation>>();
  private relationsByCustomer = new Map<string, Map<string, SandboxRelation>>();
  tagGroups: SandboxTagGroup[] = [];
  contactWays = new Map<string, SandboxContactWay>();
  welcomeCodes = new Map<string, SandboxWelcomeCode>();
  massTasks = new Map<string, SandboxMassTask>();
  /**
   * Per customer (or chat id), when each mass message reached them: the quota ledger
   * (docs/wecom-protocol.md §Mass message quota).
   */
  massReceipts = new Map<string, number[]>();
  kfMessages: SandboxKfMessage[] = [];
  kfSent: SandboxKfSent[] = [];
  kfTokens = new Map<string, SandboxKfToken>();
  /** Per `<open_kfid>|<external_userid>`, the conversation's state. */
  kfSessions = new Map<string, SandboxKfSession>();
  kfEventCodes = new Map<string, SandboxKfEventCode>();
  appMessages: SandboxAppMessage[] = [];
  /**
   * What the sidebar's JS-SDK test mode sent into "the current chat" with ww.sendChatMessage, oldest first: the
   * message as the page passed it (docs/todo.md §One-tap send).
   */
  chatMessages: SandboxChatMessage[] = [];
  welcomeSent: SandboxWelcomeSent[] = [];
  media = new Map<string, SandboxMedia>();
  /** media/uploadimg calls per corp day and month (`d:YYYY-MM-DD`, `m:YYYY-MM`, UTC+8), for its budget. */
  uploadImgCounts = new Map<string, number>();
  groupChats = new Map<string, SandboxGroupChat>();
  joinWays = new Map<string, SandboxJoinWay>();
  groupWelcomeTemplates = new Map<string, SandboxGroupWelcomeTemplate>();
  /** Per chat id, the welcome template its owner applied in the client (the API cannot read this). */
  groupWelcomeApplied = new Map<string, string>();
  /** Every group welcome the sandbox delivered, oldest first. */
  groupWelcomeSent: SandboxGroupWelcomeSent[] = [];
  oauthCodes = new Map<string, SandboxOauthCode>();
  jsapiTickets = new Map<string, SandboxJsapiTicket>();
  accessTokens = new Map<string, SandboxAccessToken>();
  /** Every transfer ever requested, oldest first: transfer_result reads it, the 90-day allowance counts it. */
  transfers: SandboxTransfer[] = [];
  /** Every group handed over, oldest first (groupchat/transfer and groupchat/onjob_transfer). */
  groupTransfers: SandboxGroupTransfer[] = [];
  private counter = 0;

  /** Forget everything, including the id counter, so a reset followed by a seed is repeatable. */
  reset(): void {
    Object.assign(this, new SandboxStore());
  }

  /** A new id that looks like WeCom's (prefix + fixed-width base36), unique within this store. */
  newId(prefix: string, width = 20): string {
    this.counter += 1;
    return `${prefix}${this.counter.toString(36).toUpperCase().padStart(width, '0')}`;
  }

  /** The next relation seq. */
  nextSeq(): number {
    this.counter += 1;
    return this.counter;
  }

  /** The relation between a member and a customer, if any. */
  findRelation(userid: string, externalUserId: string): SandboxRelation | undefined {
    return this.relationsByUser.get(userid)?.get(externalUserId);
  }

  /** Insert or replace a relation; a re-added relation moves to the end of the member's list. */
  putRelation(relation: SandboxRelation): void {
    this.removeRelation(relation.userid, relation.externalUserId);
    let byUser = this.relationsByUser.get(relation.userid);
    if (!byUser) this.relationsByUser.set(relation.userid, (byUser = new Map()));
    byUser.set(relation.externalUserId, relation);
    let byCustomer = this.relationsByCustomer.get(relation.externalUserId);
    if (!byCustomer) this.relationsByCustomer.set(relation.externalUserId, (byCustomer = new Map()));
    byCustomer.set(relation.userid, relation);
  }

  /** Remove a relation; true when it existed. */
  removeRelation(userid: string, externalUserId: string): boolean {
    const existed = this.relationsByUser.get(userid)?.delete(externalUserId) ?? false;
    this.relationsByCustomer.get(externalUserId)?.delete(userid);
    return existed;
  }

  /** A member's relations in creation order. */
  relationsOfUser(userid: string): SandboxRelation[] {
    return [...(this.relationsByUser.get(userid)?.values() ?? [])];
  }

  /** A customer's followers in creation order. */
  relationsOfCustomer(externalUserId: string): SandboxRelation[] {
    return [...(this.relationsByCustomer.get(externalUserId)?.values() ?? [])];
  }

  /** Every relation, member by member. */
  allRelations(): SandboxRelation[] {
    return [...this.relationsByUser.values()].flatMap((m) => [...m.values()]);
  }

  /** A tag by id, deleted or not. */
  findTag(id: string): SandboxTag | undefined {
    for (const g of this.tagGroups) {
      const t = g.tags.find((x) => x.id === id);
      if (t) return t;
    }
    return undefined;
  }

  /** A tag group by id, deleted or not. */
  findTagGroup(groupId: string): SandboxTagGroup | undefined {
    return this.tagGroups.find((g) => g.groupId === groupId);
  }

  /**
   * Live (not deleted) enterprise tags across the corp, for the 3000 limit (docs/wecom-protocol.md §Corp tag library).
   */
  liveTagCount(): number {
    return this.tagGroups.reduce((n, g) => n + (g.isDeleted ? 0 : g.tags.filter((t) => !t.isDeleted).length), 0);
  }
}
