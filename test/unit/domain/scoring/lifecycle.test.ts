import { describe, expect, it } from 'vitest';
import { lifecycleStage, type StageFacts } from '../../../../src/domain/scoring/lifecycle.js';

const t = { newDays: 7, loyalOrders: 3, dormantDays: 30 };
const facts = (over: Partial<StageFacts> = {}): StageFacts => ({
  activity: 'active',
  hasActiveRelation: true,
  addedDaysAgo: 100,
  lifetimeOrders: 0,
  windowOrders: 0,
  lastOrderDaysAgo: null,
  ...over,
});

describe('lifecycleStage', () => {
  it('is new within newDays of being added without an order, then prospect', () => {
    expect(lifecycleStage(facts({ addedDaysAgo: 6 }), t)).toBe('new');
    expect(lifecycleStage(facts({ addedDaysAgo: 7 }), t)).toBe('prospect');
    expect(lifecycleStage(facts({ addedDaysAgo: null }), t)).toBe('prospect');
  });

  it('is customer from the first order and loyal from loyalOrders orders in the window', () => {
    expect(lifecycleStage(facts({ addedDaysAgo: 1, lifetimeOrders: 1, windowOrders: 1, lastOrderDaysAgo: 0 }), t)).toBe('customer');
    expect(lifecycleStage(facts({ lifetimeOrders: 5, windowOrders: 2, lastOrderDaysAgo: 3 }), t)).toBe('customer');
    expect(lifecycleStage(facts({ lifetimeOrders: 3, windowOrders: 3, lastOrderDaysAgo: 3 }), t)).toBe('loyal');
  });

  it('is at_risk when a buyer is dormant and has not ordered for dormantDays', () => {
    expect(lifecycleStage(facts({ activity: 'dormant', lifetimeOrders: 4, windowOrders: 4, lastOrderDaysAgo: 30 }), t)).toBe('at_risk');
    // A recent order is activity too: silence in chat alone does not put a buyer at risk.
    expect(lifecycleStage(facts({ activity: 'dormant', lifetimeOrders: 4, windowOrders: 4, lastOrderDaysAgo: 29 }), t)).toBe('loyal');
    // A dormant non-buyer is still a prospect (activity:dormant selects the quiet ones).
    expect(lifecycleStage(facts({ activity: 'dormant' }), t)).toBe('prospect');
  });

  it('is churned without an active relation, or when churned by silence with no recent order', () => {
    expect(lifecycleStage(facts({ activity: 'churned', hasActiveRelation: false, lifetimeOrders: 9, windowOrders: 9, lastOrderDaysAgo: 1 }), t)).toBe('churned');
    expect(lifecycleStage(facts({ activity: 'churned', lifetimeOrders: 2, windowOrders: 2, lastOrderDaysAgo: 200 }), t)).toBe('churned');
    expect(lifecycleStage(facts({ activity: 'churned', lifetimeOrders: 2, windowOrders: 2, lastOrderDaysAgo: 2 }), t)).toBe('customer');
  });
});
