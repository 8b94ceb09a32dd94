import type { ApiContext, ApiTable } from '../api-types.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { optionalInt, optionalObject, optionalString, requireString, stringArray } from '../params.js';
import { hasMassQuota } from '../quota.js';
import type { SandboxMassRecipient, SandboxMassTask, SandboxRelation } from '../store.js';
import { validateMessageContent } from './contact-ways.api.js';

/** Per-call caps from docs/wecom-protocol.md §Mass messages, §Mass message quota. */
const MAX_EXTERNAL_USERIDS = 10_000;
const MAX_CHAT_IDS = 2000;
const MAX_TAGS_PER_FILTER_GROUP = 100;
/** remind_groupmsg_send: ≤ 3 per msgid per 24 h (docs/wecom-protocol.md §Reminding members of a mass message). */
const MAX_REMINDS_PER_DAY = 3;
const DAY_MS = 86400 * 1000;
/** get_groupmsg_list_v2 accepts a range of at most one month (docs/wecom-protocol.md §Mass message results). */
const MAX_LIST_RANGE_S = 31 * 86400;

/** tag_filter: OR within a group, AND across groups (docs/wecom-protocol.md §Mass messages). */
function matchesTagFilter(tagIds: readonly string[], groups: string[][]): boolean {
  return groups.every((anyOf) => anyOf.some((id) => tagIds.includes(id)));
}

function readTagFilter(body: Record<string, unknown>): string[][] {
  const filter = optionalObject(body, 'tag_filter');
  if (!filter) return [];
  const groupList = filter.group_list;
  if (!Array.isArray(groupList)) throw new SandboxApiError(Errcode.InvalidParameterValue, 'tag_filter.group_list must be an array');
  return groupList.map((g) => {
    const tags = stringArray((g ?? {}) as Record<string, unknown>, 'tag_list');
    if (tags.length > MAX_TAGS_PER_FILTER_GROUP) throw new SandboxApiError(Errcode.InvalidParameterValue, 'tag_list exceeds 100');
    return tags;
  });
}

/**
 * The task goes to the member who last interacted with the customer (docs/wecom-protocol.md §Mass messages); the newest
 * relation stands in for that.
 */
function lastInteracted(relations: SandboxRelation[]): SandboxRelation | undefined {
  return relations.reduce<SandboxRelation | undefined>((best, r) => (!best || r.createtime > best.createtime || (r.createtime === best.createtime && r.seq > best.seq) ? r : best), undefined);
}

function requireTask(ctx: ApiContext, msgid: string, { checkDispatch }: { checkDispatch: boolean }): SandboxMassTask {
  const task = ctx.store.massTasks.get(msgid);
  if (!task) throw new SandboxApiError(Errcode.InvalidParameterValue, 'invalid msgid');
  // Querying right after creation can answer 41063 (docs/wecom-protocol.md §Mass message results); opt-in via
  // groupMsgDispatchMs.
  if (checkDispatch && ctx.nowMs() - task.createdAtMs < ctx.options.groupMsgDispatchMs) {
    throw new SandboxApiError(Errcode.GroupMsgDispatching);
  }
  return task;
}

function paginate<T>(rows: T[], body: Record<string, unknown>, defaultLimit: number, maxLimit: number): { page: T[]; next: string } {
  const limit = Math.min(Math.max(optionalInt(body, 'limit') ?? defaultLimit, 1), maxLimit);
  const offset = decodeCursor(body.cursor)?.offset ?? 0;
  const page = rows.slice(offset, offset + limit);
  return { page, next: offset + limit < rows.length ? encodeCursor({ offset: offset + limit }) : '' };
}

/** Result counts of one confirmation. */
export interface ConfirmOutcome {
  sent: number;
  overQuota: number;
  notFriend: number;
}

/**
 * A sender confirms the task in the WeCom client (群发助手): their rows go out, except to customers who
 * are no longer friends (status 2) or whose per-customer quota is used up (status 3,
 * docs/wecom-protocol.md §Mass message quota).
 */
