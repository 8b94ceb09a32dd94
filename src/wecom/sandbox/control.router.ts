import { z } from 'zod';
import { AppError, NotFoundError, ValidationError, toError } from '../../shared/errors.js';
import type { SandboxResponse, WecomSandbox } from './sandbox.js';

/**
 * The sandbox's control plane under `/_control/...`: simulate customers, staff and admins, inject faults,
 * read the call log. Requests and responses are camelCase JSON (our API, not WeCom's); errors use the
 * admin API's `{ error: { code, message } }` shape (CONTRACT "HTTP").
 */

const nonEmpty = z.string().min(1);

const schemas = {
  addCustomer: z.object({
    userid: nonEmpty.optional(),
    state: z.string().max(30).optional(),
    configId: nonEmpty.optional(),
    name: nonEmpty.optional(),
    externalUserId: nonEmpty.optional(),
    addWay: z.number().int().optional(),
  }),
  relation: z.object({ userid: nonEmpty, externalUserId: nonEmpty }),
  staffDeletes: z.object({ userid: nonEmpty, externalUserId: nonEmpty, source: z.literal('DELETE_BY_TRANSFER').optional() }),
  editRelation: z.object({
    userid: nonEmpty,
    externalUserId: nonEmpty,
    addTags: z.array(nonEmpty).optional(),
    removeTags: z.array(nonEmpty).optional(),
    remark: z.string().optional(),
    description: z.string().optional(),
  }),
  changeTag: z.object({
    action: z.enum(['create', 'update', 'delete']),
    id: nonEmpty.optional(),
    groupId: nonEmpty.optional(),
    groupName: nonEmpty.optional(),
    name: nonEmpty.optional(),
    names: z.array(nonEmpty).optional(),
    order: z.number().int().min(0).optional(),
  }),
  kfMessage: z.object({ openKfId: nonEmpty, externalUserId: nonEmpty.optional(), text: nonEmpty }),
  kfSessionEnd: z.object({ openKfId: nonEmpty, externalUserId: nonEmpty, servicerUserid: nonEmpty.optional() }),
  confirm: z.object({ msgid: nonEmpty, userid: nonEmpty.optional() }),
  memberSend: z.object({ userid: nonEmpty, chatIds: z.array(nonEmpty).optional(), text: nonEmpty }),
  // A member's code (userid), or a non-member's (external: true, optionally an external_userid),
  // docs/wecom-protocol.md §Staff sign-in for web pages.
  oauth: z.union([z.object({ userid: nonEmpty }), z.object({ external: z.literal(true), externalUserId: nonEmpty.optional() })]),
  chatMessage: z.object({
    externalUserId: nonEmpty.nullish(),
    chatId: nonEmpty.nullish(),
    message: z.looseObject({ msgtype: z.enum(['text', 'image', 'video', 'file', 'news', 'miniprogram']) }),
  }),
  jssdkVerify: z.object({
    kind: z.enum(['config', 'agentConfig']),
    url: nonEmpty,
    timestamp: z.union([z.number().int(), nonEmpty]),
    nonceStr: nonEmpty,
    signature: nonEmpty,
  }),
  visibility: z.object({ userid: nonEmpty, visible: z.boolean() }),
  resign: z.object({ userid: nonEmpty }),
  rename: z.object({ userid: nonEmpty, newUserid: nonEmpty }),
  transferComplete: z.object({ externalUserId: nonEmpty.optional() }),
  transferFail: z.object({ externalUserId: nonEmpty, reason: z.enum(['customer_refused', 'customer_limit_exceed']).default('customer_refused') }),
  seed: z.object({ large: z.number().int().min(1).max(200_000).optional() }),
  fault: z.union([
    z.object({ api: nonEmpty, errcode: z.number().int(), count: z.number().int().min(1) }),
    z.object({ errorRate: z.number().min(0).max(1), api: nonEmpty.optional() }),
    z.object({ latencyMs: z.number().int().min(0).max(60_000), api: nonEmpty.optional() }),
    z.object({ api: nonEmpty, loseAnswer: z.number().int().min(1) }),
    z.object({ invalidateTokens: z.literal(true) }),
  ]),
  callback: z.object({ xml: nonEmpty }),
  joinByCode: z.object({ configId: nonEmpty, externalUserId: nonEmpty.optional(), name: nonEmpty.max(64).optional() }),
  applyWelcome: z.object({ userid: nonEmpty, chatId: nonEmpty, templateId: nonEmpty }),
  // `silent`: the change happens in WeCom but no callback reaches the bot (a full sync must heal it).
  groupCreate: z.object({ owner: nonEmpty, name: z.string().max(100).optional(), externalUserIds: z.array(nonEmpty).max(1999).optional(), notice: z.string().optional(), silent: z.boolean().optional() }),
  groupJoin: z.object({
    chatId: nonEmpty,
    externalUserIds: z.array(nonEmpty).min(1).max(1999),
    joinScene: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
    invitor: nonEmpty.optional(),
    state: z.string().max(30).optional(),
    silent: z.boolean().optional(),
  }),
  groupLeave: z.object({ chatId: nonEmpty, memberIds: z.array(nonEmpty).min(1), quitScene: z.union([z.literal(0), z.literal(1)]).optional(), silent: z.boolean().optional() }),
  groupChange: z.object({ chatId: nonEmpty, name: z.string().max(100).optional(), notice: z.string().optional(), owner: nonEmpty.optional(), silent: z.boolean().optional() }),
  groupDismiss: z.object({ chatId: nonEmpty, silent: z.boolean().optional() }),
  groupBehindBack: z.object({ joins: z.number().int().min(0).max(10_000), leaves: z.number().int().min(0).max(10_000) }),
  groupSeed: z.object({ groups: z.number().int().min(1).max(20_000), membersPerGroup: z.number().int().min(0).max(1999) }),
  config: z.object({
    callbackUrl: z.url().nullable().optional(),
    rateLimits: z.record(z.string(), z.number().int().min(1)).optional(),
    /** With rateLimits: the window they count over (ms) and whether it is aligned to the clock (docs/rate-limits.md). */
    rateWindowMs: z.number().int().min(100).max(3_600_000).optional(),
    rateWindowAligned: z.boolean().optional(),
    /** Members at which a 群活码 counts a group full (docs/wecom-protocol.md §Group join ways). */
    roomFullSize: z.number().int().min(2).max(2000).optional(),
    /** 设置群发规则: the per-customer and per-group mass-message quota (docs/wecom-protocol.md §Mass message quota). */
    massQuota: z.enum(['days_of_month', 'seven_per_week', 'one_per_day']).optional(),
  }),
};

