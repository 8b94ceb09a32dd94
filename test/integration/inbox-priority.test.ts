import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { postCallback, SANDBOX_CREDS } from '../helpers/callbacks.js';

const head = `<xml><ToUserName><![CDATA[${SANDBOX_CREDS.receiveId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
  `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType>`;
const ordinary = (ext: string, seq: number) =>
  `${head}<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[edit_external_contact]]></ChangeType>` +
  `<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[${ext}]]></ExternalUserID><Seq>${seq}</Seq></xml>`;
const add = (ext: string) =>
  `${head}<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>` +
  `<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[${ext}]]></ExternalUserID><State><![CDATA[ch_x]]></State>` +
  `<WelcomeCode><![CDATA[WC-${ext}]]></WelcomeCode></xml>`;

/** The inbox's priority lane: an add (20 s welcome_code) is claimed ahead of a backlog, never ahead of its own customer's earlier events. */
describe.each(testEngines())('inbox priority lane on %s', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(engine, { overrides: { inbox: { workers: 0 } } });
  });
  afterAll(() => app?.close());

  it('claims an add ahead of 150 older ordinary events, but not ahead of an earlier event of the same customer', async () => {
    for (let batch = 0; batch < 5; batch++) {
      await Promise.all(Array.from({ length: 30 }, (_, i) => postCallback(app.url, ordinary(`wmBacklog${batch}x${i}`, i))));
    }
    // wmBusy already has an ordinary event waiting; its add must stay behind it.
    expect((await postCallback(app.url, ordinary('wmBusy', 0))).status).toBe(200);
    expect((await postCallback(app.url, add('wmBusy'))).status).toBe(200);
    expect((await postCallback(app.url, add('wmNewcomer'))).status).toBe(200);

    const repo = app.container.repos.inbox;
    const kindsOf = (claims: Awaited<ReturnType<typeof repo.claim>>) => claims.map((c) => `${c.event.kind.split('/').pop()}:${c.event.fields.ExternalUserID}`);
    const first = kindsOf(await repo.claim(4, Date.now(), 60_000));
    expect(first[0]).toBe('add_external_contact:wmNewcomer');
    expect(first).not.toContain('add_external_contact:wmBusy');
    expect(first.slice(1).every((k) => k.startsWith('edit_external_contact:wmBacklog0'))).toBe(true);

    // Once wmBusy's earlier event is done, its add jumps the rest of the backlog too.
    // (Finished through the repository, as a worker would, so the subject's next event becomes ready.)
    const busy = (await app.container.db.query<{ id: number | string }>("SELECT id FROM inbox_events WHERE subject_key = 'customer:wmBusy' AND kind LIKE '%edit%'"))[0];
    await app.container.db.query("UPDATE inbox_events SET status = 'running', lease_owner = 'test' WHERE id = ?", [busy.id]);
    const done = await repo.finish({ leaseOwner: 'test', subjectKey: 'customer:wmBusy', event: { id: Number(busy.id), kind: '', fields: {}, receivedAt: new Date(), attempts: 1 } }, 'done', Date.now());
    expect(done).toEqual({ kept: true, promoted: true });
    const next = kindsOf(await repo.claim(2, Date.now(), 60_000));
    expect(next[0]).toBe('add_external_contact:wmBusy');
  });

  it('leases a priority-lane claim briefly, so a crashed worker’s add comes back in time; a renewal keeps it', async () => {
    await app.container.db.query("UPDATE inbox_events SET status = 'done', queue_lane = NULL, lease_owner = NULL");
    expect((await postCallback(app.url, ordinary('wmLease', 0))).status).toBe(200);
    expect((await postCallback(app.url, add('wmLeaseAdd'))).status).toBe(200);
    const repo = app.container.repos.inbox;
    const t = Date.now();
    // The claiming worker "dies" holding both: 60 s for the ordinary event, 2 s for the add.
    const held = await repo.claim({ urgent: 1, ordinary: 1 }, t, 60_000, 2_000);
    expect(held.map((c) => c.lane).sort()).toEqual(['ordinary', 'urgent']);
    expect(await repo.claim(10, t + 1_999, 60_000, 2_000)).toEqual([]);
    const back = await repo.claim(10, t + 2_000, 60_000, 2_000);
    expect(back.map((c) => c.event.fields.ExternalUserID)).toEqual(['wmLeaseAdd']);
    // A live handler renews: the renewed lease holds past the old end, and the lapsed one's owner can renew nothing.
    expect(await repo.renew(back[0], t + 30_000)).toBe(true);
    expect(await repo.claim(10, t + 4_001, 60_000, 2_000)).toEqual([]);
    const stale = held.find((c) => c.lane === 'urgent')!;
    expect(await repo.renew(stale, t + 90_000)).toBe(false);
    // Past both ends, both come back (the add first, its lane's priority).
    expect((await repo.claim(10, t + 60_000, 60_000, 2_000)).map((c) => c.event.fields.ExternalUserID)).toEqual(['wmLeaseAdd', 'wmLease']);
  });
});
