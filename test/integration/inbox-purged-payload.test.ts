import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { postCallback, SANDBOX_CREDS } from '../helpers/callbacks.js';

const event = (ext: string) =>
  `<xml><ToUserName><![CDATA[${SANDBOX_CREDS.receiveId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
  `<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wecom_ops_probe]]></Event>` +
  `<ExternalUserID><![CDATA[${ext}]]></ExternalUserID></xml>`;

/** Payloads cleared by the retention job or an erasure must not wedge the inbox. */
describe.each(testEngines())('inbox events whose payload is gone, on %s', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(engine, { overrides: { inbox: { workers: 0 } } });
  });
  afterAll(() => app?.close());

  const idOf = async (ext: string) =>
    Number((await app.container.db.query<{ id: number | string }>('SELECT id FROM inbox_events WHERE subject_key = ?', [`customer:${ext}`]))[0].id);

  it('refuses to replay a purged event with 409, and a claim parks an unreadable row instead of failing the batch', async () => {
    for (const ext of ['wmPurged', 'wmBroken', 'wmFine']) expect((await postCallback(app.url, event(ext))).status).toBe(200);
    const purged = await idOf('wmPurged');
    const broken = await idOf('wmBroken');
    await app.container.db.query("UPDATE inbox_events SET status = 'done', payload = '' WHERE id = ?", [purged]);
    const replay = await api(app, 'POST', `/api/v1/events/${purged}/replay`);
    expect(replay.status).toBe(409);
    expect(replay.body.error.code).toBe('event_purged');

    // A pending row whose payload cannot be opened (cleared behind the inbox's back) sits before a good one.
    await app.container.db.query("UPDATE inbox_events SET payload = '' WHERE id = ?", [broken]);
    const claims = await app.container.repos.inbox.claim(10, Date.now(), 60_000);
    expect(claims.map((c) => c.event.fields.ExternalUserID)).toEqual(['wmFine']);
    const failed = await api(app, 'GET', '/api/v1/events?status=failed');
    expect(failed.body.items.map((e: { id: number; error: string }) => [e.id, e.error])).toEqual([[broken, expect.stringContaining('payload unavailable')]]);
  });
});
