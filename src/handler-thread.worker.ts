import { parentPort, workerData } from 'node:worker_threads';
import type { FromHandlerThread, HandlerThreadData, ToHandlerThread } from './handler-thread.js';
import { startBackground } from './main.js';
import { createLogger, silentLogger } from './shared/logger.js';

/**
 * The handler thread's side (docs/inbox.md §Handler thread): the background services of a `worker` role over the
 * same configuration, driven by the main thread's messages.
 */
const port = parentPort!;
const data = workerData as HandlerThreadData;
const send = (m: FromHandlerThread) => port.postMessage(m);
const log = data.logLevel === 'silent' ? silentLogger : createLogger({ level: data.logLevel, pretty: data.logPretty }).child({ thread: 'handlers' });

try {
  const running = await startBackground(data.config, log);
  port.on('message', (m: ToHandlerThread) => {
    switch (m.type) {
      case 'stored':
        running.container.inboxProcessor.storeTook(m.storeMs);
        running.container.inboxProcessor.poke();
        break;
      case 'metrics':
        void running.container.metrics.registry.getMetricsAsJSON().then((metrics) => send({ type: 'metrics', id: m.id, metrics }));
        break;
      case 'stop':
        void running.stop().then(
          () => send({ type: 'stopped' }),
          (err) => {
            log.error({ err }, 'stopping the handler thread failed');
            send({ type: 'stopped' });
          },
        );
        break;
    }
  });
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
}
