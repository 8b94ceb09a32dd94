import { describe, expect, it } from 'vitest';
import { cancelMessage, canCancel, reasonText, remindBlockedText, remindCountText, remindMessage, remindable, waiting, type BroadcastProgress, type StaffProgress } from '../../src/web/console/lib/broadcast';

/** The words of the broadcast pages: what a cancel will do, and why a broadcast or a row stopped (never a raw code). */
describe('console broadcast words', () => {
  const progress = (over: Partial<BroadcastProgress['funnel']>, staff: { confirmedTasks: number; waitingTasks: number; reminders?: StaffProgress['reminders'] }[], withdrawable: number): BroadcastProgress => ({
    staff: staff.map((s, i) => ({ userid: `u${i}`, name: `员工${i}`, tasks: s.confirmedTasks + s.waitingTasks, withdrawnTasks: 0, refusedTasks: 0, rows: {}, reminders: { last24h: 0, maxPerTask: 0, limitedTasks: 0, nextAllowedAt: null, lastAt: null }, ...s })),
    funnel: { planned: 0, submitted: 0, confirmed: 0, sent: 0, skipped: 0, skippedByReason: {}, overQuota: 0, failed: 0, expired: 0, pending: 0, ...over },
    withdrawableTasks: withdrawable,
    onlyUserid: null,
  });

  it('names the unconfirmed tasks a cancel withdraws, the rows it stops and the confirmed tasks it cannot reach', () => {
    const b = { name: '国庆活动', status: 'sending', audienceCount: 50 };
    const p = progress({ pending: 4 }, [{ confirmedTasks: 2, waitingTasks: 1 }, { confirmedTasks: 0, waitingTasks: 2 }], 3);
    expect(cancelMessage(b, p)).toBe('将撤回 3 个未确认的群发任务，4 位客户的消息不再提交。员工已确认发送的 2 个任务已送出，不受影响。');
    expect(cancelMessage({ ...b, status: 'scheduled' }, p)).toBe('将取消群发「国庆活动」，不会向 50 位客户发送。');
    expect(cancelMessage({ ...b, status: 'cancelled' }, p)).toContain('将再次撤回 3 个');
  });

  it('offers cancel while scheduled or sending, and on a cancelled broadcast only while tasks are left to withdraw', () => {
    expect(canCancel({ status: 'scheduled' })).toBe(true);
    expect(canCancel({ status: 'sending' })).toBe(true);
    expect(canCancel({ status: 'planning' })).toBe(false);
    expect(canCancel({ status: 'done' })).toBe(false);
    expect(canCancel({ status: 'cancelled' }, progress({}, [], 0))).toBe(false);
    expect(canCancel({ status: 'cancelled' }, progress({}, [], 1))).toBe(true);
  });

  it('offers 提醒成员群发 for the members with waiting tasks of a sending broadcast, and says what it will do', () => {
    const p = progress({}, [{ confirmedTasks: 1, waitingTasks: 0 }, { confirmedTasks: 0, waitingTasks: 2 }, { confirmedTasks: 1, waitingTasks: 1 }], 3);
    expect(remindable({ status: 'sending' }, p).map((s) => s.userid)).toEqual(['u1', 'u2']);
    expect(remindable({ status: 'cancelled' }, p)).toEqual([]);
    expect(remindMessage(remindable({ status: 'sending' }, p))).toBe('将通过企业微信提醒 2 位成员在「群发助手」中确认发送（3 个待确认的群发任务）。企业微信限制每个任务 24 小时内最多提醒 3 次。');
    expect(remindMessage([p.staff[1]])).toContain('提醒成员「员工1」');
  });

  it('counts reminders per task as WeCom limits them, and holds back a member whose every waiting task is at 3', () => {
    const fmt = (iso: string) => iso.slice(0, 16);
    const at = (limitedTasks: number, maxPerTask: number) => ({ last24h: 9, maxPerTask, limitedTasks, nextAllowedAt: limitedTasks ? '2026-12-07T10:00:00.000Z' : null, lastAt: '2026-12-06T10:00:00.000Z' });
    // 3 tasks reminded 3 times each: 9 in all, but each task is at 3/3, and none can go now.
    const p = progress({}, [{ confirmedTasks: 0, waitingTasks: 3, reminders: at(3, 3) }, { confirmedTasks: 0, waitingTasks: 2, reminders: at(1, 3) }], 5);
    const [full, part] = p.staff;
    expect(remindCountText(full, fmt)).toBe('单个任务 24 小时内最多 3/3 次');
    expect(remindBlockedText(full, fmt)).toBe('该成员待确认的 3 个群发任务 24 小时内都已提醒 3 次（企业微信上限），2026-12-07T10:00 后可再提醒');
    expect(remindBlockedText(part, fmt)).toBe('');
    expect(waiting({ status: 'sending' }, p)).toHaveLength(2);
    expect(remindable({ status: 'sending' }, p).map((s) => s.userid)).toEqual(['u1']);
    expect(remindMessage([part])).toBe('将通过企业微信提醒成员「员工1」在「群发助手」中确认发送（1 个待确认的群发任务）。另有 1 个任务 24 小时内已提醒 3 次，本次跳过。企业微信限制每个任务 24 小时内最多提醒 3 次。');
    expect(remindCountText({ ...part, reminders: { ...at(0, 0), last24h: 0 } }, fmt)).toBe('上次 2026-12-06T10:00');
  });

  it('reads a reason by its code, else by the Chinese half of the server text, never as a bare code', () => {
    expect(reasonText('missed_window: 超过发送时间 48 小时仍未发出 / not sent within 48 h of sendAt')).toBe('错过发送窗口（48 小时内未能规划）');
    expect(reasonText('cancelled: 运营取消 / cancelled by an operator')).toBe('运营取消');
    expect(reasonText('opted_out')).toBe('客户已退订');
    expect(reasonText('wecom 41001: 某个新错误 / something new')).toBe('某个新错误');
    expect(reasonText('some_code: english only')).toBe('其他原因');
    expect(reasonText(null)).toBe('');
  });
});
