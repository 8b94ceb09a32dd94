import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import type { NewInboxEvent } from '../../src/domain/inbox/inbox.types.js';

/**
 * The inbox's ready queue and coalescing (docs/inbox.md §Claims that stay flat, §Coalescing), on the repository
 * over a real database. Workers are off: the test claims and finishes by hand.
 */

let seq = 0;
function edit(ext: string): NewInboxEvent {
  const n = ++seq;
  return {
    dedupeKey: `edit-${ext}-${n}-${Math.random()}`,
    kind: 'event/change_external_contact/edit_external_contact',
    subjectKey: `customer:${ext}`,
    fields: { MsgType: 'event', Event: 'change_external_contact', ChangeType: 'edit_external_contact', ExternalUserID: ext, Seq: String(n) },
    createTimeMs: null,
  };
}
function kf(account: string, token: string): NewInboxEvent {
  return {
    dedupeKey: `kf-${token}-${Math.random()}`,
    kind: 'event/kf_msg_or_event',
    subjectKey: `kf:${account}`,
    fields: { MsgType: 'event', Event: 'kf_msg_or_event', OpenKfId: account, Token: token },
    createTimeMs: null,
    priority: 1,
  };
}

describe.each(testEngines())('inbox ready queue on %s', (engine) => {
  let app: TestApp;
  const now = () => Date.now();
  beforeAll(async () => {
    app = await startTestApp(engine, { overrides: { inbox: { workers: 0 } } });
  });
  afterAll(() => app?.close());
  beforeEach(async () => {
    await app.container.db.query('DELETE FROM inbox_events');
  });
  const repo = () => app.container.repos.inbox;
  const statuses = async (subject: string) =>
    (await app.container.db.query<{ status: string; n: number | string }>('SELECT status, COUNT(*) AS n FROM inbox_events WHERE subject_key = ? GROUP BY status', [subject])).reduce<Record<string, number>>(
      (m, r) => ({ ...m, [r.status]: Number(r.n) }),
      {},
    );

  it('claims other subjects past a busy subject’s backlog, and the busy subject strictly in order', async () => {
    const busy = Array.from({ length: 3000 }, () => edit('wmBusy'));
    for (let i = 0; i < busy.length; i += 500) await repo().insertBatch(busy.slice(i, i + 500), now());
    await repo().insertBatch(Array.from({ length: 9 }, (_, i) => edit(`wmOther${i}`)), now());
    const first = await repo().claim(10, now(), 60_000);
    const subjects = first.map((c) => c.event.fields.ExternalUserID);
    // One of the busy customer's events (its oldest), and every other customer: nobody waits behind the backlog.
    expect(subjects.filter((s) => s === 'wmBusy')).toHaveLength(1);
    expect(new Set(subjects)).toEqual(new Set(['wmBusy', ...Array.from({ length: 9 }, (_, i) => `wmOther${i}`)]));
    const head = first.find((c) => c.event.fields.ExternalUserID === 'wmBusy')!;
    expect(head.event.fields.Seq).toBe(busy[0].fields.Seq);
    // While it runs, nothing else of wmBusy is claimable; once it finishes, exactly the next one is.
    expect(await repo().claim(10, now(), 60_000)).toEqual([]);
    expect(await repo().finish(head, 'done', now())).toEqual({ kept: true, promoted: true });
    const next = await repo().claim(10, now(), 60_000);
    expect(next.map((c) => c.event.fields.Seq)).toEqual([busy[1].fields.Seq]);
    // A parked event does not hold up the next one either.
    expect(await repo().fail(next[0], 'boom', null, now())).toBe(true);
    expect((await repo().claim(10, now(), 60_000)).map((c) => c.event.fields.Seq)).toEqual([busy[2].fields.Seq]);
  });

  it('keeps one customer’s events in order through retries and replays', async () => {
    await repo().insertBatch([edit('wmOrder'), edit('wmOrder'), edit('wmOrder')], now());
    const [a] = await repo().claim(5, now(), 60_000);
    // A retry keeps its place: the later events stay behind it until it is done.
    expect(await repo().fail(a, 'try again', now() - 1, now())).toBe(true);
    const [again] = await repo().claim(5, now(), 60_000);
    expect(again.event.id).toBe(a.event.id);
    await repo().finish(again, 'done', now());
    const [b] = await repo().claim(5, now(), 60_000);
    expect(b.event.id).toBeGreaterThan(a.event.id);
    // Replaying the finished first event while the second runs: it waits for the subject, then goes before the third.
    await repo().replay(a.event.id, now());
    expect(await repo().claim(5, now(), 60_000)).toEqual([]);
    await repo().finish(b, 'done', now());
    const [replayed] = await repo().claim(5, now(), 60_000);
    expect(replayed.event.id).toBe(a.event.id);
  });

  it('folds a KF account’s waiting notifications into one handling with the newest Token, and finishes them together', async () => {
    const events = Array.from({ length: 400 }, (_, i) => kf('wkLive', `T${i}`));
    for (let i = 0; i < events.length; i += 100) await repo().insertBatch(events.slice(i, i + 100), now());
    const claims = await repo().claim(10, now(), 60_000);
    expect(claims).toHaveLength(1);
    expect(claims[0].absorbed).toHaveLength(399);
    expect(claims[0].event.fields.Token).toBe('T399');
    // A notification arriving meanwhile waits for the next pass.
    await repo().insertBatch([kf('wkLive', 'T400')], now());
    expect(await repo().claim(10, now(), 60_000)).toEqual([]);
    expect((await repo().finish(claims[0], 'done', now())).kept).toBe(true);
    expect(await statuses('kf:wkLive')).toEqual({ done: 400, pending: 1 });
    const next = await repo().claim(10, now(), 60_000);
    expect(next.map((c) => c.event.fields.Token)).toEqual(['T400']);
  });

  it('gives folded notifications their head’s fate: a retry takes them all again, a parked head hands over to the next', async () => {
    await repo().insertBatch(Array.from({ length: 5 }, (_, i) => kf('wkFail', `F${i}`)), now());
    const [first] = await repo().claim(10, now(), 60_000);
    expect(first.absorbed).toHaveLength(4);
    await repo().fail(first, 'kf/sync_msg failed', now() - 1, now());
    expect(await statuses('kf:wkFail')).toEqual({ pending: 5 });
    const [retry] = await repo().claim(10, now(), 60_000);
    expect(retry.event.id).toBe(first.event.id);
    expect(retry.absorbed).toHaveLength(4);
    // Parked: the head fails for good, the four others wait again and the oldest of them takes over with the rest.
    await repo().fail(retry, 'gave up', null, now());
    expect(await statuses('kf:wkFail')).toEqual({ failed: 1, pending: 4 });
    const [successor] = await repo().claim(10, now(), 60_000);
    expect(successor.absorbed).toHaveLength(3);
    expect(successor.event.fields.Token).toBe('F4');
    await repo().finish(successor, 'done', now());
    expect(await statuses('kf:wkFail')).toEqual({ failed: 1, done: 4 });
  });

  it('takes back folded notifications after a crash (the lease ran out) and gives them back on shutdown', async () => {
    await repo().insertBatch(Array.from({ length: 6 }, (_, i) => kf('wkCrash', `C${i}`)), now());
    const [crashed] = await repo().claim(10, now(), 1000);
    expect(crashed.absorbed).toHaveLength(5);
    // The worker died: nothing finishes it. After the lease, the head is claimed again with the same folded rows.
    const later = now() + 5000;
    const [taken] = await repo().claim(10, later, 60_000);
    expect(taken.event.id).toBe(crashed.event.id);
    expect(taken.absorbed).toHaveLength(5);
    // The old lease can no longer finish anything.
    expect(await repo().finish(crashed, 'done', later)).toEqual({ kept: false, promoted: false });
    await repo().release([taken], later);
    expect(await statuses('kf:wkCrash')).toEqual({ pending: 6 });
    const [after] = await repo().claim(10, later, 60_000);
    expect(after.absorbed).toHaveLength(5);
    await repo().finish(after, 'done', later);
    expect(await statuses('kf:wkCrash')).toEqual({ done: 6 });
  });

  it('never folds a customer’s own events', async () => {
    await repo().insertBatch([edit('wmNoFold'), edit('wmNoFold'), edit('wmNoFold')], now());
    const claims = await repo().claim(10, now(), 60_000);
    expect(claims).toHaveLength(1);
    expect(claims[0].absorbed ?? []).toEqual([]);
  });

  it('repairs a head left waiting by two connections interleaving (MySQL), and leaves a real waiter alone', async () => {
    await repo().insertBatch([edit('wmRace')], now());
    // As if stored while its subject's previous event finished on another connection: waiting with nothing ahead.
    await app.container.db.query("UPDATE inbox_events SET queue_lane = NULL WHERE subject_key = 'customer:wmRace'");
    await repo().insertBatch([edit('wmWaits'), edit('wmWaits')], now());
    expect(await repo().claim(10, now(), 60_000).then((c) => c.map((x) => x.event.fields.ExternalUserID))).toEqual(['wmWaits']);
    // A repair of what was stored after it does not look at it; one that includes it frees it.
    const stuckId = Number((await app.container.db.query<{ id: number | string }>("SELECT id FROM inbox_events WHERE subject_key = 'customer:wmRace'"))[0].id);
    expect(await repo().healQueue({ sinceId: stuckId })).toBe(0);
    const freed = await repo().healQueue({ sinceId: stuckId - 1 });
    if (engine === 'sqlite') {
      // SQLite never leaves one (its writes are serialized); the repair is not needed there and does nothing.
      expect(freed).toBe(0);
      return;
    }
    expect(freed).toBe(1);
    const claims = await repo().claim(10, now(), 60_000);
    expect(claims.map((c) => c.event.fields.ExternalUserID)).toEqual(['wmRace']);
  });

  it('a deferred event erased meanwhile stays erased: neither deferring nor finishing writes its payload back', async () => {
    const payloadOf = async (id: number) => (await app.container.db.query<{ payload: string }>('SELECT payload FROM inbox_events WHERE id = ?', [id]))[0].payload;
    const erase = (id: number) => app.container.db.query("UPDATE inbox_events SET payload = '' WHERE id = ?", [id]);
    // Erased between the claim and the defer.
    await repo().insertBatch([edit('wmErasedA')], now());
    const [a] = await repo().claim(10, now(), 60_000);
    await erase(a.event.id);
    expect(await repo().defer(a, { ...a.event.fields, __deferred: JSON.stringify({ h: { detail: { name: '李四' } } }) }, now())).toBe(true);
    expect(await payloadOf(a.event.id)).toBe('');
    // Erased between the deferred claim and the finish.
    await repo().insertBatch([edit('wmErasedB')], now());
    const [b] = (await repo().claim(10, now(), 60_000)).filter((c) => c.event.fields.ExternalUserID === 'wmErasedB');
    expect(await repo().defer(b, { ...b.event.fields, __deferred: '{}' }, now())).toBe(true);
    const [again] = (await repo().claim(10, now(), 60_000)).filter((c) => c.event.fields.ExternalUserID === 'wmErasedB');
    expect(again.event.fields.__deferred).toBe('{}');
    await erase(b.event.id);
    expect((await repo().finish(again, 'done', now())).kept).toBe(true);
    expect(await payloadOf(b.event.id)).toBe('');
  });
});
