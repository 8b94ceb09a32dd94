import { afterAll, beforeAll } from 'vitest';
import type { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { createDataSource, type DbEngine } from '../../src/persistence/data-source.js';
import { migrations } from '../../migrations/index.js';

/**
 * A database of the engine with every migration applied but the ones named, set up and dropped with the describe
 * block it is called in: undoing the last migrations then undoes exactly those, and running them again redoes them.
 */
export function useMigratedWithout(engine: DbEngine, excluded: readonly (typeof migrations)[number][]): { ds: DataSource } {
  const m = { ds: undefined as unknown as DataSource };
  let tdb: TestDatabase | undefined;
  beforeAll(async () => {
    tdb = await createTestDatabase(engine);
    m.ds = createDataSource({ databaseUrl: tdb.url, migrations: migrations.filter((x) => !excluded.includes(x)) });
    await m.ds.initialize();
    await m.ds.runMigrations({ transaction: 'each' });
  }, 60_000);
  afterAll(async () => {
    if (m.ds?.isInitialized) await m.ds.destroy();
    await tdb?.drop();
  });
  return m;
}
