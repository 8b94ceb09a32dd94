import type { ContentMediaService } from '../domain/content/content-media.service.js';
import { minuteOccasion, type JobDefinition } from './job.types.js';

/**
 * `content-media`, hourly: re-upload the library's WeCom media ids older than two days, so a send always finds one
 * with a day left and never uploads itself, and retry permanent image URLs that failed at save (docs/content.md
 * §Media lifecycle). Each item's row records the outcome, so overlapping runs only repeat an upload. Then today's care
 * run, if media deferred some of its rules, is run again: the ledger plans only what is missing. And 入群欢迎语 templates
 * parked while an item's media was not ready are written to WeCom (docs/groups.md §Group welcome templates).
 */
export function contentMediaJob(deps: {
  media: Pick<ContentMediaService, 'refresh'>;
  schedule: string;
  /**
   * After the refresh: run today's care job again if it failed only because rules were deferred for media
   * (docs/content.md §Composers); 'done' | 'failed' when it ran, null when there was nothing to retry.
   */
  retryDeferredCare?: () => Promise<'done' | 'failed' | null>;
  /** After the refresh: group welcome templates that waited for an item's media, tried again. */
  retryWaitingWelcomes?: () => Promise<{ retried: number; live: number }>;
}): JobDefinition {
  return {
    name: 'content-media',
    description: '素材库媒体续期 / content library media refresh',
    schedule: deps.schedule,
    occasionKey: minuteOccasion,
    async run(ctx) {
      if (ctx.isDryRun) return {};
      const refreshed = await deps.media.refresh();
      const care = deps.retryDeferredCare ? await deps.retryDeferredCare() : null;
      const welcomes = deps.retryWaitingWelcomes ? await deps.retryWaitingWelcomes() : null;
      return {
        ...refreshed,
        ...(care ? { careRetried: 1, careRetryFailed: care === 'failed' ? 1 : 0 } : {}),
        ...(welcomes?.retried ? { welcomesRetried: welcomes.retried, welcomesLive: welcomes.live } : {}),
      };
    },
  };
}
