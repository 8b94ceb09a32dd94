import { describe, expect, it } from 'vitest';
import { delayWords, stepDueAt } from '../../../../src/domain/journeys/journey-schedule.js';

const sh = (local: string) => new Date(`${local}+08:00`);

describe('journey step delays', () => {
  it('counts minutes from the previous step', () => {
    expect(stepDueAt({ kind: 'after', minutes: 0 }, sh('2026-07-01T14:00:00'), 'Asia/Shanghai')).toEqual(sh('2026-07-01T14:00:00'));
    expect(stepDueAt({ kind: 'after', minutes: 3 * 1440 }, sh('2026-07-01T14:00:00'), 'Asia/Shanghai')).toEqual(sh('2026-07-04T14:00:00'));
  });

  it('"next day at 10:00" is the local next day, also when UTC is still on the previous date', () => {
    // 2026-07-01 07:30 in Shanghai is 2026-06-30 23:30 UTC: the next local day is 07-02.
    expect(stepDueAt({ kind: 'at', days: 1, time: '10:00' }, sh('2026-07-01T07:30:00'), 'Asia/Shanghai')).toEqual(sh('2026-07-02T10:00:00'));
    expect(stepDueAt({ kind: 'at', days: 1, time: '10:00' }, sh('2026-07-01T23:59:00'), 'Asia/Shanghai')).toEqual(sh('2026-07-02T10:00:00'));
    // Same day at a time already past is due at once (the tick takes it at its next minute).
    expect(stepDueAt({ kind: 'at', days: 0, time: '10:00' }, sh('2026-07-01T14:00:00'), 'Asia/Shanghai')).toEqual(sh('2026-07-01T10:00:00'));
  });

  it('says delays in words', () => {
    expect([{ kind: 'after', minutes: 0 }, { kind: 'after', minutes: 90 }, { kind: 'after', minutes: 120 }, { kind: 'after', minutes: 2880 }, { kind: 'at', days: 1, time: '10:00' }, { kind: 'at', days: 3, time: '09:30' }].map((d) => delayWords(d as never))).toEqual([
      '立即',
      '90 分钟后',
      '2 小时后',
      '2 天后',
      '次日 10:00',
      '3 天后 09:30',
    ]);
  });
});
