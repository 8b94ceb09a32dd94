import { describe, expect, it } from 'vitest';
import { forecastQuota, quotaWindow } from '../../../../src/domain/group-broadcasts/group-quota.js';

const sh = (local: string) => new Date(`${local}+08:00`);

describe('quotaWindow', () => {
  it('is the calendar month in China time, as many messages as the month has days', () => {
    expect(quotaWindow('days_of_month', sh('2026-02-28T23:59:00'))).toEqual({ period: '2026-02', limit: 28, start: sh('2026-02-01T00:00:00'), end: sh('2026-03-01T00:00:00') });
    // 16:30 UTC on 31 July is already 1 August in Beijing.
    expect(quotaWindow('days_of_month', new Date('2026-07-31T16:30:00Z'))).toMatchObject({ period: '2026-08', limit: 31 });
  });
  it('is the week from Monday (7) or the day (1) under the other rules', () => {
    expect(quotaWindow('seven_per_week', sh('2026-07-05T12:00:00'))).toEqual({ period: 'w2026-06-29', limit: 7, start: sh('2026-06-29T00:00:00'), end: sh('2026-07-06T00:00:00') });
    expect(quotaWindow('one_per_day', sh('2026-07-05T12:00:00'))).toEqual({ period: '2026-07-05', limit: 1, start: sh('2026-07-05T00:00:00'), end: sh('2026-07-06T00:00:00') });
  });
});

describe('forecastQuota', () => {
  const w = quotaWindow('days_of_month', sh('2026-07-10T10:00:00'));
  const g = (chatId: string, used: number, pending = 0) => ({ chatId, name: chatId, owner: 'zhangsan', used, pending, limit: 31 });

  it('says nothing while every group has room after the sends', () => {
    expect(forecastQuota('days_of_month', w, [g('a', 10), g('b', 28, 1)], 1)).toMatchObject({ exhausted: 0, over: 0, warning: null, groups: [] });
  });
  it('names groups the send leaves with nothing and groups it pushes over, counting pending sends', () => {
    const f = forecastQuota('days_of_month', w, [g('ok', 3), g('last', 29, 1), g('full', 31), g('pend', 30, 1)], 1);
    expect(f).toMatchObject({ exhausted: 1, over: 2, period: '2026-07', limit: 31 });
    expect(f.groups.map((x) => x.chatId)).toEqual(['full', 'pend', 'last']);
    expect(f.warning).toBe('2 个群本期群发额度不足，超出的群收不到这条消息；1 个群发送后将用完本期额度，本期内成员自己也无法再向这些群群发（企业微信规则：每月可收当月天数条，2026-07 期上限 31 条，成员自己发的群发也计入）。');
  });
  it('takes a plan’s several sends in one period (a daily tip fills a month)', () => {
    expect(forecastQuota('days_of_month', w, [g('new', 0)], 31)).toMatchObject({ exhausted: 1, over: 0 });
    expect(forecastQuota('days_of_month', w, [g('new', 1)], 31)).toMatchObject({ exhausted: 0, over: 1 });
  });
});
