import type { ApiContext, ApiTable } from '../api-types.js';
import { qrImageUrl } from '../contact-way-qr.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { assertMaxChars, optionalInt, optionalString, requireString, stringArray } from '../params.js';
import type { SandboxJoinWay } from '../store.js';

/** A join way lists 1 to 5 groups (docs/wecom-protocol.md §Group join ways). */
export const JOIN_WAY_MAX_CHATS = 5;

/**
 * Read add/update_join_way's fields (docs/wecom-protocol.md §Group join ways): update takes the whole configuration
 * again, so both read the same way; `scene` and `chat_id_list` are required on both.
 */
function readJoinWay(ctx: ApiContext, body: Record<string, unknown>): Omit<SandboxJoinWay, 'configId' | 'createdAtMs' | 'roomsOpened'> {
  const scene = optionalInt(body, 'scene');
  if (scene === undefined) throw new SandboxApiError(Errcode.ParameterEmpty, 'scene is required');
  if (scene !== 1 && scene !== 2) throw new SandboxApiError(Errcode.InvalidParameterValue, 'scene must be 1 or 2');
  const chatIds = stringArray(body, 'chat_id_list');
  if (chatIds.length === 0) throw new SandboxApiError(Errcode.ParameterEmpty, 'chat_id_list is required');
  if (chatIds.length > JOIN_WAY_MAX_CHATS) throw new SandboxApiError(Errcode.InvalidParameterValue, `chat_id_list exceeds ${JOIN_WAY_MAX_CHATS}`);
  if (new Set(chatIds).size !== chatIds.length) throw new SandboxApiError(Errcode.InvalidParameterValue, 'chat_id_list has duplicates');
  for (const chatId of chatIds) {
    const chat = ctx.store.groupChats.get(chatId);
    // A group WeCom does not know (a dismissed group is forgotten) cannot take joiners.
    if (!chat) throw new SandboxApiError(Errcode.InvalidChatId, chatId);
    // The owner must be inside the app's visible range, as for every group API (docs/wecom-protocol.md §Error codes).
    if (ctx.store.staff.get(chat.owner)?.isOutsideVisibleRange) throw new SandboxApiError(Errcode.NoContactPrivilege, chat.owner);
  }
  const state = optionalString(body, 'state');
  assertMaxChars(state, 30, 'state');
  const roomBaseName = optionalString(body, 'room_base_name') ?? '';
  assertMaxChars(roomBaseName, 40, 'room_base_name');
  const autoCreate = optionalInt(body, 'auto_create_room') ?? 1;
  if (autoCreate !== 0 && autoCreate !== 1) throw new SandboxApiError(Errcode.InvalidParameterValue, 'auto_create_room must be 0 or 1');
  return {
    scene,
    // WeCom cuts the remark at 30 characters instead of refusing it (docs/wecom-protocol.md §Group join ways).
    remark: [...(optionalString(body, 'remark') ?? '')].slice(0, 30).join(''),
    autoCreateRoom: autoCreate === 1,
    roomBaseName,
    roomBaseId: optionalInt(body, 'room_base_id') ?? 1,
    chatIds,
    state: state || undefined,
  };
}

/** get_join_way's `join_way` object. */
export function presentJoinWay(w: SandboxJoinWay, baseUrl: string): Record<string, unknown> {
  return {
    config_id: w.configId,
    scene: w.scene,
    remark: w.remark,
    auto_create_room: w.autoCreateRoom ? 1 : 0,
    room_base_name: w.roomBaseName,
    room_base_id: w.roomBaseId,
    chat_id_list: [...w.chatIds],
    // qr_code only for scene 2: the same kind of image URL as a contact way's (contact-way-qr.ts).
    ...(w.scene === 2 ? { qr_code: qrImageUrl(baseUrl, w.configId) } : {}),
    ...(w.state ? { state: w.state } : {}),
  };
}

function requireJoinWay(ctx: ApiContext, body: Record<string, unknown>): SandboxJoinWay {
  const configId = requireString(body, 'config_id');
  const way = ctx.store.joinWays.get(configId);
  if (!way) throw new SandboxApiError(Errcode.InvalidParameterValue, 'invalid config_id');
  return way;
}

/** 客户群「加入群聊」管理 (docs/wecom-protocol.md §Group join ways). */
export const joinWayApis: ApiTable = {
  'externalcontact/groupchat/add_join_way': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const fields = readJoinWay(ctx, req.body);
      const configId = ctx.store.newId('jw', 30).toLowerCase();
      ctx.store.joinWays.set(configId, { ...fields, configId, roomsOpened: 0, createdAtMs: ctx.nowMs() });
      // add_join_way answers only the config_id; the QR code comes from get_join_way.
      return { config_id: configId };
    },
  },

  'externalcontact/groupchat/get_join_way': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      return { join_way: presentJoinWay(requireJoinWay(ctx, req.body), ctx.baseUrl) };
    },
  },

  'externalcontact/groupchat/update_join_way': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const way = requireJoinWay(ctx, req.body);
      const fields = readJoinWay(ctx, req.body);
      // A new base name or id starts the room count again.
      const isNewNaming = fields.roomBaseName !== way.roomBaseName || fields.roomBaseId !== way.roomBaseId;
      ctx.store.joinWays.set(way.configId, { ...way, ...fields, roomsOpened: isNewNaming ? 0 : way.roomsOpened });
      return {};
    },
  },

  'externalcontact/groupchat/del_join_way': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const way = requireJoinWay(ctx, req.body);
      ctx.store.joinWays.delete(way.configId);
      return {};
    },
  },
};
