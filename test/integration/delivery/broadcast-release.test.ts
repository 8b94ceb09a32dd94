import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { turnsDuring } from '../../helpers/event-loop.js';

const HELD = new Date('2026-07-08T09:00:00Z').getTime();
const SEND_AT = new Date('2026-07-01T09:00:00Z');
const NOW = new Date('2026-07-01T09:00:05Z');
/** Ids per statement, as the planner releases (the dispatcher's page). */
const RANGE = 10_000;

/**
 * Releasing a planned broadcast (docs/audiences.md §Releasing a planned broadcast): rows are planned held and made
 * due together once planning is done. A broadcast to a million customers is released in ranges of ids with a turn
 * of the event loop between them, since one statement held SQLite's connection, and every callback, for 15 s.
 */
describe.each(testEngines())('releasing a planned broadcast on %s', (engine) => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(engine);
  });
  afterAll(() => app?.close());

  /** A ledger row with its id given, so a test can place rows far apart. */
  const row = (id: number, broadcastId: string, status: string, notBefore = HELD) =>
    app.container.db.query(
      `INSERT INTO deliveries (id, source, kind, rule_id, broadcast_id, external_user_id, occasion, channel, priority, sender_userid, text, attachments,
         local_date, not_before, expires_at, status, run_id, created_at, updated_at)
       VALUES (?, ?, 'broadcast', NULL, ?, ?, ?, 'mass_task', 0, 'zhangsan', 'hi', '[]', '2026-07-01', ?, ?, ?, NULL, 0, 0)`,
      [id, `broadcast:${broadcastId}`, broadcastId, `wm-rel-${id}`, `broadcast:${broadcastId}`, notBefore, HELD, status],
    );
  const notBeforeOf = async (id: number) => Number((await app.container.db.query<{ nb: number | string }>('SELECT not_before AS nb FROM deliveries WHERE id = ?', [id]))[0].nb);

  it('makes every held row of the broadcast due, across ranges far apart, and gives the event loop turns between them', async () => {
    // Three rows of one broadcast 12,000 and 25,000 ids apart, a skipped one among them, a row already sent, and
    // another broadcast's held row in between.
    await row(101, 'b-rel', 'planned');
    await row(12_101, 'b-rel', 'skipped');
    await row(12_102, 'b-other', 'planned');
    await row(25_101, 'b-rel', 'planned');
    await row(25_102, 'b-rel', 'sent', 5);

    let released = 0;
    const turns = await turnsDuring(async () => (released = await app.container.scheduling.repos.deliveries.releaseBroadcast('b-rel', SEND_AT, NOW, RANGE)));

    expect(released).toBe(3);
    for (const id of [101, 12_101, 25_101]) expect(await notBeforeOf(id)).toBe(SEND_AT.getTime());
    expect(await notBeforeOf(12_102)).toBe(HELD);
    expect(await notBeforeOf(25_102)).toBe(5);
    // Three ranges of 10,000 ids hold rows: the loop turned between them (on SQLite every statement is synchronous,
    // so without the yields not one turn would pass).
    expect(turns).toBeGreaterThanOrEqual(2);

    // Released twice (a planner that took over after a crash) changes nothing more.
    expect(await app.container.scheduling.repos.deliveries.releaseBroadcast('b-rel', SEND_AT, NOW, RANGE)).toBe(0);
    expect(await app.container.scheduling.repos.deliveries.releaseBroadcast('b-none', SEND_AT, NOW, RANGE)).toBe(0);
  });
});
