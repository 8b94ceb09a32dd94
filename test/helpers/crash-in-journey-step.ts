/**
 * `wecom-ops job run …` that SIGKILLs itself the instant its CRASH_AFTER_PLANS-th ledger page (default the first) is
 * planned: the journeys' tick has claimed that page's steps and their messages are in the ledger, but the step runs
 * are not recorded yet (docs/journeys.md §Once per step: the claim is taken over once it goes stale). argv: the
 * job-run arguments (e.g. `journeys --at <ISO>`).
 */
import { loadConfig } from '../../src/config/load.js';
import { buildContainer } from '../../src/container.js';
import { jobCommand } from '../../src/cli/job.cli.js';
import { silentLogger } from '../../src/shared/logger.js';
import { DeliveryLedger } from '../../src/domain/delivery/delivery-ledger.js';

let plansLeft = Number(process.env.CRASH_AFTER_PLANS ?? 1);
const planMany = DeliveryLedger.prototype.planMany;
DeliveryLedger.prototype.planMany = async function (this: DeliveryLedger, ...args: Parameters<DeliveryLedger['planMany']>) {
  const out = await planMany.apply(this, args);
  if (--plansLeft > 0) return out;
  process.kill(process.pid, 'SIGKILL');
  return new Promise(() => undefined);
};

const config = loadConfig();
const c = await buildContainer(config, silentLogger, { http: false });
process.exitCode = await jobCommand('run', process.argv.slice(2), { scheduler: c.scheduling.scheduler, tz: config.appTimezone }, process.stdout);
await c.close();
