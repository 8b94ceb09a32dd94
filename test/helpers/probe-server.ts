/**
 * A real server process for crash and multi-process tests: the production boot (`startServer`) plus one probe
 * handler for `event/wecom_ops_probe` that appends the event id to PROBE_LOG synchronously, so the file counts
 * handler runs exactly even if the process is SIGKILLed. Prints `READY <url>` when listening.
 */
import { appendFileSync } from 'node:fs';
import { loadConfig } from '../../src/config/load.js';
import { startServer } from '../../src/main.js';
import { silentLogger } from '../../src/shared/logger.js';
import type { EventHandler } from '../../src/domain/inbox/event-router.js';

const logFile = process.env.PROBE_LOG!;
const delayMs = Number(process.env.PROBE_DELAY_MS ?? 0);
const probe: EventHandler = {
  name: 'probe',
  kinds: ['event/wecom_ops_probe'],
  async handle(e) {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    appendFileSync(logFile, `${e.id} ${process.pid}\n`);
  },
};

const running = await startServer(loadConfig(), silentLogger, { handlers: [probe] });
process.stdout.write(`READY ${running.url}\n`);
process.on('SIGTERM', () => void running.stop().then(() => process.exit(0)));
