import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import axios, { type AxiosInstance, type Method } from 'axios';
import { Registry } from 'prom-client';
import { systemClock, type Clock } from '../../shared/clock.js';
import { localDate, zonedTimeToUtc } from '../../shared/dates.js';
import { WecomApiError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import {
  ERRCODE_RATE_LIMITED,
  IDEMPOTENT,
  RETRYABLE_ERRCODES,
  TOKEN_ERRCODES,
  limitFor,
  type ApiLimit,
  type WecomApi,
} from './api-policy.js';
import { WecomTransportError, type TransportFailure } from './errors.js';
import type { WecomGateway } from './gateway.js';
import {
  compact,
  fromUnixSeconds,
  toAppMessageResult,
  toContactWay,
  toCorpTagGroup,
  toCustomerFollow,
  toExternalContact,
  toFollowUser,
  toGroupChat,
  toGroupMsg,
  toGroupWelcomeTemplate,
  toJoinWay,
  toKfMessage,
  toMember,
  toUnixSeconds,
  toWireAppMessage,
  toWireAttachment,
  toWireContactWay,
  toWireContactWayChanges,
  toWireGroupWelcomeTemplate,
  toWireJoinWay,
  toWireKfSend,
  toWireKfSendOnEvent,
} from './mappers.js';
import { WecomClientMetrics, type CallOutcome } from './metrics.js';
import { ApiGate, type Timer } from './rate-limiter.js';
import { SharedApiGate, type RateLeaseStore } from './shared-rate-gate.js';
import { SingleFlightCache, type SharedCredentialStore } from './token-cache.js';
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
  FollowUser,
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
import type {
  WireGroupChatStatData,
  WireGroupChatStatistic,
  WireGroupChatStatisticByDay,
  WireGroupChatTransfer,
  WireAddContactWay,
  WireAddCorpTag,
  WireAddGroupWelcomeTemplate,
  WireAddJoinWay,
  WireAddMsgTemplate,
  WireAppMessage,
  WireBatchGetByUser,
  WireCorpTagList,
  WireExternalContactDetail,
  WireExternalContactList,
  WireFollowUserList,
  WireGetContactWay,
  WireGetGroupWelcomeTemplate,
  WireGetJoinWay,
  WireGroupChat,
  WireGroupChatList,
  WireGroupMsgList,
  WireGroupMsgSendResult,
  WireGroupMsgTask,
  WireKfSend,
  WireKfSync,
  WireMediaUpload,
  WireImageUpload,
  WireMember,
  WireResponse,
  WireTicket,
  WireToken,
  WireTransferCustomer,
  WireTransferResult,
  WireUnassignedList,
  WireUserBehaviorData,
  WireUserInfo,
} from './wire.js';

/** Exponential backoff for transient failures. */
export interface RetryPolicy {
  /**
   * Attempts per call, the first included. docs/wecom-protocol.md §Access tokens, §Error codes: retry -1 at most 3
   * times, so 4.
   */
  maxAttempts: number;
  /** Delay before the first retry; doubles each time. */
  baseMs: number;
  /** Ceiling of one delay. */
  maxMs: number;
}

/** Options of WecomClient. Only apiBase, corpId, secret and logger are required. */
export interface WecomClientOptions {
  /** Where WeCom lives: `https://qyapi.weixin.qq.com`, or the sandbox's `http://127.0.0.1:PORT/sandbox`. `/cgi-bin/…` is appended. */
  apiBase: string;
  /** The CorpID. */
  corpId: string;
  /** The self-built app's secret (the app in 客户联系 → 可调用接口的应用, docs/wecom-protocol.md §Access tokens). */
  secret: string;
  /**
   * The 微信客服 secret; kf/* calls use its token when set, the app's otherwise
   * (docs/wecom-protocol.md §WeChat customer service, §Access tokens).
   */
  kfSecret?: string;
  /** The app's agentid; message/send needs it (docs/wecom-protocol.md §App messages to staff). */
  agentId?: number;
  /** Per-attempt HTTP timeout. Default 10 000 ms. */
  timeoutMs?: number;
  /**
   * Per-attempt timeout of media/upload (files up to 20 MB, docs/wecom-protocol.md §Media). Default
   * max(timeoutMs, 60 000).
   */
  uploadTimeoutMs?: number;
  /** Per-API rate and concurrency overrides; the rest use DEFAULT_LIMITS (api-policy.ts). */
  limits?: Partial<Record<WecomApi, ApiLimit>>;
  /** The window `perMinute` applies to. 60 000 in production; tests shrink it so windows pass quickly. */
  rateWindowMs?: number;
  /**
   * Slack for jitter between our send and WeCom's count. Without `rateStore` the bucket spreads its refill over
   * `rateWindowMs + rateGuardMs` (rate-limiter.ts; default 5% of the window, at most 1 000 ms); with it, no call
   * starts in the last `rateGuardMs` of an aligned window (shared-rate-gate.ts; default 1%, at most 500 ms).
   */
  rateGuardMs?: number;
  /**
   * Where the per-API limits are counted for every instance of the corp (docs/rate-limits.md): the app's database or
   * Redis. Absent, each client counts its own calls in memory, with sliding-window buckets.
   */
  rateStore?: RateLeaseStore;
  /** Backoff for -1, 45033, network errors and 5xx. Default { maxAttempts: 4, baseMs: 1000, maxMs: 30 000 }. */
  retry?: Partial<RetryPolicy>;
  /**
   * How long 45009 pauses the API: the per-minute block is 60 s (docs/wecom-protocol.md §API rate limits). Default
   * 60 000 ms.
   */
  blockMs45009?: number;
  /**
   * Refresh tokens and tickets this long before expires_in runs out
   * (five minutes is suggested: docs/wecom-protocol.md §Access tokens). Default 300 s.
   */
  tokenMarginSeconds?: number;
  /**
   * Time source for token expiry, limits and backoff. Default the system clock. A FixedClock suits
   * token-expiry tests; anything that makes the limiter wait also needs a `sleep` that advances it.
   */
  clock?: Clock;
  /** How the client waits (backoff, rate limit, 45009 block). Default setTimeout; tests pair it with a clock. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  /** Where the client logs retries and refreshes; it never logs tokens, secrets or URLs. */
  logger: Logger;
  /**
   * Share tokens and tickets with other instances (MySQL deployments, docs/reliability.md §Shared WeCom credentials);
   * in memory when absent.
   */
  credentialStore?: SharedCredentialStore;
  /** Prometheus registry for the client's metrics. Default a private registry. */
  registry?: Registry;
}

/** One request as the client describes it before the token is added. */
interface RequestSpec {
  method: Method;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  timeoutMs?: number;
}

/** What one HTTP attempt came to. */
type AttemptResult =
  | { kind: 'ok'; data: WireResponse }
  | { kind: 'errcode'; errcode: number; errmsg: string }
  | { kind: 'transport'; failure: TransportFailure; isOutcomeUnknown: boolean; isRetryable: boolean; httpStatus?: number; networkCode?: string };

/** Network errors raised before any byte of the request left: the call certainly did not happen. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseMs: 1000, maxMs: 30_000 };

/** Most groupmsg pages WeCom returns at once (docs/wecom-protocol.md §Mass message results: limit max 1000). */
const GROUPMSG_PAGE_LIMIT = 1000;

/**
 * The WeCom API client: one axios instance, cached tokens, per-API limits, retries and metrics.
 * Every later feature reaches WeCom through it, via the WecomGateway interface.
 */
export class WecomClient implements WecomGateway {
  private readonly http: AxiosInstance;
  private readonly agents: { http: http.Agent; https: https.Agent; freshHttp: http.Agent; freshHttps: https.Agent };
  private readonly timer: Timer;
  private readonly log: Logger;
  private readonly metrics: WecomClientMetrics;
  private readonly retry: RetryPolicy;
  private readonly gates = new Map<WecomApi, ApiGate | SharedApiGate>();
  private readonly appToken: SingleFlightCache<string>;
  private readonly kfToken: SingleFlightCache<string> | null;
  private readonly jsapiTicket: SingleFlightCache<string>;
  private readonly agentTicket: SingleFlightCache<string>;
  private readonly timeoutMs: number;
  private readonly uploadTimeoutMs: number;
  private readonly rateWindowMs: number;
  private readonly blockMs45009: number;
  private readonly random: () => number;

  constructor(private readonly options: WecomClientOptions) {
    const clock = options.clock ?? systemClock;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.timer = { now: () => clock.now().getTime(), sleep };
    this.log = options.logger.child({ component: 'wecom-client' });
    this.metrics = new WecomClientMetrics(options.registry ?? new Registry());
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.uploadTimeoutMs = options.uploadTimeoutMs ?? Math.max(this.timeoutMs, 60_000);
    this.rateWindowMs = options.rateWindowMs ?? 60_000;
    this.blockMs45009 = options.blockMs45009 ?? 60_000;
    this.random = options.random ?? Math.random;

    // Reads, and writes safe to repeat (IDEMPOTENT in api-policy.ts), reuse keep-alive sockets, closed by us after 4 s
    // idle (under Node's 5 s server default).
    // Non-idempotent writes always open a fresh connection: a server closing an idle socket just as we
    // write into it shows up as ECONNRESET, an unknown outcome we could not retry, whereas a fresh
    // connection fails with ECONNREFUSED before anything is sent, which is safe to retry.
    this.agents = {
      http: new http.Agent({ keepAlive: true, timeout: 4000 }),
      https: new https.Agent({ keepAlive: true, timeout: 4000 }),
      freshHttp: new http.Agent({ keepAlive: false }),
      freshHttps: new https.Agent({ keepAlive: false }),
    };
    this.http = axios.create({
      baseURL: options.apiBase.replace(/\/+$/, ''),
      timeout: this.timeoutMs,
      // WeCom answers errors as HTTP 200 + errcode; statuses are classified here, so axios never throws
      // an error carrying the request config (and with it the access_token in the query string).
      validateStatus: () => true,
      // A redirect would replay the token-bearing query string to another host.
      maxRedirects: 0,
      transitional: { clarifyTimeoutError: true, silentJSONParsing: true },
      httpAgent: this.agents.http,
      httpsAgent: this.agents.https,
    });

    const margin = options.tokenMarginSeconds ?? 300;
    // Shared rows are named by corp and a digest of the secret: a token belongs to one secret, and a rotated secret
    // must not be handed the old secret's token. The secret itself never reaches the database.
    const shared = (kind: string, secret: string) =>
      options.credentialStore ? { store: options.credentialStore, name: `${kind}:${options.corpId}:${createHash('sha256').update(secret).digest('hex').slice(0, 16)}` } : undefined;
    this.appToken = new SingleFlightCache(() => this.fetchToken(options.secret), clock, margin, shared('token', options.secret));
    this.kfToken = options.kfSecret ? new SingleFlightCache(() => this.fetchToken(options.kfSecret as string), clock, margin, shared('token', options.kfSecret)) : null;
    this.jsapiTicket = new SingleFlightCache(() => this.fetchTicket('get_jsapi_ticket', {}), clock, margin, shared('jsapi_ticket', options.secret));
    this.agentTicket = new SingleFlightCache(() => this.fetchTicket('ticket/get', { type: 'agent_config' }), clock, margin, shared('agent_ticket', options.secret));
  }

  /** Point the client at another base URL: the in-process sandbox only knows its port after listen. */
  setApiBase(apiBase: string): void {
    this.http.defaults.baseURL = apiBase.replace(/\/+$/, '');
  }

  /** Close idle keep-alive sockets; call at shutdown. */
  close(): void {
    for (const agent of Object.values(this.agents)) agent.destroy();
  }

  // ─── tickets ───────────────────────────────────────────────────────────────────────────────────────

  async getJsapiTicket(): Promise<string> {
    return this.jsapiTicket.get();
  }

  async getAgentTicket(): Promise<string> {
    return this.agentTicket.get();
  }

  // ─── customers (docs/wecom-protocol.md §Customer details, §Batch customer details, §Remarks) ───────

  async getFollowUserList(): Promise<string[]> {
    const res = await this.call<WireFollowUserList>('externalcontact/get_follow_user_list', { method: 'GET' });
    return res.follow_user ?? [];
  }

  async listExternalContacts(userId: string): Promise<string[]> {
    try {
      const res = await this.call<WireExternalContactList>('externalcontact/list', { method: 'GET', query: { userid: userId } });
      return res.external_userid ?? [];
    } catch (err) {
      // docs/wecom-protocol.md §Staff and customer lists: a member with no customers can answer 84061 instead of an
      // empty list.
      if (err instanceof WecomApiError && err.errcode === 84061) return [];
      throw err;
    }
  }

  async getExternalContact(externalUserId: string): Promise<ExternalContactDetail> {
    let first: WireExternalContactDetail | undefined;
    const followUsers: FollowUser[] = [];
    // docs/wecom-protocol.md §Customer details: follow_user pages at 500 followers; next_cursor continues.
    await followCursor(async (cursor) => {
      const page = await this.call<WireExternalContactDetail>('externalcontact/get', {
        method: 'GET',
        query: { external_userid: externalUserId, cursor: cursor || undefined },
      });
      first ??= page;
      followUsers.push(...(page.follow_user ?? []).map(toFollowUser));
      return page.next_cursor ?? '';
    });
    return { contact: toExternalContact((first as WireExternalContactDetail).external_contact), followUsers };
  }

  async batchGetByUser(input: BatchGetByUserInput): Promise<Page<CustomerFollow>> {
    // docs/wecom-protocol.md §Batch customer details: userid_list ≤ 100; a longer list is a caller bug, so fail before
    // spending a call.
    if (input.userIds.length < 1 || input.userIds.length > 100) {
      throw new RangeError(`batchGetByUser takes 1–100 userIds, got ${input.userIds.length}`);
    }
    const res = await this.call<WireBatchGetByUser>('externalcontact/batch/get_by_user', {
      method: 'POST',
      body: compact({
        userid_list: input.userIds,
        cursor: input.cursor || undefined,
        // docs/wecom-protocol.md §Batch customer details: limit max 100 (WeCom clamps; we clamp first so the request is
        // what we mean).
        limit: input.limit === undefined ? undefined : Math.min(Math.max(1, input.limit), 100),
      }),
    });
    return { items: (res.external_contact_list ?? []).map(toCustomerFollow), nextCursor: res.next_cursor ?? '' };
  }

  async *iterateBatchGetByUser(userIds: string[], options: { limit?: number } = {}): AsyncGenerator<Page<CustomerFollow>> {
    for (let i = 0; i < userIds.length; i += 100) {
      const chunk = userIds.slice(i, i + 100);
      const seen = new Set<string>();
      let cursor = '';
      do {
        const page = await this.batchGetByUser({ userIds: chunk, cursor, limit: options.limit ?? 100 });
        yield page;
        cursor = guardCursor(page.nextCursor, seen, 'externalcontact/batch/get_by_user');
      } while (cursor);
    }
  }

  async remark(input: RemarkInput): Promise<void> {
    await this.call('externalcontact/remark', {
      method: 'POST',
      body: compact({
        userid: input.userId,
        external_userid: input.externalUserId,
        remark: input.remark,
        description: input.description,
        remark_company: input.remarkCompany,
        remark_mobiles: input.remarkMobiles,
        remark_pic_mediaid: input.remarkPicMediaId,
      }),
    });
  }

  // ─── tags (docs/wecom-protocol.md §Corp tag library, §Tagging a customer) ──────────────────────────

  async getCorpTagList(filter: CorpTagFilter = {}): Promise<CorpTagGroup[]> {
    const res = await this.call<WireCorpTagList>('externalcontact/get_corp_tag_list', {
      method: 'POST',
      body: compact({ tag_id: filter.tagIds, group_id: filter.groupIds }),
    });
    return (res.tag_group ?? []).map(toCorpTagGroup);
  }

  async addCorpTag(input: AddCorpTagInput): Promise<CorpTagGroup> {
    const res = await this.call<WireAddCorpTag>('externalcontact/add_corp_tag', {
      method: 'POST',
      body: compact({
        group_id: input.groupId,
        group_name: input.groupName,
        order: input.order,
        tag: input.tags.map((t) => compact({ name: t.name, order: t.order })),
      }),
    });
    return toCorpTagGroup(res.tag_group);
  }

  async editCorpTag(input: EditCorpTagInput): Promise<void> {
    await this.call('externalcontact/edit_corp_tag', { method: 'POST', body: compact({ id: input.id, name: input.name, order: input.order }) });
  }

  async delCorpTag(input: DelCorpTagInput): Promise<void> {
    await this.call('externalcontact/del_corp_tag', { method: 'POST', body: compact({ tag_id: input.tagIds, group_id: input.groupIds }) });
  }

  async markTag(input: MarkTagInput): Promise<void> {
    await this.call('externalcontact/mark_tag', {
      method: 'POST',
      body: compact({
        userid: input.userId,
        external_userid: input.externalUserId,
        add_tag: input.addTagIds,
        remove_tag: input.removeTagIds,
      }),
    });
  }

  // ─── 联系我 (docs/wecom-protocol.md §Contact ways) ────────────────────────────────────────────────────

  async addContactWay(input: ContactWayInput): Promise<{ configId: string; qrCode?: string }> {
    const res = await this.call<WireAddContactWay>('externalcontact/add_contact_way', { method: 'POST', body: toWireContactWay(input) });
    return compact({ configId: res.config_id, qrCode: res.qr_code });
  }

  async getContactWay(configId: string): Promise<ContactWay> {
    const res = await this.call<WireGetContactWay>('externalcontact/get_contact_way', { method: 'POST', body: { config_id: configId } });
    return toContactWay(res.contact_way);
  }

  async updateContactWay(configId: string, changes: ContactWayChanges): Promise<void> {
    await this.call('externalcontact/update_contact_way', {
      method: 'POST',
      body: { config_id: configId, ...toWireContactWayChanges(changes) },
    });
  }

  async delContactWay(configId: string): Promise<void> {
    await this.call('externalcontact/del_contact_way', { method: 'POST', body: { config_id: configId } });
  }

  // ─── welcome and mass messages (docs/wecom-protocol.md §Welcome messages, §Mass messages) ──────────

  async sendWelcomeMsg(input: WelcomeMsgInput): Promise<void> {
    await this.call('externalcontact/send_welcome_msg', {
      method: 'POST',
      body: compact({
        welcome_code: input.welcomeCode,
        text: input.text === undefined ? undefined : { content: input.text },
        attachments: input.attachments?.map(toWireAttachment),
      }),
    });
  }

  async addMsgTemplate(input: MsgTemplateInput): Promise<MsgTemplateResult> {
    const res = await this.call<WireAddMsgTemplate>('externalcontact/add_msg_template', {
      method: 'POST',
      body: compact({
        chat_type: input.chatType,
        external_userid: input.externalUserIds,
        chat_id_list: input.chatIds,
        tag_filter: input.tagFilter && { group_list: input.tagFilter.map((tags) => ({ tag_list: tags })) },
        sender: input.sender,
        allow_select: input.allowSelect,
        text: input.text === undefined ? undefined : { content: input.text },
        attachments: input.attachments?.map(toWireAttachment),
      }),
    });
    return { msgId: res.msgid, failList: res.fail_list ?? [] };
  }

  async getGroupMsgListV2(query: GroupMsgListQuery): Promise<Page<GroupMsg>> {
    const res = await this.call<WireGroupMsgList>('externalcontact/get_groupmsg_list_v2', {
      method: 'POST',
      body: compact({
        chat_type: query.chatType,
        start_time: toUnixSeconds(query.startTime),
        end_time: toUnixSeconds(query.endTime),
        creator: query.creator,
        filter_type: query.filterType,
        limit: query.limit,
        cursor: query.cursor || undefined,
      }),
    });
    return { items: (res.group_msg_list ?? []).map(toGroupMsg), nextCursor: res.next_cursor ?? '' };
  }

  async getGroupMsgTask(msgId: string): Promise<GroupMsgTask[]> {
    const tasks: GroupMsgTask[] = [];
    await followCursor(async (cursor) => {
      const res = await this.call<WireGroupMsgTask>('externalcontact/get_groupmsg_task', {
        method: 'POST',
        body: compact({ msgid: msgId, limit: GROUPMSG_PAGE_LIMIT, cursor: cursor || undefined }),
      });
      for (const t of res.task_list ?? []) {
        tasks.push(compact({ userId: t.userid, status: t.status, sentAt: t.send_time ? fromUnixSeconds(t.send_time) : undefined }));
      }
      return res.next_cursor ?? '';
    });
    return tasks;
  }

  async getGroupMsgSendResult(msgId: string, userId?: string): Promise<GroupMsgSendResult[]> {
    const results: GroupMsgSendResult[] = [];
    await followCursor(async (cursor) => {
      const res = await this.call<WireGroupMsgSendResult>('externalcontact/get_groupmsg_send_result', {
        method: 'POST',
        body: compact({ msgid: msgId, userid: userId, limit: GROUPMSG_PAGE_LIMIT, cursor: cursor || undefined }),
      });
      for (const r of res.send_list ?? []) {
        results.push(
          compact({
            userId: r.userid,
            externalUserId: r.external_userid,
            chatId: r.chat_id,
            status: r.status,
            sentAt: r.send_time ? fromUnixSeconds(r.send_time) : undefined,
          }),
        );
      }
      return res.next_cursor ?? '';
    });
    return results;
  }

  async remindGroupMsgSend(msgId: string): Promise<void> {
    await this.call('externalcontact/remind_groupmsg_send', { method: 'POST', body: { msgid: msgId } });
  }

  async cancelGroupMsgSend(msgId: string): Promise<void> {
    await this.call('externalcontact/cancel_groupmsg_send', { method: 'POST', body: { msgid: msgId } });
  }

  // ─── 联系客户统计 (docs/wecom-protocol.md §Contact statistics) ─────────────────────────────────────────

  async getUserBehaviorData(query: UserBehaviorQuery): Promise<UserBehaviorDay[]> {
    const userIds = query.userIds ?? [];
    const partyIds = query.partyIds ?? [];
    // ≤ 100 of each and not both empty: a caller bug, so fail before spending a call.
    if ((userIds.length === 0 && partyIds.length === 0) || userIds.length > 100 || partyIds.length > 100) {
      throw new RangeError(`getUserBehaviorData takes 1–100 userIds and/or partyIds, got ${userIds.length} and ${partyIds.length}`);
    }
    const res = await this.call<WireUserBehaviorData>('externalcontact/get_user_behavior_data', {
      method: 'POST',
      // Seconds, not milliseconds: milliseconds answer 600018 (docs/wecom-protocol.md §Contact statistics).
      body: compact({ userid: userIds.length ? userIds : undefined, partyid: partyIds.length ? partyIds : undefined, start_time: toUnixSeconds(query.startTime), end_time: toUnixSeconds(query.endTime) }),
    });
    return (res.behavior_data ?? []).map((d) => ({
      statTime: fromUnixSeconds(d.stat_time),
      chatCnt: d.chat_cnt ?? 0,
      messageCnt: d.message_cnt ?? 0,
      // Absent on days without chats: unknown, not zero.
      replyPercentage: typeof d.reply_percentage === 'number' ? d.reply_percentage : null,
      avgReplyTime: typeof d.avg_reply_time === 'number' ? d.avg_reply_time : null,
      negativeFeedbackCnt: d.negative_feedback_cnt ?? 0,
      newApplyCnt: d.new_apply_cnt ?? 0,
      newContactCnt: d.new_contact_cnt ?? 0,
    }));
  }

  // ─── customer groups (docs/wecom-protocol.md §Customer groups) ─────────────────────────────────────

  async groupChatList(query: GroupChatListQuery): Promise<Page<GroupChatRef>> {
    const res = await this.call<WireGroupChatList>('externalcontact/groupchat/list', {
      method: 'POST',
      body: compact({
        status_filter: query.statusFilter,
        owner_filter: query.ownerUserIds && { userid_list: query.ownerUserIds },
        cursor: query.cursor || undefined,
        limit: query.limit,
      }),
    });
    return {
      items: (res.group_chat_list ?? []).map((g) => ({ chatId: g.chat_id, status: g.status })),
      nextCursor: res.next_cursor ?? '',
    };
  }

  async groupChatGet(chatId: string, options: { needName?: boolean } = {}): Promise<GroupChat> {
    const res = await this.call<WireGroupChat>('externalcontact/groupchat/get', {
      method: 'POST',
      body: { chat_id: chatId, need_name: options.needName ? 1 : 0 },
    });
    return toGroupChat(res.group_chat);
  }

  // ─── 群活码 and group welcome templates (docs/wecom-protocol.md §Group join ways, §Group welcome templates) ──

  async addJoinWay(input: JoinWayInput): Promise<{ configId: string }> {
    const res = await this.call<WireAddJoinWay>('externalcontact/groupchat/add_join_way', { method: 'POST', body: toWireJoinWay(input) });
    return { configId: res.config_id };
  }

  async getJoinWay(configId: string): Promise<JoinWay> {
    const res = await this.call<WireGetJoinWay>('externalcontact/groupchat/get_join_way', { method: 'POST', body: { config_id: configId } });
    return toJoinWay(res.join_way);
  }

  async updateJoinWay(configId: string, input: JoinWayInput): Promise<void> {
    await this.call('externalcontact/groupchat/update_join_way', { method: 'POST', body: { config_id: configId, ...toWireJoinWay(input) } });
  }

  async delJoinWay(configId: string): Promise<void> {
    await this.call('externalcontact/groupchat/del_join_way', { method: 'POST', body: { config_id: configId } });
  }

  async addGroupWelcomeTemplate(input: GroupWelcomeTemplateInput): Promise<{ templateId: string }> {
    const res = await this.call<WireAddGroupWelcomeTemplate>('externalcontact/group_welcome_template/add', {
      method: 'POST',
      // notify defaults to 1 at WeCom; sent explicitly so the form's choice is what happens.
      body: { ...toWireGroupWelcomeTemplate(input), notify: input.notify === false ? 0 : 1 },
    });
    return { templateId: res.template_id };
  }

  async editGroupWelcomeTemplate(templateId: string, input: GroupWelcomeTemplateInput): Promise<void> {
    await this.call('externalcontact/group_welcome_template/edit', { method: 'POST', body: { template_id: templateId, ...toWireGroupWelcomeTemplate(input) } });
  }

  async getGroupWelcomeTemplate(templateId: string): Promise<GroupWelcomeTemplateInput> {
    const res = await this.call<WireGetGroupWelcomeTemplate>('externalcontact/group_welcome_template/get', { method: 'POST', body: { template_id: templateId } });
    return toGroupWelcomeTemplate(res);
  }

  async delGroupWelcomeTemplate(templateId: string): Promise<void> {
    await this.call('externalcontact/group_welcome_template/del', { method: 'POST', body: { template_id: templateId } });
  }

  // ─── group transfers and statistics (docs/wecom-protocol.md §Group transfers, §Group statistics) ────────

  async transferGroupChats(input: TransferGroupChatsInput): Promise<GroupChatTransferFailure[]> {
    // chat_id_list holds 1–100 groups (docs/wecom-protocol.md §Group transfers); more is a caller bug.
    if (input.chatIds.length < 1 || input.chatIds.length > 100) throw new RangeError(`transferGroupChats takes 1–100 chatIds, got ${input.chatIds.length}`);
    const res = await this.call<WireGroupChatTransfer>(input.kind === 'onjob' ? 'externalcontact/groupchat/onjob_transfer' : 'externalcontact/groupchat/transfer', {
      method: 'POST',
      body: { chat_id_list: input.chatIds, new_owner: input.newOwner },
    });
    return (res.failed_chat_list ?? []).map((f) => ({ chatId: f.chat_id, errcode: Number(f.errcode), errmsg: f.errmsg ?? '' }));
  }

  async groupChatStatistic(query: GroupChatStatQuery): Promise<{ owner: string; figures: GroupChatStatFigures }[]> {
    assertStatOwners(query.ownerUserIds);
    const out: { owner: string; figures: GroupChatStatFigures }[] = [];
    // offset-paged, limit ≤ 1000 (docs/wecom-protocol.md §Group statistics); ≤ 100 owners fit one page, the loop is
    // for an answer that pages anyway.
    for (let offset = 0, guard = 0; guard < 100; guard++) {
      const res = await this.call<WireGroupChatStatistic>('externalcontact/groupchat/statistic', {
        method: 'POST',
        body: { ...statRange(query), order_by: 1, order_asc: 0, offset, limit: 1000 },
      });
      const items = res.items ?? [];
      for (const i of items) out.push({ owner: i.owner, figures: statFigures(i.data) });
      const next = Number(res.next_offset ?? 0);
      if (items.length === 0 || next <= offset || next >= Number(res.total ?? 0)) break;
      offset = next;
    }
    return out;
  }

  async groupChatStatisticByDay(query: GroupChatStatQuery): Promise<{ day: string; figures: GroupChatStatFigures }[]> {
    assertStatOwners(query.ownerUserIds);
    const res = await this.call<WireGroupChatStatisticByDay>('externalcontact/groupchat/statistic_group_by_day', { method: 'POST', body: statRange(query) });
    return (res.items ?? []).map((i) => ({ day: localDate(fromUnixSeconds(i.stat_time), WECOM_DAY_TZ), figures: statFigures(i.data) }));
  }

  // ─── transfers (客户继承, docs/wecom-protocol.md §Customer transfers) ──────────────────────────────────

  async transferCustomers(input: TransferCustomersInput): Promise<TransferCustomerOutcome[]> {
    // docs/wecom-protocol.md §Customer transfers: external_userid ≤ 100 per call; a longer list is a caller bug, so
    // fail before spending a call.
    if (input.externalUserIds.length < 1 || input.externalUserIds.length > 100) {
      throw new RangeError(`transferCustomers takes 1–100 externalUserIds, got ${input.externalUserIds.length}`);
    }
    const isOnJob = input.kind === 'onjob';
    const res = await this.call<WireTransferCustomer>(isOnJob ? 'externalcontact/transfer_customer' : 'externalcontact/resigned/transfer_customer', {
      method: 'POST',
      body: compact({
        handover_userid: input.handoverUserId,
        takeover_userid: input.takeoverUserId,
        external_userid: input.externalUserIds,
        // Only the on-job API takes a success message (≤ 200 chars, docs/wecom-protocol.md §Customer transfers); the
        // resigned one has no such field.
        transfer_success_msg: isOnJob ? input.successMessage : undefined,
      }),
    });
    return (res.customer ?? []).map((c) => ({ externalUserId: c.external_userid, errcode: Number(c.errcode) }));
  }

  async getTransferResults(kind: TransferKind, handoverUserId: string, takeoverUserId: string): Promise<TransferResult[]> {
    const api = kind === 'onjob' ? 'externalcontact/transfer_result' : 'externalcontact/resigned/transfer_result';
    const results: TransferResult[] = [];
    // docs/wecom-protocol.md §Customer transfers: ≤ 1000 records per page; next_cursor continues.
    await followCursor(async (cursor) => {
      const res = await this.call<WireTransferResult>(api, {
        method: 'POST',
        body: compact({ handover_userid: handoverUserId, takeover_userid: takeoverUserId, cursor: cursor || undefined }),
      });
      for (const c of res.customer ?? []) {
        results.push(compact({ externalUserId: c.external_userid, status: Number(c.status), takeoverAt: c.takeover_time ? fromUnixSeconds(c.takeover_time) : undefined }));
      }
      return res.next_cursor ?? '';
    });
    return results;
  }

  async getUnassignedList(input: { cursor?: string; pageSize?: number } = {}): Promise<Page<UnassignedCustomer>> {
    const res = await this.call<WireUnassignedList>('externalcontact/get_unassigned_list', {
      method: 'POST',
      // docs/wecom-protocol.md §Customer transfers: page_size defaults to and is at most 1000.
      body: compact({ cursor: input.cursor || undefined, page_size: input.pageSize === undefined ? undefined : Math.min(Math.max(1, input.pageSize), 1000) }),
    });
    const items = (res.info ?? []).map((i) => ({ handoverUserId: i.handover_userid, externalUserId: i.external_userid, dimissionAt: fromUnixSeconds(i.dimission_time) }));
    // is_last ends the list even if a cursor came back.
    return { items, nextCursor: res.is_last ? '' : (res.next_cursor ?? '') };
  }

  // ─── app messages, media, KF, OAuth ────────────────────────────────────────────────────────────────

  async sendAppMessage(message: AppMessage): Promise<AppMessageResult> {
    if (this.options.agentId === undefined) {
      throw new Error('sendAppMessage needs agentId in WecomClientOptions (message/send requires agentid, docs/wecom-protocol.md §App messages to staff)');
    }
    const res = await this.call<WireAppMessage>('message/send', { method: 'POST', body: toWireAppMessage(message, this.options.agentId) });
    return toAppMessageResult(res);
  }

  async uploadMedia(input: MediaUploadInput): Promise<UploadedMedia> {
    // docs/wecom-protocol.md §Media: multipart field `media` with a filename; the type goes in the query string.
    const form = new FormData();
    form.append('media', new Blob([input.data], { type: input.contentType ?? 'application/octet-stream' }), input.filename);
    const res = await this.call<WireMediaUpload>('media/upload', {
      method: 'POST',
      query: { type: input.type },
      body: form,
      timeoutMs: this.uploadTimeoutMs,
    });
    return { type: res.type, mediaId: res.media_id, createdAt: fromUnixSeconds(res.created_at) };
  }

  async uploadImage(input: ImageUploadInput): Promise<{ url: string }> {
    // docs/wecom-protocol.md §Media: multipart field `media` with a filename, as media/upload; the answer is a URL.
    const form = new FormData();
    form.append('media', new Blob([input.data], { type: input.contentType ?? 'application/octet-stream' }), input.filename);
    const res = await this.call<WireImageUpload>('media/uploadimg', { method: 'POST', body: form, timeoutMs: this.uploadTimeoutMs });
    return { url: res.url };
  }

  async kfSyncMsg(input: KfSyncInput): Promise<KfSyncResult> {
    const res = await this.call<WireKfSync>('kf/sync_msg', {
      method: 'POST',
      body: compact({
        cursor: input.cursor || undefined,
        token: input.token,
        limit: input.limit,
        voice_format: input.voiceFormat,
        open_kfid: input.openKfId,
      }),
    });
    return { nextCursor: res.next_cursor ?? '', hasMore: res.has_more === 1, messages: (res.msg_list ?? []).map(toKfMessage) };
  }

  async kfSendMsg(input: KfSendInput): Promise<{ msgId: string }> {
    const res = await this.call<WireKfSend>('kf/send_msg', { method: 'POST', body: toWireKfSend(input) });
    return { msgId: res.msgid };
  }

  async kfSendMsgOnEvent(input: KfSendOnEventInput): Promise<{ msgId: string }> {
    const res = await this.call<WireKfSend>('kf/send_msg_on_event', { method: 'POST', body: toWireKfSendOnEvent(input) });
    return { msgId: res.msgid };
  }

  async getUserInfoByCode(code: string): Promise<UserIdentity> {
    const res = await this.call<WireUserInfo>('auth/getuserinfo', { method: 'GET', query: { code } });
    if (res.userid) return compact({ kind: 'member' as const, userId: res.userid, userTicket: res.user_ticket });
    return compact({ kind: 'external' as const, openId: res.openid, externalUserId: res.external_userid });
  }

  // ─── 通讯录 (doc path/90196) ───────────────────────────────────────────────────────────────────────

  async getMember(userId: string): Promise<Member> {
    const res = await this.call<WireMember>('user/get', { method: 'GET', query: { userid: userId } });
    return toMember(res);
  }

  // ─── tokens ────────────────────────────────────────────────────────────────────────────────────────

  /**
   * The cached token for an API: kf/* use the KF secret's token when configured
   * (docs/wecom-protocol.md §WeChat customer service), the rest the app's.
   */
  private tokenCacheFor(api: WecomApi): SingleFlightCache<string> | null {
    if (api === 'gettoken') return null;
    if (api.startsWith('kf/') && this.kfToken) return this.kfToken;
    return this.appToken;
  }

  /**
   * gettoken (docs/wecom-protocol.md §Access tokens). Goes through the same limits and retries as any read; 40001/40013
   * are not retried.
   */
  private async fetchToken(secret: string): Promise<{ value: string; expiresInSeconds: number }> {
    const res = await this.call<WireToken>('gettoken', {
      method: 'GET',
      query: { corpid: this.options.corpId, corpsecret: secret },
    });
    this.log.info({ expiresIn: res.expires_in }, 'wecom access token refreshed');
    return { value: res.access_token, expiresInSeconds: res.expires_in };
  }

  private async fetchTicket(api: 'get_jsapi_ticket' | 'ticket/get', query: Record<string, string>): Promise<{ value: string; expiresInSeconds: number }> {
    const res = await this.call<WireTicket>(api, { method: 'GET', query });
    return { value: res.ticket, expiresInSeconds: res.expires_in };
  }

  // ─── the call pipeline ─────────────────────────────────────────────────────────────────────────────

  /**
   * Call one API with the full policy: token, limits, token refresh, retries. Returns the response
   * body on errcode 0, throws WecomApiError or WecomTransportError otherwise.
   */
  private async call<T extends WireResponse>(api: WecomApi, spec: RequestSpec): Promise<T> {
    const tokens = this.tokenCacheFor(api);
    let attempt = 0;
    let hasRefreshedToken = false;
    for (;;) {
      attempt++;
      const token = tokens ? await tokens.get() : undefined;
      const result = await this.attempt(api, spec, token);
      if (result.kind === 'ok') return result.data as T;

      if (result.kind === 'errcode') {
        const { errcode, errmsg } = result;
        // docs/wecom-protocol.md §Access tokens: 40014/42001 (and 40001, as WxJava does) mean the token is stale:
        // refresh once, retry once. The refresh does not count as a backoff attempt. 41001 is deliberately absent: a
        // missing token is our bug, and refreshing would hide it.
        if (tokens && token !== undefined && TOKEN_ERRCODES.has(errcode) && !hasRefreshedToken) {
          hasRefreshedToken = true;
          attempt--;
          tokens.invalidate(token);
          this.log.warn({ api, errcode }, 'wecom token rejected; refreshing once');
          continue;
        }
        if (errcode === ERRCODE_RATE_LIMITED && attempt < this.retry.maxAttempts) {
          // The gate was blocked in attempt(); the retry queues behind the block with everyone else.
          this.log.warn({ api, errcode, attempt, blockMs: this.blockMs45009 }, 'wecom api rate limited; pausing this api');
          continue;
        }
        if (RETRYABLE_ERRCODES.has(errcode) && attempt < this.retry.maxAttempts) {
          const delayMs = this.backoff(attempt);
          this.log.warn({ api, errcode, attempt, delayMs }, 'wecom api busy; retrying');
          await this.timer.sleep(delayMs);
          continue;
        }
        throw new WecomApiError(api, errcode, errmsg);
      }

      const error = new WecomTransportError(api, result.failure, result.isOutcomeUnknown, result.httpStatus, result.networkCode);
      // A write whose outcome is unknown is repeated only if repeating cannot do it twice (api-policy.ts).
      const isSafeToRepeat = !result.isOutcomeUnknown || IDEMPOTENT[api];
      if (!result.isRetryable || !isSafeToRepeat || attempt >= this.retry.maxAttempts) {
        this.log.warn(
          { api, failure: result.failure, httpStatus: result.httpStatus, networkCode: result.networkCode, attempt, isOutcomeUnknown: result.isOutcomeUnknown },
          isSafeToRepeat ? 'wecom call failed' : 'wecom write failed with unknown outcome; not retried',
        );
        throw error;
      }
      const delayMs = this.backoff(attempt);
      this.log.warn({ api, failure: result.failure, httpStatus: result.httpStatus, networkCode: result.networkCode, attempt, delayMs }, 'wecom call failed; retrying');
      await this.timer.sleep(delayMs);
    }
  }

  /** One HTTP attempt inside the API's gate, classified and measured. */
  private async attempt(api: WecomApi, spec: RequestSpec, token: string | undefined): Promise<AttemptResult> {
    const gate = this.gateFor(api);
    const release = await gate.enter();
    const started = performance.now();
    let result: AttemptResult;
    try {
      const res = await this.http.request<unknown>({
        method: spec.method,
        url: `/cgi-bin/${api}`,
        // The token rides in the query string, never the body (docs/wecom-protocol.md §Conventions).
        params: token === undefined ? spec.query : { ...spec.query, access_token: token },
        data: spec.body,
        timeout: spec.timeoutMs ?? this.timeoutMs,
        ...(IDEMPOTENT[api] ? {} : { httpAgent: this.agents.freshHttp, httpsAgent: this.agents.freshHttps }),
      });
      result = classifyResponse(res.status, res.data);
    } catch (err) {
      result = classifyError(err);
    }
    // Block before releasing the slot, so no queued caller slips a request in after a 45009
    // (docs/wecom-protocol.md §API rate limits).
    if (result.kind === 'errcode' && result.errcode === ERRCODE_RATE_LIMITED) gate.block(this.blockMs45009);
    release();
    this.record(api, result, (performance.now() - started) / 1000);
    return result;
  }

  private record(api: WecomApi, result: AttemptResult, seconds: number): void {
    const outcome: CallOutcome = result.kind === 'transport' ? result.failure : result.kind;
    this.metrics.calls.inc({ api, outcome });
    this.metrics.latency.observe({ api }, seconds);
    if (result.kind === 'errcode') this.metrics.errors.inc({ api, errcode: String(result.errcode) });
    this.log.debug({ api, outcome, ms: Math.round(seconds * 1000) }, 'wecom call');
  }

  private gateFor(api: WecomApi): ApiGate | SharedApiGate {
    let gate = this.gates.get(api);
    if (!gate) {
      const limit = limitFor(api, this.options.limits);
      const store = this.options.rateStore;
      gate = store
        ? new SharedApiGate(api, limit, this.timer, store, {
            windowMs: this.rateWindowMs,
            guardMs: this.options.rateGuardMs,
            // Calls wait while the store is unreachable: a call that was never counted could overrun the corp's limit.
            onStoreError: (err) => this.log.warn({ api, err }, 'wecom rate-limit store failed; calls to this api wait'),
          })
        : new ApiGate(limit, this.rateWindowMs, this.timer, this.options.rateGuardMs);
      this.gates.set(api, gate);
    }
    return gate;
  }

  /** Exponential backoff with "equal jitter": half fixed, half random, so retries spread but never bunch at 0. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }
}

/** Map an HTTP response to an attempt result. WeCom answers 200 with errcode; anything else is transport. */
function classifyResponse(status: number, data: unknown): AttemptResult {
  if (status >= 500) return { kind: 'transport', failure: 'http_status', httpStatus: status, isOutcomeUnknown: true, isRetryable: true };
  // 4xx never comes from WeCom proper; it means a wrong apiBase or path, a bug that retrying will not fix.
  if (status < 200 || status >= 300) return { kind: 'transport', failure: 'http_status', httpStatus: status, isOutcomeUnknown: false, isRetryable: false };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    // A 200 without JSON (a captive proxy, a truncated body): the request may have been processed.
    return { kind: 'transport', failure: 'bad_response', httpStatus: status, isOutcomeUnknown: true, isRetryable: true };
  }
  const body = data as WireResponse;
  const errcode = typeof body.errcode === 'number' ? body.errcode : Number(body.errcode ?? 0);
  if (errcode !== 0) return { kind: 'errcode', errcode, errmsg: String(body.errmsg ?? '') };
  return { kind: 'ok', data: body };
}

/** Map a thrown axios error to an attempt result, keeping nothing from its config (the URL holds the token). */
function classifyError(err: unknown): AttemptResult {
  if (!axios.isAxiosError(err)) throw err;
  const code = err.code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ETIMEDOUT' || code === 'ECONNABORTED') {
    return { kind: 'transport', failure: 'timeout', networkCode: code, isOutcomeUnknown: true, isRetryable: true };
  }
  if (code !== undefined && NOT_SENT_CODES.has(code)) {
    return { kind: 'transport', failure: 'network', networkCode: code, isOutcomeUnknown: false, isRetryable: true };
  }
  // ECONNRESET, EPIPE, "socket hang up": the request may have been read and acted on.
  return { kind: 'transport', failure: 'network', networkCode: code, isOutcomeUnknown: true, isRetryable: true };
}

