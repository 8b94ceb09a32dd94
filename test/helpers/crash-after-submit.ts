/**
 * `wecom-ops job run …` that SIGKILLs itself the instant WeCom has accepted an add_msg_template (the
 * CRASH_AFTER_CALLS-th, default the first), before the ledger records the msgid: the crash window of
 * docs/reliability.md §Sending without an idempotency key. argv: the job-run arguments (e.g. `care --at <ISO>`).
 */
import { loadConfig } from '../../src/config/load.js';
import { buildContainer } from '../../src/container.js';
import { jobCommand } from '../../src/cli/job.cli.js';
import { silentLogger } from '../../src/shared/logger.js';
import type { WecomGateway } from '../../src/wecom/client/gateway.js';

const config = loadConfig();
let callsLeft = Number(process.env.CRASH_AFTER_CALLS ?? 1);
const c = await buildContainer(config, silentLogger, {
  http: false,
  wecom: (real) =>
    new Proxy(real, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (prop !== 'addMsgTemplate') return typeof v === 'function' ? v.bind(target) : v;
        return async (input: Parameters<WecomGateway['addMsgTemplate']>[0]) => {
          const res = await real.addMsgTemplate(input);
          if (--callsLeft > 0) return res;
          process.kill(process.pid, 'SIGKILL');
          await new Promise(() => undefined);
        };
      },
    }),
});
process.exitCode = await jobCommand('run', process.argv.slice(2), { scheduler: c.scheduling.scheduler, tz: config.appTimezone }, process.stdout);
await c.close();
