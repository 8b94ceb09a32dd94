import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { contactEventXml, postCallback, SANDBOX_CREDS } from '../helpers/callbacks.js';
import { testEngines } from '../helpers/databases.js';
import type { EventHandler } from '../../src/domain/inbox/event-router.js';

const probeXml = (ext: string) =>
  `<xml><ToUserName><![CDATA[${SANDBOX_CREDS.receiveId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
  `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType>` +
  `<Event><![CDATA[wecom_ops_probe]]></Event><ExternalUserID><![CDATA[${ext}]]></ExternalUserID></xml>`;

const probe: EventHandler = { name: 'probe', kinds: ['event/wecom_ops_probe'], handle: async () => undefined };

interface ReadyInbox {
  urgent: { count: number; oldestAgeSeconds: number | null };
  ordinary: { count: number; oldestAgeSeconds: number | null };
  waiting: number;
  handledPerSecond: number | null;
  drainSecondsEstimate: number | null;
}

async function readyz(app: TestApp): Promise<{ status: number; inbox: ReadyInbox }> {
  const res = await fetch(`${app.url}/readyz`);
  return { status: res.status, inbox: ((await res.json()) as { inbox: ReadyInbox }).inbox };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** docs/inbox.md §Backlog and readiness: the queue per lane, its age and a drain estimate, on /readyz and /metrics. */
describe.each(testEngines())('inbox backlog on /readyz and /metrics (%s)', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    // No workers: the test decides what gets handled.
    app = await startTestApp(engine, { build: { handlers: [probe] } });
  });
  afterAll(() => app?.close());

  it('reports each lane, its oldest event, the waiting events and stays 200 while backlogged', async () => {
    const ext = 'wmBacklogCustomer01';
    for (const xml of [contactEventXml('add_external_contact', { externalUserId: ext, welcomeCode: 'WC1' }), contactEventXml('edit_external_contact', { externalUserId: ext }), probeXml('wmBacklogOther01')]) {
      expect((await postCallback(app.url, xml)).status).toBe(200);
    }
    await sleep(1100);
    const { status, inbox } = await readyz(app);
    // Behind, not broken: a backlogged instance keeps receiving callbacks.
    expect(status).toBe(200);
    expect(inbox.urgent.count).toBe(1);
    expect(inbox.urgent.oldestAgeSeconds).toBeGreaterThanOrEqual(1);
    expect(inbox.ordinary.count).toBe(1);
    expect(inbox.waiting).toBe(1);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/^wecom_inbox_backlog\{lane="urgent"\} 1$/m);
    expect(metrics).toMatch(/^wecom_inbox_backlog\{lane="ordinary"\} 1$/m);
    expect(metrics).toMatch(/^wecom_inbox_backlog\{lane="waiting"\} 1$/m);
    expect(metrics).toMatch(/^wecom_inbox_oldest_ready_age_seconds\{lane="urgent"\} [1-9]/m);
    expect(metrics).toMatch(/^wecom_inbox_drain_seconds_estimate /m);
  });

  it('estimates the time to drain from the recent handling rate', async () => {
    await app.container.inboxProcessor.drain();
    for (let i = 0; i < 10; i++) expect((await postCallback(app.url, probeXml(`wmBacklogRate${i}`))).status).toBe(200);
    await sleep(1100);
    const before = (await readyz(app)).inbox;
    expect(before.ordinary.count).toBe(10);
    // Half of them handled, then measured again more than a second later: about 5 handled per ~1.1 s, 5 left.
    const claims = await app.container.repos.inbox.claim(5, Date.now(), 60_000);
    await Promise.all(claims.map((c) => app.container.inboxProcessor.process(c)));
    await sleep(1100);
    const after = (await readyz(app)).inbox;
    expect(after.ordinary.count).toBe(5);
    expect(after.handledPerSecond).toBeGreaterThan(0);
    expect(after.drainSecondsEstimate).toBeGreaterThan(0);
    expect(after.drainSecondsEstimate!).toBeLessThan(60);
    await app.container.inboxProcessor.drain();
    await sleep(1100);
    expect((await readyz(app)).inbox).toMatchObject({ urgent: { count: 0 }, ordinary: { count: 0 }, waiting: 0, drainSecondsEstimate: 0 });
  });
});
