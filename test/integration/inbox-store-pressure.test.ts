import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { contactEventXml, postCallback } from '../helpers/callbacks.js';
import type { EventHandler } from '../../src/domain/inbox/event-router.js';

/**
 * With its handlers in a thread, a process's acknowledgements wait on the inbox's commits, not on the handlers' loop
 * (docs/inbox.md §Handler thread). A slow commit reported to the processor halves the ordinary lane's handlers; it
 * grows back once the commits are quick again. Seen here as how many ordinary handlers run at once.
 */
describe.each(testEngines())('ordinary handlers give way to slow acknowledgement commits on %s', (engine) => {
  let app: TestApp;
  let running = 0;
  let peak = 0;
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  const probe: EventHandler = {
    name: 'probe',
    kinds: ['event/change_external_contact/edit_external_contact'],
    async handle() {
      running++;
      peak = Math.max(peak, running);
      await gate;
      running--;
    },
  };
  const closeGate = () => {
    gate = new Promise((r) => (open = r));
  };

  beforeAll(async () => {
    app = await startTestApp(engine, { overrides: { inbox: { workers: 8 } }, build: { handlers: [probe] }, startServices: true });
  });
  afterAll(async () => {
    open();
    await app?.close();
  });

  const storeEdits = async (tag: string, n: number) => {
    for (let i = 0; i < n; i++) expect((await postCallback(app.url, contactEventXml('edit_external_contact', { externalUserId: `wm${tag}${i}` }))).status).toBe(200);
  };
  const drained = () =>
    waitFor(
      async () => running === 0 && (await app.container.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM inbox_events WHERE status IN ('pending', 'running')"))[0].n == 0,
      20_000,
      'handlers idle',
    );

  it('runs at most half the ordinary handlers after a slow commit, and all of them again once commits are quick', async () => {
    const processor = app.container.inboxProcessor;
    // Unhindered: all 8 slots fill.
    closeGate();
    await storeEdits('a', 12);
    await waitFor(async () => running === 8, 10_000, '8 handlers running');
    open();
    await drained();

    // Commits of 50 ms (over 20) keep coming: the next burst gets half the slots at most (fewer if this process's own
    // loop runs late too), and handling still goes on.
    peak = 0;
    closeGate();
    processor.storeTook(50);
    const slow = setInterval(() => processor.storeTook(50), 100);
    try {
      await storeEdits('b', 12);
      await waitFor(async () => running >= 1, 10_000, 'a handler running');
      await new Promise((r) => setTimeout(r, 600));
      expect(peak).toBeLessThanOrEqual(4);
    } finally {
      clearInterval(slow);
    }
    open();
    await drained();

    // No slow commit for a while: the lane grows back to 8.
    await new Promise((r) => setTimeout(r, 400));
    peak = 0;
    closeGate();
    await storeEdits('c', 12);
    await waitFor(async () => running === 8, 10_000, '8 handlers running again');
    open();
    await drained();
  });
});
