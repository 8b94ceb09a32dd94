import { parseArgs } from 'node:util';
import type { Scheduler } from '../jobs/scheduler.js';
import { localDate, localParts } from '../shared/dates.js';

const USAGE = `用法 / usage:
  wecom-ops job list [--json]
  wecom-ops job run <name> [--at <ISO-8601>] [--dry-run] [--json]
`;

function local(d: Date | null, tz: string): string {
  if (!d) return '-';
  const p = localParts(d, tz);
  return `${localDate(d, tz)} ${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
}

/**
 * `wecom-ops job list|run` (CONTRACT "Setup and commands"). Returns the process exit code: 0 done or nothing to
 * do, 1 the run failed, 2 bad usage.
 */
export async function jobCommand(sub: string | undefined, args: string[], m: { scheduler: Scheduler; tz: string }, out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { at: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
    allowPositionals: true,
  });
  const { tz } = m;
  if (sub === 'list') {
    const jobs = await m.scheduler.list();
    if (values.json) {
      out.write(`${JSON.stringify({ items: jobs, total: jobs.length })}\n`);
      return 0;
    }
    out.write(`任务 job\t计划 schedule\t下次 next run (${tz})\t上次 last run\n`);
    for (const j of jobs) {
      const last = j.lastRun ? `${j.lastRun.status} ${j.lastRun.occasionKey} @ ${local(j.lastRun.startedAt, tz)}${j.lastRun.error ? ` (${j.lastRun.error.slice(0, 80)})` : ''}` : '-';
      out.write(`${j.name}\t${j.schedule}\t${local(j.nextRun, tz)}\t${last}\n`);
    }
    return 0;
  }
  if (sub === 'run') {
    const name = positionals[0];
    if (!name) {
      out.write(USAGE);
      return 2;
    }
    let at: Date | undefined;
    if (values.at) {
      at = new Date(values.at);
      if (Number.isNaN(at.getTime())) {
        out.write(`--at 不是有效的 ISO-8601 时间 / not an ISO-8601 time: ${values.at}\n`);
        return 2;
      }
    }
    const outcome = await m.scheduler.runNow(name, { at, isDryRun: values['dry-run'] === true });
    if (values.json) {
      out.write(`${JSON.stringify(outcome)}\n`);
    } else {
      for (const line of outcome.lines) out.write(`${line}\n`);
      const head =
        outcome.status === 'skipped'
          ? `已运行过，本次不执行 / already ran for ${outcome.occasionKey}${outcome.run ? ` (run ${outcome.run.id}, ${outcome.run.status})` : ''}`
          : outcome.status === 'dry-run'
            ? `试运行，未发送任何消息 / dry run for ${outcome.occasionKey}: nothing was sent`
            : `${outcome.status} ${outcome.occasionKey}${outcome.error ? `: ${outcome.error}` : ''}`;
      out.write(`${name}: ${head}\n`);
      if (outcome.counts) out.write(`${JSON.stringify(outcome.counts)}\n`);
    }
    return outcome.status === 'failed' ? 1 : 0;
  }
  out.write(USAGE);
  return 2;
}
