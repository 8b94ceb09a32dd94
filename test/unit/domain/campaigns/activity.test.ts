import { describe, expect, it } from 'vitest';
import { classifyActivity, silenceStart } from '../../../../src/domain/campaigns/activity.js';

const tz = 'Asia/Shanghai';
const t = { dormantDays: 30, churnedDays: 90 };
const at = (s: string) => new Date(`${s}+08:00`);

describe('classifyActivity', () => {
  it('is active below D1 days of silence, dormant from D1, churned from D2', () => {
    const f = (last: string) => ({ lastInteractionAt: at(last), firstAddedAt: at('2025-01-01T10:00:00'), hasActiveRelation: true });
    expect(classifyActivity(f('2026-03-01T23:59:00'), '2026-03-30', tz, t)).toBe('active');
    expect(classifyActivity(f('2026-03-01T23:59:00'), '2026-03-31', tz, t)).toBe('dormant');
    expect(classifyActivity(f('2026-01-01T00:30:00'), '2026-04-01', tz, t)).toBe('churned');
  });

  it('counts silence from the add date when there was never an interaction', () => {
    expect(classifyActivity({ lastInteractionAt: null, firstAddedAt: at('2026-03-01T09:00:00'), hasActiveRelation: true }, '2026-03-31', tz, t)).toBe('dormant');
  });

  it('is churned without an active relation, however recent the last word', () => {
    expect(classifyActivity({ lastInteractionAt: at('2026-03-30T09:00:00'), firstAddedAt: null, hasActiveRelation: false }, '2026-03-31', tz, t)).toBe('churned');
  });

  it('uses local calendar days (00:30 Shanghai is the previous day in UTC)', () => {
    expect(silenceStart({ lastInteractionAt: at('2026-03-02T00:30:00'), firstAddedAt: null }, tz)).toBe('2026-03-02');
  });
});
