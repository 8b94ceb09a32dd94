import { createHash } from 'node:crypto';
import type { ApiContext, ApiRequest, ApiTable } from '../api-types.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { optionalInt, optionalObject } from '../params.js';
import type { SandboxGroupChat } from '../store.js';
import { chinaDayStart } from './stats.api.js';

const DAY_S = 86_400;
/** A call spans at most 30 days and reaches at most 180 days back (docs/wecom-protocol.md §Group statistics). */
const MAX_SPAN_DAYS = 30;
const MAX_AGE_DAYS = 180;
/** owner_filter.userid_list ≤ 100; without a filter, 81017 when the visible range holds over 1000 members. */
const MAX_OWNERS = 100;
const MAX_VISIBLE_WITHOUT_FILTER = 1000;

/** The figures of 群聊数据统计, as the wire names them. */
interface Figures {
  new_chat_cnt: number;
  chat_total: number;
  chat_has_msg: number;
  new_member_cnt: number;
  member_total: number;
  member_has_msg: number;
  msg_total: number;
  migrate_trainee_chat_cnt: number;
}

const zero = (): Figures => ({ new_chat_cnt: 0, chat_total: 0, chat_has_msg: 0, new_member_cnt: 0, member_total: 0, member_has_msg: 0, msg_total: 0, migrate_trainee_chat_cnt: 0 });

/**
 * A group's talk on a day, which the sandbox does not record: derived from a hash of (chat, day), so every call and
 * test sees the same numbers. About 60 % of groups talk on a given day; never more speakers than members.
 */
export function groupTalkOf(chatId: string, dayStart: number, members: number): { speakers: number; messages: number } {
  if (members === 0) return { speakers: 0, messages: 0 };
  const h = createHash('sha256').update(`${chatId}|${dayStart}`).digest();
  const u = (i: number) => h.readUInt16BE(i * 2) / 65_536;
  if (u(0) >= 0.6) return { speakers: 0, messages: 0 };
  const speakers = Math.min(members, 1 + Math.floor(u(1) * Math.min(members, 20)));
  return { speakers, messages: speakers + Math.floor(u(2) * speakers * 6) };
}

/**
 * One group's figures on the day starting at `d` (unix seconds, 00:00 China time), from the sandbox's own group store:
 * created that day, members who joined that day, the totals at the day's end, and its talk. The group counts for
 * its current owner (the store keeps no owner history).
 */
function groupDay(chat: SandboxGroupChat, d: number): Figures {
  const f = zero();
  const end = d + DAY_S;
  if (chat.createTime >= end) return f;
  const members = chat.members.filter((m) => m.joinTime < end);
  if (chat.createTime >= d) f.new_chat_cnt = 1;
  f.chat_total = 1;
  f.new_member_cnt = members.filter((m) => m.joinTime >= d).length;
  f.member_total = members.length;
  const talk = groupTalkOf(chat.chatId, d, members.length);
  f.chat_has_msg = talk.messages > 0 ? 1 : 0;
  f.member_has_msg = talk.speakers;
  f.msg_total = talk.messages;
  return f;
}

function add(a: Figures, b: Figures): void {
  for (const k of Object.keys(a) as (keyof Figures)[]) a[k] += b[k];
}

/**
 * The owners' figures for each day of [first, last]: today and later are not over and answer zeros. Flows (new
 * groups, new members, messages) are the day's; totals are at the day's end.
 */
function ownerDays(ctx: ApiContext, owners: Set<string>, first: number, last: number, today: number): { day: number; figures: Figures }[] {
  const chats = [...ctx.store.groupChats.values()].filter((c) => owners.has(c.owner));
  const out: { day: number; figures: Figures }[] = [];
  for (let d = first; d <= last; d += DAY_S) {
    const f = zero();
    if (d < today) for (const c of chats) add(f, groupDay(c, d));
    out.push({ day: d, figures: f });
  }
  return out;
}

/**
 * The checks both APIs share: day_begin_time required, day_end_time defaulting to it, both rounded down to 00:00
 * China time; a span over 30 days, a start more than 180 days back, an end before the start or milliseconds answer
 * 600018 (WeCom names no code for these here; the contact statistics' one is the closest documented). The owners:
 * ≤ 100 listed, or every visible member when none are (81017 beyond 1000).
 */
