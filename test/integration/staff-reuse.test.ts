import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { recordingDb } from '../helpers/recording-db.js';
import { StaffRepository } from '../../src/persistence/repositories/staff.repository.js';
import { FollowRelationRepository } from '../../src/persistence/repositories/follow-relation.repository.js';

/**
 * Every add's welcome and every loss's alert ask for the member's display name, and every add's archive write asks
 * whether the member is in `staff`: both answers are reused for 5 seconds (docs/inbox.md §Statements per event).
 */
describe.each(testEngines())('staff reads reused on %s', (engine) => {
  let app: TestApp;
  const staffReads = (seen: Array<[string, unknown[]]>) => seen.filter(([sql]) => /FROM staff WHERE userid = \?/.test(sql)).length;

  beforeAll(async () => {
    app = await startTestApp(engine);
  });
  afterAll(() => app?.close());

  it('reads a display name once, and a name set through the repository shows at once', async () => {
    const now = Date.now();
    const { db, seen } = recordingDb(app.container.db);
    const staff = new StaffRepository(db);
    await staff.setWecomNames([{ userid: 'reuse-zhang', name: '张伟' }], now);
    seen.length = 0;

    expect(await staff.displayName('reuse-zhang')).toBe('张伟');
    expect(await staff.displayName('reuse-zhang')).toBe('张伟');
    expect(await staff.displayName('reuse-zhang')).toBe('张伟');
    expect(staffReads(seen)).toBe(1);

    // An operator's name, then WeCom's again: each shows on the next ask, not 5 s later.
    await staff.setManualName('reuse-zhang', '张经理', now);
    expect(await staff.displayName('reuse-zhang')).toBe('张经理');
    await staff.setManualName('reuse-zhang', '', now);
    await staff.setWecomNames([{ userid: 'reuse-zhang', name: '张伟伟' }], now);
    expect(await staff.displayName('reuse-zhang')).toBe('张伟伟');

    // A member the bot does not know falls back to the userid, and that answer is reused too.
    seen.length = 0;
    expect(await staff.displayName('reuse-nobody')).toBe('reuse-nobody');
    expect(await staff.displayName('reuse-nobody')).toBe('reuse-nobody');
    expect(staffReads(seen)).toBe(1);
  });

  it('looks a known member up once; one inserted by a transaction that rolled back is inserted again', async () => {
    const now = Date.now();
    const relations = new FollowRelationRepository(app.container.db, app.container.cipher);
    const count = async (userid: string) => Number((await app.container.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM staff WHERE userid = ?', [userid]))[0].n);

    // The add's own transaction inserts the member and then fails: the member is not remembered as known.
    await expect(
      app.container.db.tx(async (em) => {
        await relations.ensureStaffInTx(em, 'reuse-li', now);
        throw new Error('the add failed after the member was inserted');
      }),
    ).rejects.toThrow('the add failed');
    expect(await count('reuse-li')).toBe(0);
    await app.container.db.tx((em) => relations.ensureStaffInTx(em, 'reuse-li', now));
    expect(await count('reuse-li')).toBe(1);

    // Found once, then not looked for again.
    const reads = async () => {
      let n = 0;
      await app.container.db.tx(async (em) => {
        const q = em.query.bind(em);
        em.query = (async (sql: string, params?: unknown[]) => {
          if (/FROM staff WHERE userid = \?/.test(sql)) n++;
          return q(sql, params);
        }) as typeof em.query;
        await relations.ensureStaffInTx(em, 'reuse-li', now);
      });
      return n;
    };
    expect(await reads()).toBe(1);
    expect(await reads()).toBe(0);
    expect(await count('reuse-li')).toBe(1);
  });
});
