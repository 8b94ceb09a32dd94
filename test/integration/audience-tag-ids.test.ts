import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { buildCustomer } from '../factories/customers.js';
import { FixedClock } from '../../src/shared/clock.js';
import type { NewDelivery } from '../../src/domain/delivery/delivery.types.js';
import type { PlanOutcome, PlanSink } from '../../src/domain/delivery/delivery-ledger.js';
import type { SqlCondition } from '../../src/domain/care/care-scan.types.js';

const sh = (local: string) => new Date(`${local}+08:00`);
const TODAY = '2026-09-01';

/** A sink that plans nothing and remembers who would have been planned. */
function collectingSink(): PlanSink & { ids: string[] } {
  const ids: string[] = [];
  const plan = async (d: NewDelivery): Promise<PlanOutcome> => {
    ids.push(d.externalUserId);
    return { result: 'planned', id: null };
  };
  return { ids, plan, planMany: async (ds) => Promise.all(ds.map(plan)) };
}

/**
 * The background runs that select customers by audience (broadcasts, care rules, win-back, behaviour tags) resolve
 * the audience's tag names to ids once per run and match ids in their statements
 * (docs/audiences.md §Tag names become ids): a tag renamed in WeCom is found under its new name with the same customers, a new tag that took the old
 * name brings its own customers, and a deleted tag matches no one, though its links are still stored.
 */
