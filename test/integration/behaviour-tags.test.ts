import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';
import { addDays } from '../../src/shared/dates.js';
import { parseAudience } from '../../src/domain/audiences/index.js';
import { buildScheduling, type SchedulingModule } from '../../src/container.js';
import type { JobCounts } from '../../src/jobs/job.types.js';
import { addSandboxCustomer } from '../fixtures/scheduling.js';
import { compileAudience } from '../../src/domain/audiences/audience.compiler.js';
import { BehaviourTagRepository } from '../../src/persistence/repositories/behaviour-tag.repository.js';
import { recordingDb } from '../helpers/recording-db.js';

const sh = (local: string) => new Date(`${local}+08:00`);
const nightOf = (date: string) => sh(`${date}T03:30:00`);
const DAY1 = '2026-06-01';

interface RuleView {
  id: string;
  name: string;
  kind: string;
  pattern: string;
  audience: string | null;
  tags: string[];
  enabled: boolean;
}

describe.each(testEngines())('behaviour tag rules on %s', (engine) => {
  let app: TestApp;
  let m: SchedulingModule;
  const clock = new FixedClock(nightOf(DAY1));
  const lines: string[] = [];
  const db = () => app.container.db;
  /** Run the job's body directly (no occasion claim), so one night can be run twice. */
  const run = (date: string, isDryRun = false): Promise<JobCounts> => {
    const at = nightOf(date);
    clock.set(at);
    return m.jobs.get('scoring').run({ at, clock, occasionKey: date, isDryRun, runId: null, log: app.log, report: (l) => void lines.push(l) });
  };
  const ruleNamed = async (name: string): Promise<RuleView> => {
    const res = await api<{ items: RuleView[] }>(app, 'GET', '/api/v1/tag-rules');
    const rule = res.body.items.find((r) => r.name === name);
    if (!rule) throw new Error(`no rule ${name}`);
    return rule;
  };
  /** Rows by source for one customer, as "source:group/name[:rule]". */
  const tagRows = async (ext: string) =>
    (
      await db().query<{ source: string; name: string; group_name: string; rule_id: string | null; userid: string }>(
        `SELECT ct.source, t.name, g.name AS group_name, ct.rule_id, ct.userid FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id LEFT JOIN tag_groups g ON g.id = t.group_id
         WHERE ct.external_user_id = ? ORDER BY ct.source, t.name, ct.userid`,
        [ext],
      )
    ).map((r) => `${r.source}:${r.group_name}/${r.name}${r.userid ? `@${r.userid}` : ''}`);
  const customersOfRule = async (ruleId: string) =>
    (
      await db().query<{ external_user_id: string; name: string }>(
        "SELECT ct.external_user_id, t.name FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.rule_id = ? AND ct.source = 'behaviour' ORDER BY ct.external_user_id, t.name",
        [ruleId],
      )
    ).map((r) => `${r.external_user_id}:${r.name}`);
  const snapshot = async () => JSON.stringify(await db().query('SELECT external_user_id, tag_id, userid, source, rule_id, created_at FROM customer_tags ORDER BY id'));
  const setLastWord = (ext: string, at: Date) => db().query('UPDATE customers SET last_interaction_at = ? WHERE external_user_id = ?', [at.getTime(), ext]);
  const manualTags = (ext: string, change: { add?: string[]; remove?: string[] }) => api(app, 'POST', `/api/v1/customers/${ext}/tags`, change);
  const customer = (name: string, lastWordDaysAgo: number) =>
    addSandboxCustomer(app.container, 'zhangsan', { name, firstAddedAt: sh('2025-01-01T10:00:00'), lastInteractionAt: sh(`${addDays(DAY1, -lastWordDaysAgo)}T12:00:00`) });

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    // Key ranges of 2 customers: every rule crosses several ranges.
    m = buildScheduling(app.container, { settings: { pageSize: 2 }, clock, instanceId: 'behaviour-test' });
  });
  afterAll(() => app?.close());

  it('seeds behaviour rules from config/tag-rules.json next to the keyword ones', async () => {
    const sleeping = await ruleNamed('沉睡客户');
    expect(sleeping).toMatchObject({ kind: 'behaviour', audience: 'activity:dormant', tags: ['行为:沉睡'], pattern: '', enabled: true });
    expect(await ruleNamed('RFM 重要价值')).toMatchObject({ kind: 'behaviour', audience: 'rfm:重要价值', tags: ['价值:重要价值'] });
    expect(await ruleNamed('忠诚客户')).toMatchObject({ audience: 'stage:loyal' });
    expect(await ruleNamed('询价')).toMatchObject({ kind: 'keyword', audience: null });
  });

  it('tags matching customers, takes back only its own rows when they stop matching, and never calls WeCom', async () => {
    const rule = await ruleNamed('沉睡客户');
    const d1 = await customer('沉睡一', 40);
    const d2 = await customer('沉睡二', 40);
    const a1 = await customer('活跃', 1);
    // A person tagged d2 with the same tag (a WeCom corp tag, marked on the relation); a keyword rule tagged d1.
    expect((await manualTags(d2, { add: ['行为:沉睡'] })).status).toBe(200);
    const [{ id: tagId }] = await db().query<{ id: string }>("SELECT id FROM tags WHERE name = '沉睡' AND deleted_at IS NULL");
    await db().query("INSERT INTO customer_tags (external_user_id, tag_id, userid, source, rule_id, created_at) VALUES (?, ?, '', 'keyword', 'kw-rule', 0)", [d1, tagId]);
    app.container.sandbox!.clearCalls();

    const first = await run(DAY1);
    expect(first).toMatchObject({ dormant: 2, tagsRemoved: 0, tagsOrphaned: 0, rulesInvalid: 0 });
    expect(await customersOfRule(rule.id)).toEqual([`${d1}:沉睡`, `${d2}:沉睡`].sort());
    expect(await tagRows(a1)).toEqual([]);
    // The rule reused the library's tag of that name (one tag in the archive), and wrote nothing to WeCom.
    expect(await tagRows(d2)).toEqual(['behaviour:行为/沉睡', 'manual:行为/沉睡', 'wecom:行为/沉睡@zhangsan']);
    expect(app.container.sandbox!.calls('externalcontact/mark_tag')).toEqual([]);
    expect(app.container.sandbox!.calls('externalcontact/add_corp_tag')).toEqual([]);
    expect(lines.some((l) => l.includes('沉睡客户') && l.includes('+2'))).toBe(true);

    // The same night again: nothing to do.
    const before = await snapshot();
    const second = await run(DAY1);
    expect(second).toMatchObject({ tagsAdded: 0, tagsRemoved: 0, tagsOrphaned: 0, tagsCreated: 0 });
    expect(await snapshot()).toBe(before);

    // Both speak again: the rule's rows go, the person's and the keyword rule's rows of the same tag stay.
    await setLastWord(d1, sh(`${DAY1}T10:00:00`));
    await setLastWord(d2, sh(`${DAY1}T10:00:00`));
    const next = await run(addDays(DAY1, 1));
    expect(next).toMatchObject({ tagsRemoved: 2 });
    expect(await customersOfRule(rule.id)).toEqual([]);
    expect(await tagRows(d1)).toEqual(['keyword:行为/沉睡']);
    expect(await tagRows(d2)).toEqual(['manual:行为/沉睡', 'wecom:行为/沉睡@zhangsan']);
    const archive = await api(app, 'GET', `/api/v1/customers/${d2}`);
    expect(archive.body.tags).toEqual([expect.objectContaining({ name: '沉睡', group: '行为', sources: ['manual', 'wecom'] })]);
    expect(app.container.sandbox!.calls('externalcontact/mark_tag')).toEqual([]);
  });

  it('applies an API-made rule whose audience reads tags, follows its edits, and drops its rows when it is disabled', async () => {
    const made = await api<RuleView>(app, 'POST', '/api/v1/tag-rules', { name: 'VIP 沉睡', kind: 'behaviour', audience: ' tag:VIP AND activity:dormant ', tags: ['行为:VIP沉睡'] });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ kind: 'behaviour', audience: 'tag:VIP AND activity:dormant', pattern: '', enabled: true });
    const id = made.body.id;
    const v1 = await customer('VIP 一', 50);
    const v2 = await customer('普通', 50);
    expect((await manualTags(v1, { add: ['VIP'] })).status).toBe(200);
    const day = addDays(DAY1, 2);

    expect((await run(day)).tagsCreated).toBe(1);
    expect(await customersOfRule(id)).toEqual([`${v1}:VIP沉睡`]);
    // A name not in the library becomes a local tag, not a WeCom corp tag.
    expect(await db().query("SELECT t.source, g.name AS group_name FROM tags t JOIN tag_groups g ON g.id = t.group_id WHERE t.name = 'VIP沉睡'")).toEqual([{ source: 'local', group_name: '行为' }]);

    // A PATCH of the tags only keeps the rule a behaviour rule (no defaults reapplied) and moves its rows.
    const patched = await api<RuleView>(app, 'PATCH', `/api/v1/tag-rules/${id}`, { tags: ['行为:沉睡VIP'] });
    expect(patched.body).toMatchObject({ kind: 'behaviour', audience: 'tag:VIP AND activity:dormant', tags: ['行为:沉睡VIP'], enabled: true });
    expect(await run(day)).toMatchObject({ tagsAdded: 1, tagsRemoved: 1 });
    expect(await customersOfRule(id)).toEqual([`${v1}:沉睡VIP`]);

    // The audience reads customer_tags, so removing the rows that stopped matching must work on MySQL too.
    await manualTags(v1, { remove: ['VIP'] });
    expect(await run(day)).toMatchObject({ tagsRemoved: 1 });
    expect(await customersOfRule(id)).toEqual([]);
    await manualTags(v1, { add: ['VIP'] });
    await run(day);
    expect(await customersOfRule(id)).toEqual([`${v1}:沉睡VIP`]);
    expect(await tagRows(v2)).toEqual(['behaviour:行为/沉睡']);

    // Disabled: nobody maintains its rows any more, so the next run removes them.
    expect((await api<RuleView>(app, 'PATCH', `/api/v1/tag-rules/${id}`, { enabled: false })).body).toMatchObject({ kind: 'behaviour', enabled: false });
    expect(await run(day)).toMatchObject({ tagsOrphaned: 1 });
    expect(await customersOfRule(id)).toEqual([]);
    const left = await tagRows(v1);
    expect(left.filter((r) => r.startsWith('behaviour:'))).toEqual(['behaviour:行为/沉睡']);
    // The manual VIP (the sandbox's seeded 客户等级/VIP) and its WeCom mark are untouched.
    expect(left.filter((r) => r.endsWith('/VIP') || r.endsWith('/VIP@zhangsan')).map((r) => r.split(':')[0])).toEqual(['manual', 'wecom']);
  });

  it('a dry run counts what it would tag and writes nothing, not even the new tag', async () => {
    const made = await api<RuleView>(app, 'POST', '/api/v1/tag-rules', { name: '沉睡新', kind: 'behaviour', audience: 'activity:dormant', tags: ['行为:新标签'] });
    expect(made.status).toBe(201);
    const before = await snapshot();
    const dormant = Number((await db().query<{ n: number }>("SELECT COUNT(*) AS n FROM customers WHERE activity = 'dormant'"))[0].n);
    expect(dormant).toBeGreaterThan(0);

    const out = await m.scheduler.runNow('scoring', { at: nightOf(addDays(DAY1, 3)), isDryRun: true });
    expect(out.status).toBe('dry-run');
    expect(out.counts).toMatchObject({ tagsAdded: dormant, tagsRemoved: 0, tagsCreated: 0 });
    expect(out.lines.some((l) => l.includes('沉睡新') && l.includes(`+${dormant}`))).toBe(true);
    expect(await snapshot()).toBe(before);
    expect(await db().query("SELECT id FROM tags WHERE name = '新标签'")).toEqual([]);
    expect(await m.repos.jobRuns.findByOccasion('scoring', addDays(DAY1, 3))).toBeNull();
    await api(app, 'DELETE', `/api/v1/tag-rules/${made.body.id}`);
  });

  it('rejects a behaviour rule whose audience does not parse with the parser\'s 400', async () => {
    const bad = 'rfm:重要价值 AND';
    let expected = '';
    try {
      parseAudience(bad);
    } catch (err) {
      expected = (err as Error).message;
    }
    const created = await api(app, 'POST', '/api/v1/tag-rules', { name: '坏规则', kind: 'behaviour', audience: bad, tags: ['行为:坏'] });
    expect(created.status).toBe(400);
    expect(created.body.error).toMatchObject({ code: 'invalid_audience', message: expected, details: { position: 13, found: null } });
    expect(expected).toMatch(/expected .+ at position \d+, found end of input/);

    const missing = await api(app, 'POST', '/api/v1/tag-rules', { name: '没条件', kind: 'behaviour', tags: ['行为:坏'] });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('invalid_audience');

    const rule = await ruleNamed('沉睡客户');
    const patched = await api(app, 'PATCH', `/api/v1/tag-rules/${rule.id}`, { audience: 'activity:sleepy' });
    expect(patched.status).toBe(400);
    expect(patched.body.error.code).toBe('invalid_audience');
    expect(patched.body.error.message).toContain('active, dormant or churned');
    expect((await ruleNamed('沉睡客户')).audience).toBe('activity:dormant');

    // Keyword rules still need their pattern.
    expect((await api(app, 'POST', '/api/v1/tag-rules', { name: '空关键词', kind: 'keyword', tags: ['意向:空'] })).status).toBe(400);
    expect((await api(app, 'GET', '/api/v1/tag-rules')).body.items.map((r: RuleView) => r.name)).not.toContain('坏规则');
  });

  it('reads each key range of customers by their key, not by an index the rule\'s audience names (SQLite)', async () => {
    // docs/tags.md §Behaviour tags at a million: with `activity = ?` in the audience SQLite took ix_customers_activity
    // and read every dormant customer of the corp for each range.
    const d1 = await customer('范围一', 40);
    const d2 = await customer('范围二', 40);
    await customer('范围三', 1);
    const [lo, upTo] = d1 < d2 ? [d1, d2] : [d2, d1];
    const [{ below }] = await db().query<{ below: string | null }>('SELECT MAX(external_user_id) AS below FROM customers WHERE external_user_id < ?', [lo]);
    const after = below ?? '';
    const { db: recording, seen } = recordingDb(db());
    const repo = new BehaviourTagRepository(recording);
    const cond = compileAudience(parseAudience('activity:dormant'), { engine, today: DAY1, timezone: 'Asia/Shanghai' });
    const tagId = 'tag-range-test';
    await db().query("INSERT INTO tag_groups (id, name, sort_order, source, updated_at) VALUES ('grp-range-test', '范围测试', 0, 'local', 0)");
    await db().query("INSERT INTO tags (id, group_id, name, sort_order, source, updated_at) VALUES (?, 'grp-range-test', '范围', 0, 'local', 0)", [tagId]);
    // Scoring has not run for these two: mark them as the activity pass would.
    await db().query("UPDATE customers SET activity = 'dormant' WHERE external_user_id IN (?, ?)", [d1, d2]);
    const [{ n }] = await db().query<{ n: number | string }>("SELECT COUNT(*) AS n FROM customers WHERE external_user_id > ? AND external_user_id <= ? AND activity = 'dormant'", [after, upTo]);
    expect(Number(n)).toBeGreaterThanOrEqual(2);
    expect(await repo.countMissing(tagId, cond, { after, upTo })).toBe(Number(n));
    expect(await repo.addMissing('range-rule', tagId, cond, { after, upTo }, new Date(0))).toBe(Number(n));
    expect(await repo.countMissing(tagId, cond, { after, upTo })).toBe(0);
    expect(seen.length).toBe(3);
    if (engine !== 'sqlite') return;
    for (const [sql, params] of seen) {
      const plan = (await db().query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail);
      expect(plan[0], `${sql}\n${plan.join('\n')}`).toMatch(/^SEARCH c USING (COVERING )?INDEX sqlite_autoindex_customers_1 \(external_user_id>\? AND external_user_id<\?\)/);
    }
  });
});