export function confirmMassTask(ctx: ApiContext, msgid: string, userid?: string): ConfirmOutcome {
  const task = ctx.store.massTasks.get(msgid);
  if (!task) throw new SandboxApiError(Errcode.InvalidParameterValue, 'invalid msgid');
  if (task.isCancelled) throw new SandboxApiError(Errcode.GroupMsgCancelled);
  const senders = task.senders.filter((s) => s.status === 0 && (userid === undefined || s.userid === userid));
  if (userid !== undefined && !task.senders.some((s) => s.userid === userid)) throw new SandboxApiError(Errcode.InvalidUserid, userid);
  const now = ctx.nowMs();
  const nowS = Math.floor(now / 1000);
  const outcome: ConfirmOutcome = { sent: 0, overQuota: 0, notFriend: 0 };
  for (const sender of senders) {
    sender.status = 2;
    sender.sendTime = nowS;
    for (const row of task.recipients) {
      if (row.userid !== sender.userid || row.status !== 0) continue;
      const target = row.externalUserId ?? row.chatId ?? '';
      const isReachable = row.externalUserId
        ? ctx.store.findRelation(row.userid, row.externalUserId)?.isDeletedByCustomer === false
        : ctx.store.groupChats.has(target);
      if (!isReachable) {
        row.status = 2;
        outcome.notFriend += 1;
        continue;
      }
      const receipts = ctx.store.massReceipts.get(target) ?? [];
      if (!hasMassQuota(ctx.options.massQuota, receipts, now)) {
        row.status = 3;
        outcome.overQuota += 1;
        continue;
      }
      receipts.push(now);
      ctx.store.massReceipts.set(target, receipts);
      row.status = 1;
      row.sendTime = nowS;
      outcome.sent += 1;
    }
  }
  return outcome;
}

/** What a member's own group send came to. */
export interface MemberSendOutcome {
  msgid: string;
  sent: number;
  overQuota: number;
}

/**
 * A member sends a mass message to their customer groups from the WeCom client (群发助手 → 发送到客户群), not through
 * the API: a member-created message (create_type 1, with its creator) that goes out as they send it and uses each
 * group's quota like an enterprise one; a group past its quota gets status 3
 * (docs/wecom-protocol.md §Mass message quota). Only groups the member owns can be chosen; none given means all.
 */
export function memberGroupSend(ctx: ApiContext, input: { userid: string; chatIds?: string[]; text: string }): MemberSendOutcome {
  const { store } = ctx;
  if (!store.staff.has(input.userid)) throw new SandboxApiError(Errcode.InvalidUserid, input.userid);
  const owned = [...store.groupChats.values()].filter((c) => c.owner === input.userid).map((c) => c.chatId);
  const chosen = input.chatIds?.length ? input.chatIds : owned;
  const notOwned = chosen.filter((id) => !owned.includes(id));
  if (notOwned.length > 0) throw new SandboxApiError(Errcode.InvalidParameterValue, `not the owner of ${notOwned.join(',')}`);
  if (chosen.length === 0) throw new SandboxApiError(Errcode.NoSendableCustomer);
  const now = ctx.nowMs();
  const nowS = Math.floor(now / 1000);
  const msgid = store.newId('msg', 24);
  const out: MemberSendOutcome = { msgid, sent: 0, overQuota: 0 };
  const recipients: SandboxMassRecipient[] = chosen.map((chatId) => {
    const receipts = store.massReceipts.get(chatId) ?? [];
    if (!hasMassQuota(ctx.options.massQuota, receipts, now)) {
      out.overQuota += 1;
      return { chatId, userid: input.userid, status: 3 };
    }
    receipts.push(now);
    store.massReceipts.set(chatId, receipts);
    out.sent += 1;
    return { chatId, userid: input.userid, status: 1, sendTime: nowS };
  });
  store.massTasks.set(msgid, {
    msgid,
    chatType: 'group',
    createdAtMs: now,
    creator: input.userid,
    createType: 1,
    text: { content: input.text },
    isCancelled: false,
    remindsMs: [],
    reminders: [],
    senders: [{ userid: input.userid, status: 2, sendTime: nowS }],
    recipients,
  });
  return out;
}

