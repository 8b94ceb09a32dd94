import type { ApiContext, ApiRequest, ApiTable } from '../api-types.js';
import { Errcode, SandboxApiError, errmsgFor } from '../errcodes.js';
import { requireString, stringArray } from '../params.js';
import type { SandboxGroupChat } from '../store.js';

/** chat_id_list holds 1–100 groups (docs/wecom-protocol.md §Group transfers). */
const MAX_CHATS = 100;
/** 在职继承: each group at most 2 times in 90 days (docs/wecom-protocol.md §Group transfers). */
const ONJOB_LIMIT = 2;
const ONJOB_WINDOW_MS = 90 * 86_400_000;
/** 离职继承: at most 300 of one departed member's groups a day to one new owner (docs/wecom-protocol.md §Group transfers). */
const RESIGNED_DAILY_LIMIT = 300;
const DAY_MS = 86_400_000;

/**
 * groupchat/transfer (`resigned`) and groupchat/onjob_transfer (`onjob`), docs/wecom-protocol.md §Group transfers.
 * Whole-call problems (no list, over 100, an unusable new owner) fail the call; each group's own problem becomes its
 * entry in failed_chat_list and never blocks the others. A group handed over changes owner at once (the new owner
 * joins it if they were not a member); a resigned owner's group is then listed as 3 (离职继承完成).
 */
function transfer(kind: 'onjob' | 'resigned', req: ApiRequest, ctx: ApiContext): Record<string, unknown> {
  const chatIds = stringArray(req.body, 'chat_id_list');
  const newOwner = requireString(req.body, 'new_owner');
  if (chatIds.length === 0) throw new SandboxApiError(Errcode.ParameterEmpty, 'chat_id_list');
  if (chatIds.length > MAX_CHATS) throw new SandboxApiError(Errcode.InvalidParameterValue, `chat_id_list exceeds ${MAX_CHATS}`);
  // The new owner must be an active member with 客户联系, inside the app's visible range.
  const taker = ctx.store.staff.get(newOwner);
  if (!taker || taker.resignedAtMs !== undefined) throw new SandboxApiError(Errcode.InvalidUserid, newOwner);
  if (taker.isOutsideVisibleRange) throw new SandboxApiError(Errcode.NoContactPrivilege, newOwner);

  const now = ctx.nowMs();
  const failed: { chat_id: string; errcode: number; errmsg: string }[] = [];
  for (const chatId of [...new Set(chatIds)]) {
    const chat = ctx.store.groupChats.get(chatId);
    const errcode = chat ? refusal(kind, chat, newOwner, ctx, now) : Errcode.NotCustomerGroup;
    if (errcode !== 0) {
      failed.push({ chat_id: chatId, errcode, errmsg: errmsgFor(errcode) });
      continue;
    }
    const group = chat!;
    ctx.store.groupTransfers.push({ kind, chatId, from: group.owner, to: newOwner, atMs: now });
    group.owner = newOwner;
    if (kind === 'resigned') group.status = 3;
    if (!group.members.some((m) => m.userid === newOwner)) {
      group.members.push({ userid: newOwner, type: 1, joinTime: Math.floor(now / 1000), joinScene: 1, groupNickname: '', name: taker.name });
    }
  }
  return { failed_chat_list: failed };
}

/** Why WeCom would refuse to hand this group to `newOwner`, or 0. */
function refusal(kind: 'onjob' | 'resigned', chat: SandboxGroupChat, newOwner: string, ctx: ApiContext, now: number): number {
  const owner = ctx.store.staff.get(chat.owner);
  // The group's owner must be inside the app's visible range (the doc's 权限说明).
  if (owner?.isOutsideVisibleRange) return Errcode.NoContactPrivilege;
  if (chat.owner === newOwner) return Errcode.ChatOwnerUnchanged;
  if (kind === 'resigned') {
    if (chat.status === 2) return Errcode.ChatInheriting;
    if (chat.status === 3) return Errcode.ChatInherited;
    if (owner?.resignedAtMs === undefined) return Errcode.ChatOwnerNotResigned;
    const today = ctx.store.groupTransfers.filter((t) => t.kind === 'resigned' && t.from === chat.owner && t.to === newOwner && now - t.atMs < DAY_MS);
    // WeCom documents the 300-a-day limit but no code for it; 45009 (frequency limit) is the closest documented one.
    if (today.length >= RESIGNED_DAILY_LIMIT) return Errcode.RateLimited;
    return 0;
  }
  if (owner?.resignedAtMs !== undefined) return Errcode.ChatOwnerResigned;
  const recent = ctx.store.groupTransfers.filter((t) => t.kind === 'onjob' && t.chatId === chat.chatId && now - t.atMs < ONJOB_WINDOW_MS);
  // WeCom documents the 2-in-90-days limit for groups without a code; the customers' equivalent, 40128, is the closest.
  if (recent.length >= ONJOB_LIMIT) return Errcode.TransferLimitReached;
  return 0;
}

/** 分配离职成员的客户群 / 分配在职成员的客户群 (docs/wecom-protocol.md §Group transfers). */
export const groupTransferApis: ApiTable = {
  'externalcontact/groupchat/transfer': { method: 'POST', auth: 'agent', handle: (req, ctx) => transfer('resigned', req, ctx) },
  'externalcontact/groupchat/onjob_transfer': { method: 'POST', auth: 'agent', handle: (req, ctx) => transfer('onjob', req, ctx) },
};
