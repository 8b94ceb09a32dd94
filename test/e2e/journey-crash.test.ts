import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { Registry } from 'prom-client';
import { createTestDatabase, testEngines, type TestDatabase } from '../helpers/databases.js';
import { TEST_ADMIN_TOKEN, TEST_DATA_KEY, testConfig } from '../helpers/app.js';
import { TEST_SANDBOX_KEYS } from '../helpers/callbacks.js';
import { buildContainer, buildScheduling, type Container } from '../../src/container.js';
import { FixedClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { journeyInput } from '../../src/domain/journeys/journey.schema.js';

vi.setConfig({ testTimeout: 300_000 });
const root = resolve(import.meta.dirname, '../..');
const sh = (local: string) => new Date(`${local}+08:00`);
const N = 10_000;

/**
 * 10,000 customers in a two-step journey (docs/journeys.md §Once per step). A process ticking the journey is
 * SIGKILLed twice in the middle of claiming and planning; then two instances (the restart and another one) tick
 * together past the stale claims until every member is through. Every step ran exactly once per customer: one run
 * row and one ledger row per (member, step), none missing. 22:00 is inside quiet hours, so nothing reaches WeCom and
 * the ledger rows stay planned: the test is about deciding and recording each step once.
 */
describe.each(testEngines())('journey steps survive SIGKILL and two instances (%s)', (engine) => {
  let db: TestDatabase;
  let c: Container;
  const at = sh('2026-09-01T22:00:00');
  const clock = new FixedClock(at);
  let journeyId = '';

  beforeAll(async () => {
    db = await createTestDatabase(engine);
    c = await buildContainer(testConfig(db.url), silentLogger, { registry: new Registry(), http: false, clock });
    const j = await c.journeys.service.create(
      journeyInput.parse({
        name: '万人旅程',
        definition: {
          trigger: { kind: 'manual' },
          steps: [
            { kind: 'message', title: '一', delay: { kind: 'after', minutes: 0 }, text: '{{name}}，第一条' },
            { kind: 'message', title: '二', delay: { kind: 'after', minutes: 0 }, text: '第二条' },
          ],
        },
      }),
      'test',
    );
    await c.journeys.service.setStatus(j.id, 'active');
    journeyId = j.id;
    await c.db.query("INSERT INTO staff (userid, name, status, updated_at) VALUES ('crashowner', '店长', 'active', 0)");
    for (let i = 0; i < N; i += 500) {
      const ids = Array.from({ length: Math.min(500, N - i) }, (_, k) => `wmCrash${String(i + k).padStart(5, '0')}`);
      await c.db.query(`INSERT INTO customers (external_user_id, name, type, gender, birthday_leap, activity, opted_out, created_at, updated_at) VALUES ${ids.map(() => "(?, '客户', 1, 0, 0, 'active', 0, 0, 0)").join(',')}`, ids);
      await c.db.query(`INSERT INTO follow_relations (userid, external_user_id, add_way, added_at, status, created_at, updated_at) VALUES ${ids.map(() => "('crashowner', ?, 1, 0, 'active', 0, 0)").join(',')}`, ids);
      await c.db.query(
        `INSERT INTO journey_memberships (journey_id, version, external_user_id, owner_userid, status, entered_by, entered_at, current_step, step_since, next_due_at, is_holdout, entry_number) VALUES ${ids.map(() => "(?, 1, ?, 'crashowner', 'active', 'manual', ?, 0, ?, ?, 0, 1)").join(',')}`,
        ids.flatMap((x) => [journeyId, x, at.getTime() - 60_000, at.getTime() - 60_000, at.getTime() - 60_000]),
      );
    }
  });
  afterAll(async () => {
    await c?.close();
    await db?.drop();
  });

  const crashTick = async (killAfter: number) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'test/helpers/journey-crash-tick.ts')], {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: db.url,
        DATA_KEY: TEST_DATA_KEY,
        ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        WECOM_TOKEN: TEST_SANDBOX_KEYS.token,
        WECOM_ENCODING_AES_KEY: TEST_SANDBOX_KEYS.encodingAesKey,
        JOURNEY_AT: at.toISOString(),
        KILL_AFTER_NOW_CALLS: String(killAfter),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const [code, signal] = await once(child, 'exit');
    return { code, signal, out };
  };
  const state = async () => {
    const [runs] = await c.db.query<{ n: number | string; distinct_steps: number | string; claimed: number | string }>(
      "SELECT COUNT(*) AS n, COUNT(DISTINCT membership_id * 10 + step_index) AS distinct_steps, SUM(CASE WHEN status = 'claimed' THEN 1 ELSE 0 END) AS claimed FROM journey_step_runs WHERE journey_id = ?",
      [journeyId],
    );
    const [ledger] = await c.db.query<{ n: number | string; distinct_keys: number | string }>(
      'SELECT COUNT(*) AS n, COUNT(DISTINCT occasion) AS distinct_keys FROM deliveries WHERE source = ?',
      [`journey:${journeyId}`],
    );
    const [members] = await c.db.query<{ completed: number | string }>("SELECT SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed FROM journey_memberships WHERE journey_id = ?", [journeyId]);
    return { runs: Number(runs.n), distinctRuns: Number(runs.distinct_steps), claimed: Number(runs.claimed ?? 0), ledger: Number(ledger.n), distinctLedger: Number(ledger.distinct_keys), completed: Number(members.completed ?? 0) };
  };

  it('every step ran exactly once per customer', async () => {
    // Killed part-way through the first pages, and again part-way through what was left.
    const first = await crashTick(6);
    expect({ code: first.code, signal: first.signal }).toEqual({ code: null, signal: 'SIGKILL' });
    const afterFirst = await state();
    expect(afterFirst.runs).toBeGreaterThan(0);
    expect(afterFirst.completed).toBeLessThan(N);
    const second = await crashTick(9);
    expect(second.signal).toBe('SIGKILL');
    const afterSecond = await state();
    expect(afterSecond.runs).toBeGreaterThanOrEqual(afterFirst.runs);
    expect(afterSecond.runs).toBe(afterSecond.distinctRuns);
    expect(afterSecond.ledger).toBe(afterSecond.distinctLedger);
    // The kills left claims behind (claimed, not yet recorded), some of them with their messages already planned.
    expect(afterSecond.claimed).toBeGreaterThan(0);

    // The restart and a second instance tick together, past the stale claims, until everyone is through.
    const a = c.scheduling.journeys!;
    const b = buildScheduling(c, { instanceId: 'second-instance' }).journeys!;
    for (let minute = 6; minute < 30; minute++) {
      clock.set(new Date(at.getTime() + minute * 60_000));
      await Promise.all([a.tick(clock.now()), b.tick(clock.now())]);
      if ((await state()).completed === N) break;
    }
    const end = await state();
    expect(end).toEqual({ runs: 2 * N, distinctRuns: 2 * N, claimed: 0, ledger: 2 * N, distinctLedger: 2 * N, completed: N });
    // Some steps were taken over from the killed process: claimed twice, acted on once.
    const [taken] = await c.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM journey_step_runs WHERE journey_id = ? AND attempts > 1', [journeyId]);
    expect(Number(taken.n)).toBeGreaterThanOrEqual(afterSecond.claimed);
    // Quiet hours: nothing was submitted to WeCom. The first message of each customer waits, planned; the second, the
    // same local day, is refused by the per-customer daily cap, as any message would be, and recorded once.
    const statuses = await c.db.query<{ status: string; code: string | null; n: number | string }>(
      "SELECT status, CASE WHEN reason LIKE 'daily_cap%' THEN 'daily_cap' ELSE reason END AS code, COUNT(*) AS n FROM deliveries WHERE source = ? GROUP BY status, CASE WHEN reason LIKE 'daily_cap%' THEN 'daily_cap' ELSE reason END ORDER BY status",
      [`journey:${journeyId}`],
    );
    expect(statuses.map((s) => [s.status, s.code, Number(s.n)])).toEqual([
      ['planned', null, N],
      ['skipped', 'daily_cap', N],
    ]);
  });
});
