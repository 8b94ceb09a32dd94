import type { JourneyRunner } from '../domain/journeys/journey-runner.js';
import { localDate } from '../shared/dates.js';
import { dailyOccasion, minuteOccasion, type JobDefinition } from './job.types.js';

/**
 * `journeys`, every minute: match the signals hook points left, advance the memberships that came due (claiming each
 * step once, docs/journeys.md §Once per step), follow waiting steps, and submit what was planned. The minute's claim
 * elects one instance; each step's own claim row makes overlapping runs (a catch-up, `job run`) act on it once.
 */
export function journeysJob(deps: { runner: Pick<JourneyRunner, 'tick'>; schedule: string }): JobDefinition {
  return {
    name: 'journeys',
    description: '客户旅程 / customer journeys',
    schedule: deps.schedule,
    occasionKey: minuteOccasion,
    async run(ctx) {
      if (ctx.isDryRun) return {};
      return { ...(await deps.runner.tick(ctx.clock.now(), { clock: () => ctx.clock.now() })) };
    },
  };
}

/** `journeys-nightly`: the entries checked once a day (birthdays N days ahead, audiences, stage and activity). */
export function journeysNightlyJob(deps: { runner: Pick<JourneyRunner, 'nightly'>; schedule: string; tz: string }): JobDefinition {
  return {
    name: 'journeys-nightly',
    description: '客户旅程每日入组 / journeys: nightly entries',
    schedule: deps.schedule,
    occasionKey: dailyOccasion,
    async run(ctx) {
      if (ctx.isDryRun) return {};
      return deps.runner.nightly(localDate(ctx.at, deps.tz), ctx.clock.now());
    },
  };
}
