import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { AnalyticsReach1795000000030 } from '../../migrations/0030-analytics-reach.js';
import { Holdout1795000000032 } from '../../migrations/0032-holdout.js';
import { ReachLive1795000000033 } from '../../migrations/0033-reach-live.js';
import { FixedClock } from '../../src/shared/clock.js';
import { addDays } from '../../src/shared/dates.js';
import { insertStaff } from '../fixtures/scheduling.js';
import { useMigratedWithout } from '../helpers/migrated-without.js';

/**
 * Holdout (docs/analytics.md §Holdout), one mechanism for care rules, broadcasts and win-back campaigns, through the
 * real jobs, ledger and sandbox: the share held out is the one asked for, the same customers on a re-plan and on every
 * step, they are sent nothing, and they take no cap slot, so another message can still reach them that day.
 */

const CUSTOMERS = 1500;
const DAY = '2026-06-10';
const sh = (day: string, time: string) => new Date(`${day}T${time}:00+08:00`);
const STAFF = ['zhangsan', 'lisi', 'wangwu'];

describe.each(testEngines())('holdout on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh(DAY, '10:00'));
  const customers = Array.from({ length: CUSTOMERS }, (_, i) => `wm-hold-${String(i).padStart(4, '0')}`);
  const rules = { a: '', b: '', winback: '' };
  let broadcast = '';

  const db = () => app.container.db;
  const rowsOf = (source: string) => db().query<{ id: number | string; external_user_id: string; status: string; reason: string | null; occasion: string; not_before: number | string }>('SELECT id, external_user_id, status, reason, occasion, not_before FROM deliveries WHERE source = ? ORDER BY id', [source]);
  const heldOut = async (source: string) => new Set((await rowsOf(source)).filter((r) => r.status === 'skipped' && (r.reason ?? '').startsWith('holdout')).map((r) => r.external_user_id));
  /** Every customer the sandbox was asked to send a mass task to, with the task's text. */
  const sentTo = (text: string) =>
    new Set(
      app.container
        .sandbox!.calls('externalcontact/add_msg_template')
        .filter((c) => JSON.stringify(c.params).includes(text))
        .flatMap((c) => (c.params as { external_userid: string[] }).external_userid),
    );
  /** The job's run, bypassing its once-per-occasion claim: a re-plan of the same day. */
  const rerun = (job: string) =>
    app.container.scheduling.jobs.get(job).run({ at: clock.now(), clock, occasionKey: `again-${Math.random()}`, isDryRun: false, runId: null, log: app.log, report: () => undefined });

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    for (const [i, u] of STAFF.entries()) await insertStaff(db(), u, ['张三', '李四', '王五'][i]);
    // The seeded default rules would message the same customers; this test is about its own.
    await db().query('UPDATE care_rules SET enabled = 0');
    const added = sh('2025-01-01', '10:00').getTime();
    for (let i = 0; i < CUSTOMERS; i += 250) {
      const chunk = customers.slice(i, i + 250);
      await db().query(
        `INSERT INTO customers (external_user_id, name, type, gender, birthday_calendar, birthday_month, birthday_day, first_added_at, activity, opted_out, created_at, updated_at)
         VALUES ${chunk.map(() => "(?, ?, 1, 0, 'solar', 6, 10, ?, 'active', 0, 0, 0)").join(',')}`,
        chunk.flatMap((id, j) => [id, `客户${i + j}`, added]),
      );
      await db().query(
        `INSERT INTO follow_relations (userid, external_user_id, add_way, added_at, status, created_at, updated_at) VALUES ${chunk.map(() => "(?, ?, 1, ?, 'active', 0, 0)").join(',')}`,
        chunk.flatMap((id, j) => [STAFF[(i + j) % STAFF.length], id, added]),
      );
    }
    const rule = async (body: Record<string, unknown>) => {
      const res = await api(app, 'POST', '/api/v1/care-rules', body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { id: string; holdoutPercent: number };
    };
    const a = await rule({ name: '生日A', occasion: { type: 'birthday' }, template: '生日A祝福', priority: 500, holdoutPercent: 20 });
    expect(a.holdoutPercent).toBe(20);
    rules.a = a.id;
    rules.b = (await rule({ name: '生日B', occasion: { type: 'birthday' }, template: '生日B祝福', priority: 400 })).id;
    const b = await api(app, 'GET', `/api/v1/care-rules/${rules.b}`);
    expect(b.body.holdoutPercent).toBe(0);
    app.container.sandbox!.clearCalls();
    const run = await app.container.scheduling.scheduler.runNow('care');
    expect(run.status, run.error ?? '').toBe('done');
  }, 600_000);
  afterAll(() => app?.close());

  it('holds out about the share asked for, and sends them nothing', async () => {
    const rows = await rowsOf(`care:${rules.a}`);
    expect(rows).toHaveLength(CUSTOMERS);
    const held = await heldOut(`care:${rules.a}`);
    // 20 % of 1,500 is 300; the draw is a hash, so allow five standard deviations (about ±78).
    expect(held.size).toBeGreaterThan(222);
    expect(held.size).toBeLessThan(378);
    const sent = sentTo('生日A祝福');
    expect(sent.size).toBe(CUSTOMERS - held.size);
    for (const id of held) expect(sent.has(id), id).toBe(false);
    // The others went to WeCom (the sandbox refuses customers it does not know, so they end failed, not skipped).
    for (const r of rows.filter((x) => !held.has(x.external_user_id))) expect(r.status).not.toBe('skipped');
  });

  it('takes no cap slot: the held-out customers get the next rule’s message that day, the others do not', async () => {
    const held = await heldOut(`care:${rules.a}`);
    const ids = (await rowsOf(`care:${rules.a}`)).filter((r) => held.has(r.external_user_id)).map((r) => Number(r.id));
    const [{ n }] = await db().query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM send_slots WHERE delivery_id IN (${ids.map(() => '?').join(',')})`, ids);
    expect(Number(n)).toBe(0);
    // One customer-facing message a day: rule B (lower priority, no holdout) reaches exactly those rule A held out.
    const b = await rowsOf(`care:${rules.b}`);
    expect(new Set(b.filter((r) => r.status !== 'skipped').map((r) => r.external_user_id))).toEqual(held);
    expect(b.filter((r) => r.status === 'skipped').every((r) => (r.reason ?? '').startsWith('daily_cap'))).toBe(true);
    expect(sentTo('生日B祝福')).toEqual(held);
  });

  it('never twice, and a re-plan holds out the same customers', async () => {
    const held = await heldOut(`care:${rules.a}`);
    const calls = app.container.sandbox!.calls('externalcontact/add_msg_template').length;
    const again = await rerun('care');
    expect(again).toMatchObject({ planned: 0, duplicate: 2 * CUSTOMERS });
    expect(app.container.sandbox!.calls('externalcontact/add_msg_template')).toHaveLength(calls);
    // Plan the day again from nothing: the same customers are drawn.
    const ids = (await db().query<{ id: number | string }>('SELECT id FROM deliveries WHERE rule_id IN (?, ?)', [rules.a, rules.b])).map((r) => Number(r.id));
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      await db().query(`DELETE FROM send_slots WHERE delivery_id IN (${chunk.map(() => '?').join(',')})`, chunk);
      await db().query(`DELETE FROM deliveries WHERE id IN (${chunk.map(() => '?').join(',')})`, chunk);
    }
    const replanned = await rerun('care');
    expect(replanned).toMatchObject({ planned: CUSTOMERS });
    expect(await heldOut(`care:${rules.a}`)).toEqual(held);
    // A larger share keeps those customers and adds more (rule PATCH; the ledger rows of today stay as planned).
    const patched = await api(app, 'PATCH', `/api/v1/care-rules/${rules.a}`, { holdoutPercent: 35 });
    expect(patched.status).toBe(200);
    expect(patched.body.holdoutPercent).toBe(35);
  });

  it('holds out a share of a broadcast, sends them nothing, and dates their rows at the send time', async () => {
    clock.set(sh(addDays(DAY, 1), '10:00'));
    app.container.sandbox!.clearCalls();
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '新品对照', audience: 'all', message: { text: '新品到店对照' }, holdoutPercent: 30 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.holdoutPercent).toBe(30);
    broadcast = created.body.id;
    const run = await app.container.scheduling.scheduler.runNow('broadcasts');
    expect(run.status, run.error ?? '').toBe('done');
    const rows = await rowsOf(`broadcast:${broadcast}`);
    expect(rows).toHaveLength(CUSTOMERS);
    const held = await heldOut(`broadcast:${broadcast}`);
    expect(held.size).toBeGreaterThan(450 - 89);
    expect(held.size).toBeLessThan(450 + 89);
    const sent = sentTo('新品到店对照');
    expect(sent.size).toBe(CUSTOMERS - held.size);
    for (const id of held) expect(sent.has(id)).toBe(false);
    // Drawn per source: the broadcast's held-out customers are not the birthday rule's.
    const careHeld = await heldOut(`care:${rules.a}`);
    expect([...held].filter((id) => careHeld.has(id)).length).toBeLessThan(Math.min(held.size, careHeld.size));
    const sendAt = new Date(created.body.sendAt).getTime();
    for (const r of rows.filter((x) => held.has(x.external_user_id))) expect(Number(r.not_before)).toBe(sendAt);
  });

  it('holds a win-back customer out of every step of the campaign', async () => {
    // 600 customers go quiet 45 days before: dormant, enrolled on the day, steps on day 0 and day 2.
    const quiet = customers.slice(0, 600);
    await db().query(`UPDATE customers SET last_interaction_at = ? WHERE external_user_id IN (${quiet.map(() => '?').join(',')})`, [sh(addDays(DAY, -43), '10:00').getTime(), ...quiet]);
    const res = await api(app, 'POST', '/api/v1/care-rules', {
      name: '沉睡唤醒',
      occasion: { type: 'winback', steps: [{ day: 0, template: '唤醒第一步' }, { day: 2, template: '唤醒第二步' }] },
      template: '唤醒',
      holdoutPercent: 25,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    rules.winback = res.body.id;
    app.container.sandbox!.clearCalls();
    clock.set(sh(addDays(DAY, 2), '10:00'));
    expect((await app.container.scheduling.scheduler.runNow('winback')).status).toBe('done');
    clock.set(sh(addDays(DAY, 4), '10:00'));
    expect((await app.container.scheduling.scheduler.runNow('winback')).status).toBe('done');
    const rows = await rowsOf(`winback:${rules.winback}`);
    const step = (n: number) => rows.filter((r) => r.occasion.startsWith(`step:${n}:`));
    expect(step(0)).toHaveLength(600);
    expect(step(1)).toHaveLength(600);
    const held0 = new Set(step(0).filter((r) => (r.reason ?? '').startsWith('holdout')).map((r) => r.external_user_id));
    const held1 = new Set(step(1).filter((r) => (r.reason ?? '').startsWith('holdout')).map((r) => r.external_user_id));
    expect(held1).toEqual(held0);
    expect(held0.size).toBeGreaterThan(150 - 53);
    expect(held0.size).toBeLessThan(150 + 53);
    for (const text of ['唤醒第一步', '唤醒第二步']) {
      const sent = sentTo(text);
      expect(sent.size).toBe(600 - held0.size);
      for (const id of held0) expect(sent.has(id)).toBe(false);
    }
  });

  it('reports the held-out group next to the messages in 触达效果', async () => {
    const held = [...(await heldOut(`care:${rules.a}`))];
    // One held-out customer orders the day after: the holdout group has one order within 7 days.
    await db().query('INSERT INTO orders (id, external_user_id, order_no, amount_cents, ordered_at, created_at) VALUES (?,?,?,?,?,?)', ['h-1', held[0], 'H-1', 8800, sh(addDays(DAY, 1), '12:00').getTime(), 0]);
    clock.set(sh(addDays(DAY, 9), '00:20'));
    expect((await app.container.scheduling.scheduler.runNow('analytics')).status).toBe('done');
    const res = await api(app, 'GET', `/api/v1/analytics/reach?from=${DAY}&to=${addDays(DAY, 8)}`);
    expect(res.status).toBe(200);
    const bySource = Object.fromEntries(res.body.sources.map((s: { sourceId: string }) => [s.sourceId, s]));
    const a = bySource[rules.a];
    expect(a).toMatchObject({ sourceKind: 'care', name: '生日A', holdoutPercent: 35 });
    expect(a.funnel.holdout).toBe(held.length);
    expect(a.funnel.skippedByReason).toEqual({ holdout: held.length });
    expect(a.outcomes.holdout).toMatchObject({ messages: held.length, matured: held.length, ordered7d: 1, orders7d: 1, revenue7dCents: 8800 });
    expect(a.outcomes.targeted.messages).toBe(CUSTOMERS - held.length);
    expect(a.lift.orderedRate7d).toBeCloseTo(0 - 1 / held.length, 3);
    expect(bySource[broadcast].funnel.holdout).toBe((await heldOut(`broadcast:${broadcast}`)).size);
    expect(bySource[rules.winback]).toMatchObject({ sourceKind: 'winback', holdoutPercent: 25 });
  });

  it('refuses a holdout share outside 0–50 with a zh-CN message on the field', async () => {
    for (const bad of [51, -1, 10.5, '20']) {
      const rule = await api(app, 'POST', '/api/v1/care-rules', { name: `坏对照${bad}`, occasion: { type: 'birthday' }, template: 'x', holdoutPercent: bad });
      expect(rule.status).toBe(400);
      expect(rule.body.error.details.fields.holdoutPercent, String(bad)).toMatch(/对照组比例/);
      const b = await api(app, 'POST', '/api/v1/broadcasts', { name: '坏对照', audience: 'all', message: { text: 'x' }, holdoutPercent: bad });
      expect(b.status).toBe(400);
      expect(b.body.error.details.fields.holdoutPercent).toMatch(/对照组比例/);
    }
    const patch = await api(app, 'PATCH', `/api/v1/care-rules/${rules.b}`, { holdoutPercent: 60 });
    expect(patch.status).toBe(400);
    expect(patch.body.error.details.fields.holdoutPercent).toBe('对照组比例最多 50%');
  });
});

describe.each(testEngines())('migrations 0030 (reach) and 0032 (holdout) can be undone and redone (%s)', (engine) => {
  // Every other migration first (but 0033, which changes the reach tables), so undoing the last two undoes exactly these.
  const mig = useMigratedWithout(engine, [AnalyticsReach1795000000030, Holdout1795000000032, ReachLive1795000000033]);

  it('adds the reach tables, the ledger index and the holdout columns, and removes them again', async () => {
    const state = async () => {
      const qr = mig.ds.createQueryRunner();
      try {
        const [reach, days, deliveries, rules, broadcasts] = await Promise.all(['analytics_daily_reach', 'analytics_reach_days', 'deliveries', 'care_rules', 'broadcasts'].map((t) => qr.getTable(t)));
        return {
          tables: [!!reach, !!days],
          index: deliveries!.indices.some((i) => i.name === 'ix_deliveries_local_date'),
          holdout: [rules!.columns.some((c) => c.name === 'holdout_percent'), broadcasts!.columns.some((c) => c.name === 'holdout_percent')],
        };
      } finally {
        await qr.release();
      }
    };
    mig.ds.migrations.push(new AnalyticsReach1795000000030(), new Holdout1795000000032());
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['AnalyticsReach1795000000030', 'Holdout1795000000032']);
    expect(await state()).toEqual({ tables: [true, true], index: true, holdout: [true, true] });
    await mig.ds.undoLastMigration({ transaction: 'each' });
    expect(await state()).toEqual({ tables: [true, true], index: true, holdout: [false, false] });
    await mig.ds.undoLastMigration({ transaction: 'each' });
    expect(await state()).toEqual({ tables: [false, false], index: false, holdout: [false, false] });
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['AnalyticsReach1795000000030', 'Holdout1795000000032']);
    expect(await state()).toEqual({ tables: [true, true], index: true, holdout: [true, true] });
  }, 60_000);
});
