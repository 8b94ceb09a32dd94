import type { ApiContext, ApiTable } from '../api-types.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { assertMaxChars, byteLength, optionalBool, optionalInt, optionalObject, optionalString, requireString } from '../params.js';
import type { SandboxContactWay } from '../store.js';
import { presentContactWay } from '../wire.js';
import { qrImageUrl } from '../contact-way-qr.js';

/** A welcome_code lives 20 s after the add event (docs/wecom-protocol.md §Welcome messages). */
export const WELCOME_CODE_TTL_MS = 20_000;
/** Temporary media expire after 3 days (docs/wecom-protocol.md §Media). */
export const MEDIA_TTL_MS = 3 * 86400 * 1000;

/**
 * Read the writable contact-way fields; `base` supplies current values on update (lists overwrite,
 * docs/wecom-protocol.md §Contact ways).
 */
function readContactWay(ctx: ApiContext, body: Record<string, unknown>, base?: SandboxContactWay): Omit<SandboxContactWay, 'configId' | 'createdAtMs'> {
  const type = base?.type ?? optionalInt(body, 'type');
  const scene = base?.scene ?? optionalInt(body, 'scene');
  if (type !== 1 && type !== 2) throw new SandboxApiError(Errcode.InvalidParameterValue, 'type must be 1 or 2');
  if (scene !== 1 && scene !== 2) throw new SandboxApiError(Errcode.InvalidParameterValue, 'scene must be 1 or 2');
  const remark = optionalString(body, 'remark') ?? base?.remark ?? '';
  const state = optionalString(body, 'state') ?? base?.state;
  // remark and state are ≤ 30 characters (docs/wecom-protocol.md §Contact ways).
  assertMaxChars(remark, 30, 'remark');
  assertMaxChars(state, 30, 'state');
  const rawUser = body.user;
  const user = rawUser === undefined ? (base?.user ?? []) : (rawUser as unknown);
  if (!Array.isArray(user) || user.some((u) => typeof u !== 'string')) throw new SandboxApiError(Errcode.InvalidParameterValue, 'user must be an array');
  const rawParty = body.party;
  const party = rawParty === undefined ? (base?.party ?? []) : (rawParty as unknown);
  if (!Array.isArray(party) || party.some((p) => typeof p !== 'number')) throw new SandboxApiError(Errcode.InvalidParameterValue, 'party must be an array of ints');
  // Single-person ways need exactly one member; party is only for multi-person ways
  // (docs/wecom-protocol.md §Contact ways).
  if (type === 1 && (user.length !== 1 || party.length > 0)) throw new SandboxApiError(Errcode.InvalidParameterValue, 'type 1 needs exactly one user');
  if (user.length === 0 && party.length === 0) throw new SandboxApiError(Errcode.ParameterEmpty, 'user is required');
  if (user.length > 100) throw new SandboxApiError(Errcode.InvalidParameterValue, 'at most 100 members per contact way');
  for (const u of user as string[]) if (!ctx.store.staff.has(u)) throw new SandboxApiError(Errcode.InvalidUserid, u);
  const isTemp = optionalBool(body, 'is_temp') ?? base?.isTemp ?? false;
  if (isTemp && type !== 1) throw new SandboxApiError(Errcode.InvalidParameterValue, 'temporary sessions are single-person only');
  return {
    type,
    scene,
    style: optionalInt(body, 'style') ?? base?.style,
    remark,
    skipVerify: optionalBool(body, 'skip_verify') ?? base?.skipVerify ?? true,
    state,
    user: user as string[],
    party: party as number[],
    isTemp,
    expiresIn: optionalInt(body, 'expires_in') ?? base?.expiresIn,
    chatExpiresIn: optionalInt(body, 'chat_expires_in') ?? base?.chatExpiresIn,
    unionid: optionalString(body, 'unionid') ?? base?.unionid,
    conclusions: optionalObject(body, 'conclusions') ?? base?.conclusions,
  };
}

/**
 * Validate welcome/mass-message content: text and attachments
 * (docs/wecom-protocol.md §Welcome messages, §Mass messages).
 */
