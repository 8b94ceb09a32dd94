import { describe, expect, it } from 'vitest';
import { dueFires, fireTimes, isoWeekday, outcomeOf } from '../../../../src/domain/group-sop/sop-schedule.js';
import { sopQuotaUse } from '../../../../src/domain/group-sop/sop-quota.js';
import type { SopGroup, SopStep } from '../../../../src/domain/group-sop/group-sop.types.js';

const sh = (local: string) => new Date(`${local}+08:00`);
const TZ = 'Asia/Shanghai';
const step = (over: Partial<SopStep> = {}): SopStep => ({ id: 's1', time: '20:00', action: 'post', title: '小贴士', text: '今日小贴士', ...over });
const group = (createdAt: Date | null = sh('2026-03-02T15:30:00')): SopGroup => ({ chatId: 'wr1', name: '群', owner: 'zhangsan', createdAt });
const iso = (ds: Date[]) => ds.map((d) => d.toISOString());

describe('fireTimes', () => {
  it('fires a recurring step at its local time on each chosen weekday', () => {
    // 2026-03-02 is a Monday.
    expect(isoWeekday('2026-03-02')).toBe(1);
    expect(isoWeekday('2026-03-08')).toBe(7);
    const weekdays = fireTimes({ kind: 'recurring', weekdays: [1, 2, 3, 4, 5] }, step(), group(), sh('2026-03-02T00:00:00'), sh('2026-03-09T00:00:00'), TZ);
    expect(iso(weekdays)).toEqual(['02', '03', '04', '05', '06'].map((d) => sh(`2026-03-${d}T20:00:00`).toISOString()));
  });

  it('takes the span as (from, to]: a fire exactly at `from` belongs to the previous run', () => {
    const s = { kind: 'recurring' as const, weekdays: [1, 2, 3, 4, 5, 6, 7] };
    expect(fireTimes(s, step({ time: '09:00' }), group(), sh('2026-03-15T09:00:00'), sh('2026-03-15T09:01:00'), TZ)).toEqual([]);
    expect(iso(fireTimes(s, step({ time: '09:00' }), group(), sh('2026-03-15T08:59:00'), sh('2026-03-15T09:00:00'), TZ))).toEqual([sh('2026-03-15T09:00:00').toISOString()]);
  });

  it('computes local times whatever the process time zone (00:30 local is the previous day in UTC)', () => {
    const at = fireTimes({ kind: 'recurring', weekdays: [7] }, step({ time: '00:30' }), group(), sh('2026-03-08T00:00:00'), sh('2026-03-08T23:59:00'), TZ);
    expect(iso(at)).toEqual(['2026-03-07T16:30:00.000Z']);
  });

  it('fires a relative step on the local date `day` days after creation; day 0 is the creation date', () => {
    const span = [sh('2026-03-01T00:00:00'), sh('2026-03-31T00:00:00')] as const;
    const at = (day: number) => iso(fireTimes({ kind: 'relative' }, step({ day, time: '10:00' }), group(), span[0], span[1], TZ));
    expect(at(0)).toEqual([sh('2026-03-02T10:00:00').toISOString()]);
    expect(at(1)).toEqual([sh('2026-03-03T10:00:00').toISOString()]);
    expect(at(7)).toEqual([sh('2026-03-09T10:00:00').toISOString()]);
    // Created at 23:30 local, which is still the same local date though UTC has moved on.
    const late = group(sh('2026-03-02T23:30:00'));
    expect(iso(fireTimes({ kind: 'relative' }, step({ day: 1, time: '10:00' }), late, span[0], span[1], TZ))).toEqual([sh('2026-03-03T10:00:00').toISOString()]);
    expect(fireTimes({ kind: 'relative' }, step({ day: 1 }), group(null), span[0], span[1], TZ)).toEqual([]);
  });

  it('orders the fires of several steps and groups by time', () => {
    const fires = dueFires(
      { schedule: { kind: 'relative' }, steps: [step({ id: 'd3', day: 3, time: '09:00' }), step({ id: 'd1', day: 1, time: '20:00' })] },
      [group(), { ...group(sh('2026-03-03T08:00:00')), chatId: 'wr2' }],
      sh('2026-03-01T00:00:00'),
      sh('2026-03-31T00:00:00'),
      TZ,
    );
    expect(fires.map((f) => `${f.step.id}/${f.group.chatId}`)).toEqual(['d1/wr1', 'd1/wr2', 'd3/wr1', 'd3/wr2']);
  });
});

describe('outcomeOf', () => {
  const fireAt = sh('2026-03-15T09:00:00');
  it('is done within the window, late after it, missed when the window passes without it, pending inside it', () => {
    expect(outcomeOf({ fireAt, doneAt: sh('2026-03-15T10:59:00'), status: 'done' }, 120, sh('2026-03-16T00:00:00'))).toBe('done');
    expect(outcomeOf({ fireAt, doneAt: sh('2026-03-15T11:01:00'), status: 'done' }, 120, sh('2026-03-16T00:00:00'))).toBe('late');
    expect(outcomeOf({ fireAt, doneAt: null, status: 'reminded' }, 120, sh('2026-03-15T10:00:00'))).toBe('pending');
    expect(outcomeOf({ fireAt, doneAt: null, status: 'reminded' }, 120, sh('2026-03-15T11:01:00'))).toBe('missed');
    expect(outcomeOf({ fireAt, doneAt: null, status: 'failed' }, 120, sh('2026-03-15T09:01:00'))).toBe('missed');
  });
});

describe('sopQuotaUse', () => {
  const now = sh('2026-03-15T12:00:00');
  const daily = { kind: 'recurring' as const, weekdays: [1, 2, 3, 4, 5, 6, 7] };
  it('warns that a daily tip alone uses the whole default quota', () => {
    const q = sopQuotaUse({ schedule: daily, steps: [step()] }, 'days_of_month', now, TZ);
    // The first whole month (April, 30 days): a post every day is all 30.
    expect(q).toMatchObject({ level: 'exhausts', posts: 30, limit: 30 });
    expect(q.warning).toContain('将用完每个群的全部额度');
  });
  it('says when a plan exceeds it, and is quiet for weekday tips and for reminders', () => {
    expect(sopQuotaUse({ schedule: daily, steps: [step(), step({ id: 's2', time: '21:00' })] }, 'days_of_month', now, TZ).level).toBe('exceeds');
    expect(sopQuotaUse({ schedule: { kind: 'recurring', weekdays: [1, 2, 3, 4, 5] }, steps: [step()] }, 'days_of_month', now, TZ)).toMatchObject({ level: 'ok', warning: null });
    expect(sopQuotaUse({ schedule: daily, steps: [step({ action: 'remind' })] }, 'one_per_day', now, TZ)).toMatchObject({ level: 'ok', posts: 0 });
    expect(sopQuotaUse({ schedule: { kind: 'relative' }, steps: [step({ day: 1 }), step({ id: 's2', day: 1, time: '21:00' })] }, 'one_per_day', now, TZ).level).toBe('exceeds');
  });
});
