import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { createDataSource, isDuplicateKeyError } from '../../src/persistence/data-source.js';
import { Db } from '../../src/persistence/db.js';
import { SqliteDurableWriter } from '../../src/persistence/sqlite-durable-writer.js';
import { SqliteWriteTurn } from '../../src/persistence/sqlite-write-turn.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

/**
 * On an SQLite file, durable statements (the callback inbox) run on a second connection in a worker thread while
 * everything else uses the main connection. Two writers on one file must neither lose a write nor fail each other.
 */
describe('SQLite durable writes from the writer thread', () => {
  let tdb: TestDatabase;
  let ds: DataSource;
  let db: Db;

  beforeAll(async () => {
    tdb = await createTestDatabase('sqlite');
    ds = createDataSource({ databaseUrl: tdb.url });
    await ds.initialize();
    db = new Db(ds);
    await db.query('CREATE TABLE acks (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v TEXT)');
    await db.query('CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
    await db.query('INSERT INTO counters (id, n) VALUES (1, 0)');
  });
  afterAll(async () => {
    await db?.close();
    if (ds?.isInitialized) await ds.destroy();
    await tdb?.drop();
  });

  it('makes a durable row visible to the main connection as soon as it resolves, and reports a duplicate key as such', async () => {
    await db.queryDurable('INSERT INTO acks (k, v) VALUES (?, ?)', ['first', '你好']);
    expect(await db.query('SELECT v FROM acks WHERE k = ?', ['first'])).toEqual([{ v: '你好' }]);
    const dup = await db.queryDurable('INSERT INTO acks (k, v) VALUES (?, ?)', ['first', 'again']).catch((e: unknown) => e);
    expect(isDuplicateKeyError(dup)).toBe(true);
    // Any other error is not mistaken for a duplicate.
    const other = await db.queryDurable('INSERT INTO no_such_table (k) VALUES (?)', ['x']).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(Error);
    expect(isDuplicateKeyError(other)).toBe(false);
  });

  it('interleaves with read-then-write transactions on the main connection without failing either side', async () => {
    // The main side reads, yields to the event loop (so the writer thread can commit in between), then writes:
    // a DEFERRED transaction would meet a stale snapshot here; IMMEDIATE waits for the lock instead.
    const increments = Array.from({ length: 60 }, () =>
      db.tx(async (em) => {
        const [{ n }] = (await em.query('SELECT n FROM counters WHERE id = 1')) as { n: number }[];
        await new Promise((r) => setImmediate(r));
        await em.query('UPDATE counters SET n = ? WHERE id = 1', [Number(n) + 1]);
      }),
    );
    const inserts = Array.from({ length: 300 }, (_, i) => db.queryDurable('INSERT INTO acks (k, v) VALUES (?, ?)', [`k${i}`, `v${i}`]));
    const outcomes = await Promise.allSettled([...increments, ...inserts]);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(await db.query('SELECT n FROM counters WHERE id = 1')).toEqual([{ n: 60 }]);
    expect(await db.query("SELECT COUNT(*) AS c FROM acks WHERE k LIKE 'k%'")).toEqual([{ c: 300 }]);
  });

  it('fails the writes in flight when its thread dies (the callers answer 503), and starts a new thread for the next write', async () => {
    const file = tdb.url.slice('sqlite:'.length);
    const writer = new SqliteDurableWriter(file);
    try {
      expect(await writer.run('INSERT INTO acks (k, v) VALUES (?, ?)', ['crash-before', 'x'])).toBe(1);
      const thread = (writer as unknown as { worker: import('node:worker_threads').Worker }).worker;
      const inFlight = writer.run('INSERT INTO acks (k, v) VALUES (?, ?)', ['crash-during', 'x']);
      await thread.terminate();
      await expect(inFlight).rejects.toThrow(/exited/);
      expect(await writer.run('INSERT INTO acks (k, v) VALUES (?, ?)', ['crash-after', 'x'])).toBe(1);
      const rows = await db.query<{ k: string }>("SELECT k FROM acks WHERE k LIKE 'crash-%' ORDER BY k");
      // The write in flight may or may not have committed before the thread died; the others did.
      expect(rows.map((r) => r.k)).toEqual(expect.arrayContaining(['crash-after', 'crash-before']));
    } finally {
      await writer.close();
    }
  });

  it('gives the write lock to a waiting acknowledgement before the next handler transaction, without blocking the event loop', async () => {
    // docs/reliability.md §Taking turns at SQLite's write lock. A handler's transaction holds the lock; a callback's
    // durable write arrives, then another transaction. Once the first commits, the callback goes first: the second
    // transaction already sees its row. Left to SQLite's busy handler, the writer thread would still be asleep then.
    const file = tdb.url.slice('sqlite:'.length);
    const turn = new SqliteWriteTurn();
    const waiting = () => Atomics.load(new Int32Array(turn.buffer), 1);
    const writer = new SqliteDurableWriter(file, 10_000, turn);
    try {
      expect(await writer.run('INSERT INTO acks (k, v) VALUES (?, ?)', ['turn-warm', 'x'])).toBe(1);
      let letGo!: () => void;
      const gate = new Promise<void>((r) => (letGo = r));
      const first = turn.hold(() =>
        ds.transaction(async (em) => {
          await em.query('UPDATE counters SET n = n + 1 WHERE id = 1');
          await gate;
        }),
      );
      const ack = writer.run('INSERT INTO acks (k, v) VALUES (?, ?)', ['turn-ack', 'x']);
      // The writer thread now waits for its turn, and the event loop still runs (this poll is a timer on it).
      await expect.poll(waiting).toBe(1);
      const second = turn.hold(() => ds.transaction(async (em) => (await em.query("SELECT COUNT(*) AS c FROM acks WHERE k = 'turn-ack'")) as { c: number }[]));
      letGo();
      await first;
      expect(await second).toEqual([{ c: 1 }]);
      expect(await ack).toBe(1);
      expect(waiting()).toBe(0);
    } finally {
      await writer.close();
    }
  });

  it('never waits longer than its limit for a turn that is not given back: SQLite\'s own lock decides then', async () => {
    const turn = new SqliteWriteTurn(50);
    const cell = new Int32Array(turn.buffer);
    Atomics.store(cell, 0, 1); // held by a writer thread that died without giving it back
    expect(await turn.hold(async () => 'went ahead')).toBe('went ahead');
    turn.reset();
    expect(Atomics.load(cell, 0)).toBe(0);
    expect(await turn.hold(async () => Atomics.load(cell, 0))).toBe(1);
    expect(Atomics.load(cell, 0)).toBe(0);
  });

  it('finishes the writes in flight on close, then refuses new ones clearly', async () => {
    const inFlight = Array.from({ length: 20 }, (_, i) => db.queryDurable('INSERT INTO acks (k, v) VALUES (?, ?)', [`close${i}`, 'x']));
    await db.close();
    await Promise.all(inFlight);
    expect(await db.query("SELECT COUNT(*) AS c FROM acks WHERE k LIKE 'close%'")).toEqual([{ c: 20 }]);
    await expect(db.queryDurable('INSERT INTO acks (k, v) VALUES (?, ?)', ['late', 'x'])).rejects.toThrow(/closed/);
  });
});
