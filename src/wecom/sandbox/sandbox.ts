import { randomBytes } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import type { Clock } from '../../shared/clock.js';
import { AppError, ConflictError, NotFoundError, ValidationError, toError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { SANDBOX_CORP, randomSandboxKeys } from '../sandbox-identity.js';
import type { ApiContext, ApiRequest, ApiTable, ResolvedSandboxOptions, SandboxCorp, UploadedFile } from './api-types.js';
import { contactApis } from './apis/contacts.api.js';
import { contactWayApis } from './apis/contact-ways.api.js';
import { groupWelcomeApis } from './apis/group-welcome.api.js';
import { joinWayApis } from './apis/join-ways.api.js';
import { confirmMassTask, groupMsgApis, memberGroupSend, type ConfirmOutcome, type MemberSendOutcome } from './apis/groupmsg.api.js';
import { kfApis } from './apis/kf.api.js';
import { miscApis } from './apis/misc.api.js';
import { createCorpTags, deleteCorpTags, editCorpTag, tagApis } from './apis/tags.api.js';
import { tokenApis } from './apis/token.api.js';
import { statsApis } from './apis/stats.api.js';
import { transferApis } from './apis/transfers.api.js';
import { groupTransferApis } from './apis/group-transfers.api.js';
import { groupStatsApis } from './apis/group-stats.api.js';
import { userApis } from './apis/users.api.js';
import { CallbackDeliverer, type CallbackRecord } from './callback-delivery.js';
import { contactUserUpdateXml, externalChatEventXml, externalContactEventXml, externalTagEventXml, kfEventXml } from './callback-xml.js';
import { applyWelcomeTemplate, greetJoiner, joinThroughWay } from './group-join.js';
import { addMembers, createGroup, eventJoinScene, pickMembershipChanges, removeMembers, requireGroup, seedGroups } from './group-members.js';
import { handleControl } from './control.router.js';
import { handleAuthorize } from './oauth-authorize.js';
import { handleWebLogin } from './web-login.js';
import { jsapiSignature } from '../jssdk-signature.js';
import { Errcode, SandboxApiError, errmsgFor } from './errcodes.js';
import { MEDIA_TTL_MS } from './apis/contact-ways.api.js';
import { FaultInjector, RateLimiter, type FaultSpec, type RateWindowSpec } from './faults.js';
import type { MassQuotaRule } from './quota.js';
import { seedDemoCorp, seedLargeCorp, type SeedSummary } from './seed.js';
import { readRequestBody, readRequestText } from './sandbox-http.js';
import { handleQr, qrErrorPage } from './contact-way-qr.js';
import { SandboxStore, kfSessionKey, type SandboxTag, type SandboxTransfer } from './store.js';

/** Constructor options of {@link WecomSandbox}. */
export interface WecomSandboxOptions {
  clock: Clock;
  logger: Logger;
  /** The corp the sandbox plays; defaults to SANDBOX_CORP with callback keys made up for this instance. */
  corp?: SandboxCorp;
  /**
   * PUBLIC_URL of the bot, when set: the sign-in stand-in redirects only to `<this origin or the callback URL's
   * origin>/sidebar/oauth/callback` (docs/security.md §Sandbox exposure).
   */
  siteOrigin?: string;
  /** Lifetime of access tokens (WeCom: 7200 s, docs/wecom-protocol.md §Access tokens). */
  tokenTtlSeconds?: number;
  /** Where callbacks are POSTed; without one they are only recorded. */
  callbackUrl?: string;
  /** The admin's per-customer mass-message rule (docs/wecom-protocol.md §Mass message quota). */
  massQuota?: MassQuotaRule;
  /**
   * Per-API calls per minute, keyed by api name (`externalcontact/get`); `'*'` sets the default (10,000,
   * docs/wecom-protocol.md §API rate limits).
   */
  rateLimits?: Record<string, number>;
  /** How `rateLimits` are counted: window length and sliding or aligned (default a sliding minute). */
  rateWindow?: RateWindowSpec;
  /** externalcontact/get follow_user page size (WeCom: 500); smaller values make paging testable. */
  followUserPageSize?: number;
  /**
   * How long get_groupmsg_task/send_result answer 41063 after creation (docs/wecom-protocol.md §Mass message results);
   * default 0 = never.
   */
  groupMsgDispatchMs?: number;
  /** Callback response timeout (WeCom: 5 s, docs/wecom-protocol.md §Acknowledging callbacks). */
  callbackTimeoutMs?: number;
  /** Delay before each of the up-to-three retries (docs/wecom-protocol.md §Acknowledging callbacks). */
  callbackRetryDelaysMs?: number[];
  /** Random source for errorRate faults; inject for determinism. */
  random?: () => number;
  /**
   * Members a customer group holds before a 群活码 counts it full and moves on (or opens a room); default 200
   * (docs/wecom-protocol.md §Group join ways).
   */
  roomFullSize?: number;
}

/** One recorded API call, for tests that measure rates and side effects. */
export interface SandboxCall {
  api: string;
  /** Clock time of the call in ms. */
  at: number;
  errcode: number;
  /** Query and body merged, without access_token. */
  params: Record<string, unknown>;
}

/** What an API call answered. */
export interface SandboxResponse {
  httpStatus: number;
  body: Record<string, unknown>;
  /** A lost-answer fault: the HTTP route closes the connection instead of answering. */
  isAnswerLost?: boolean;
}

/** The call log keeps the most recent calls only, so a long-running standalone sandbox stays bounded. */
const MAX_LOGGED_CALLS = 100_000;

const APIS: ApiTable = { ...tokenApis, ...contactApis, ...tagApis, ...contactWayApis, ...groupMsgApis, ...kfApis, ...miscApis, ...userApis, ...transferApis, ...statsApis, ...joinWayApis, ...groupWelcomeApis, ...groupTransferApis, ...groupStatsApis };

/**
 * Finds the sandbox part of a path: `/cgi-bin/...`, `/_control/...` or the OAuth authorize stand-in
 * `/connect/oauth2/authorize` (open.weixin.qq.com's path, docs/wecom-protocol.md §Staff sign-in for web pages), or the
 * web login stand-in `/wwlogin/sso/login` (login.work.weixin.qq.com's path), or a contact way's QR code `/qr/…`
 * (contact-way-qr.ts), after an optional mount prefix. The web login: docs/wecom-protocol.md §Web login for the console.
 */
const SANDBOX_PATH = /^(.*?)\/(cgi-bin|_control|connect|wwlogin|qr)\/(.+)$/;

/**
 * An in-memory emulator of WeCom's server APIs and of WeCom's side of callbacks. The bot talks to it only
 * over the wire protocol, so it follows WeCom's documented shapes, cursors, limits and errcodes (docs/wecom-protocol.md).
 */
export class WecomSandbox {
  readonly store = new SandboxStore();
  readonly options: ResolvedSandboxOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly faults: FaultInjector;
  private readonly limiter: RateLimiter;
  private readonly deliverer: CallbackDeliverer;
  private readonly callLog: SandboxCall[] = [];
  private callbackUrl: string | undefined;
  private readonly siteOrigin: string | undefined;
  /** Shift of the sandbox's "WeCom time" from the injected clock (see setClock). */
  private clockOffsetMs = 0;
  /** See WecomSandboxOptions.roomFullSize; POST /_control/config can change it. */
  roomFullSize: number;

  constructor(opts: WecomSandboxOptions) {
    // WeCom's own time: the injected clock plus an offset a demo or a test can move (POST /_control/clock).
    this.clock = { now: () => new Date(opts.clock.now().getTime() + this.clockOffsetMs) };
    this.logger = opts.logger;
    this.callbackUrl = opts.callbackUrl;
    this.siteOrigin = opts.siteOrigin ? new URL(opts.siteOrigin).origin : undefined;
    this.options = {
      corp: opts.corp ?? { ...SANDBOX_CORP, ...randomSandboxKeys() },
      tokenTtlSeconds: opts.tokenTtlSeconds ?? 7200,
      massQuota: opts.massQuota ?? 'days_of_month',
      followUserPageSize: opts.followUserPageSize ?? 500,
      groupMsgDispatchMs: opts.groupMsgDispatchMs ?? 0,
    };
    this.roomFullSize = opts.roomFullSize ?? 200;
    this.faults = new FaultInjector(opts.random ?? Math.random);
    this.limiter = new RateLimiter(opts.rateLimits ?? {}, opts.rateWindow);
    this.deliverer = new CallbackDeliverer({
      corp: this.options.corp,
      clock: this.clock,
      logger: this.logger,
      getUrl: () => this.callbackUrl,
      timeoutMs: opts.callbackTimeoutMs ?? 5000,
      retryDelaysMs: opts.callbackRetryDelaysMs ?? [500, 500, 500],
    });
  }

  private ctxFor(baseUrl: string): ApiContext {
    return { store: this.store, options: this.options, nowMs: () => this.clock.now().getTime(), baseUrl };
  }

  private nowMs(): number {
    return this.clock.now().getTime();
  }

  /**
   * The sidebar's JS-SDK test mode sent a message into the chat it was opened in (docs/todo.md §One-tap send). Checked
   * as the WeCom client checks it (docs/wecom-protocol.md §Chat toolbar sidebar): an image, video or file needs a
   * media id this corp's media/upload made less than 3 days ago; a mini-program an http(s) imgUrl, appid, title and
   * page; a link its link. A refused message is not recorded (400 `sendChatMessage:fail …`).
   */
  recordChatMessage(m: { externalUserId: string | null; chatId: string | null; message: Record<string, unknown> & { msgtype: string } }): { ok: true; errMsg: string } {
    const fail = (why: string): never => {
      throw new ValidationError(`sendChatMessage:fail ${why}`, undefined, 'send_chat_message_failed');
    };
    const { msgtype } = m.message;
    const body = (m.message[msgtype] ?? {}) as Record<string, unknown>;
    const str = (k: string) => (typeof body[k] === 'string' && body[k] !== '' ? (body[k] as string) : null);
    if (msgtype === 'text' && !str('content')) fail('text.content is empty');
    if (msgtype === 'image' || msgtype === 'video' || msgtype === 'file') {
      const id = str('mediaid');
      const media = id ? this.store.media.get(id) : undefined;
      if (!id || !media || this.nowMs() - media.createdAtMs > MEDIA_TTL_MS) fail(`invalid media_id ${id ?? ''}`.trim());
    }
    if (msgtype === 'news' && !/^https?:\/\//.test(str('link') ?? '')) fail('invalid link');
    if (msgtype === 'miniprogram') {
      for (const k of ['appid', 'title', 'page']) if (!str(k)) fail(`miniprogram.${k} is required`);
      if (!/^https?:\/\//.test(str('imgUrl') ?? '')) fail('invalid imgUrl');
    }
    this.store.chatMessages.push({ externalUserId: m.externalUserId, chatId: m.chatId, msgtype: m.message.msgtype, message: m.message, at: new Date(this.nowMs()).toISOString() });
    return { ok: true, errMsg: 'sendChatMessage:ok' };
  }

  // ---------------------------------------------------------------- the WeCom API

  /** Names of every emulated API (paths after /cgi-bin/). */
  apiNames(): string[] {
    return Object.keys(APIS);
  }

  /**
   * Run one API call exactly as the HTTP route would: faults, token checks, frequency limit, handler,
   * then the call log. Tests can use it in-process; the router uses it for every /cgi-bin/ request, with `baseUrl`
   * the address the call came in on (the contact ways' `qr_code` images are served there).
   */
  async invoke(
    method: string,
    api: string,
    query: Record<string, string>,
    body: Record<string, unknown> = {},
    files: Record<string, UploadedFile> = {},
    baseUrl = '',
  ): Promise<SandboxResponse> {
    const at = this.nowMs();
    const { access_token: _token, ...queryParams } = query;
    const params: Record<string, unknown> = { ...queryParams, ...body };
    for (const [name, f] of Object.entries(files)) params[name] = { filename: f.filename, size: f.data.length };
    const def = APIS[api];
    if (!def) {
      const response = { errcode: Errcode.InvalidParameter, errmsg: errmsgFor(Errcode.InvalidParameter, `unknown api ${api}`) };
      this.recordCall({ api, at, errcode: response.errcode, params });
      return { httpStatus: 404, body: response };
    }
    const latency = this.faults.latencyFor(api);
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    let response: Record<string, unknown>;
    try {
      const injected = this.faults.takeError(api);
      if (injected !== undefined) throw new SandboxApiError(injected, 'injected fault');
      // GET-documented APIs tolerate POST, but a POST API called with GET has no body
      // (docs/wecom-protocol.md §Error codes, 40035).
      if (def.method === 'POST' && method.toUpperCase() !== 'POST') throw new SandboxApiError(Errcode.InvalidParameter, 'use POST');
      const owner = def.auth === 'none' ? null : this.authorise(def.auth, query, body);
      if (!def.isRateLimitExempt && !this.limiter.tryAcquire(api, at)) throw new SandboxApiError(Errcode.RateLimited);
      // WeCom takes customers over 24 h after a transfer whether or not anyone is looking
      // (docs/wecom-protocol.md §Customer transfers); the sandbox has no timer, so every authorised call first settles
      // what fell due, and then sees the result.
      if (owner !== null) await this.settleDueTransfers();
      const request: ApiRequest = { query: queryParams, body, files, owner };
      response = { errcode: 0, errmsg: 'ok', ...def.handle(request, this.ctxFor(baseUrl)) };
    } catch (err) {
      if (err instanceof SandboxApiError) {
        response = { errcode: err.errcode, errmsg: err.message };
      } else {
        // A sandbox bug: answer like WeCom's "system busy" so the client's retry path runs, and log the stack.
        this.logger.error({ err: toError(err), api }, 'sandbox api handler failed');
        response = { errcode: Errcode.SystemBusy, errmsg: errmsgFor(Errcode.SystemBusy) };
      }
    }
    this.recordCall({ api, at, errcode: response.errcode as number, params });
    // WeCom answers HTTP 200 for business errors; the errcode carries the outcome.
    return { httpStatus: 200, body: response, ...(this.faults.takeLostAnswer(api) ? { isAnswerLost: true } : {}) };
  }

  private recordCall(call: SandboxCall): void {
    this.callLog.push(call);
    if (this.callLog.length > MAX_LOGGED_CALLS) this.callLog.splice(0, this.callLog.length - MAX_LOGGED_CALLS);
  }

  /** Check access_token: query only (41001), known (40014), not expired (42001), right secret (48002). */
  private authorise(auth: 'agent' | 'kf' | 'any', query: Record<string, string>, body: Record<string, unknown>) {
    const token = query.access_token;
    // A token in the body does not count: it must be in the query string
    // (docs/wecom-protocol.md §Conventions).
    if (!token) throw new SandboxApiError(Errcode.MissingAccessToken, body.access_token ? 'access_token must be in the query string' : undefined);
    const record = this.store.accessTokens.get(token);
    if (!record || record.isRevoked) throw new SandboxApiError(Errcode.InvalidAccessToken);
    if (this.nowMs() >= record.expiresAtMs) throw new SandboxApiError(Errcode.AccessTokenExpired);
    // Customer-contact and app APIs need the self-built app's token, not the KF secret's
    // (docs/wecom-protocol.md §Access tokens).
    if (auth === 'agent' && record.owner !== 'agent') throw new SandboxApiError(Errcode.NoApiPermission);
    if (auth === 'kf' && record.owner !== 'kf') throw new SandboxApiError(Errcode.NoApiPermission);
    return record.owner;
  }

  /**
   * Koa middleware serving `/cgi-bin/...` and `/_control/...`. Mounted anywhere (the bot uses `/sandbox`):
   * it matches on the path segment, and with `prefix` set it only answers under that prefix.
   */
  router(opts: { prefix?: string } = {}): Middleware {
    return async (ctx, next) => {
      const match = SANDBOX_PATH.exec(ctx.path);
      if (!match || (opts.prefix !== undefined && match[1] !== opts.prefix.replace(/\/$/, ''))) return next();
      const [, prefix, area, rest] = match;
      // Where this sandbox is reached, as the caller reached it: the QR images are served there. A host app that mounts
      // the sandbox under a prefix (the bot's /sandbox) strips it from ctx.path; originalUrl still has it.
      const originalPath = ctx.originalUrl.split('?')[0];
      const mountedAt = originalPath.endsWith(ctx.path) ? originalPath.slice(0, originalPath.length - ctx.path.length) : '';
      const baseUrl = `${ctx.protocol}://${ctx.host}${mountedAt}${prefix}`;
      const query = Object.fromEntries(Object.entries(ctx.query).map(([k, v]) => [k, Array.isArray(v) ? (v[0] ?? '') : (v ?? '')]));
      if (area === 'connect' || area === 'wwlogin') {
        // The sidebar's OAuth page, or the console's web login page (login.work.weixin.qq.com/wwlogin/sso/login).
        const page = area === 'connect' ? rest === 'oauth2/authorize' : rest === 'sso/login';
        if (!page || ctx.method !== 'GET') return next();
        const result = area === 'connect' ? handleAuthorize(this, query, this.siteRedirectOrigins()) : handleWebLogin(this, query, this.siteRedirectOrigins());
        ctx.status = result.httpStatus;
        ctx.set('Cache-Control', 'no-store');
        if (result.location) ctx.set('Location', result.location);
        else {
          ctx.type = 'text/html; charset=utf-8';
          // The page has no script; nothing else may run on it either.
          ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
          ctx.body = result.html;
        }
        return;
      }
      if (area === 'qr') return this.serveQr(ctx, rest, baseUrl, next);
      if (area === '_control' && !isLoopbackAddress(ctx.req.socket?.remoteAddress)) {
        // The controls act as WeCom and its users (mint sign-in codes, add customers, read every callback): only
        // from this machine, judged by the TCP peer alone, never by ctx.ip / X-Forwarded-For, which a client
        // writes itself (docs/security.md §Sandbox exposure). Checked before the body is read.
        ctx.status = 403;
        ctx.body = {
          error: {
            code: 'sandbox_control_loopback_only',
            message: '沙箱控制接口只接受本机（127.0.0.1 / ::1）发起的连接 / the sandbox controls answer connections from this machine only',
          },
        };
        return;
      }
      const parsed = await readRequestBody(ctx);
      if (area === 'cgi-bin') {
        if (parsed.error) {
          ctx.status = 200;
          ctx.body = { errcode: Errcode.InvalidParameter, errmsg: errmsgFor(Errcode.InvalidParameter, parsed.error) };
          return;
        }
        const result = await this.invoke(ctx.method, rest, query, parsed.body, parsed.files, baseUrl);
        if (result.isAnswerLost) {
          // The call ran; the connection closes before its answer (a lost-answer fault).
          ctx.respond = false;
          ctx.req.socket.destroy();
          return;
        }
        ctx.status = result.httpStatus;
        ctx.body = result.body;
        return;
      }
      const result = await handleControl(this, ctx.method, rest, query, parsed.error ? undefined : parsed.body);
      ctx.status = result.httpStatus;
      ctx.body = result.body;
    };
  }

  /**
   * A contact way's QR image, and the add page its link opens (contact-way-qr.ts). The page's POST acts as a WeChat
   * user adding the member, so, like the controls, only this machine may send it (docs/security.md §Sandbox exposure).
   */
  private async serveQr(ctx: Context, rest: string, baseUrl: string, next: Next): Promise<void> {
    if (ctx.method !== 'GET' && ctx.method !== 'POST') return next();
    let form = new URLSearchParams();
    if (ctx.method === 'POST') {
      if (!isLoopbackAddress(ctx.req.socket?.remoteAddress)) {
        ctx.status = 403;
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = '沙箱只接受本机（127.0.0.1 / ::1）模拟客户添加 / the sandbox takes simulated adds from this machine only';
        return;
      }
      form = new URLSearchParams((await readRequestText(ctx)).slice(0, 4096));
    }
    let result;
    try {
      result = await handleQr(this, ctx.method, rest, baseUrl, form);
    } catch (err) {
      if (!(err instanceof AppError && err.expose)) throw err;
      result = { httpStatus: err.status, type: 'html' as const, body: qrErrorPage(err.message) };
    }
    if (!result) return next();
    ctx.status = result.httpStatus;
    if (result.type === 'png') {
      ctx.type = 'image/png';
      // The picture depends only on the config id, which a contact way keeps for life.
      ctx.set('Cache-Control', 'public, max-age=3600');
    } else {
      ctx.type = 'text/html; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
    }
    ctx.body = result.body;
  }

  // ---------------------------------------------------------------- faults, limits, logs

  /** Apply a fault (same shapes as POST /_control/faults). */
  injectFault(spec: FaultSpec): void {
    if ('invalidateTokens' in spec) {
      // WeCom may invalidate tokens early (docs/wecom-protocol.md §Access tokens); clients must refresh on 40014.
      for (const t of this.store.accessTokens.values()) t.isRevoked = true;
      return;
    }
    this.faults.add(spec);
  }

  /** Remove every fault (DELETE /_control/faults). */
  clearFaults(): void {
    this.faults.clear();
  }

  /** The active faults. */
  activeFaults(): ReturnType<FaultInjector['snapshot']> {
    return this.faults.snapshot();
  }

  /** Replace the per-minute limits (and, given `window`, how they are counted). */
  setRateLimits(limits: Record<string, number>, window?: RateWindowSpec): void {
    this.limiter.setLimits(limits, window);
    this.limiter.clear();
  }

  /** Recorded API calls, optionally of one api. */
  calls(api?: string): SandboxCall[] {
    return api ? this.callLog.filter((c) => c.api === api) : [...this.callLog];
  }

  clearCalls(): void {
    this.callLog.length = 0;
  }

  /** Every callback produced so far, with its delivery attempts. */
  callbacks(): CallbackRecord[] {
    return [...this.deliverer.records];
  }

  /** Where callbacks go; settable after the bot has started listening. */
  /**
   * Move WeCom's clock: `at` sets "now" to that instant (kept as an offset, so time still runs), no argument resets.
   * Lets a test run `job run --at <day>` against a WeCom that lives on the same day. Returns WeCom's now.
   */
  setClock(at?: Date): Date {
    this.clockOffsetMs = 0;
    if (at) this.clockOffsetMs = at.getTime() - this.clock.now().getTime();
    return this.clock.now();
  }

  /** Origins the sign-in stand-in may redirect to: PUBLIC_URL's, and the bot's own (where callbacks go). */
  private siteRedirectOrigins(): string[] {
    const origins: string[] = [];
    if (this.siteOrigin) origins.push(this.siteOrigin);
    if (this.callbackUrl) {
      try {
        origins.push(new URL(this.callbackUrl).origin);
      } catch {
        // An unparsable callback URL names no site.
      }
    }
    return origins;
  }

  setCallbackUrl(url: string | undefined): void {
    this.callbackUrl = url;
  }

  getCallbackUrl(): string | undefined {
    return this.callbackUrl;
  }

  /**
   * Encrypt, sign and POST one decrypted callback XML, retrying like WeCom
   * (docs/wecom-protocol.md §Acknowledging callbacks).
   */
  deliverCallback(xml: string): Promise<CallbackRecord> {
    return this.deliverer.deliver(xml);
  }

  // ---------------------------------------------------------------- simulated users

  /**
   * A customer adds a member (directly or via a contact way): relation, welcome code, add_external_contact
   * (docs/wecom-protocol.md §Customer contact events).
   */
  async addCustomer(input: {
    userid?: string;
    state?: string;
    configId?: string;
    name?: string;
    externalUserId?: string;
    addWay?: number;
  }): Promise<{ externalUserId: string; userid: string; welcomeCode: string; callback: CallbackRecord }> {
    let userid = input.userid;
    let state = input.state;
    if (input.configId) {
      const way = this.store.contactWays.get(input.configId);
      if (!way) throw new NotFoundError(`contact way ${input.configId} not found`);
      userid ??= way.user[0];
      if (!way.user.includes(userid ?? '')) throw new ValidationError(`${userid} is not on contact way ${input.configId}`);
      state ??= way.state;
    }
    if (!userid) throw new ValidationError('userid or configId is required');
    if (!this.store.staff.has(userid)) throw new NotFoundError(`staff ${userid} not found`);
    const nowMs = this.nowMs();
    const nowS = Math.floor(nowMs / 1000);
    let externalUserId = input.externalUserId;
    let customer = externalUserId ? this.store.customers.get(externalUserId) : undefined;
    if (!customer) {
      externalUserId ??= this.store.newId('wm', 30);
      customer = {
        externalUserId,
        name: input.name ?? `微信用户${externalUserId.slice(-4)}`,
        type: 1,
        gender: 0,
        avatar: `https://wx.qlogo.cn/mmhead/sandbox/${externalUserId}/0`,
      };
      this.store.customers.set(externalUserId, customer);
    }
    const id = customer.externalUserId;
    const existing = this.store.findRelation(userid, id);
    if (existing && !existing.isDeletedByCustomer) throw new ConflictError(`${id} is already a customer of ${userid}`);
    this.store.putRelation({
      seq: this.store.nextSeq(),
      userid,
      externalUserId: id,
      remark: '',
      description: '',
      remarkMobiles: [],
      createtime: nowS,
      // Scanning a 「联系我」 QR code is add_way 1 (docs/wecom-protocol.md §Customer details).
      addWay: input.addWay ?? 1,
      state,
      // The customer initiated, so oper_userid is the customer's id (docs/wecom-protocol.md §Customer details).
      operUserid: id,
      tagIds: [],
      isDeletedByCustomer: false,
    });
    const welcomeCode = randomBytes(32).toString('base64url');
    this.store.welcomeCodes.set(welcomeCode, { code: welcomeCode, userid, externalUserId: id, issuedAtMs: nowMs });
    const xml = externalContactEventXml({
      corpId: this.options.corp.corpId,
      createTime: nowS,
      changeType: 'add_external_contact',
      userid,
      externalUserId: id,
      state,
      welcomeCode,
    });
    const callback = await this.deliverCallback(xml);
    return { externalUserId: id, userid, welcomeCode, callback };
  }

  /**
   * A customer scans a 群活码 (docs/wecom-protocol.md §Group join ways): they join the first of its groups with room, or a
   * room the code opens when all are full (its `create` event first). The group's `update`/`add_member` event carries
   * JoinScene 3; groupchat/get then shows the member with the code's state. The group greets them with the template its
   * owner applied, if any.
   */
  async joinThroughCode(input: { configId: string; externalUserId?: string; name?: string }): Promise<{
    externalUserId: string;
    chatId: string;
    openedChatId: string | null;
    callbacks: CallbackRecord[];
  }> {
    const nowMs = this.nowMs();
    const nowS = Math.floor(nowMs / 1000);
    let externalUserId = input.externalUserId;
    let customer = externalUserId ? this.store.customers.get(externalUserId) : undefined;
    if (!customer) {
      externalUserId ??= this.store.newId('wm', 30);
      customer = { externalUserId, name: input.name ?? `微信用户${externalUserId.slice(-4)}`, type: 1, gender: 0, avatar: `https://wx.qlogo.cn/mmhead/sandbox/${externalUserId}/0` };
      this.store.customers.set(externalUserId, customer);
    }
    const joined = joinThroughWay(this.store, { configId: input.configId, memberId: customer.externalUserId, name: customer.name, nowS, roomFullSize: this.roomFullSize });
    const corpId = this.options.corp.corpId;
    const callbacks: CallbackRecord[] = [];
    if (joined.openedRoom) callbacks.push(await this.deliverCallback(externalChatEventXml({ corpId, createTime: nowS, chatId: joined.openedRoom.chatId, changeType: 'create' })));
    callbacks.push(
      await this.deliverCallback(
        externalChatEventXml({
          corpId,
          createTime: nowS,
          chatId: joined.chat.chatId,
          changeType: 'update',
          updateDetail: 'add_member',
          joinScene: 3,
          memberIds: [customer.externalUserId],
          lastMemVer: joined.lastMemVer,
          curMemVer: joined.curMemVer,
        }),
      ),
    );
    greetJoiner(this.store, joined.chat.chatId, customer.externalUserId, customer.name, nowMs);
    return { externalUserId: customer.externalUserId, chatId: joined.chat.chatId, openedChatId: joined.openedRoom?.chatId ?? null, callbacks };
  }

  /**
   * The group's owner (or an admin) picks a welcome template for it in the WeCom client; from then on the group greets
   * joiners with it (docs/wecom-protocol.md §Group welcome templates). No callback: WeCom tells the bot nothing.
   */
  applyGroupWelcomeTemplate(input: { userid: string; chatId: string; templateId: string }): { chatId: string; templateId: string } {
    applyWelcomeTemplate(this.store, input);
    return { chatId: input.chatId, templateId: input.templateId };
  }

  /**
   * A member creates a customer group in the client, optionally with customers in it: change_external_chat `create`
   * (docs/wecom-protocol.md §Customer group events), unless `silent` (the bot was not listening).
   */
  async createGroupChat(input: { owner: string; name?: string; externalUserIds?: string[]; notice?: string; silent?: boolean }): Promise<{ chatId: string; callbacks: CallbackRecord[] }> {
    const nowS = Math.floor(this.nowMs() / 1000);
    const chat = createGroup(this.store, { ...input, createTime: nowS });
    const callbacks = input.silent ? [] : [await this.deliverCallback(externalChatEventXml({ corpId: this.options.corp.corpId, createTime: nowS, chatId: chat.chatId, changeType: 'create' }))];
    return { chatId: chat.chatId, callbacks };
  }

  /**
   * Customers join a group (join_scene 1 invited, 2 by link, 3 by QR code): `update`/`add_member` with JoinScene, the
   * ids and the member-list versions, unless `silent`.
   */
  async joinGroupChat(input: { chatId: string; externalUserIds: string[]; joinScene?: 1 | 2 | 3; invitor?: string; state?: string; silent?: boolean }): Promise<{ callbacks: CallbackRecord[] }> {
    const nowS = Math.floor(this.nowMs() / 1000);
    const joinScene = input.joinScene ?? 1;
    const change = addMembers(this.store, { ...input, joinScene, joinTime: nowS });
    if (input.silent) return { callbacks: [] };
    const xml = externalChatEventXml({
      corpId: this.options.corp.corpId,
      createTime: nowS,
      chatId: input.chatId,
      changeType: 'update',
      updateDetail: 'add_member',
      joinScene: eventJoinScene(joinScene),
      memberIds: change.memberIds,
      lastMemVer: change.lastMemVer,
      curMemVer: change.curMemVer,
    });
    return { callbacks: [await this.deliverCallback(xml)] };
  }

  /** Members leave a group (quitScene 0) or are removed (1): `update`/`del_member` with QuitScene, unless `silent`. */
  async leaveGroupChat(input: { chatId: string; memberIds: string[]; quitScene?: 0 | 1; silent?: boolean }): Promise<{ callbacks: CallbackRecord[] }> {
    const nowS = Math.floor(this.nowMs() / 1000);
    const change = removeMembers(this.store, input);
    if (input.silent) return { callbacks: [] };
    const xml = externalChatEventXml({
      corpId: this.options.corp.corpId,
      createTime: nowS,
      chatId: input.chatId,
      changeType: 'update',
      updateDetail: 'del_member',
      quitScene: input.quitScene ?? 0,
      memberIds: change.memberIds,
      lastMemVer: change.lastMemVer,
      curMemVer: change.curMemVer,
    });
    return { callbacks: [await this.deliverCallback(xml)] };
  }

  /**
   * The owner renames the group, posts a notice or hands it to another member: one `update` per change
   * (change_name, change_notice, change_owner), unless `silent`.
   */
  async changeGroupChat(input: { chatId: string; name?: string; notice?: string; owner?: string; silent?: boolean }): Promise<{ callbacks: CallbackRecord[] }> {
    const chat = requireGroup(this.store, input.chatId);
    const details: ('change_name' | 'change_notice' | 'change_owner')[] = [];
    if (input.name !== undefined && input.name !== chat.name) {
      chat.name = input.name;
      details.push('change_name');
    }
    if (input.notice !== undefined && input.notice !== chat.notice) {
      chat.notice = input.notice;
      details.push('change_notice');
    }
    if (input.owner !== undefined && input.owner !== chat.owner) {
      if (!chat.members.some((m) => m.userid === input.owner && m.type === 1)) throw new ValidationError('the new owner must be a staff member in the group');
      chat.owner = input.owner;
      details.push('change_owner');
    }
    if (input.silent) return { callbacks: [] };
    const nowS = Math.floor(this.nowMs() / 1000);
    const callbacks: CallbackRecord[] = [];
    for (const updateDetail of details) {
      callbacks.push(await this.deliverCallback(externalChatEventXml({ corpId: this.options.corp.corpId, createTime: nowS, chatId: input.chatId, changeType: 'update', updateDetail })));
    }
    return { callbacks };
  }

  /** The owner dismisses the group: it is gone from groupchat/list and get (40050); `dismiss`, unless `silent`. */
  async dismissGroupChat(input: { chatId: string; silent?: boolean }): Promise<{ callbacks: CallbackRecord[] }> {
    requireGroup(this.store, input.chatId);
    this.store.groupChats.delete(input.chatId);
    if (input.silent) return { callbacks: [] };
    const nowS = Math.floor(this.nowMs() / 1000);
    return { callbacks: [await this.deliverCallback(externalChatEventXml({ corpId: this.options.corp.corpId, createTime: nowS, chatId: input.chatId, changeType: 'dismiss' }))] };
  }

  /**
   * `joins` customers join and `leaves` leave groups without any callback (the bot was not listening): a full sync must
   * heal them. Returns what changed, so a test can verify the archive afterwards.
   */
  changeMembershipBehindBack(input: { joins: number; leaves: number }): { joins: { chatId: string; memberId: string }[]; leaves: { chatId: string; memberId: string }[] } {
    const picked = pickMembershipChanges(this.store, input);
    const nowS = Math.floor(this.nowMs() / 1000);
    for (const l of picked.leaves) removeMembers(this.store, { chatId: l.chatId, memberIds: [l.memberId] });
    for (const j of picked.joins) addMembers(this.store, { chatId: j.chatId, externalUserIds: [j.memberId], joinScene: 2, joinTime: nowS });
    return picked;
  }

  /** Bulk customer groups for sync tests and benches (no callbacks: they existed before the bot). */
  seedGroupChats(input: { groups: number; membersPerGroup: number }): { groups: number; memberships: number } {
    return seedGroups(this.store, { ...input, nowS: Math.floor(this.nowMs() / 1000) });
  }

  /**
   * The customer deletes the member: a one-way relation remains, del_follow_user fires
   * (docs/wecom-protocol.md §Customer contact events, §Error codes: 84061).
   */
  async customerDeletesStaff(input: { userid: string; externalUserId: string }): Promise<{ callback: CallbackRecord }> {
    const relation = this.requireRelationForControl(input.userid, input.externalUserId);
    relation.isDeletedByCustomer = true;
    return { callback: await this.deliverContactEvent('del_follow_user', input.userid, input.externalUserId) };
  }

  /**
   * The member deletes the customer: the relation ends, del_external_contact fires
   * (docs/wecom-protocol.md §Customer contact events).
   */
  async staffDeletesCustomer(input: { userid: string; externalUserId: string; source?: 'DELETE_BY_TRANSFER' }): Promise<{ callback: CallbackRecord }> {
    this.requireRelationForControl(input.userid, input.externalUserId);
    this.store.removeRelation(input.userid, input.externalUserId);
    return { callback: await this.deliverContactEvent('del_external_contact', input.userid, input.externalUserId, { source: input.source }) };
  }

  /**
   * The member edits remark/description/tags in the client: edit_external_contact, no detail
   * (docs/wecom-protocol.md §Customer contact events, §Follow relations).
   */
  async editRelation(input: {
    userid: string;
    externalUserId: string;
    addTags?: string[];
    removeTags?: string[];
    remark?: string;
    description?: string;
  }): Promise<{ tagIds: string[]; callback: CallbackRecord }> {
    const relation = this.requireRelationForControl(input.userid, input.externalUserId);
    const add = (input.addTags ?? []).map((t) => this.resolveTag(t).id);
    const remove = new Set((input.removeTags ?? []).map((t) => this.resolveTag(t).id));
    relation.tagIds = [...new Set([...relation.tagIds, ...add])].filter((id) => !remove.has(id));
    if (input.remark !== undefined) relation.remark = input.remark;
    if (input.description !== undefined) relation.description = input.description;
    const callback = await this.deliverContactEvent('edit_external_contact', input.userid, input.externalUserId);
    return { tagIds: [...relation.tagIds], callback };
  }

  /**
   * An admin changes the tag library in the console: change_external_tag per changed tag/group
   * (docs/wecom-protocol.md §Tag library events).
   */
  async changeTag(input: {
    action: 'create' | 'update' | 'delete';
    id?: string;
    groupId?: string;
    groupName?: string;
    name?: string;
    names?: string[];
    order?: number;
  }): Promise<{ ids: string[]; callbacks: CallbackRecord[] }> {
    const events: Array<{ id: string; tagType: 'tag' | 'tag_group'; changeType: 'create' | 'update' | 'delete' }> = [];
    try {
      if (input.action === 'create') {
        const names = input.names ?? (input.name ? [input.name] : []);
        const { group, created, isGroupNew } = createCorpTags(this.ctxFor(''), {
          groupId: input.groupId,
          groupName: input.groupName,
          tags: names.map((name) => ({ name, order: input.order })),
        });
        // A console-created group with tags emits several events in the same second
        // (docs/wecom-protocol.md §Tag library events).
        if (isGroupNew) events.push({ id: group.groupId, tagType: 'tag_group', changeType: 'create' });
        for (const t of created) events.push({ id: t.id, tagType: 'tag', changeType: 'create' });
      } else {
        if (!input.id) throw new ValidationError('id is required');
        if (input.action === 'update') {
          const { kind } = editCorpTag(this.ctxFor(''), input.id, input.name, input.order);
          events.push({ id: input.id, tagType: kind, changeType: 'update' });
        } else {
          const isGroup = this.store.findTagGroup(input.id) !== undefined;
          deleteCorpTags(this.ctxFor(''), isGroup ? [] : [input.id], isGroup ? [input.id] : []);
          events.push({ id: input.id, tagType: isGroup ? 'tag_group' : 'tag', changeType: 'delete' });
        }
      }
    } catch (err) {
      if (err instanceof SandboxApiError) throw new ValidationError(err.message, { errcode: err.errcode });
      throw err;
    }
    const createTime = Math.floor(this.nowMs() / 1000);
    const callbacks: CallbackRecord[] = [];
    for (const e of events) {
      callbacks.push(await this.deliverCallback(externalTagEventXml({ corpId: this.options.corp.corpId, createTime, ...e })));
    }
    return { ids: events.map((e) => e.id), callbacks };
  }

  /**
   * A WeChat customer writes to a KF account: stored for kf/sync_msg, then kf_msg_or_event with a pull Token
   * (docs/wecom-protocol.md §WeChat customer service).
   */
  async sendKfMessage(input: { openKfId: string; externalUserId?: string; text: string }): Promise<{ msgid: string; token: string; externalUserId: string; callback: CallbackRecord }> {
    const nowMs = this.nowMs();
    const externalUserId = input.externalUserId ?? this.store.newId('wm', 30);
    const msgid = this.store.newId('kfmsg', 24);
    this.store.kfMessages.push({
      seq: this.store.nextSeq(),
      msgid,
      openKfId: input.openKfId,
      externalUserId,
      sendTime: Math.floor(nowMs / 1000),
      origin: 3,
      msgtype: 'text',
      body: { content: input.text },
    });
    // A message after the end (or before any start) opens a new, untouched session
    // (docs/wecom-protocol.md §KF sessions and event replies).
    const key = kfSessionKey(input.openKfId, externalUserId);
    const session = this.store.kfSessions.get(key);
    if (!session || session.state === 4) this.store.kfSessions.set(key, { state: 0 });
    const { token, callback } = await this.notifyKf(input.openKfId, nowMs);
    return { msgid, token, externalUserId, callback };
  }

  /**
   * A servicer ends a customer's KF session: the session goes to state 4 and kf/sync_msg gains a system event
   * `session_status_change` (change_type 3) whose `msg_code` lets one event reply through within 20 s; then
   * kf_msg_or_event (docs/wecom-protocol.md §KF sessions and event replies).
   */
  async endKfSession(input: { openKfId: string; externalUserId: string; servicerUserid?: string }): Promise<{ msgid: string; msgCode: string; callback: CallbackRecord }> {
    const key = kfSessionKey(input.openKfId, input.externalUserId);
    const session = this.store.kfSessions.get(key);
    if (!session) throw new NotFoundError(`no KF conversation between ${input.openKfId} and ${input.externalUserId}`);
    if (session.state === 4) throw new ConflictError('the KF session has already ended');
    const nowMs = this.nowMs();
    const servicer = input.servicerUserid ?? session.servicerUserid;
    this.store.kfSessions.set(key, { state: 4 });
    const msgCode = `MSGCODE${randomBytes(18).toString('base64url')}`;
    this.store.kfEventCodes.set(msgCode, { code: msgCode, openKfId: input.openKfId, externalUserId: input.externalUserId, state: 4, issuedAtMs: nowMs, isUsed: false });
    const msgid = this.store.newId('kfevt', 24);
    this.store.kfMessages.push({
      seq: this.store.nextSeq(),
      msgid,
      openKfId: input.openKfId,
      externalUserId: input.externalUserId,
      sendTime: Math.floor(nowMs / 1000),
      origin: 4,
      msgtype: 'event',
      body: {
        event_type: 'session_status_change',
        open_kfid: input.openKfId,
        external_userid: input.externalUserId,
        change_type: 3,
        ...(servicer ? { old_servicer_userid: servicer } : {}),
        msg_code: msgCode,
      },
    });
    const { callback } = await this.notifyKf(input.openKfId, nowMs);
    return { msgid, msgCode, callback };
  }

  /** kf_msg_or_event with a fresh pull Token (valid 10 minutes, docs/wecom-protocol.md §WeChat customer service). */
  private async notifyKf(openKfId: string, nowMs: number): Promise<{ token: string; callback: CallbackRecord }> {
    const token = `ENC${randomBytes(33).toString('base64url')}`;
    this.store.kfTokens.set(token, { token, openKfId, issuedAtMs: nowMs });
    const callback = await this.deliverCallback(kfEventXml({ corpId: this.options.corp.corpId, createTime: Math.floor(nowMs / 1000), token, openKfId }));
    return { token, callback };
  }

  /**
   * The reminders remind_groupmsg_send delivered, newest task first, optionally of one task: when, and which members
   * (those who had not sent) got them (docs/wecom-protocol.md §Reminding members of a mass message).
   */
  groupMsgReminders(msgid?: string): { msgid: string; reminders: { at: string; userids: string[] }[] }[] {
    return [...this.store.massTasks.values()]
      .filter((t) => (msgid ? t.msgid === msgid : t.reminders.length > 0))
      .reverse()
      .map((t) => ({ msgid: t.msgid, reminders: t.reminders.map((r) => ({ at: new Date(r.atMs).toISOString(), userids: r.userids })) }));
  }

  /**
   * A member confirms a mass-send task in the client; quota-exceeded customers get status 3
   * (docs/wecom-protocol.md §Mass message results, §Mass message quota).
   */
  confirmGroupMsg(input: { msgid: string; userid?: string }): ConfirmOutcome {
    try {
      return confirmMassTask(this.ctxFor(''), input.msgid, input.userid);
    } catch (err) {
      if (err instanceof SandboxApiError) {
        if (err.errcode === Errcode.GroupMsgCancelled) throw new ConflictError(err.message, 'task_cancelled');
        throw new NotFoundError(err.message);
      }
      throw err;
    }
  }

  /**
   * A member sends a mass message to their own customer groups from the client (create_type 1): it goes out at once
   * and uses each group's quota (docs/wecom-protocol.md §Mass message quota). 400 for a group they do not own.
   */
  memberGroupSend(input: { userid: string; chatIds?: string[]; text: string }): MemberSendOutcome {
    try {
      return memberGroupSend(this.ctxFor(''), input);
    } catch (err) {
      if (err instanceof SandboxApiError) throw new ValidationError(`${err.errcode}: ${err.message}`);
      throw err;
    }
  }

  /** The admin changes 设置群发规则 (docs/wecom-protocol.md §Mass message quota): customers and groups alike. */
  setMassQuota(rule: MassQuotaRule): MassQuotaRule {
    this.options.massQuota = rule;
    return rule;
  }

  /**
   * An admin moves a member out of (or back into) the app's visible range: user/get then answers 60011 for them
   * (docs/wecom-protocol.md §Error codes). Returns the member's new visibility.
   */
  setStaffVisibility(input: { userid: string; visible: boolean }): { userid: string; visible: boolean } {
    const member = this.store.staff.get(input.userid);
    if (!member) throw new NotFoundError(`staff ${input.userid} not found`);
    member.isOutsideVisibleRange = !input.visible;
    return { userid: input.userid, visible: input.visible };
  }

  /**
   * Issue an OAuth2 code as the WeCom client would on redirect (docs/wecom-protocol.md §Staff sign-in for web pages).
   */
  issueOauthCode(userid: string): string {
    if (!this.store.staff.has(userid)) throw new NotFoundError(`staff ${userid} not found`);
    const code = randomBytes(24).toString('base64url');
    this.store.oauthCodes.set(code, { code, userid, issuedAtMs: this.nowMs(), isUsed: false });
    return code;
  }

  /**
   * Issue an OAuth2 code for someone who is not a member: auth/getuserinfo then answers `openid` (and
   * `external_userid` when given), never a userid (docs/wecom-protocol.md §Staff sign-in for web pages).
   */
  issueExternalOauthCode(input: { externalUserId?: string } = {}): string {
    const code = randomBytes(24).toString('base64url');
    const openid = `o${randomBytes(14).toString('base64url')}`;
    this.store.oauthCodes.set(code, { code, openid, externalUserId: input.externalUserId, issuedAtMs: this.nowMs(), isUsed: false });
    return code;
  }

  /**
   * Check a JS-SDK signature the way the WeCom client checks wx.config (`config`, corp ticket) or wx.agentConfig
   * (`agentConfig`, app ticket) against the tickets this sandbox issued and that are still valid
   * (docs/wecom-protocol.md §JS-SDK tickets and signatures). 40093 (jsapi签名错误) when no such ticket signs it, e.g. when
   * the corp ticket signed an agentConfig.
   */
  verifyJsapiSignature(input: { kind: 'config' | 'agentConfig'; url: string; timestamp: number | string; nonceStr: string; signature: string }): { ok: boolean; errcode: number } {
    const kind = input.kind === 'config' ? 'corp' : 'agent';
    const now = this.nowMs();
    for (const t of this.store.jsapiTickets.values()) {
      if (t.kind !== kind || t.expiresAtMs <= now) continue;
      if (jsapiSignature({ ticket: t.ticket, nonceStr: input.nonceStr, timestamp: input.timestamp, url: input.url }) === input.signature) return { ok: true, errcode: 0 };
    }
    return { ok: false, errcode: 40093 };
  }

  /**
   * An admin changes a member's account (userid), which WeCom allows once: the member and their customer
   * relations answer to the new userid from now on, and the 通讯录 callback carries NewUserID
   * (docs/wecom-protocol.md §Member events).
   */
  async renameStaff(input: { userid: string; newUserid: string }): Promise<{ callback: CallbackRecord }> {
    const member = this.store.staff.get(input.userid);
    if (!member) throw new NotFoundError(`staff ${input.userid} not found`);
    if (this.store.staff.has(input.newUserid)) throw new ValidationError(`userid ${input.newUserid} is taken`);
    this.store.staff.delete(input.userid);
    this.store.staff.set(input.newUserid, { ...member, userid: input.newUserid });
    for (const r of this.store.relationsOfUser(input.userid)) {
      this.store.removeRelation(r.userid, r.externalUserId);
      this.store.putRelation({ ...r, userid: input.newUserid, operUserid: r.operUserid === input.userid ? input.newUserid : r.operUserid });
    }
    const xml = contactUserUpdateXml({ corpId: this.options.corp.corpId, createTime: Math.floor(this.nowMs() / 1000), userid: input.userid, newUserid: input.newUserid });
    return { callback: await this.deliverCallback(xml) };
  }

  /** A member leaves the corp (离职): their customers wait for 离职继承 (docs/wecom-protocol.md §Customer transfers). */
  resignStaff(input: { userid: string }): { userid: string; resignedAt: string } {
    const member = this.store.staff.get(input.userid);
    if (!member) throw new NotFoundError(`staff ${input.userid} not found`);
    member.resignedAtMs ??= this.nowMs();
    // Their groups are listed with status 1 (群主离职) until they are inherited (docs/wecom-protocol.md §Group transfers).
    for (const chat of this.store.groupChats.values()) if (chat.owner === member.userid && chat.status === 0) chat.status = 1;
    return { userid: member.userid, resignedAt: new Date(member.resignedAtMs).toISOString() };
  }

  /** Every transfer WeCom knows, oldest first (GET /_control/transfers). */
  transfers(): SandboxTransfer[] {
    return this.store.transfers.map((t) => ({ ...t }));
  }

  /**
   * Complete every waiting transfer whose 24 h have passed on WeCom's clock
   * (docs/wecom-protocol.md §Customer transfers).
   */
  async settleDueTransfers(): Promise<SandboxTransfer[]> {
    const now = this.nowMs();
    return this.completeTransfers(this.store.transfers.filter((t) => t.status === 2 && t.takeoverAtMs <= now));
  }

  /** Complete waiting transfers now, without waiting 24 h: all of them, or one customer's (POST /_control/transfers/complete). */
  async completeWaitingTransfers(input: { externalUserId?: string } = {}): Promise<SandboxTransfer[]> {
    const due = this.store.transfers.filter((t) => t.status === 2 && (input.externalUserId === undefined || t.externalUserId === input.externalUserId));
    for (const t of due) t.takeoverAtMs = Math.min(t.takeoverAtMs, this.nowMs());
    return this.completeTransfers(due);
  }

  /**
   * The takeover of a waiting transfer fails: the customer refused (在职继承 only lets the customer decline) or the
   * taker has too many customers. transfer_result then answers 3 / 4 and WeCom sends transfer_fail with the taker's
   * UserID (docs/wecom-protocol.md §Customer contact events; WeCom's answer on the developer forum: the UserID is the
   * takeover member's).
   */
  async failTransfer(input: { externalUserId: string; reason: 'customer_refused' | 'customer_limit_exceed' }): Promise<{ transfer: SandboxTransfer; callback: CallbackRecord }> {
    const t = this.store.transfers.find((x) => x.externalUserId === input.externalUserId && x.status === 2);
    if (!t) throw new NotFoundError(`no waiting transfer of ${input.externalUserId}`);
    if (input.reason === 'customer_refused' && t.kind !== 'onjob') throw new ValidationError('only an on-job (在职继承) transfer can be refused by the customer');
    t.status = input.reason === 'customer_refused' ? 3 : 4;
    const callback = await this.deliverCallback(
      externalContactEventXml({
        corpId: this.options.corp.corpId,
        createTime: Math.floor(this.nowMs() / 1000),
        changeType: 'transfer_fail',
        failReason: input.reason,
        userid: t.takeover,
        externalUserId: t.externalUserId,
      }),
    );
    return { transfer: { ...t }, callback };
  }

  /**
   * Take customers over: the taker gets the relation (add_way 202 管理员/负责人分配, docs/wecom-protocol.md §Customer details)
   * and, unless the customer already was their friend, add_external_contact; the handover loses it, and for 在职继承 gets
   * del_external_contact with Source DELETE_BY_TRANSFER (docs/wecom-protocol.md §Customer contact events). The add goes
   * first, so the customer is never without a follower in between. Statuses change before any callback is awaited, so
   * concurrent calls settle each once.
   */
  private async completeTransfers(due: SandboxTransfer[]): Promise<SandboxTransfer[]> {
    const events: Array<{ change: 'add_external_contact' | 'del_external_contact'; userid: string; ext: string; source?: string }> = [];
    for (const t of due) {
      if (t.status !== 2) continue;
      t.status = 1;
      const nowS = Math.floor(t.takeoverAtMs / 1000);
      const taker = this.store.findRelation(t.takeover, t.externalUserId);
      // "如果接替成员在转接前已成为客户好友,则不会触发添加企业客户事件" (doc path/92125).
      if (!taker || taker.isDeletedByCustomer) {
        this.store.putRelation({
          seq: this.store.nextSeq(),
          userid: t.takeover,
          externalUserId: t.externalUserId,
          remark: '',
          description: '',
          remarkMobiles: [],
          createtime: nowS,
          addWay: 202,
          operUserid: t.takeover,
          tagIds: [],
          isDeletedByCustomer: false,
        });
        events.push({ change: 'add_external_contact', userid: t.takeover, ext: t.externalUserId });
      }
      this.store.removeRelation(t.handover, t.externalUserId);
      if (t.kind === 'onjob') events.push({ change: 'del_external_contact', userid: t.handover, ext: t.externalUserId, source: 'DELETE_BY_TRANSFER' });
    }
    const createTime = Math.floor(this.nowMs() / 1000);
    for (const e of events) {
      await this.deliverCallback(
        externalContactEventXml({ corpId: this.options.corp.corpId, createTime, changeType: e.change, userid: e.userid, externalUserId: e.ext, source: e.source }),
      );
    }
    return due.map((t) => ({ ...t }));
  }

  /** Forget all state, faults, limits, calls and callbacks. */
  reset(): void {
    this.store.reset();
    this.faults.clear();
    this.limiter.clear();
    this.callLog.length = 0;
    this.deliverer.clear();
  }

  /** Reset and load the demo corp (5 staff, 200 customers, a tag library). */
  seed(): SeedSummary {
    this.reset();
    return seedDemoCorp(this.store, this.nowMs());
  }

  /** Add `n` customers quickly (no callbacks), spread over the existing staff; seeds staff first if there are none. */
  seedLarge(n: number): SeedSummary {
    return seedLargeCorp(this.store, this.nowMs(), n);
  }

  private requireRelationForControl(userid: string, externalUserId: string) {
    const relation = this.store.findRelation(userid, externalUserId);
    if (!relation) throw new NotFoundError(`no relation between ${userid} and ${externalUserId}`);
    return relation;
  }

  /** Accept a tag id, or a tag name when it is unique in the library. */
  private resolveTag(idOrName: string): SandboxTag {
    const byId = this.store.findTag(idOrName);
    if (byId && !byId.isDeleted) return byId;
    const byName = this.store.tagGroups.flatMap((g) => g.tags).filter((t) => !t.isDeleted && t.name === idOrName);
    if (byName.length !== 1) throw new ValidationError(`unknown or ambiguous tag ${idOrName}`);
    return byName[0];
  }

  private deliverContactEvent(
    changeType: 'del_follow_user' | 'del_external_contact' | 'edit_external_contact',
    userid: string,
    externalUserId: string,
    extra: { source?: string } = {},
  ): Promise<CallbackRecord> {
    return this.deliverCallback(
      externalContactEventXml({
        corpId: this.options.corp.corpId,
        createTime: Math.floor(this.nowMs() / 1000),
        changeType,
        userid,
        externalUserId,
        source: extra.source,
      }),
    );
  }
}

/**
 * True when a TCP peer address is this machine: 127.0.0.0/8, ::1, or an IPv4-mapped 127.x. `undefined` (a socket
 * already destroyed) is not.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  return address === '::1' || address === '0:0:0:0:0:0:0:1';
}
