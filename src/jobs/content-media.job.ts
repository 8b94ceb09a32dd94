import type { ContentMediaService } from '../domain/content/content-media.service.js';
import { minuteOccasion, type JobDefinition } from './job.types.js';

/**
 * `content-media`, hourly: re-upload the library's WeCom media ids older than two days, so a send always finds one
 * with a day left and never uploads itself, and retry permanent image URLs that failed at save (docs/content.md
 * §Media lifecycle). Each item's row records the outcome, so overlapping runs only repeat an upload.
 */
export function contentMediaJob(deps: { media: Pick<ContentMediaService, 'refresh'>; schedule: string }): JobDefinition {
  return {
    name: 'content-media',
    description: '素材库媒体续期 / content library media refresh',
    schedule: deps.schedule,
    occasionKey: minuteOccasion,
    async run(ctx) {
      if (ctx.isDryRun) return {};
      return { ...(await deps.media.refresh()) };
    },
  };
}
