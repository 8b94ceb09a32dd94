/**
 * Per-API policy for the WeCom client: which calls may be retried after an unknown outcome, and the
 * default rate and concurrency limits. One table, so a reviewer can check every API in one place.
 */

/** Every WeCom API the client calls, named by its path under `/cgi-bin/`. Also the `api` metric label. */
export type WecomApi =
  | 'gettoken'
  | 'get_jsapi_ticket'
  | 'ticket/get'
  | 'externalcontact/get_follow_user_list'
  | 'externalcontact/list'
  | 'externalcontact/get'
  | 'externalcontact/batch/get_by_user'
  | 'externalcontact/remark'
  | 'externalcontact/get_corp_tag_list'
  | 'externalcontact/add_corp_tag'
  | 'externalcontact/edit_corp_tag'
  | 'externalcontact/del_corp_tag'
  | 'externalcontact/mark_tag'
  | 'externalcontact/add_contact_way'
  | 'externalcontact/get_contact_way'
  | 'externalcontact/update_contact_way'
  | 'externalcontact/del_contact_way'
  | 'externalcontact/send_welcome_msg'
  | 'externalcontact/add_msg_template'
  | 'externalcontact/get_groupmsg_list_v2'
  | 'externalcontact/get_groupmsg_task'
  | 'externalcontact/get_groupmsg_send_result'
  | 'externalcontact/remind_groupmsg_send'
  | 'externalcontact/cancel_groupmsg_send'
  | 'externalcontact/groupchat/list'
  | 'externalcontact/groupchat/get'
  | 'externalcontact/groupchat/add_join_way'
  | 'externalcontact/groupchat/get_join_way'
  | 'externalcontact/groupchat/update_join_way'
  | 'externalcontact/groupchat/del_join_way'
  | 'externalcontact/group_welcome_template/add'
  | 'externalcontact/group_welcome_template/edit'
  | 'externalcontact/group_welcome_template/get'
  | 'externalcontact/group_welcome_template/del'
  | 'externalcontact/groupchat/transfer'
  | 'externalcontact/groupchat/onjob_transfer'
  | 'externalcontact/groupchat/statistic'
  | 'externalcontact/groupchat/statistic_group_by_day'
  | 'externalcontact/transfer_customer'
  | 'externalcontact/resigned/transfer_customer'
  | 'externalcontact/transfer_result'
  | 'externalcontact/resigned/transfer_result'
  | 'externalcontact/get_unassigned_list'
  | 'externalcontact/get_user_behavior_data'
  | 'message/send'
  | 'media/upload'
  | 'media/uploadimg'
  | 'kf/sync_msg'
  | 'kf/send_msg'
  | 'kf/send_msg_on_event'
  | 'auth/getuserinfo'
  | 'user/get';

/** Rate and concurrency for one API. */
export interface ApiLimit {
  /** Calls allowed in any sliding window of `rateWindowMs` (60 s in production, hence the name). */
  perMinute: number;
  /** Requests to this API in flight at once. */
  concurrency: number;
  /** Optional burst size; defaults to a tenth of `perMinute` (see rate-limiter.ts for the arithmetic). */
  burst?: number;
  /** Calls allowed in any window of 60 × `rateWindowMs` (an hour in production); unset means no hourly bound. */
  perHour?: number;
  /** Burst of the hourly bucket; defaults to a tenth of `perHour`. */
  hourlyBurst?: number;
}

/**
 * Whether repeating a call whose outcome is unknown (timeout, connection reset, 5xx) can do harm.
 *
 * `true`: a repeat converges on the same state (a read, or an overwrite/set operation). Deletes and
 * cancels are listed as idempotent: the second call may answer a "not found"/"already cancelled"
 * errcode (40068, 41093), but it can never do anything twice.
 * `false`: a repeat could do the thing twice — a second tag, a second QR code, a second message in a
 * customer's chat or a second mass-send task eating their monthly quota
 * (docs/wecom-protocol.md §Mass messages, §Mass message quota).
 *
 * Errors that WeCom answers with an errcode are known outcomes (the call was rejected), so those are
 * retried per the errcode rules whatever this table says.
 */
