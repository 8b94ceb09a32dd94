import { createHash } from 'node:crypto';
import type { ApiTable } from '../api-types.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { optionalInt, stringArray } from '../params.js';

/** WeCom counts its statistics by China's calendar day (UTC+8, no daylight saving), whatever the bot's time zone. */
const CHINA_OFFSET_S = 8 * 3600;
const DAY_S = 86_400;
/** A call spans at most 30 days and reaches at most 180 days back (docs/wecom-protocol.md §Contact statistics). */
export const BEHAVIOR_MAX_SPAN_DAYS = 30;
export const BEHAVIOR_MAX_AGE_DAYS = 180;

/** 00:00 China time of the day `s` (unix seconds) falls on: WeCom rounds both ends down to it. */
export function chinaDayStart(s: number): number {
  return Math.floor((s + CHINA_OFFSET_S) / DAY_S) * DAY_S - CHINA_OFFSET_S;
}

/** One member's figures for one day, before summing. */
export interface BehaviorFigures {
  chat_cnt: number;
  message_cnt: number;
  /** Only when chat_cnt > 0. */
  reply_percentage?: number;
  avg_reply_time?: number;
  negative_feedback_cnt: number;
  new_apply_cnt: number;
  new_contact_cnt: number;
}

/**
 * The sandbox's plausible figures for a member on a day: derived from a hash of (userid, day), so every call, instance
 * and test sees the same numbers. About a fifth of weekdays and half of weekend days have no chats, and then no reply
 * fields, as WeCom leaves them out.
 */
export function behaviorOf(userid: string, dayStart: number): BehaviorFigures {
  const h = createHash('sha256').update(`${userid}|${dayStart}`).digest();
  const u = (i: number) => h.readUInt16BE(i * 2) / 65_536;
  const weekday = new Date((dayStart + CHINA_OFFSET_S) * 1000).getUTCDay();
  const isWeekend = weekday === 0 || weekday === 6;
  const hasChats = u(0) >= (isWeekend ? 0.5 : 0.2);
  const chat = hasChats ? 1 + Math.floor(u(1) * 24) : 0;
  const figures: BehaviorFigures = {
    chat_cnt: chat,
    message_cnt: chat === 0 ? 0 : chat + Math.floor(u(2) * chat * 5),
    negative_feedback_cnt: u(3) < 0.85 ? 0 : 1 + Math.floor(u(4) * 2),
    new_apply_cnt: Math.floor(u(5) * 5),
    new_contact_cnt: Math.floor(u(6) * 8),
  };
  if (chat > 0) {
    // A percentage with up to two decimals, like the doc's 60.25; minutes for the reply time.
    figures.reply_percentage = Math.round((40 + u(7) * 60) * 100) / 100;
    figures.avg_reply_time = 1 + Math.floor(u(8) * u(9) * 240);
  }
  return figures;
}

/** Several members' figures for one day, summed as WeCom does: counts added, reply figures weighted by chats. */
function sumOf(all: BehaviorFigures[]): BehaviorFigures {
  const out: BehaviorFigures = { chat_cnt: 0, message_cnt: 0, negative_feedback_cnt: 0, new_apply_cnt: 0, new_contact_cnt: 0 };
  let replied = 0;
  let replyMinutes = 0;
  for (const f of all) {
    out.chat_cnt += f.chat_cnt;
    out.message_cnt += f.message_cnt;
    out.negative_feedback_cnt += f.negative_feedback_cnt;
    out.new_apply_cnt += f.new_apply_cnt;
    out.new_contact_cnt += f.new_contact_cnt;
    if (f.reply_percentage !== undefined) {
      replied += f.chat_cnt * f.reply_percentage;
      replyMinutes += f.chat_cnt * (f.avg_reply_time ?? 0);
    }
  }
  if (out.chat_cnt > 0) {
    out.reply_percentage = Math.round((replied / out.chat_cnt) * 100) / 100;
    out.avg_reply_time = Math.round(replyMinutes / out.chat_cnt);
  }
  return out;
}

/** 统计管理 (docs/wecom-protocol.md §Contact statistics). */
export const statsApis: ApiTable = {
  'externalcontact/get_user_behavior_data': {
    method: 'POST',
    auth: 'agent',
    handle(req, { store, nowMs }) {
      const userids = stringArray(req.body, 'userid');
      const partyRaw = req.body.partyid;
      if (partyRaw !== undefined && partyRaw !== null && (!Array.isArray(partyRaw) || partyRaw.some((p) => !Number.isInteger(p)))) {
        throw new SandboxApiError(Errcode.InvalidParameterValue, 'partyid must be an array of integers');
      }
      const partyids = (partyRaw ?? []) as number[];
      // userid and partyid not both empty, each ≤ 100. The doc names no code for these; 40058 (invalid parameter value)
      // is the closest documented one.
      if (userids.length === 0 && partyids.length === 0) throw new SandboxApiError(Errcode.InvalidParameterValue, 'userid and partyid cannot both be empty');
      if (userids.length > 100 || partyids.length > 100) throw new SandboxApiError(Errcode.InvalidParameterValue, 'at most 100 userid and 100 partyid');
      const start = optionalInt(req.body, 'start_time');
      const end = optionalInt(req.body, 'end_time');
      if (start === undefined || end === undefined) throw new SandboxApiError(Errcode.ParameterEmpty, 'start_time and end_time are required');
      // Both ends round down to their day; the range is closed. Milliseconds, an end before the start, a span over 30
      // days or a start more than 180 days back all answer 600018 "invalid start endtime".
      const now = Math.floor(nowMs() / 1000);
      const today = chinaDayStart(now);
      const first = chinaDayStart(start);
      const last = chinaDayStart(end);
      if (start > now + 366 * DAY_S || end > now + 366 * DAY_S) throw new SandboxApiError(Errcode.InvalidStartEndTime, 'seconds, not milliseconds');
      if (last < first) throw new SandboxApiError(Errcode.InvalidStartEndTime, 'end_time before start_time');
      if ((last - first) / DAY_S > BEHAVIOR_MAX_SPAN_DAYS) throw new SandboxApiError(Errcode.InvalidStartEndTime, `span over ${BEHAVIOR_MAX_SPAN_DAYS} days`);
      if ((today - first) / DAY_S > BEHAVIOR_MAX_AGE_DAYS) throw new SandboxApiError(Errcode.InvalidStartEndTime, `start more than ${BEHAVIOR_MAX_AGE_DAYS} days back`);
      const members = new Set<string>();
      for (const u of userids) {
        const m = store.staff.get(u);
        if (!m) throw new SandboxApiError(Errcode.InvalidUserid, u);
        // The app sees only members in its visible range (docs/wecom-protocol.md §Error codes, 60011).
        if (m.isOutsideVisibleRange) throw new SandboxApiError(Errcode.NoContactPrivilege, u);
        members.add(u);
      }
      for (const p of partyids) for (const m of store.staff.values()) if (!m.isOutsideVisibleRange && (m.department ?? [1]).includes(p)) members.add(m.userid);
      const behavior_data: Record<string, unknown>[] = [];
      for (let d = first; d <= last; d += DAY_S) {
        // Today is not over, and days to come have nothing: zeros, no reply fields.
        const figures = d >= today ? sumOf([]) : sumOf([...members].map((u) => behaviorOf(u, d)));
        behavior_data.push({ stat_time: d, ...figures });
      }
      return { behavior_data };
    },
  },
};