/**
 * Run `fetchPage` from the empty cursor until it returns ''. A cursor seen twice means the server is
 * looping; stop with an error rather than spin forever.
 */
async function followCursor(fetchPage: (cursor: string) => Promise<string>): Promise<void> {
  const seen = new Set<string>();
  let cursor = '';
  do {
    cursor = guardCursor(await fetchPage(cursor), seen, 'cursor');
  } while (cursor);
}

function guardCursor(next: string, seen: Set<string>, api: string): string {
  if (next && seen.has(next)) throw new Error(`WeCom ${api} returned a cursor it had already returned`);
  seen.add(next);
  return next;
}

/** WeCom's statistics count China's calendar days (docs/wecom-protocol.md §Group statistics). */
const WECOM_DAY_TZ = 'Asia/Shanghai';

/** owner_filter.userid_list holds 1–100 owners (docs/wecom-protocol.md §Group statistics); more is a caller bug. */
function assertStatOwners(owners: string[]): void {
  if (owners.length < 1 || owners.length > 100) throw new RangeError(`group statistics take 1–100 owners, got ${owners.length}`);
}

/** day_begin_time / day_end_time as 00:00 China time of each day, in seconds, and the owner filter. */
function statRange(q: GroupChatStatQuery): Record<string, unknown> {
  return {
    day_begin_time: toUnixSeconds(zonedTimeToUtc(q.fromDay, '00:00', WECOM_DAY_TZ)),
    day_end_time: toUnixSeconds(zonedTimeToUtc(q.toDay, '00:00', WECOM_DAY_TZ)),
    owner_filter: { userid_list: q.ownerUserIds },
  };
}

/** A missing figure is 0 (migrate_trainee_chat_cnt is sent to 教培 corps only). */
function statFigures(d: WireGroupChatStatData | undefined): GroupChatStatFigures {
  const n = (v: number | undefined) => Number(v ?? 0);
  return {
    newChatCnt: n(d?.new_chat_cnt),
    chatTotal: n(d?.chat_total),
    chatHasMsg: n(d?.chat_has_msg),
    newMemberCnt: n(d?.new_member_cnt),
    memberTotal: n(d?.member_total),
    memberHasMsg: n(d?.member_has_msg),
    msgTotal: n(d?.msg_total),
    migrateTraineeChatCnt: n(d?.migrate_trainee_chat_cnt),
  };
}
