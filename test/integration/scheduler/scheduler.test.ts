import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { startTestApp, testConfig, waitFor, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { buildContainer, type Container } from '../../../src/container.js';
import { FixedClock, systemClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { JobRegistry } from '../../../src/jobs/job-registry.js';
import { Scheduler } from '../../../src/jobs/scheduler.js';
import { JobRunRepository } from '../../../src/persistence/repositories/job-run.repository.js';
import { addSandboxCustomer, ledgerOf } from '../../fixtures/scheduling.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * Two instances on one database: instance A is a full test app (HTTP + the in-process sandbox), instance B a second
 * container built on the same database whose WeCom client talks to A's sandbox, so the sandbox's call log sees
 * both instances' calls.
 */
describe.each(testEngines())('scheduler across instances on %s', (engine) => {
  let a: TestApp;
  let b: Container;
  const clockA = new FixedClock(sh('2026-03-15T08:00:00'));
  const clockB = new FixedClock(sh('2026-03-15T08:00:00'));
  const setBoth = (t: Date, skewMs = 0) => {
    clockA.set(t);
    clockB.set(new Date(t.getTime() - skewMs));
  };
  const careRuns = async (occasion: string) =>
    a.container.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_runs WHERE job = 'care' AND occasion_key = ?", [occasion]).then((r) => Number(r[0].n));
  const tasks = () => a.container.sandbox!.calls('externalcontact/add_msg_template');

  beforeAll(async () => {
    a = await startTestApp(engine, { build: { clock: clockA } });
    b = await buildContainer(testConfig(a.db.url), silentLogger, { clock: clockB, registry: new Registry() });
    b.wecomClient.setApiBase(`${a.url}/sandbox`);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('two instances firing the 09:00 care job run it once and send one task', async () => {
    const id = await addSandboxCustomer(a.container, 'zhangsan', { name: '双实例', birthday: { calendar: 'solar', month: 3, day: 15 } });
    a.container.sandbox!.clearCalls();
    const slot = sh('2026-03-15T09:00:00');
    setBoth(slot);
    const outcomes = await Promise.all([a.container.scheduling.scheduler.fire('care', slot), b.scheduling.scheduler.fire('care', slot)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['done', 'skipped']);
    expect(await careRuns('2026-03-15')).toBe(1);
    expect(tasks()).toHaveLength(1);
    expect((await ledgerOf(a.container.db, id)).map((r) => r.status)).toEqual(['submitted']);
  });

  it('an instance whose clock runs late fires the same slot after the first finished, and does not run it again', async () => {
    const slot = sh('2026-03-16T09:00:00');
    setBoth(slot, 500);
    expect((await a.container.scheduling.scheduler.fire('care', slot)).status).toBe('done');
    clockB.set(new Date(slot.getTime() + 100));
    // The claim row was kept (never released on completion), so the skewed fire loses
    // (docs/reliability.md §Scheduler claims across instances).
    expect((await b.scheduling.scheduler.fire('care', slot)).status).toBe('skipped');
    expect(await careRuns('2026-03-16')).toBe(1);
  });

  it('after downtime across 09:00, both instances starting at 10:30 catch up exactly one run', async () => {
    const id = await addSandboxCustomer(a.container, 'lisi', { name: '停机', birthday: { calendar: 'solar', month: 3, day: 17 } });
    a.container.sandbox!.clearCalls();
    setBoth(sh('2026-03-17T08:59:00'));
    expect(await a.container.scheduling.scheduler.catchUp()).toEqual([]);
    setBoth(sh('2026-03-17T10:30:00'));
    const [ra, rb] = await Promise.all([a.container.scheduling.scheduler.catchUp(), b.scheduling.scheduler.catchUp()]);
    const care = [...ra, ...rb].filter((o) => o.job === 'care');
    expect(care).toHaveLength(1);
    expect(care[0].status).toBe('done');
    expect(care[0].run?.trigger).toBe('catch-up');
    // A restart later the same day, or a belated 09:00 fire, finds the day's run.
    expect((await b.scheduling.scheduler.catchUp()).filter((o) => o.job === 'care')).toEqual([]);
    expect((await a.container.scheduling.scheduler.fire('care', sh('2026-03-17T09:00:00'))).status).toBe('skipped');
    expect(await careRuns('2026-03-17')).toBe(1);
    expect(tasks()).toHaveLength(1);
    expect((await ledgerOf(a.container.db, id))[0].status).toBe('submitted');
  });

  it('job list shows every contract job with its schedule, next run and last run', async () => {
    setBoth(sh('2026-03-17T10:31:00'));
    const jobs = await a.container.scheduling.scheduler.list();
    // The contract's six with `churn` (流失预警 scores, after scoring), then `retention` (personal-data purge), `staff-digest` (alerts that waited for the per-member
    // message cap), `transfers` (客户继承 results), `bulk-tags` (resuming bulk tag jobs) and `analytics` (the nightly
    // rollups), `loyalty` (points expiry and tiers), `surveys` (survey invitations by trigger) and `feedback` (ticket
    // notices and SLA escalation), `group-broadcasts` (客户群群发 tasks and the groups' quota), `group-sop` (群SOP), `journeys` and `journeys-nightly` (客户旅程), `todo-digest` (今日待办's morning digest), `content-media` (素材库), extensions listed in the README.
    expect(jobs.map((j) => j.name)).toEqual(['care', 'winback', 'scoring', 'churn', 'broadcasts', 'delivery-results', 'group-broadcasts', 'sync', 'retention', 'staff-digest', 'transfers', 'bulk-tags', 'analytics', 'loyalty', 'surveys', 'feedback', 'group-sop', 'journeys', 'journeys-nightly', 'todo-digest', 'content-media']);
    const care = jobs.find((j) => j.name === 'care')!;
    expect(care.schedule).toBe('0 9 * * *');
    expect(care.nextRun?.toISOString()).toBe(sh('2026-03-18T09:00:00').toISOString());
    expect(care.lastRun).toMatchObject({ job: 'care', occasionKey: '2026-03-17', status: 'done' });
  });

  it('real node-cron fires on two schedulers: every slot runs on exactly one instance', async () => {
    const runs: { slot: string; instance: string }[] = [];
    const repo = new JobRunRepository(a.container.db);
    const make = (instance: string, db: Container) => {
      const registry = new JobRegistry();
      registry.register({
        name: 'tick',
        description: 'test tick',
        schedule: '* * * * * *',
        occasionKey: (at) => at.toISOString(),
        run: async (ctx) => {
          runs.push({ slot: ctx.occasionKey, instance });
          await new Promise((r) => setTimeout(r, 50));
          return {};
        },
      });
      return new Scheduler({ registry, runs: new JobRunRepository(db.db), clock: systemClock, tz: 'Asia/Shanghai', instanceId: instance, log: silentLogger });
    };
    const s1 = make('one', a.container);
    const s2 = make('two', b);
    await Promise.all([s1.start(), s2.start()]);
    try {
      await waitFor(() => runs.length >= 3, 8000, 'three cron slots');
    } finally {
      await Promise.all([s1.stop(), s2.stop()]);
    }
    const slots = runs.map((r) => r.slot);
    expect(new Set(slots).size).toBe(slots.length);
    const recorded = await repo.list('tick', 100);
    expect(recorded.length).toBe(new Set(recorded.map((r) => r.occasionKey)).size);
    expect(recorded.every((r) => r.status === 'done' || r.status === 'running')).toBe(true);
  });
});
