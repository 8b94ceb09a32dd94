import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { buildScheduling } from '../../../src/container.js';
import { addSandboxCustomer } from '../../fixtures/scheduling.js';
import { journeyInput } from '../../../src/domain/journeys/journey.schema.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * The journeys' tick against real databases (docs/journeys.md §Once per step): a claim a crashed instance left is
 * taken over once and its message planned once; two scheduling instances on one database, ticking at the same time,
 * run every step of every member once.
 */
describe.each(testEngines())('journey tick on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-06-01T11:00:00'));

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
  });
  afterAll(() => app?.close());

  const journey = async (name: string) => {
    const svc = app.container.journeys.service;
    const j = await svc.create(
      journeyInput.parse({
        name,
        definition: {
          trigger: { kind: 'manual' },
          steps: [
            { kind: 'message', title: '欢迎', delay: { kind: 'after', minutes: 0 }, text: '{{name}} 您好，欢迎！' },
            { kind: 'message', title: '指南', delay: { kind: 'after', minutes: 60 }, text: '使用指南' },
          ],
        },
      }),
      'test',
    );
    await svc.setStatus(j.id, 'active');
    return j;
  };
  const runsOf = (journeyId: string) =>
    app.container.db.query<{ membership_id: number | string; step_index: number | string; status: string; attempts: number | string; claimed_by: string }>(
      'SELECT membership_id, step_index, status, attempts, claimed_by FROM journey_step_runs WHERE journey_id = ? ORDER BY membership_id, step_index',
      [journeyId],
    );
  const ledger = (journeyId: string) => app.container.db.query<{ external_user_id: string; occasion: string; status: string }>('SELECT external_user_id, occasion, status FROM deliveries WHERE source = ?', [`journey:${journeyId}`]);

  it('a claim left by a crashed instance is taken over once, after it goes stale, and its message planned once', async () => {
    clock.set(sh('2026-06-01T11:00:00'));
    const j = await journey('接管测试');
    const ext = await addSandboxCustomer(app.container, 'zhangsan', { name: '接管客户' });
    expect(await app.container.journeys.service.enrol(j.id, [ext])).toMatchObject({ entered: 1 });
    const [m] = (await app.container.journeys.service.members(j.id, { page: 1, pageSize: 10 })).items;
    // The crashed instance claimed step 0 and died before acting.
    expect(await app.container.journeys.repo.claim(m, 0, 'message', 'dead-instance', clock.now())).not.toBeNull();

    const runner = app.container.scheduling.journeys!;
    const fresh = await runner.tick(clock.now());
    expect(fresh).toMatchObject({ claimed: 0, takenOver: 0 });
    expect(await ledger(j.id)).toHaveLength(0);

    clock.set(sh('2026-06-01T11:06:00'));
    const later = await runner.tick(clock.now());
    expect(later).toMatchObject({ takenOver: 1, planned: 1 });
    expect(await runsOf(j.id)).toEqual([expect.objectContaining({ step_index: expect.anything(), status: 'waiting' })]);
    expect(Number((await runsOf(j.id))[0].attempts)).toBe(2);
    // A second pass and a second instance find nothing more to do for step 0.
    const other = buildScheduling(app.container, { instanceId: 'second' }).journeys!;
    await other.tick(clock.now());
    await runner.tick(clock.now());
    const rows = await ledger(j.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ external_user_id: ext, occasion: `m${m.id}:s0` });
    // The message was submitted to WeCom as the owner's mass-send task.
    expect(rows[0].status).toBe('submitted');
  });

  it('two instances ticking together run each step of each member once', async () => {
    clock.set(sh('2026-06-02T11:00:00'));
    const j = await journey('双实例');
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await addSandboxCustomer(app.container, i % 2 ? 'zhangsan' : 'lisi', { name: `客户${i}` }));
    expect(await app.container.journeys.service.enrol(j.id, ids)).toMatchObject({ entered: 12 });
    const a = app.container.scheduling.journeys!;
    const b = buildScheduling(app.container, { instanceId: 'instance-b' }).journeys!;
    const [ca, cb] = await Promise.all([a.tick(clock.now()), b.tick(clock.now())]);
    // Both instances took part (the first test's member is due too, so each count may include it).
    expect(ca.claimed + cb.claimed).toBeGreaterThanOrEqual(12);
    expect((await runsOf(j.id)).filter((r) => Number(r.step_index) === 0)).toHaveLength(12);
    clock.set(sh('2026-06-02T12:01:00'));
    await Promise.all([a.tick(clock.now()), b.tick(clock.now())]);
    expect((await runsOf(j.id)).filter((r) => Number(r.step_index) === 1)).toHaveLength(12);
    await Promise.all([a.tick(clock.now()), b.tick(clock.now())]);
    const runs = await runsOf(j.id);
    expect(runs).toHaveLength(24);
    expect(new Set(runs.map((r) => `${r.membership_id}:${r.step_index}`)).size).toBe(24);
    const rows = await ledger(j.id);
    expect(rows).toHaveLength(24);
    expect(new Set(rows.map((r) => `${r.external_user_id}|${r.occasion}`)).size).toBe(24);
    const members = (await app.container.journeys.service.members(j.id, { page: 1, pageSize: 50 })).items;
    expect(members.every((x) => x.status === 'completed')).toBe(true);
  });
});
