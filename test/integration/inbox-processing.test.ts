import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { postCallback, SANDBOX_CREDS } from '../helpers/callbacks.js';
import type { EventHandler } from '../../src/domain/inbox/event-router.js';

const xml = (ext: string, seq: number) =>
  `<xml><ToUserName><![CDATA[${SANDBOX_CREDS.receiveId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
  `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType>` +
  `<Event><![CDATA[wecom_ops_probe]]></Event><ExternalUserID><![CDATA[${ext}]]></ExternalUserID><Seq>${seq}</Seq></xml>`;

describe.each(testEngines())('inbox processing on %s', (engine) => {
  let app: TestApp;
  const seen: { ext: string; seq: number; at: number; receivedAt: number }[] = [];
  let maxActivePerCustomer = 0;
  const activeBy = new Map<string, number>();
  const probe: EventHandler = {
    name: 'probe',
    kinds: ['event/wecom_ops_probe'],
    async handle(e) {
      const ext = String(e.fields.ExternalUserID);
      activeBy.set(ext, (activeBy.get(ext) ?? 0) + 1);
      maxActivePerCustomer = Math.max(maxActivePerCustomer, activeBy.get(ext)!);
      // Later events finish faster, so any reordering would show.
      await new Promise((r) => setTimeout(r, 12 - (Number(e.fields.Seq) % 10)));
      seen.push({ ext, seq: Number(e.fields.Seq), at: Date.now(), receivedAt: e.receivedAt.getTime() });
      activeBy.set(ext, activeBy.get(ext)! - 1);
    },
  };

  beforeAll(async () => {
    // A long poll interval: if events get handled quickly, it is the wake-up that did it, not polling.
    app = await startTestApp(engine, {
      build: { handlers: [probe] },
      overrides: { inbox: { workers: 8, pollIntervalMs: 60000 } },
      startServices: true,
    });
  });
  afterAll(() => app.close());

  it('handles one customer’s events in the order received, while different customers run in parallel', async () => {
    const customers = ['wmOrderA', 'wmOrderB', 'wmOrderC', 'wmOrderD'];
    for (let seq = 0; seq < 10; seq++) {
      await Promise.all(customers.map((c) => postCallback(app.url, xml(c, seq))));
    }
    await waitFor(() => seen.length === 40, 10000, '40 handled events');
    for (const c of customers) {
      expect(seen.filter((s) => s.ext === c).map((s) => s.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    expect(maxActivePerCustomer).toBe(1);
  });

  it('wakes a worker the moment an event is stored (no polling interval in between)', async () => {
    seen.length = 0;
    const posted = Date.now();
    expect((await postCallback(app.url, xml('wmWake', 0))).status).toBe(200);
    // The poll interval is 60 s, so finishing well inside the test timeout proves the wake-up path.
    // The poll interval is 60 s: completing within a few seconds proves the post-commit wake-up path.
    await waitFor(async () => (await app.container.repos.inbox.list({ limit: 1, offset: 0 })).items[0].status === 'done', 5000, 'the event to be done');
    expect(seen).toHaveLength(1);
    expect(seen[0].at - posted).toBeLessThan(5000);
  });
});
