import { dailyOccasion, minuteOccasion, type JobDefinition } from './job.types.js';

/**
 * `broadcasts`: a slot the broadcasts feature fills with `jobRegistry.hook('broadcasts', run)`. Until then it only
 * records that it ran; broadcast rows already in the ledger are sent by `delivery-results`.
 */
export function broadcastsJob(schedule: string): JobDefinition {
  return {
    name: 'broadcasts',
    description: '定时群发 / scheduled broadcasts',
    schedule,
    occasionKey: minuteOccasion,
    run: async () => ({ hooked: 0 }),
  };
}

/**
 * `sync`: the nightly full reconcile from WeCom. The archive feature fills it with `jobRegistry.hook('sync', run)`;
 * until then a run records `hooked: 0` rather than failing every night.
 */
export function syncJob(schedule: string): JobDefinition {
  return {
    name: 'sync',
    description: '从企业微信全量同步 / full reconcile from WeCom',
    schedule,
    occasionKey: dailyOccasion,
    run: async (ctx) => {
      ctx.log.warn('sync job has no implementation registered');
      return { hooked: 0 };
    },
  };
}