type Handler = (sandbox: WecomSandbox, body: unknown, query: Record<string, string>) => unknown;

/** Strip the decrypted XML's delivery detail down to what a test or operator needs. */
function presentCallback(r: { id: number; status: string; attempts: Array<{ httpStatus?: number; ms?: number; error?: string }> }) {
  return { id: r.id, status: r.status, attempts: r.attempts.length, lastHttpStatus: r.attempts.at(-1)?.httpStatus, lastMs: r.attempts.at(-1)?.ms };
}

const routes: Record<string, Handler> = {
  'POST customers/add': async (s, body) => {
    const result = await s.addCustomer(schemas.addCustomer.parse(body));
    return { externalUserId: result.externalUserId, userid: result.userid, welcomeCode: result.welcomeCode, callback: presentCallback(result.callback) };
  },
  'POST customers/delete-staff': async (s, body) => presentCallback((await s.customerDeletesStaff(schemas.relation.parse(body))).callback),
  'POST staff/delete-customer': async (s, body) => presentCallback((await s.staffDeletesCustomer(schemas.staffDeletes.parse(body))).callback),
  'POST relations/edit': async (s, body) => {
    const result = await s.editRelation(schemas.editRelation.parse(body));
    return { tagIds: result.tagIds, callback: presentCallback(result.callback) };
  },
  'POST tags/change': async (s, body) => {
    const result = await s.changeTag(schemas.changeTag.parse(body));
    return { ids: result.ids, callbacks: result.callbacks.map(presentCallback) };
  },
  'POST kf/message': async (s, body) => {
    const result = await s.sendKfMessage(schemas.kfMessage.parse(body));
    return { msgid: result.msgid, token: result.token, externalUserId: result.externalUserId, callback: presentCallback(result.callback) };
  },
  'POST kf/session-end': async (s, body) => {
    const result = await s.endKfSession(schemas.kfSessionEnd.parse(body));
    return { msgid: result.msgid, msgCode: result.msgCode, callback: presentCallback(result.callback) };
  },
  // A customer scans a 群活码 (docs/wecom-protocol.md §Group join ways).
  'POST groups/join-by-code': async (s, body) => {
    const result = await s.joinThroughCode(schemas.joinByCode.parse(body));
    return { externalUserId: result.externalUserId, chatId: result.chatId, openedChatId: result.openedChatId, callbacks: result.callbacks.map(presentCallback) };
  },
  // Customer groups as people change them in the client (docs/wecom-protocol.md §Customer group events).
  'POST groups/create': async (s, body) => {
    const r = await s.createGroupChat(schemas.groupCreate.parse(body));
    return { chatId: r.chatId, callbacks: r.callbacks.map(presentCallback) };
  },
  'POST groups/join': async (s, body) => ({ callbacks: (await s.joinGroupChat(schemas.groupJoin.parse(body))).callbacks.map(presentCallback) }),
  'POST groups/leave': async (s, body) => ({ callbacks: (await s.leaveGroupChat(schemas.groupLeave.parse(body))).callbacks.map(presentCallback) }),
  'POST groups/change': async (s, body) => ({ callbacks: (await s.changeGroupChat(schemas.groupChange.parse(body))).callbacks.map(presentCallback) }),
  'POST groups/dismiss': async (s, body) => ({ callbacks: (await s.dismissGroupChat(schemas.groupDismiss.parse(body))).callbacks.map(presentCallback) }),
  'POST groups/behind-back': (s, body) => s.changeMembershipBehindBack(schemas.groupBehindBack.parse(body)),
  'POST groups/seed': (s, body) => s.seedGroupChats(schemas.groupSeed.parse(body)),
  // How many groups WeCom holds and their members (a bench checks the archive against it).
  'GET groups/count': (s) => ({ groups: s.store.groupChats.size, memberships: [...s.store.groupChats.values()].reduce((n, c) => n + c.members.length, 0) }),
  // A group owner applies a welcome template in the client (docs/wecom-protocol.md §Group welcome templates).
  'POST groups/apply-welcome-template': (s, body) => s.applyGroupWelcomeTemplate(schemas.applyWelcome.parse(body)),
  'GET groups/welcomes': (s, _body, query) => ({
    applied: Object.fromEntries(s.store.groupWelcomeApplied),
    items: s.store.groupWelcomeSent.filter((w) => !query.chatId || w.chatId === query.chatId),
  }),
  // The customer groups WeCom holds, for a test or an operator to pick from (owner, name, members).
  'GET groups': (s) => ({
    items: [...s.store.groupChats.values()].map((g) => ({ chatId: g.chatId, name: g.name, owner: g.owner, status: g.status, members: g.members.length })),
  }),
  'POST groupmsg/confirm': (s, body) => s.confirmGroupMsg(schemas.confirm.parse(body)),
  'POST groupmsg/member-send': (s, body) => s.memberGroupSend(schemas.memberSend.parse(body)),
  'GET groupmsg/reminders': (s, _body, query) => ({ items: s.groupMsgReminders(query.msgid || undefined) }),
  'POST oauth/code': (s, body) => {
    const who = schemas.oauth.parse(body);
    return { code: 'userid' in who ? s.issueOauthCode(who.userid) : s.issueExternalOauthCode({ externalUserId: who.externalUserId }) };
  },
  // What the WeCom client does with the signatures a page passes to wx.config / wx.agentConfig
  // (docs/wecom-protocol.md §JS-SDK tickets and signatures).
  'POST jssdk/verify': (s, body) => s.verifyJsapiSignature(schemas.jssdkVerify.parse(body)),
  // The sidebar's JS-SDK test mode (/sidebar/assets/ww-test.js): ww.sendChatMessage lands here instead of a chat.
  'POST jssdk/chat-message': (s, body) => {
    const m = schemas.chatMessage.parse(body);
    return s.recordChatMessage({ externalUserId: m.externalUserId ?? null, chatId: m.chatId ?? null, message: m.message });
  },
  'GET jssdk/chat-messages': (s, _body, query) => ({ items: s.store.chatMessages.filter((m) => !query.externalUserId || m.externalUserId === query.externalUserId) }),
  'POST staff/visibility': (s, body) => s.setStaffVisibility(schemas.visibility.parse(body)),
  // 客户继承 (docs/wecom-protocol.md §Customer transfers): a member leaves; waiting takeovers complete now (instead of
  // after 24 h) or fail.
  'POST staff/resign': (s, body) => s.resignStaff(schemas.resign.parse(body)),
  'POST staff/rename': (s, body) => s.renameStaff(schemas.rename.parse(body)),
  'GET transfers': (s) => ({ items: s.transfers() }),
  'POST transfers/complete': async (s, body) => ({ items: await s.completeWaitingTransfers(schemas.transferComplete.parse(body ?? {})) }),
  'POST transfers/settle': async (s) => ({ items: await s.settleDueTransfers() }),
  'POST transfers/fail': async (s, body) => {
    const result = await s.failTransfer(schemas.transferFail.parse(body));
    return { transfer: result.transfer, callback: presentCallback(result.callback) };
  },
  'POST clock': (s, body) => {
    const { at } = z.object({ at: z.string().datetime({ offset: true }).optional() }).parse(body ?? {});
    return { now: s.setClock(at ? new Date(at) : undefined).toISOString() };
  },
  'POST reset': (s) => {
    s.reset();
    return { ok: true };
  },
  'POST seed': (s, body) => {
    const { large } = schemas.seed.parse(body ?? {});
    const summary = s.seed();
    return large ? s.seedLarge(large) : summary;
  },
  'GET faults': (s) => s.activeFaults(),
  'POST faults': (s, body) => {
    s.injectFault(schemas.fault.parse(body));
    return s.activeFaults();
  },
  'DELETE faults': (s) => {
    s.clearFaults();
    return { ok: true };
  },
  'GET calls': (s, _body, query) => ({ items: s.calls(query.api || undefined) }),
  'DELETE calls': (s) => {
    s.clearCalls();
    return { ok: true };
  },
  'GET callbacks': (s) => ({ items: s.callbacks() }),
  'POST callbacks': async (s, body) => presentCallback(await s.deliverCallback(schemas.callback.parse(body).xml)),
  'GET config': (s) => ({ callbackUrl: s.getCallbackUrl() ?? null, corpId: s.options.corp.corpId, agentId: s.options.corp.agentId, roomFullSize: s.roomFullSize, massQuota: s.options.massQuota }),
  'POST config': (s, body) => {
    const cfg = schemas.config.parse(body);
    if (cfg.callbackUrl !== undefined) s.setCallbackUrl(cfg.callbackUrl ?? undefined);
    if (cfg.rateLimits) s.setRateLimits(cfg.rateLimits, { windowMs: cfg.rateWindowMs, aligned: cfg.rateWindowAligned });
    if (cfg.roomFullSize !== undefined) s.roomFullSize = cfg.roomFullSize;
    if (cfg.massQuota) s.setMassQuota(cfg.massQuota);
    return { callbackUrl: s.getCallbackUrl() ?? null, roomFullSize: s.roomFullSize, massQuota: s.options.massQuota };
  },
  'GET sent': (s) => ({
    welcomeMessages: s.store.welcomeSent,
    appMessages: s.store.appMessages,
    kfMessages: s.store.kfSent,
  }),
  'GET summary': (s) => ({
    staff: s.store.staff.size,
    customers: s.store.customers.size,
    relations: s.store.allRelations().length,
    tags: s.store.liveTagCount(),
    contactWays: s.store.contactWays.size,
    massTasks: s.store.massTasks.size,
  }),
};

/** Route one control request. */
export async function handleControl(
  sandbox: WecomSandbox,
  method: string,
  path: string,
  query: Record<string, string>,
  body: unknown,
): Promise<SandboxResponse> {
  const route = routes[`${method.toUpperCase()} ${path.replace(/\/$/, '')}`];
  try {
    if (!route) throw new NotFoundError(`no control endpoint ${method} /_control/${path}`);
    if (body === undefined && method.toUpperCase() === 'POST') throw new ValidationError('body is not valid JSON');
    const result = await route(sandbox, body ?? {}, query);
    return { httpStatus: 200, body: result as Record<string, unknown> };
  } catch (err) {
    if (err instanceof z.ZodError) {
      return { httpStatus: 400, body: { error: { code: 'validation_error', message: z.prettifyError(err) } } };
    }
    if (err instanceof AppError && err.expose) {
      return { httpStatus: err.status, body: { error: { code: err.code, message: err.message } } };
    }
    throw toError(err);
  }
}