export const IDEMPOTENT: Readonly<Record<WecomApi, boolean>> = Object.freeze({
  gettoken: true,
  get_jsapi_ticket: true,
  'ticket/get': true,
  'externalcontact/get_follow_user_list': true,
  'externalcontact/list': true,
  'externalcontact/get': true,
  'externalcontact/batch/get_by_user': true,
  'externalcontact/get_corp_tag_list': true,
  'externalcontact/get_contact_way': true,
  'externalcontact/get_groupmsg_list_v2': true,
  'externalcontact/get_groupmsg_task': true,
  'externalcontact/get_groupmsg_send_result': true,
  'externalcontact/groupchat/list': true,
  'externalcontact/groupchat/get': true,
  'externalcontact/groupchat/get_join_way': true,
  'externalcontact/group_welcome_template/get': true,
  // update_join_way takes the whole configuration again and overwrites its lists; a template edit replaces its fields
  // (docs/wecom-protocol.md §Group join ways, §Group welcome templates).
  'externalcontact/groupchat/update_join_way': true,
  'externalcontact/group_welcome_template/edit': true,
  // Deletes: a repeat can only answer "unknown id".
  'externalcontact/groupchat/del_join_way': true,
  'externalcontact/group_welcome_template/del': true,
  // A second join way is a second QR code (docs/wecom-protocol.md §Group join ways); a second template takes one more of
  // the corp's 100 and may notify members twice (docs/wecom-protocol.md §Group welcome templates).
  'externalcontact/groupchat/add_join_way': false,
  'externalcontact/group_welcome_template/add': false,
  // 群聊数据统计 (docs/wecom-protocol.md §Group statistics): reads of daily figures.
  'externalcontact/groupchat/statistic': true,
  'externalcontact/groupchat/statistic_group_by_day': true,
  // 查询客户接替状态 (docs/wecom-protocol.md §Customer transfers): cursor reads of the transfer records.
  'externalcontact/transfer_result': true,
  'externalcontact/resigned/transfer_result': true,
  // 获取待分配的离职成员列表 (docs/wecom-protocol.md §Customer transfers): a cursor read.
  'externalcontact/get_unassigned_list': true,
  // 获取「联系客户统计」数据 (docs/wecom-protocol.md §Contact statistics): a read of daily figures.
  'externalcontact/get_user_behavior_data': true,
  // 读取成员 (doc path/90196): a read of one member.
  'user/get': true,
  // Cursor reads: re-reading from the same cursor returns the same messages
  // (docs/wecom-protocol.md §WeChat customer service).
  'kf/sync_msg': true,
  // Overwrites: remark_mobiles and the other remark fields replace what is there (docs/wecom-protocol.md §Remarks).
  'externalcontact/remark': true,
  // Sets: adding a tag the follower already has, or removing one they lack, changes nothing
  // (docs/wecom-protocol.md §Tagging a customer).
  'externalcontact/mark_tag': true,
  'externalcontact/edit_corp_tag': true,
  // update_contact_way overwrites its lists (docs/wecom-protocol.md §Contact ways).
  'externalcontact/update_contact_way': true,
  'externalcontact/del_corp_tag': true,
  'externalcontact/del_contact_way': true,
  'externalcontact/cancel_groupmsg_send': true,
  // A duplicate upload only leaves an unused temporary media_id that expires in 3 days (docs/wecom-protocol.md §Media).
  'media/upload': true,
  // A duplicate leaves a second permanent URL and spends one more of the corp's monthly image budget
  // (docs/wecom-protocol.md §Media): not repeated blindly.
  'media/uploadimg': false,
  // Creates a second tag with a new id (or fails on the name), docs/wecom-protocol.md §Corp tag library.
  'externalcontact/add_corp_tag': false,
  // Creates a second 「联系我」 config with its own QR code; API-created ones are invisible in the console
  // (docs/wecom-protocol.md §Contact ways).
  'externalcontact/add_contact_way': false,
  // welcome_code works once (docs/wecom-protocol.md §Welcome messages): WeCom refuses a repeat after success (41051),
  // so a repeat can never send a second welcome, and the call rides a kept-alive connection (no new TCP and TLS
  // handshake for every add of a surge). After a lost answer the repeat's refusal leaves the add's timeline without a
  // welcome the customer did get; a handler run again after a crash (docs/inbox.md §Roles) repeats it anyway.
  'externalcontact/send_welcome_msg': true,
  // A second mass-send task would reach the customer twice and eat their quota (docs/wecom-protocol.md §Mass messages,
  // §Mass message quota).
  'externalcontact/add_msg_template': false,
  // Re-notifies staff and counts against 3 reminders per msgid per 24 h (docs/wecom-protocol.md §Mass message results).
  'externalcontact/remind_groupmsg_send': false,
  // A second copy of an internal notification (docs/wecom-protocol.md §App messages to staff).
  'message/send': false,
  // A second message in the customer's KF chat, counting against the 5-per-48 h allowance
  // (docs/wecom-protocol.md §WeChat customer service).
  'kf/send_msg': false,
  // The event's code works once (docs/wecom-protocol.md §KF sessions and event replies): a repeat after success is
  // refused, and a repeat after an unknown outcome cannot tell whether the first arrived.
  'kf/send_msg_on_event': false,
  // A repeat after an unknown outcome would start a second 在职继承 for the same customers: WeCom counts each
  // against the 2-per-90-days allowance (docs/wecom-protocol.md §Customer transfers, 40128), so the domain records the
  // outcome as unknown instead.
  'externalcontact/transfer_customer': false,
  // 离职继承 has no such allowance, but a repeat of a started transfer answers per-customer errors that would
  // overwrite the first (successful) outcome; the domain reconciles through resigned/transfer_result instead.
  'externalcontact/resigned/transfer_customer': false,
  // A group handed over cannot be handed over again by a repeat (90504 owner unchanged, 90508 already inherited), but
  // 在职继承 counts each group against 2 per 90 days (docs/wecom-protocol.md §Group transfers): after an unknown outcome
  // the domain reads the group's owner back instead of calling again.
  'externalcontact/groupchat/transfer': false,
  'externalcontact/groupchat/onjob_transfer': false,
  // The OAuth code is single use (docs/wecom-protocol.md §Staff sign-in for web pages): after an unknown outcome a
  // repeat can only answer 40029.
  'auth/getuserinfo': false,
});

