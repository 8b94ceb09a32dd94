import type { ApiTable } from '../api-types.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { optionalInt, optionalObject, optionalString, requireString } from '../params.js';
import { kfSessionKey, type SandboxKfMessage } from '../store.js';

/**
 * sync_msg without a cursor starts at the earliest message of the last 3 days
 * (docs/wecom-protocol.md §WeChat customer service).
 */
const KF_HISTORY_MS = 3 * 86400 * 1000;
/** The callback Token is valid for 10 minutes (docs/wecom-protocol.md §WeChat customer service). */
export const KF_TOKEN_TTL_MS = 10 * 60 * 1000;
/** After a customer message: ≤ 5 replies within 48 h (docs/wecom-protocol.md §WeChat customer service, 95001/95002). */
const KF_REPLY_WINDOW_MS = 48 * 3600 * 1000;
const KF_MAX_REPLIES = 5;
/** An event code lets one reply through within 20 s (docs/wecom-protocol.md §KF sessions and event replies). */
export const KF_EVENT_CODE_TTL_MS = 20_000;

/** kf/sync_msg's wire shape for one message (docs/wecom-protocol.md §WeChat customer service). */
function presentKfMessage(m: SandboxKfMessage): Record<string, unknown> {
  return {
    msgid: m.msgid,
    open_kfid: m.openKfId,
    external_userid: m.externalUserId,
    send_time: m.sendTime,
    origin: m.origin,
    ...(m.servicerUserid ? { servicer_userid: m.servicerUserid } : {}),
    msgtype: m.msgtype,
    [m.msgtype]: m.body,
  };
}

/** WeChat-KF message pull and reply (docs/wecom-protocol.md §WeChat customer service). */
export const kfApis: ApiTable = {
  'kf/sync_msg': {
    method: 'POST',
    auth: 'any',
    handle(req, { store, nowMs }) {
      const token = optionalString(req.body, 'token');
      if (token !== undefined && token !== '') {
        const issued = store.kfTokens.get(token);
        if (!issued || nowMs() - issued.issuedAtMs > KF_TOKEN_TTL_MS) throw new SandboxApiError(Errcode.KfInvalidMsgToken);
      }
      const openKfId = optionalString(req.body, 'open_kfid');
      // limit: default and max 1000 (docs/wecom-protocol.md §WeChat customer service).
      const limit = Math.min(Math.max(optionalInt(req.body, 'limit') ?? 1000, 1), 1000);
      const cursor = decodeCursor(req.body.cursor);
      const afterSeq = cursor?.seq ?? 0;
      const since = cursor ? -Infinity : nowMs() - KF_HISTORY_MS;
      const rows = store.kfMessages.filter(
        (m) => m.seq > afterSeq && m.sendTime * 1000 >= since && (openKfId === undefined || m.openKfId === openKfId),
      );
      const page = rows.slice(0, limit);
      // The cursor advances even past an empty page, so a client persisting it never re-reads old messages.
      const lastSeq = page.length > 0 ? page[page.length - 1].seq : store.kfMessages.reduce((max, m) => Math.max(max, m.seq), afterSeq);
      return {
        next_cursor: encodeCursor({ seq: lastSeq }),
        has_more: rows.length > page.length ? 1 : 0,
        msg_list: page.map(presentKfMessage),
      };
    },
  },

  'kf/send_msg': {
    method: 'POST',
    auth: 'any',
    handle(req, { store, nowMs }) {
      const touser = requireString(req.body, 'touser', Errcode.MissingExternalUserid);
      const openKfId = requireString(req.body, 'open_kfid');
      const msgtype = requireString(req.body, 'msgtype');
      const body = optionalObject(req.body, msgtype);
      if (!body) throw new SandboxApiError(Errcode.ParameterEmpty, `${msgtype} is required`);
      if (!store.customers.has(touser) && !store.kfMessages.some((m) => m.externalUserId === touser)) {
        throw new SandboxApiError(Errcode.InvalidExternalUserid, touser);
      }
      // kf/send_msg is refused outside the new and smart-assistant states, e.g. after the session ended, until the
      // customer writes again (docs/wecom-protocol.md §KF sessions and event replies).
      const session = store.kfSessions.get(kfSessionKey(openKfId, touser));
      if (session && session.state !== 0 && session.state !== 1) throw new SandboxApiError(Errcode.KfSessionStateInvalid);
      const now = nowMs();
      const lastInbound = store.kfMessages.filter((m) => m.origin === 3 && m.externalUserId === touser && m.openKfId === openKfId).at(-1);
      if (!lastInbound || now - lastInbound.sendTime * 1000 > KF_REPLY_WINDOW_MS) throw new SandboxApiError(Errcode.KfWindowExpired);
      const repliesSince = store.kfSent.filter((s) => s.externalUserId === touser && s.openKfId === openKfId && s.atMs >= lastInbound.sendTime * 1000).length;
      if (repliesSince >= KF_MAX_REPLIES) throw new SandboxApiError(Errcode.KfMessageLimit);
      const msgid = optionalString(req.body, 'msgid') || store.newId('kfsent', 20);
      store.kfSent.push({ atMs: now, msgid, openKfId, externalUserId: touser, msgtype, body, via: 'send_msg' });
      return { msgid };
    },
  },

  'kf/send_msg_on_event': {
    method: 'POST',
    auth: 'any',
    handle(req, { store, nowMs }) {
      const code = requireString(req.body, 'code');
      const msgtype = requireString(req.body, 'msgtype');
      // Event replies are text or a menu (docs/wecom-protocol.md §KF sessions and event replies).
      if (msgtype !== 'text' && msgtype !== 'msgmenu') throw new SandboxApiError(Errcode.InvalidMsgType, msgtype);
      const body = optionalObject(req.body, msgtype);
      if (!body) throw new SandboxApiError(Errcode.ParameterEmpty, `${msgtype} is required`);
      const msgidIn = optionalString(req.body, 'msgid');
      if (msgidIn !== undefined && !/^[0-9a-zA-Z_-]{1,32}$/.test(msgidIn)) throw new SandboxApiError(Errcode.InvalidParameter, 'msgid');
      const entry = store.kfEventCodes.get(code);
      const now = nowMs();
      // Once, within 20 s: WeCom documents no errcode for a spent or stale code; the sandbox answers 95007.
      if (!entry || entry.isUsed || now - entry.issuedAtMs > KF_EVENT_CODE_TTL_MS) throw new SandboxApiError(Errcode.KfInvalidMsgToken, 'invalid code');
      const session = store.kfSessions.get(kfSessionKey(entry.openKfId, entry.externalUserId));
      if (!session || session.state !== entry.state) throw new SandboxApiError(Errcode.KfSessionStateInvalid);
      entry.isUsed = true;
      const msgid = msgidIn || store.newId('kfsent', 20);
      store.kfSent.push({ atMs: now, msgid, openKfId: entry.openKfId, externalUserId: entry.externalUserId, msgtype, body, via: 'event' });
      return { msgid };
    },
  },
};
