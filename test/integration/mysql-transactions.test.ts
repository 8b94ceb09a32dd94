import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteMysqlSkipped } from '../helpers/databases.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { FollowRelationRepository } from '../../src/persistence/repositories/follow-relation.repository.js';
import type { FieldCipher } from '../../src/shared/field-cipher.js';
import { createDataSource } from '../../src/persistence/data-source.js';
import { Db } from '../../src/persistence/db.js';
import { InboxRepository } from '../../src/persistence/repositories/inbox.repository.js';
import type { NewInboxEvent } from '../../src/domain/inbox/inbox.types.js';

noteMysqlSkipped();

/** Transactions on the MySQL pool: isolation set once per connection, and no shared-row lock on the add path. */
describe.skipIf(!process.env.TEST_MYSQL_URL)('MySQL transactions', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('mysql');
  });
  afterAll(async () => app?.close());

  const isolation = async (em: { query(sql: string): Promise<{ level: string }[]> }) => (await em.query('SELECT @@tx_isolation AS level'))[0].level;

  it('runs every transaction at READ COMMITTED on every pooled connection, and SERIALIZABLE only when asked', async () => {
    const db = app.container.db;
    // More concurrent transactions than the pool has connections, so fresh and reused connections are both seen.
    const levels = await Promise.all(
      Array.from({ length: 25 }, () =>
        db.tx(async (em) => {
          const level = await isolation(em);
          await new Promise((r) => setTimeout(r, 5));
          return level;
        }),
      ),
    );
    expect(new Set(levels)).toEqual(new Set(['READ-COMMITTED']));
    await db.tx(async (em) => {
      await em.query('SELECT 1');
    }, { isolation: 'SERIALIZABLE' });
    // A serializable transaction does not leak its level into the next transaction on that connection.
    const after = await Promise.all(Array.from({ length: 12 }, () => db.tx((em) => isolation(em))));
    expect(new Set(after)).toEqual(new Set(['READ-COMMITTED']));
    const claimLevel = await db.withMysqlTransaction(async (query) => (await query('SELECT @@tx_isolation AS level'))[0].level);
    expect(claimLevel).toBe('READ-COMMITTED');
  });

  it('two adds for one staff member do not queue behind each other on the staff row', async () => {
    const db = app.container.db;
    const relations = new FollowRelationRepository(db, {} as FieldCipher);
    const now = Date.now();
    await db.tx((em) => relations.ensureStaffInTx(em, 'popular', now));

    const order: string[] = [];
    let bDone!: () => void;
    const bFinished = new Promise<void>((r) => (bDone = r));
    // A touches the staff row and stays open until B has finished (or 3 s pass). If A held a lock on the row, B
    // would wait for A's commit and finish after it.
    const a = db.tx(async (em) => {
      await relations.ensureStaffInTx(em, 'popular', now);
      await Promise.race([bFinished, new Promise((r) => setTimeout(r, 3000))]);
      order.push('A commits');
    });
    await new Promise((r) => setTimeout(r, 50));
    const b = db.tx(async (em) => {
      await relations.ensureStaffInTx(em, 'popular', now);
    }).then(() => {
      order.push('B done');
      bDone();
    });
    await Promise.all([a, b]);
    expect(order).toEqual(['B done', 'A commits']);
    expect(await db.query("SELECT userid FROM staff WHERE userid = 'popular'")).toHaveLength(1);
  });

  it('two instances storing the same redelivered events in different orders store each once and never fail', async () => {
    // A second instance: its own pool on the same database, as behind a load balancer.
    const ds = createDataSource({ databaseUrl: app.config.databaseUrl });
    await ds.initialize();
    try {
      const mine = app.container.repos.inbox;
      const theirs = new InboxRepository(new Db(ds), app.container.cipher);
      const event = (k: string): NewInboxEvent => ({ dedupeKey: `dl-${k}`, kind: 'probe', subjectKey: `s${k.length}`, fields: { k }, createTimeMs: null });
      const stored = new Map<string, number>();
      for (let round = 0; round < 60; round++) {
        const keys = Array.from({ length: 8 }, (_, i) => String(round * 8 + i));
        const shuffled = [...keys].reverse();
        // Overlapping multi-row batches that take the same keys in opposite orders: InnoDB deadlocks some of them.
        const batches = [0, 2, 4].flatMap((j) => [
          mine.insertBatch(keys.slice(j, j + 4).map(event), Date.now()).then((r) => r.map((isNew, i) => [keys[j + i], isNew] as const)),
          theirs.insertBatch(shuffled.slice(j, j + 4).map(event), Date.now()).then((r) => r.map((isNew, i) => [shuffled[j + i], isNew] as const)),
        ]);
        for (const [k, isNew] of (await Promise.all(batches)).flat()) if (isNew) stored.set(k, (stored.get(k) ?? 0) + 1);
      }
      // Every key reported new exactly once, and the table agrees.
      expect(stored.size).toBe(480);
      expect([...stored.values()].every((n) => n === 1)).toBe(true);
      const [{ n }] = await app.container.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM inbox_events WHERE dedupe_key LIKE 'dl-%'");
      expect(Number(n)).toBe(480);
    } finally {
      await ds.destroy();
    }
  });
});
