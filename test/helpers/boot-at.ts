/**
 * Boot the app (connect and migrate, as `serve` and `migrate` do) at the wall-clock instant START_AT (ms since
 * the epoch), then close and exit 0. Several of these start their migrations within a millisecond of each other,
 * whatever tsx start-up cost each one; launched one after another they would rarely overlap.
 */
import { loadConfig } from '../../src/config/load.js';
import { buildContainer } from '../../src/container.js';
import { silentLogger } from '../../src/shared/logger.js';

const config = loadConfig();
const wait = Number(process.env.START_AT) - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));
const c = await buildContainer(config, silentLogger);
await c.close();
