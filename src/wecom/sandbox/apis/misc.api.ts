import type { ApiTable } from '../api-types.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { byteLength, optionalInt, optionalObject, optionalString, requireString } from '../params.js';
import type { SandboxGroupChat } from '../store.js';

/** media/upload size limits in bytes per type (docs/wecom-protocol.md §Media); everything must exceed 5 bytes. */
const MEDIA_MAX_BYTES: Record<string, number> = {
  image: 10 * 1024 * 1024,
  voice: 2 * 1024 * 1024,
  video: 10 * 1024 * 1024,
  file: 20 * 1024 * 1024,
};

/** media/uploadimg: JPG or PNG up to 2 MB (docs/wecom-protocol.md §Media). */
const UPLOADIMG_MAX_BYTES = 2 * 1024 * 1024;
/** media/uploadimg's budget per corp (docs/wecom-protocol.md §Media). */
const UPLOADIMG_PER_DAY = 1000;
const UPLOADIMG_PER_MONTH = 3000;
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function presentGroupChat(c: SandboxGroupChat, needName: boolean): Record<string, unknown> {
  return {
    chat_id: c.chatId,
    name: c.name,
    owner: c.owner,
    create_time: c.createTime,
    notice: c.notice,
    member_list: c.members.map((m) => ({
      userid: m.userid,
      type: m.type,
      ...(m.unionid ? { unionid: m.unionid } : {}),
      join_time: m.joinTime,
      join_scene: m.joinScene,
      ...(m.invitor ? { invitor: { userid: m.invitor } } : {}),
      group_nickname: m.groupNickname,
      // The join way's state, for members who came through a 群活码 with one (docs/wecom-protocol.md §Group join ways).
      ...(m.state ? { state: m.state } : {}),
      // name only when need_name=1 (docs/wecom-protocol.md §Customer groups).
      ...(needName ? { name: m.name } : {}),
    })),
    admin_list: c.admins.map((userid) => ({ userid })),
  };
}

/**
 * App messages, media and customer groups (docs/wecom-protocol.md §Customer groups, §App messages to staff, §Media).
 */
