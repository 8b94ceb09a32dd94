import type { GroupStatsRepository } from '../../persistence/repositories/group-stats.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { GroupChatStatFigures } from '../../wecom/client/types.js';
import { WecomApiError, toError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { addDays, localDate } from '../../shared/dates.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import { callRanges, pullRange, WECOM_STATS_TZ } from './staff-stats.service.js';
import { periodsOf } from './analytics-periods.js';
import type { AnalyticsViewer, Frame, RangeQuery } from './analytics.types.js';
import type { GroupFigures, GroupStatDay, GroupsAnswer } from './group-stats.types.js';

/** owner_filter.userid_list holds at most 100 owners (docs/wecom-protocol.md §Group statistics). */
const OWNERS_PER_CALL = 100;

/** What one night's pull did. */
export interface GroupPullCounts {
  owners: number;
  calls: number;
  days: number;
  /** The range pulled, or null when there was nothing to pull. */
  from: string | null;
  to: string | null;
  /** The error that stopped the pull; the next night resumes from the last day stored. */
  error: string | null;
}

const zeroDay = (day: string, owner: string): GroupStatDay => ({ day, owner, newChatCnt: 0, chatTotal: 0, chatHasMsg: 0, newMemberCnt: 0, memberTotal: 0, memberHasMsg: 0, msgTotal: 0, migrateTraineeChatCnt: 0 });

function addFigures(r: GroupStatDay, f: GroupChatStatFigures): void {
  r.newChatCnt += f.newChatCnt;
  r.chatTotal += f.chatTotal;
  r.chatHasMsg += f.chatHasMsg;
  r.newMemberCnt += f.newMemberCnt;
  r.memberTotal += f.memberTotal;
  r.memberHasMsg += f.memberHasMsg;
  r.msgTotal += f.msgTotal;
  r.migrateTraineeChatCnt += f.migrateTraineeChatCnt;
}

/** Sum a period's stored days: flows summed, has-message counts at their busiest day, totals at the last day. */
export function sumGroupDays(days: GroupStatDay[]): GroupFigures {
  const out: GroupFigures = { newGroups: 0, newMembers: 0, messages: 0, activeGroups: 0, speakingMembers: 0, groupTotal: null, memberTotal: null, asOf: null, days: 0 };
  for (const d of days) {
    out.days++;
    out.newGroups += d.newChatCnt;
    out.newMembers += d.newMemberCnt;
    out.messages += d.msgTotal;
    out.activeGroups = Math.max(out.activeGroups, d.chatHasMsg);
    out.speakingMembers = Math.max(out.speakingMembers, d.memberHasMsg);
    if (out.asOf === null || d.day > out.asOf) {
      out.asOf = d.day;
      out.groupTotal = d.chatTotal;
      out.memberTotal = d.memberTotal;
    }
  }
  return out;
}

/**
 * 群聊数据统计 (docs/groups.md §Group statistics): the nightly pull of WeCom's per-day group figures into
 * `group_stat_days`, per owner (groupchat/statistic, one day a call) and for the corp (statistic_group_by_day), and
 * the analytics answer read from them.
 */
export class GroupStatsService {
  constructor(
    private readonly repo: GroupStatsRepository,
    private readonly wecom: Pick<WecomGateway, 'groupChatStatistic' | 'groupChatStatisticByDay'>,
    private readonly log: Logger,
    private readonly frameOf?: (q: RangeQuery, viewer: AnalyticsViewer) => Frame,
  ) {}

  /** Tonight's range and number of calls, for a dry run. */
  async plan(now: Date): Promise<{ from: string; to: string; owners: number; calls: number } | null> {
    const r = pullRange(await this.repo.lastDay(), localDate(now, WECOM_STATS_TZ));
    const owners = (await this.repo.owners()).length;
    if (!r || owners === 0) return null;
    const batches = Math.ceil(owners / OWNERS_PER_CALL);
    const days = callRanges(r.from, r.to).reduce((n, c) => n + dayCount(c.from, c.to), 0);
    return { ...r, owners, calls: batches * (callRanges(r.from, r.to).length + days) };
  }

  /**
   * Pull the days since the last one stored through yesterday, the newest 3 again, a first night's 30 days back (the
   * contact statistics' rules, docs/analytics.md §Staff performance). Each ≤ 30-day slice is saved in one transaction
   * once all its calls answered, so a failure keeps the days before it and the next night resumes from there.
   */
  async pull(now: Date): Promise<GroupPullCounts> {
    const today = localDate(now, WECOM_STATS_TZ);
    const owners = await this.repo.owners();
    const range = pullRange(await this.repo.lastDay(), today);
    const counts: GroupPullCounts = { owners: owners.length, calls: 0, days: 0, from: range?.from ?? null, to: range?.to ?? null, error: null };
    if (!range || owners.length === 0) return counts;
    const batches: string[][] = [];
    for (let i = 0; i < owners.length; i += OWNERS_PER_CALL) batches.push(owners.slice(i, i + OWNERS_PER_CALL));
    try {
      for (const c of callRanges(range.from, range.to)) {
        const rows = new Map<string, GroupStatDay>();
        const row = (day: string, owner: string): GroupStatDay => {
          const key = `${day}|${owner}`;
          let r = rows.get(key);
          if (!r) rows.set(key, (r = zeroDay(day, owner)));
          return r;
        };
        for (let d = c.from; d <= c.to; d = addDays(d, 1)) row(d, '');
        for (const ownerIds of batches) {
          await yieldToEventLoop();
          counts.calls++;
          // The corp's day: each batch of owners comes back summed per day, and the batches add up.
          for (const item of await this.wecom.groupChatStatisticByDay({ fromDay: c.from, toDay: c.to, ownerUserIds: ownerIds })) {
            // Only the days asked for: what WeCom rounds or adds is not stored under another day.
            if (item.day >= c.from && item.day <= c.to) addFigures(row(item.day, ''), item.figures);
          }
          // Per owner: groupchat/statistic sums its range, so one day per call.
          for (let d = c.from; d <= c.to; d = addDays(d, 1)) {
            counts.calls++;
            for (const item of await this.wecom.groupChatStatistic({ fromDay: d, toDay: d, ownerUserIds: ownerIds })) addFigures(row(d, item.owner), item.figures);
          }
        }
        await this.repo.save([...rows.values()], now);
        counts.days += dayCount(c.from, c.to);
      }
    } catch (err) {
      const e = toError(err);
      counts.error = err instanceof WecomApiError ? `errcode ${err.errcode}: ${err.errmsg}` : e.message;
      this.log.warn({ err: e }, 'group statistics pull failed; resumed from the last stored day next night');
    }
    return counts;
  }

  /** GET /api/v1/analytics/groups: per period, the corp's figures, or one owner's (a staff caller's own). */
  async groups(q: RangeQuery, viewer: AnalyticsViewer): Promise<GroupsAnswer> {
    if (!this.frameOf) throw new Error('GroupStatsService.groups needs frameOf');
    const f = this.frameOf(q, viewer);
    const owner = f.userid ?? '';
    const days = await this.repo.days(owner, f.from, f.to);
    const lines = periodsOf(f.from, f.to, f.granularity)
      .map((p) => ({ period: p.period, ...sumGroupDays(days.filter((d) => d.day >= p.start && d.day <= p.end)) }))
      .filter((l) => l.days > 0);
    return { ...f, kind: 'pulled', unit: owner ? 'owner' : 'corp', lines, total: sumGroupDays(days), lastPulledDay: await this.repo.lastDay() };
  }
}

function dayCount(from: string, to: string): number {
  let n = 0;
  for (let d = from; d <= to; d = addDays(d, 1)) n++;
  return n;
}
