import { describe, expect, it } from 'vitest';
import { buildSandbox } from './sandbox-harness.js';

describe('sandbox seed', () => {
  it('builds the demo corp: 5 staff, 200 Chinese-named customers, a tag library and shared customers', () => {
    const { sut } = buildSandbox();
    const summary = sut.seed();
    expect(summary.staff).toBe(5);
    expect(summary.customers).toBe(200);
    expect(summary.relations).toBeGreaterThan(220);
    const names = [...sut.store.customers.values()].map((c) => c.name);
    expect(names.every((n) => /^[\u4e00-\u9fff]{2,3}$/.test(n))).toBe(true);
    expect(sut.store.tagGroups.map((g) => g.name)).toEqual(expect.arrayContaining(['客户等级', '意向']));
    const followerCounts = [...sut.store.customers.keys()].map((id) => sut.store.relationsOfCustomer(id).length);
    expect(followerCounts.some((n) => n === 2)).toBe(true);
    expect(sut.store.allRelations().some((r) => r.tagIds.length > 0)).toBe(true);
    expect(sut.store.groupChats.size).toBeGreaterThan(0);
  });

  it('is repeatable', () => {
    const a = buildSandbox().sut;
    const b = buildSandbox().sut;
    a.seed();
    b.seed();
    const snapshot = (s: typeof a) => s.store.allRelations().map((r) => [r.userid, r.externalUserId, s.store.customers.get(r.externalUserId)?.name, r.tagIds.join()]);
    expect(snapshot(a)).toEqual(snapshot(b));
    // Re-seeding the same sandbox starts over rather than piling up.
    a.seed();
    expect(a.store.customers.size).toBe(200);
  });

  it('adds 20,000 customers quickly with seedLarge', () => {
    const { sut } = buildSandbox();
    const started = performance.now();
    const summary = sut.seedLarge(20_000);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(summary).toMatchObject({ staff: 5, customers: 20_000, relations: 20_000 });
    expect(new Set(sut.store.customers.keys()).size).toBe(20_000);
  });
});