describe.each(testEngines())('audiences of background runs match tag ids on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh(`${TODAY}T10:00:00`));
  const ids = ['wmTagIdA', 'wmTagIdB', 'wmTagIdC', 'wmTagIdD'];
  let serial = 0;

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    const c = app.container;
    const { tags } = c.archive.repos;
    const now = clock.now().getTime();
    for (const ext of ids) await buildCustomer(c, { externalUserId: ext, name: ext, owners: ['zhangsan'], addedAt: sh('2026-01-01T10:00:00') });
    await c.db.tx(async (em) => {
      await tags.upsertGroupInTx(em, { id: 'gLevel', name: '等级', sortOrder: 0, source: 'wecom' }, now);
      await tags.upsertGroupInTx(em, { id: 'gCity', name: '城市', sortOrder: 0, source: 'wecom' }, now);
      await tags.upsertTagInTx(em, { id: 'tVip', groupId: 'gLevel', name: 'VIP', sortOrder: 0, source: 'wecom' }, now);
      await tags.upsertTagInTx(em, { id: 'tCity', groupId: 'gCity', name: '北京', sortOrder: 0, source: 'wecom' }, now);
      const link = (externalUserId: string, tagId: string) => tags.addInTx(em, { externalUserId, tagId, userid: 'zhangsan', source: 'wecom', ruleId: null }, now);
      await link('wmTagIdA', 'tVip');
      await link('wmTagIdB', 'tVip');
      await link('wmTagIdC', 'tCity');
    });
    // Everyone: a birthday today (care), dormant and silent since July (win-back).
    await c.db.query("UPDATE customers SET birthday_calendar = 'solar', birthday_month = 9, birthday_day = 1, activity = 'dormant', last_interaction_at = ?", [
      sh('2026-07-01T10:00:00').getTime(),
    ]);
    // The seeded behaviour rules would add their own lines; only the rules made here matter.
    await c.db.query("UPDATE tag_rules SET enabled = 0 WHERE kind = 'behaviour'");
  });
  afterAll(() => app?.close());

  /** The audience conditions the planners hand to the scan, recorded while `fn` runs. */
  async function scanned<T>(fn: () => Promise<T>): Promise<{ result: T; conds: SqlCondition[] }> {
    // Care and win-back read whole customers (stream); a broadcast reads only what a recipient needs (recipients).
    const spies = [vi.spyOn(app.container.repos.scan, 'stream'), vi.spyOn(app.container.repos.scan, 'recipients')];
    try {
      const result = await fn();
      return { result, conds: spies.flatMap((spy) => spy.mock.calls.flatMap((call) => call[0])) };
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  }

  /** The audience's own condition among a run's: it names tag ids, never a tag name. */
  function audienceCondition(conds: SqlCondition[]): SqlCondition {
    const mine = conds.filter((w) => w.sql.includes('customer_tags') || w.sql === '1=0' || w.sql.includes('NOT (1=0)'));
    expect(mine.length).toBeGreaterThan(0);
    for (const w of mine) {
      expect(w.sql).not.toMatch(/FROM tags t/);
      expect(w.params.filter((p) => typeof p === 'string' && /VIP|北京/.test(p))).toEqual([]);
    }
    return mine[0];
  }

  async function broadcastPlans(audience: string): Promise<{ count: number; planned: string[]; cond: SqlCondition }> {
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: `群发${++serial}`, audience, message: { text: '新品上市' } });
    expect(created.status).toBe(201);
    const sink = collectingSink();
    const now = clock.now();
    try {
      const { conds } = await scanned(() => app.container.scheduling.broadcasts.planner.planDue({ now, clock: () => now, sink, isDryRun: true }));
      return { count: created.body.audienceCount, planned: sink.ids.sort(), cond: audienceCondition(conds) };
    } finally {
      await app.container.db.query('DELETE FROM broadcasts WHERE id = ?', [created.body.id]);
    }
  }

  async function carePlans(audience: string): Promise<string[]> {
    const created = await api(app, 'POST', '/api/v1/care-rules', { name: `生日${++serial}`, occasion: { type: 'birthday' }, audience, template: '{{name}}，生日快乐！' });
    expect(created.status).toBe(201);
    const m = app.container.scheduling;
    const rule = await m.repos.careRules.get(created.body.id);
    const sink = collectingSink();
    await api(app, 'PATCH', `/api/v1/care-rules/${rule.id}`, { enabled: false });
    const { conds } = await scanned(() => m.planner.planDay({ today: TODAY, now: clock.now(), rules: [rule], sink }));
    audienceCondition(conds);
    return sink.ids.sort();
  }

  async function winbackEnrols(audience: string): Promise<string[]> {
    const m = app.container.scheduling;
    const rule = (await m.repos.careRules.list({ kind: 'winback' }))[0];
    expect((await api(app, 'PATCH', `/api/v1/care-rules/${rule.id}`, { enabled: true, audience })).status).toBe(200);
    const lines: string[] = [];
    try {
      const { conds } = await scanned(() => m.winback.run({ today: TODAY, now: clock.now(), sink: collectingSink(), isDryRun: true, report: (l) => lines.push(l) }));
      audienceCondition(conds);
    } finally {
      await api(app, 'PATCH', `/api/v1/care-rules/${rule.id}`, { enabled: false });
    }
    return lines.filter((l) => l.startsWith('入组')).map((l) => l.split('\t')[2]).sort();
  }

  async function behaviourCount(audience: string): Promise<number> {
    const name = `行为${++serial}`;
    const made = await api(app, 'POST', '/api/v1/tag-rules', { name, kind: 'behaviour', audience, tags: [`测试:${name}`] });
    expect(made.status).toBe(201);
    const lines: string[] = [];
    const spy = vi.spyOn(app.container.repos.behaviourTags, 'countMissing');
    try {
      await app.container.scheduling.behaviourTags.apply({ today: TODAY, now: clock.now(), isDryRun: true, report: (l) => lines.push(l) });
      audienceCondition(spy.mock.calls.map((call) => call[1]));
    } finally {
      spy.mockRestore();
      await api(app, 'DELETE', `/api/v1/tag-rules/${made.body.id}`);
    }
    const line = lines.find((l) => l.split('\t')[1] === name);
    expect(line, lines.join('\n')).toBeDefined();
    return Number(line!.split('\t')[3]);
  }

  /** Every background run selects exactly `expected` for the audience. */
  async function expectSelected(audience: string, expected: string[]): Promise<void> {
    const b = await broadcastPlans(audience);
    expect({ audience, count: b.count, planned: b.planned }).toEqual({ audience, count: expected.length, planned: expected });
    expect({ audience, care: await carePlans(audience) }).toEqual({ audience, care: expected });
    expect({ audience, winback: await winbackEnrols(audience) }).toEqual({ audience, winback: expected });
    expect({ audience, behaviour: await behaviourCount(audience) }).toEqual({ audience, behaviour: expected.length });
  }

  it('selects by the names the tags have now', async () => {
    await expectSelected('tag:VIP', ['wmTagIdA', 'wmTagIdB']);
    await expectSelected('tag:城市/北京 OR tag:VIP', ['wmTagIdA', 'wmTagIdB', 'wmTagIdC']);
  });

  it('a renamed tag keeps its customers under its new name; a new tag with the old name brings its own', async () => {
    const { tags } = app.container.archive.repos;
    const now = clock.now().getTime();
    await app.container.db.tx(async (em) => {
      await tags.upsertTagInTx(em, { id: 'tVip', groupId: 'gLevel', name: '超级VIP', sortOrder: 0, source: 'wecom' }, now);
      await tags.upsertTagInTx(em, { id: 'tVipNew', groupId: 'gLevel', name: 'VIP', sortOrder: 1, source: 'wecom' }, now);
      await tags.addInTx(em, { externalUserId: 'wmTagIdD', tagId: 'tVipNew', userid: 'zhangsan', source: 'wecom', ruleId: null }, now);
    });
    await expectSelected('tag:超级VIP', ['wmTagIdA', 'wmTagIdB']);
    await expectSelected('tag:等级/超级VIP AND NOT tag:VIP', ['wmTagIdA', 'wmTagIdB']);
    await expectSelected('tag:VIP', ['wmTagIdD']);
  });

  it('a deleted tag matches no one, though its links are still stored', async () => {
    const { tags } = app.container.archive.repos;
    await app.container.db.tx((em) => tags.markTagsDeletedInTx(em, ['tCity'], clock.now().getTime()));
    expect(await app.container.db.query("SELECT external_user_id FROM customer_tags WHERE tag_id = 'tCity'")).toHaveLength(1);
    await expectSelected('tag:北京', []);
    await expectSelected('NOT tag:城市/北京', ids);
  });
});