export const miscApis: ApiTable = {
  'message/send': {
    method: 'POST',
    auth: 'agent',
    handle(req, { store, options, nowMs }) {
      const agentid = optionalInt(req.body, 'agentid');
      if (agentid !== options.corp.agentId) throw new SandboxApiError(Errcode.InvalidAgentId);
      const msgtype = requireString(req.body, 'msgtype');
      const payload = optionalObject(req.body, msgtype);
      if (!payload) throw new SandboxApiError(Errcode.ParameterEmpty, `${msgtype} is required`);
      // text and markdown are ≤ 2048 bytes (docs/wecom-protocol.md §App messages to staff).
      const content = optionalString(payload, 'content');
      if ((msgtype === 'text' || msgtype === 'markdown') && content !== undefined && byteLength(content) > 2048) {
        throw new SandboxApiError(Errcode.ContentTooLong);
      }
      const touser = optionalString(req.body, 'touser') ?? '';
      const requested = touser === '@all' ? [...store.staff.keys()] : touser.split('|').filter(Boolean);
      if (requested.length > 1000) throw new SandboxApiError(Errcode.InvalidParameterValue, 'touser exceeds 1000');
      const valid = requested.filter((u) => store.staff.has(u));
      const invalid = requested.filter((u) => !store.staff.has(u));
      // All recipients invalid → 81013; otherwise the bad ones come back in invaliduser
      // (docs/wecom-protocol.md §App messages to staff).
      if (valid.length === 0) throw new SandboxApiError(Errcode.AllRecipientsInvalid);
      const msgid = store.newId('appmsg', 24);
      // Per app and member: ≤ 30 a minute and ≤ 1,000 an hour; WeCom drops the excess silently
      // (docs/wecom-protocol.md §API rate limits).
      const at = nowMs();
      const deliveredSince = (userid: string, sinceMs: number) =>
        store.appMessages.filter((m) => m.atMs > sinceMs && m.agentid === agentid && m.touser.includes(userid) && !m.dropped.includes(userid)).length;
      const dropped = valid.filter((u) => deliveredSince(u, at - 60_000) >= 30 || deliveredSince(u, at - 3_600_000) >= 1000);
      store.appMessages.push({ atMs: at, msgid, agentid, touser: valid, invaliduser: invalid, dropped, msgtype, payload });
      return { invaliduser: invalid.join('|'), invalidparty: '', invalidtag: '', unlicenseduser: '', msgid };
    },
  },

  'media/upload': {
    method: 'POST',
    auth: 'agent',
    handle(req, { store, nowMs }) {
      const type = req.query.type ?? '';
      const max = MEDIA_MAX_BYTES[type];
      if (max === undefined) throw new SandboxApiError(Errcode.InvalidMediaType, type);
      // The multipart field must be named `media` (docs/wecom-protocol.md §Media).
      const file = req.files.media;
      if (!file) throw new SandboxApiError(Errcode.MissingMediaData);
      if (file.data.length <= 5 || file.data.length > max) throw new SandboxApiError(Errcode.InvalidFileSize);
      const mediaId = store.newId('3sbx', 40);
      const createdAtMs = nowMs();
      store.media.set(mediaId, { mediaId, type, filename: file.filename, size: file.data.length, createdAtMs });
      // created_at is a string on the wire (docs/wecom-protocol.md §Media, §Conventions).
      return { type, media_id: mediaId, created_at: String(Math.floor(createdAtMs / 1000)) };
    },
  },

  // A permanent image URL for pic_url (docs/wecom-protocol.md §Media): JPG or PNG, at most 2 MB.
  'media/uploadimg': {
    method: 'POST',
    auth: 'agent',
    handle(req, { store, nowMs }) {
      const file = req.files.media;
      if (!file) throw new SandboxApiError(Errcode.MissingMediaData);
      // At most 1000 a day and 3000 a month per corp (docs/wecom-protocol.md §Media), counted on Beijing days.
      const day = new Date(nowMs() + 8 * 3600_000).toISOString().slice(0, 10);
      const periods = [`d:${day}`, `m:${day.slice(0, 7)}`];
      const [usedDay, usedMonth] = periods.map((p) => store.uploadImgCounts.get(p) ?? 0);
      if (usedDay >= UPLOADIMG_PER_DAY || usedMonth >= UPLOADIMG_PER_MONTH) throw new SandboxApiError(Errcode.RateLimited, 'uploadimg quota exceeded');
      const isPng = file.data.subarray(0, 8).equals(PNG_MAGIC);
      const isJpeg = file.data[0] === 0xff && file.data[1] === 0xd8 && file.data[2] === 0xff;
      if (!isPng && !isJpeg) throw new SandboxApiError(Errcode.InvalidMediaType, 'uploadimg takes JPG or PNG');
      if (file.data.length <= 5 || file.data.length > UPLOADIMG_MAX_BYTES) throw new SandboxApiError(Errcode.InvalidFileSize);
      for (const p of periods) store.uploadImgCounts.set(p, (store.uploadImgCounts.get(p) ?? 0) + 1);
      return { url: `https://wework.qpic.cn/wwpic/sandbox/${store.newId('img', 24).toLowerCase()}/0` };
    },
  },

  'externalcontact/groupchat/list': {
    method: 'POST',
    auth: 'agent',
    handle(req, { store }) {
      // limit 1–1000 and required (docs/wecom-protocol.md §Customer groups).
      const limit = optionalInt(req.body, 'limit');
      if (limit === undefined || limit < 1 || limit > 1000) throw new SandboxApiError(Errcode.InvalidParameterValue, 'limit must be 1..1000');
      const statusFilter = optionalInt(req.body, 'status_filter') ?? 0;
      const ownerFilter = optionalObject(req.body, 'owner_filter');
      const owners = ownerFilter?.userid_list;
      if (owners !== undefined && (!Array.isArray(owners) || owners.length > 100)) {
        throw new SandboxApiError(Errcode.InvalidParameterValue, 'owner_filter.userid_list exceeds 100');
      }
      const ownerSet = Array.isArray(owners) && owners.length > 0 ? new Set(owners as string[]) : null;
      // Without an owner filter the list covers the app's whole visible range, refused over 1000 members
      // (docs/wecom-protocol.md §Customer groups).
      if (!ownerSet && [...store.staff.values()].filter((m) => !m.isOutsideVisibleRange).length > 1000) throw new SandboxApiError(Errcode.TooManyVisibleMembers);
      // status_filter 0 lists every group; 1–3 only the groups whose owner resigned, being inherited, inherited.
      const rows = [...store.groupChats.values()].filter((c) => (statusFilter === 0 || c.status === statusFilter) && (!ownerSet || ownerSet.has(c.owner)));
      const offset = decodeCursor(req.body.cursor)?.offset ?? 0;
      const page = rows.slice(offset, offset + limit);
      return {
        group_chat_list: page.map((c) => ({ chat_id: c.chatId, status: c.status })),
        next_cursor: offset + limit < rows.length ? encodeCursor({ offset: offset + limit }) : '',
      };
    },
  },

  'externalcontact/groupchat/get': {
    method: 'POST',
    auth: 'agent',
    handle(req, { store }) {
      const chatId = requireString(req.body, 'chat_id');
      const chat = store.groupChats.get(chatId);
      if (!chat) throw new SandboxApiError(Errcode.InvalidChatId, chatId);
      return { group_chat: presentGroupChat(chat, optionalInt(req.body, 'need_name') === 1) };
    },
  },
};