/** Mass messages: create, track, remind, cancel (docs/wecom-protocol.md §Mass messages, §Mass message results). */
export const groupMsgApis: ApiTable = {
  'externalcontact/add_msg_template': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const { store } = ctx;
      const chatType = optionalString(req.body, 'chat_type') ?? 'single';
      if (chatType !== 'single' && chatType !== 'group') throw new SandboxApiError(Errcode.InvalidParameterValue, 'chat_type');
      const sender = optionalString(req.body, 'sender') || undefined;
      if (sender && !store.staff.has(sender)) throw new SandboxApiError(Errcode.InvalidUserid, sender);
      const content = validateMessageContent(ctx, req.body);
      const failList: string[] = [];
      const recipients: SandboxMassRecipient[] = [];
      if (chatType === 'group') {
        // Group broadcasts need a sender (docs/wecom-protocol.md §Mass messages).
        if (!sender) throw new SandboxApiError(Errcode.ParameterEmpty, 'sender is required for chat_type group');
        const chatIds = stringArray(req.body, 'chat_id_list');
        if (chatIds.length > MAX_CHAT_IDS) throw new SandboxApiError(Errcode.InvalidParameterValue, 'chat_id_list exceeds 2000');
        const owned = [...store.groupChats.values()].filter((c) => c.owner === sender).map((c) => c.chatId);
        for (const chatId of chatIds.length > 0 ? chatIds : owned) {
          if (owned.includes(chatId)) recipients.push({ chatId, userid: sender, status: 0 });
          else failList.push(chatId);
        }
      } else {
        const ids = stringArray(req.body, 'external_userid');
        // ≤ 10,000 external_userid per call (docs/wecom-protocol.md §Mass messages, §Mass message quota).
        if (ids.length > MAX_EXTERNAL_USERIDS) throw new SandboxApiError(Errcode.InvalidParameterValue, 'external_userid exceeds 10000');
        // external_userid and sender may not both be empty (docs/wecom-protocol.md §Mass messages).
        if (ids.length === 0 && !sender) throw new SandboxApiError(Errcode.ParameterEmpty, 'external_userid and sender are both empty');
        const tagFilter = readTagFilter(req.body);
        const candidates = ids.length > 0 ? [...new Set(ids)] : store.relationsOfUser(sender!).map((r) => r.externalUserId);
        for (const externalUserId of candidates) {
          if (!store.customers.has(externalUserId)) {
            failList.push(externalUserId);
            continue;
          }
          const relation = sender ? store.findRelation(sender, externalUserId) : lastInteracted(store.relationsOfCustomer(externalUserId));
          if (!relation) {
            failList.push(externalUserId);
            continue;
          }
          if (!matchesTagFilter(relation.tagIds, tagFilter)) continue;
          recipients.push({ externalUserId, userid: relation.userid, status: 0 });
        }
      }
      if (recipients.length === 0) throw new SandboxApiError(Errcode.NoSendableCustomer);
      const msgid = store.newId('msg', 24);
      const senderIds = [...new Set(recipients.map((r) => r.userid))];
      store.massTasks.set(msgid, {
        msgid,
        chatType,
        createdAtMs: ctx.nowMs(),
        // API-created tasks are enterprise-created and carry no creator (docs/wecom-protocol.md §Mass message results).
        createType: 0,
        text: content.text,
        attachments: content.attachments,
        isCancelled: false,
        remindsMs: [],
        reminders: [],
        // Nothing is sent until each member confirms in the client (docs/wecom-protocol.md §Mass messages).
        senders: senderIds.map((userid) => ({ userid, status: 0 })),
        recipients,
      });
      return { fail_list: failList, msgid };
    },
  },

  'externalcontact/get_groupmsg_list_v2': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const chatType = optionalString(req.body, 'chat_type') ?? 'single';
      const start = optionalInt(req.body, 'start_time');
      const end = optionalInt(req.body, 'end_time');
      if (start === undefined || end === undefined) throw new SandboxApiError(Errcode.ParameterEmpty, 'start_time and end_time are required');
      if (end < start || end - start > MAX_LIST_RANGE_S) throw new SandboxApiError(Errcode.InvalidParameterValue, 'time range exceeds one month');
      const creator = optionalString(req.body, 'creator');
      const filterType = optionalInt(req.body, 'filter_type') ?? 2;
      const rows = [...ctx.store.massTasks.values()].filter((t) => {
        const s = Math.floor(t.createdAtMs / 1000);
        if (t.chatType !== chatType || s < start || s > end) return false;
        if (creator !== undefined && t.creator !== creator) return false;
        return filterType === 2 || t.createType === filterType;
      });
      const { page, next } = paginate(rows, req.body, 50, 100);
      return {
        next_cursor: next,
        group_msg_list: page.map((t) => ({
          msgid: t.msgid,
          ...(t.creator ? { creator: t.creator } : {}),
          // The official sample shows create_time as a string ("xxxx").
          create_time: String(Math.floor(t.createdAtMs / 1000)),
          create_type: t.createType,
          ...(t.text ? { text: t.text } : {}),
          ...(t.attachments ? { attachments: t.attachments } : {}),
        })),
      };
    },
  },

  'externalcontact/get_groupmsg_task': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const task = requireTask(ctx, requireString(req.body, 'msgid'), { checkDispatch: true });
      const { page, next } = paginate(task.senders, req.body, 500, 1000);
      return {
        next_cursor: next,
        task_list: page.map((s) => ({ userid: s.userid, status: s.status, ...(s.sendTime !== undefined ? { send_time: s.sendTime } : {}) })),
      };
    },
  },

  'externalcontact/get_groupmsg_send_result': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const task = requireTask(ctx, requireString(req.body, 'msgid'), { checkDispatch: true });
      const userid = optionalString(req.body, 'userid');
      const rows = userid ? task.recipients.filter((r) => r.userid === userid) : task.recipients;
      const { page, next } = paginate(rows, req.body, 500, 1000);
      return {
        next_cursor: next,
        send_list: page.map((r) => ({
          ...(r.externalUserId ? { external_userid: r.externalUserId } : { chat_id: r.chatId }),
          userid: r.userid,
          status: r.status,
          // send_time only when status = 1 (docs/wecom-protocol.md §Mass message results).
          ...(r.status === 1 ? { send_time: r.sendTime } : {}),
        })),
      };
    },
  },

  'externalcontact/remind_groupmsg_send': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const task = requireTask(ctx, requireString(req.body, 'msgid'), { checkDispatch: false });
      if (task.isCancelled) throw new SandboxApiError(Errcode.GroupMsgCancelled);
      const now = ctx.nowMs();
      task.remindsMs = task.remindsMs.filter((t) => now - t < DAY_MS);
      if (task.remindsMs.length >= MAX_REMINDS_PER_DAY) throw new SandboxApiError(Errcode.RemindTooOften);
      task.remindsMs.push(now);
      // WeCom notifies the members who have not sent the task yet; the sandbox keeps whom, for tests and the control
      // API (docs/wecom-protocol.md §Reminding members of a mass message).
      task.reminders.push({ atMs: now, userids: task.senders.filter((x) => x.status === 0).map((x) => x.userid) });
      return {};
    },
  },

  'externalcontact/cancel_groupmsg_send': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const task = requireTask(ctx, requireString(req.body, 'msgid'), { checkDispatch: false });
      if (task.isCancelled) throw new SandboxApiError(Errcode.GroupMsgCancelled);
      task.isCancelled = true;
      return {};
    },
  },
};