export function validateMessageContent(ctx: ApiContext, body: Record<string, unknown>): { text?: unknown; attachments?: unknown[] } {
  const text = optionalObject(body, 'text');
  const rawAttachments = body.attachments;
  if (rawAttachments !== undefined && !Array.isArray(rawAttachments)) throw new SandboxApiError(Errcode.InvalidParameterValue, 'attachments must be an array');
  const attachments = (rawAttachments ?? []) as unknown[];
  const content = text ? optionalString(text, 'content') : undefined;
  if (!content && attachments.length === 0) throw new SandboxApiError(Errcode.ParameterEmpty, 'text and attachments are both empty');
  // text.content ≤ 4000 bytes; attachments ≤ 9 (docs/wecom-protocol.md §Welcome messages, §Mass messages).
  if (content && byteLength(content) > 4000) throw new SandboxApiError(Errcode.ContentTooLong, 'text.content exceeds 4000 bytes');
  if (attachments.length > 9) throw new SandboxApiError(Errcode.TooManyAttachments);
  for (const a of attachments) {
    const att = (a ?? {}) as Record<string, unknown>;
    const msgtype = att.msgtype;
    if (typeof msgtype !== 'string' || !['image', 'link', 'miniprogram', 'video', 'file'].includes(msgtype)) {
      throw new SandboxApiError(Errcode.InvalidAttachmentType, String(msgtype));
    }
    const inner = (att[msgtype] ?? {}) as Record<string, unknown>;
    if (msgtype === 'link' && typeof inner.url !== 'string') throw new SandboxApiError(Errcode.ParameterEmpty, 'link.url is required');
    // media ids must come from media/upload and be < 3 days old (docs/wecom-protocol.md §Media, 40007).
    const mediaId = msgtype === 'miniprogram' ? inner.pic_media_id : inner.media_id;
    if (typeof mediaId === 'string') {
      const media = ctx.store.media.get(mediaId);
      if (!media || ctx.nowMs() - media.createdAtMs > MEDIA_TTL_MS) throw new SandboxApiError(Errcode.InvalidMediaId, mediaId);
    } else if (msgtype !== 'link' && !(msgtype === 'image' && typeof inner.pic_url === 'string')) {
      throw new SandboxApiError(Errcode.ParameterEmpty, `${msgtype} needs a media id`);
    }
  }
  return { text, attachments: rawAttachments === undefined ? undefined : attachments };
}

/** 「联系我」 management and welcome messages (docs/wecom-protocol.md §Contact ways, §Welcome messages). */
export const contactWayApis: ApiTable = {
  'externalcontact/add_contact_way': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const fields = readContactWay(ctx, req.body);
      const configId = ctx.store.newId('cw', 30).toLowerCase();
      ctx.store.contactWays.set(configId, { ...fields, configId, createdAtMs: ctx.nowMs() });
      // qr_code only for scene 2 (docs/wecom-protocol.md §Contact ways): a real PNG the sandbox serves.
      return fields.scene === 2 ? { config_id: configId, qr_code: qrImageUrl(ctx.baseUrl, configId) } : { config_id: configId };
    },
  },

  'externalcontact/get_contact_way': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const configId = requireString(req.body, 'config_id');
      const way = ctx.store.contactWays.get(configId);
      if (!way) throw new SandboxApiError(Errcode.InvalidParameterValue, 'invalid config_id');
      return { contact_way: presentContactWay(way, ctx.baseUrl) };
    },
  },

  'externalcontact/list_contact_way': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const nowS = Math.floor(ctx.nowMs() / 1000);
      // Defaults: the last 90 days; limit default 100, max 1000 (docs/wecom-protocol.md §Contact ways).
      const start = optionalInt(req.body, 'start_time') ?? nowS - 90 * 86400;
      const end = optionalInt(req.body, 'end_time') ?? nowS;
      const limit = Math.min(Math.max(optionalInt(req.body, 'limit') ?? 100, 1), 1000);
      const offset = decodeCursor(req.body.cursor)?.offset ?? 0;
      const all = [...ctx.store.contactWays.values()].filter((w) => {
        const s = Math.floor(w.createdAtMs / 1000);
        return s >= start && s <= end;
      });
      const page = all.slice(offset, offset + limit);
      const next = offset + limit < all.length ? encodeCursor({ offset: offset + limit }) : '';
      return { contact_way: page.map((w) => ({ config_id: w.configId })), next_cursor: next };
    },
  },

  'externalcontact/update_contact_way': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const configId = requireString(req.body, 'config_id');
      const way = ctx.store.contactWays.get(configId);
      if (!way) throw new SandboxApiError(Errcode.InvalidParameterValue, 'invalid config_id');
      const fields = readContactWay(ctx, req.body, way);
      ctx.store.contactWays.set(configId, { ...way, ...fields });
      return {};
    },
  },

  'externalcontact/del_contact_way': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const configId = requireString(req.body, 'config_id');
      if (!ctx.store.contactWays.delete(configId)) throw new SandboxApiError(Errcode.InvalidParameterValue, 'invalid config_id');
      return {};
    },
  },

  'externalcontact/send_welcome_msg': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const code = requireString(req.body, 'welcome_code');
      const issued = ctx.store.welcomeCodes.get(code);
      // Unknown or older than 20 s → 41050; already used → 41051 ("first app wins",
      // docs/wecom-protocol.md §Welcome messages).
      if (!issued || ctx.nowMs() - issued.issuedAtMs > WELCOME_CODE_TTL_MS) throw new SandboxApiError(Errcode.InvalidWelcomeCode);
      if (issued.usedAtMs !== undefined) throw new SandboxApiError(Errcode.ChatAlreadyStarted);
      const content = validateMessageContent(ctx, req.body);
      issued.usedAtMs = ctx.nowMs();
      ctx.store.welcomeSent.push({
        atMs: ctx.nowMs(),
        welcomeCode: code,
        userid: issued.userid,
        externalUserId: issued.externalUserId,
        ...content,
      });
      return {};
    },
  },
};
