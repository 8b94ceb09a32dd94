/**
 * One `journeys` tick in a process of its own, at JOURNEY_AT, that SIGKILLs itself at the KILL_AFTER_NOW_CALLS-th
 * reading of the clock once the tick has begun (the ledger reads it for each page it plans, the tick before following
 * and dispatching): a crash somewhere between claiming steps, planning their messages and recording them
 * (docs/journeys.md §Once per step). Prints DONE when the tick finished without being killed.
 */
import { loadConfig } from '../../src/config/load.js';
import { buildContainer } from '../../src/container.js';
import { silentLogger } from '../../src/shared/logger.js';

const at = new Date(process.env.JOURNEY_AT!);
const killAt = Number(process.env.KILL_AFTER_NOW_CALLS ?? 0);
let armed = false;
let calls = 0;
const clock = {
  now(): Date {
    if (armed && killAt > 0 && ++calls >= killAt) process.kill(process.pid, 'SIGKILL');
    return new Date(at);
  },
};
const c = await buildContainer(loadConfig(), silentLogger, { http: false, clock });
armed = true;
const counts = await c.scheduling.journeys!.tick(at);
process.stdout.write(`DONE ${JSON.stringify(counts)}\n`);
await c.close();
