import { describe, expect, it } from 'vitest';
import { DELIVERY_KIND, ledgerReasonLabel, reasonLabel } from '../../src/web/console/lib/labels';

// Journey rows in the console's words (docs/journeys.md §Exits): the kind is 客户旅程, and a journey message cancelled
// because the customer left the journey says so, never 群发已取消 (which is a broadcast called off).
describe('journey ledger rows in words', () => {
  it('names the journey kind where kinds are shown and in the 触达效果 filter', () => {
    expect(DELIVERY_KIND.journey).toBe('客户旅程');
    expect(Object.keys(DELIVERY_KIND)).toEqual(['care', 'winback', 'broadcast', 'loyalty', 'survey', 'journey']);
  });

  it('gives a journey row’s cancellation its own reason, keyed on the row’s kind', () => {
    // The ledger reason a journey writes when a member leaves (JourneyService.exitMembers).
    expect(reasonLabel('cancelled: 客户已退出旅程（客户已下单）', 'journey')).toBe('客户已退出旅程（客户已下单）');
    expect(reasonLabel('cancelled', 'journey')).toBe('客户已退出旅程');
    // A broadcast's stays as it was; other journey reasons keep the shared words.
    expect(reasonLabel('cancelled', 'broadcast')).toBe('群发已取消');
    expect(reasonLabel('cancelled')).toBe('群发已取消');
    expect(reasonLabel('opted_out', 'journey')).toBe('客户已退订');
    expect(reasonLabel('holdout', 'journey')).toBe('对照组，不发送');
    // The server's bilingual detail repeats the code: its English half never reaches the screen.
    expect(reasonLabel('holdout: 对照组，不发送 / held out to measure the lift')).toBe('对照组，不发送');
    expect(reasonLabel('holdout: 对照组，不发送 / held out to measure the lift', 'care')).toBe('对照组，不发送');
    expect(reasonLabel('something odd', 'journey')).toBe('something odd');
  });

  it('names 触达效果’s skip groups by the source’s kind', () => {
    expect(ledgerReasonLabel('cancelled', 'journey')).toBe('客户已退出旅程');
    expect(ledgerReasonLabel('cancelled', 'broadcast')).toBe('群发已取消');
    expect(ledgerReasonLabel('not_friend', 'journey')).toBe('已不是好友');
    expect(ledgerReasonLabel('weird_code', 'journey')).toBe('其他');
  });
});
