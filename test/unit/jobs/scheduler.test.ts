import { describe, expect, it } from 'vitest';
import { Scheduler, nextRunAfter } from '../../../src/jobs/scheduler.js';
import { JobRegistry } from '../../../src/jobs/job-registry.js';
import { dailyOccasion, type JobContext } from '../../../src/jobs/job.types.js';
import { DbRunCoordinator } from '../../../src/jobs/run-coordinator.js';
import type { JobRunRepository } from '../../../src/persistence/repositories/job-run.repository.js';
import type { ClaimInput, JobRun } from '../../../src/domain/scheduling/job-run.types.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/** job_runs in memory, with the UNIQUE (job, occasion) semantics of the table. */
class FakeRuns {
  readonly rows = new Map<string, JobRun>();
  async claim(i: ClaimInput): Promise<JobRun | null> {
    const key = `${i.job}|${i.occasionKey}`;
    const cur = this.rows.get(key);
    if (cur) {
      const stale = i.takeOverStartedBefore && (cur.status === 'failed' || (cur.status === 'running' && cur.startedAt < i.takeOverStartedBefore));
      if (!stale) return null;
      const next = { ...cur, status: 'running' as const, attempt: cur.attempt + 1, instanceId: i.instanceId, trigger: i.trigger };
      this.rows.set(key, next);
      return next;
    }
    const run: JobRun = { id: key, job: i.job, occasionKey: i.occasionKey, trigger: i.trigger, status: 'running', instanceId: i.instanceId, attempt: 1, startedAt: i.now, finishedAt: null, counts: null, error: null };
    this.rows.set(key, run);
    return run;
  }
  async finish(run: JobRun, status: 'done' | 'failed', counts: Record<string, number> | null, error: string | null, now: Date) {
    this.rows.set(`${run.job}|${run.occasionKey}`, { ...run, status, counts, error, finishedAt: now });
  }
  async findByOccasion(job: string, key: string) {
    return this.rows.get(`${job}|${key}`) ?? null;
  }
  async findLast(job: string) {
    return [...this.rows.values()].filter((r) => r.job === job).at(-1) ?? null;
  }
}

function setup(run: (ctx: JobContext) => Promise<Record<string, number>> = async () => ({ n: 1 })) {
  const clock = new FixedClock(sh('2026-03-15T08:00:00'));
  const runs = new FakeRuns();
  const registry = new JobRegistry();
  const seen: JobContext[] = [];
  registry.register({ name: 'care', description: 'd', schedule: '0 9 * * *', dailyAt: '09:00', occasionKey: dailyOccasion, run: async (ctx) => (seen.push(ctx), run(ctx)) });
  const deps = { registry, runs: runs as unknown as JobRunRepository, clock, tz: 'Asia/Shanghai', log: silentLogger };
  return { clock, runs, seen, sut: new Scheduler({ ...deps, instanceId: 'a' }), other: new Scheduler({ ...deps, instanceId: 'b' }) };
}

describe(Scheduler.name, () => {
  describe('fire', () => {
    it('runs a slot on the instance that claims it and skips it everywhere else', async () => {
      const { sut, other, seen, runs } = setup();
      const slot = sh('2026-03-15T09:00:00');
      expect((await sut.fire('care', slot)).status).toBe('done');
      expect((await other.fire('care', slot)).status).toBe('skipped');
      expect(seen).toHaveLength(1);
      expect(runs.rows.get('care|2026-03-15')).toMatchObject({ status: 'done', counts: { n: 1 }, instanceId: 'a', trigger: 'schedule' });
    });

    it('records a failure with its error, and a later scheduled fire does not retry it; a manual run may', async () => {
      let fail = true;
      const { sut, runs, clock } = setup(async () => {
        if (fail) throw new Error('boom');
        return { n: 2 };
      });
      const slot = sh('2026-03-15T09:00:00');
      expect(await sut.fire('care', slot)).toMatchObject({ status: 'failed', error: 'boom' });
      expect(runs.rows.get('care|2026-03-15')).toMatchObject({ status: 'failed', error: 'boom' });
      expect((await sut.fire('care', slot)).status).toBe('skipped');
      fail = false;
      clock.set(sh('2026-03-15T09:10:00'));
      expect((await sut.runNow('care')).status).toBe('done');
      expect(runs.rows.get('care|2026-03-15')).toMatchObject({ status: 'done', attempt: 2, trigger: 'manual' });
    });
  });

  describe('catchUp', () => {
    it('does nothing before the daily time and runs once after it', async () => {
      const { sut, other, clock, seen } = setup();
      expect(await sut.catchUp()).toEqual([]);
      clock.set(sh('2026-03-15T11:00:00'));
      expect((await sut.catchUp()).map((o) => o.status)).toEqual(['done']);
      expect(await other.catchUp()).toEqual([]);
      expect(seen).toHaveLength(1);
      expect(seen[0].occasionKey).toBe('2026-03-15');
    });
  });

  describe('runNow', () => {
    it('a dry run claims and records nothing and tells the job so', async () => {
      const { sut, runs, seen } = setup();
      const out = await sut.runNow('care', { at: sh('2026-03-20T09:00:00'), isDryRun: true });
      expect(out.status).toBe('dry-run');
      expect(runs.rows.size).toBe(0);
      expect(seen[0]).toMatchObject({ isDryRun: true, runId: null, occasionKey: '2026-03-20' });
    });

    it('--at runs as if the clock said so', async () => {
      const { sut, seen } = setup();
      await sut.runNow('care', { at: sh('2026-12-25T09:30:00') });
      expect(seen[0].occasionKey).toBe('2026-12-25');
      expect(seen[0].clock.now().toISOString()).toBe(sh('2026-12-25T09:30:00').toISOString());
    });

    it('an unknown job is a not-found error listing the known ones', async () => {
      const { sut } = setup();
      await expect(sut.runNow('nope')).rejects.toThrow(/care/);
    });
  });
});

describe(DbRunCoordinator.name, () => {
  it('keeps the claim on completion, so a skewed instance cannot win the same key later (docs/reliability.md §Scheduler claims across instances)', async () => {
    const runs = new FakeRuns();
    const clock = new FixedClock(sh('2026-03-15T09:00:00'));
    const resolve = (_job: string, slot: Date) => dailyOccasion(slot, 'Asia/Shanghai');
    const a = new DbRunCoordinator(runs as unknown as JobRunRepository, resolve, 'a', clock);
    const b = new DbRunCoordinator(runs as unknown as JobRunRepository, resolve, 'b', clock);
    const key = DbRunCoordinator.keyOf('care', sh('2026-03-15T09:00:00'));
    expect(await a.shouldRun(key)).toBe(true);
    await a.onComplete(key);
    expect(await b.shouldRun(key)).toBe(false);
  });
});

describe('nextRunAfter', () => {
  it('computes the next fire in APP_TIMEZONE from the given time', () => {
    expect(nextRunAfter('0 9 * * *', 'Asia/Shanghai', sh('2026-03-15T10:00:00'))?.toISOString()).toBe(sh('2026-03-16T09:00:00').toISOString());
    expect(nextRunAfter('0 9 * * *', 'Asia/Shanghai', sh('2026-03-15T08:59:00'))?.toISOString()).toBe(sh('2026-03-15T09:00:00').toISOString());
  });
});
