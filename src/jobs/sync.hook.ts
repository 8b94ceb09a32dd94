import type { Container } from '../container.js';
import type { ArchiveModule } from '../domain/customers/register.js';
import { schedulingOf } from './register-scheduling.js';
import type { JobCounts } from './job.types.js';

/** Fill the nightly `sync` job with the archive's full reconcile (resumable, so a crashed night resumes next run). */
export function registerNightlySync(c: Container): void {
  const archive = (c as Container & { archive?: ArchiveModule }).archive;
  if (!archive) return;
  schedulingOf(c).jobs.hook('sync', async (ctx): Promise<JobCounts> => {
    if (ctx.isDryRun) {
      ctx.report('would run a full sync: staff → customers → follow relations → tag library');
      return { dryRun: 1 };
    }
    const r = await archive.fullSync.run();
    ctx.report(`synced ${r.customers} customers, ${r.pairs} relations, ${r.vanished} vanished`);
    return { customers: r.customers, pairs: r.pairs, vanished: r.vanished, ms: r.ms };
  });
}