function parse(req: ApiRequest, ctx: ApiContext): { owners: Set<string>; first: number; last: number; today: number } {
  const begin = optionalInt(req.body, 'day_begin_time');
  if (begin === undefined) throw new SandboxApiError(Errcode.ParameterEmpty, 'day_begin_time');
  const end = optionalInt(req.body, 'day_end_time') ?? begin;
  const now = Math.floor(ctx.nowMs() / 1000);
  const today = chinaDayStart(now);
  if (begin > now + 366 * DAY_S || end > now + 366 * DAY_S) throw new SandboxApiError(Errcode.InvalidStartEndTime, 'seconds, not milliseconds');
  const first = chinaDayStart(begin);
  const last = chinaDayStart(end);
  if (last < first) throw new SandboxApiError(Errcode.InvalidStartEndTime, 'day_end_time before day_begin_time');
  if ((last - first) / DAY_S >= MAX_SPAN_DAYS) throw new SandboxApiError(Errcode.InvalidStartEndTime, `span over ${MAX_SPAN_DAYS} days`);
  if ((today - first) / DAY_S > MAX_AGE_DAYS) throw new SandboxApiError(Errcode.InvalidStartEndTime, `start more than ${MAX_AGE_DAYS} days back`);
  const filter = optionalObject(req.body, 'owner_filter');
  const list = filter?.userid_list;
  if (list !== undefined && (!Array.isArray(list) || list.some((u) => typeof u !== 'string'))) throw new SandboxApiError(Errcode.InvalidParameterValue, 'owner_filter.userid_list');
  const owners = new Set<string>();
  if (Array.isArray(list) && list.length > 0) {
    if (list.length > MAX_OWNERS) throw new SandboxApiError(Errcode.InvalidParameterValue, `owner_filter.userid_list exceeds ${MAX_OWNERS}`);
    for (const u of list as string[]) {
      const m = ctx.store.staff.get(u);
      // Owners must be inside the app's visible range (the doc's 权限说明).
      if (m?.isOutsideVisibleRange) throw new SandboxApiError(Errcode.NoContactPrivilege, u);
      owners.add(u);
    }
  } else {
    const visible = [...ctx.store.staff.values()].filter((m) => !m.isOutsideVisibleRange);
    if (visible.length > MAX_VISIBLE_WITHOUT_FILTER) throw new SandboxApiError(Errcode.TooManyVisibleMembers);
    for (const m of visible) owners.add(m.userid);
  }
  return { owners, first, last, today };
}

/** 获取「群聊数据统计」数据 (docs/wecom-protocol.md §Group statistics). */
export const groupStatsApis: ApiTable = {
  // 按群主聚合: one item per owner with the range summed (totals and has-msg counts are the range's last day's).
  'externalcontact/groupchat/statistic': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const { owners, first, last, today } = parse(req, ctx);
      const orderBy = optionalInt(req.body, 'order_by') ?? 1;
      if (orderBy < 1 || orderBy > 4) throw new SandboxApiError(Errcode.InvalidParameterValue, 'order_by must be 1..4');
      const isAsc = optionalInt(req.body, 'order_asc') === 1;
      const offset = Math.max(0, optionalInt(req.body, 'offset') ?? 0);
      const limit = optionalInt(req.body, 'limit') ?? 500;
      if (limit < 1 || limit > 1000) throw new SandboxApiError(Errcode.InvalidParameterValue, 'limit must be 1..1000');
      const rows = [...owners].map((owner) => {
        const days = ownerDays(ctx, new Set([owner]), first, last, today);
        const sum = zero();
        for (const d of days) {
          sum.new_chat_cnt += d.figures.new_chat_cnt;
          sum.new_member_cnt += d.figures.new_member_cnt;
          sum.msg_total += d.figures.msg_total;
        }
        const lastDay = days[days.length - 1]!.figures;
        sum.chat_total = lastDay.chat_total;
        sum.member_total = lastDay.member_total;
        sum.chat_has_msg = Math.max(...days.map((d) => d.figures.chat_has_msg));
        sum.member_has_msg = Math.max(...days.map((d) => d.figures.member_has_msg));
        return { owner, data: sum };
      });
      const key = (['new_chat_cnt', 'chat_total', 'new_member_cnt', 'member_total'] as const)[orderBy - 1]!;
      rows.sort((a, b) => (isAsc ? a.data[key] - b.data[key] : b.data[key] - a.data[key]) || a.owner.localeCompare(b.owner));
      const page = rows.slice(offset, offset + limit);
      return { total: rows.length, next_offset: offset + page.length, items: page };
    },
  },
  // 按自然日聚合: one item per day, the owners summed.
  'externalcontact/groupchat/statistic_group_by_day': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const { owners, first, last, today } = parse(req, ctx);
      return { items: ownerDays(ctx, owners, first, last, today).map((d) => ({ stat_time: d.day, data: d.figures })) };
    },
  },
};