/**
 * Default per-API limits (docs/rate-limits.md §Defaults). WeCom allows 10,000 calls/min and 150,000/hour per corp
 * per API (docs/wecom-protocol.md §API rate limits). The counts are shared by every instance (the app's database or
 * Redis), so the defaults are the whole corp's budget less a margin for other apps on the same corp: 90 % of the minute
 * (9,000; 100 adds/s make 6,000 externalcontact/get a minute) and 80 % of the hour (120,000), a wider margin because
 * going over the hour blocks the API for an hour and other apps' calls add up over it. Two windows, because one cannot
 * express both. `burst` only applies to a client without a shared store (the in-memory sliding bucket,
 * rate-limiter.ts).
 */
export const DEFAULT_LIMIT: Readonly<ApiLimit> = Object.freeze({ perMinute: 9000, burst: 900, perHour: 120_000, concurrency: 10 });

/** APIs whose defaults differ from DEFAULT_LIMIT, and why. */
export const DEFAULT_LIMITS: Readonly<Partial<Record<WecomApi, ApiLimit>>> = Object.freeze({
  // "不能频繁调用gettoken接口" (docs/wecom-protocol.md §Access tokens); the cache means one call per ~2 h, so a low cap only
  // bites bugs. A burst of 3 lets an early invalidation (docs/wecom-protocol.md §Access tokens) right after start-up
  // refresh without waiting.
  gettoken: { perMinute: 10, concurrency: 1, burst: 3 },
  // Tickets: ≤ 400/h per corp and ≤ 100/h per app
  // (docs/wecom-protocol.md §API rate limits, §JS-SDK tickets and signatures); 1/min stays under both.
  get_jsapi_ticket: { perMinute: 1, concurrency: 1 },
  'ticket/get': { perMinute: 1, concurrency: 1 },
  // Parallel pulls of customer lists draw 45033 (docs/wecom-protocol.md §API rate limits): ≤ 5 in flight.
  // externalcontact/get, one customer at a time, keeps the default 10: it is on the welcome's 20 s path, and 5 in
  // flight at 30–60 ms a call cap an instance near 100 adds/s, a live event's surge (docs/rate-limits.md §Defaults).
  'externalcontact/batch/get_by_user': { ...DEFAULT_LIMIT, concurrency: 5 },
  'externalcontact/groupchat/get': { ...DEFAULT_LIMIT, concurrency: 5 },
  'externalcontact/groupchat/list': { ...DEFAULT_LIMIT, concurrency: 5 },
  // Repeatedly fetching/uploading media is another 45033 trigger (docs/wecom-protocol.md §API rate limits).
  'media/upload': { ...DEFAULT_LIMIT, concurrency: 3 },
  'media/uploadimg': { ...DEFAULT_LIMIT, concurrency: 3 },
});

/** The limit for `api`, after applying overrides. */
export function limitFor(api: WecomApi, overrides: Partial<Record<WecomApi, ApiLimit>> | undefined): ApiLimit {
  return overrides?.[api] ?? DEFAULT_LIMITS[api] ?? DEFAULT_LIMIT;
}

/**
 * errcodes that mean "this access_token is no good": invalidate, refresh once, retry once
 * (docs/wecom-protocol.md §Access tokens, §Error codes).
 */
export const TOKEN_ERRCODES: ReadonlySet<number> = new Set([40014, 42001, 40001]);

/**
 * errcodes that are transient on WeCom's side and retried with backoff (docs/wecom-protocol.md §Error codes: -1 system
 * busy, 45033 concurrency).
 */
export const RETRYABLE_ERRCODES: ReadonlySet<number> = new Set([-1, 45033]);

/**
 * Frequency limit hit: the API is blocked for a period (60 s for the per-minute limit,
 * docs/wecom-protocol.md §API rate limits).
 */
export const ERRCODE_RATE_LIMITED = 45009;
