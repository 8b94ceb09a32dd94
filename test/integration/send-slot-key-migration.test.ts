import { describe, expect, it } from 'vitest';
import type { DataSource, EntityManager } from 'typeorm';
import { testEngines } from '../helpers/databases.js';
import { useMigratedWithout } from '../helpers/migrated-without.js';
import { SendSlotKey1795000000073 } from '../../migrations/0073-send-slot-key.js';
import { migrations } from '../../migrations/index.js';
import { Db } from '../../src/persistence/db.js';
import { isDuplicateKeyError } from '../../src/persistence/data-source.js';
import { SendSlotRepository } from '../../src/persistence/repositories/send-slot.repository.js';

/**
 * Migration 0073 (docs/audiences.md §Slots without a surrogate id) on a table that already holds slots: they are
 * kept, the key is the primary key (no `id`), a slot taken twice is still a duplicate key, the planners' reads and
 * writes work as before; down and up again keep every slot.
 */
describe.each(testEngines())('migration 0073 send slot key (%s)', (engine) => {
  const mig = useMigratedWithout(engine, [SendSlotKey1795000000073]);

  const slots = async (ds: DataSource) =>
    (await ds.query('SELECT external_user_id, scope, period, n, delivery_id FROM send_slots ORDER BY external_user_id, scope, period, n')) as Record<string, unknown>[];
  // Sorted here, not by the engine: the two collations order a Chinese id differently.
  const norm = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify([r.external_user_id, r.scope, r.period, Number(r.n), Number(r.delivery_id)])).sort();
  const insert = (ds: DataSource, ext: string, n: number, deliveryId: number) =>
    ds.query("INSERT INTO send_slots (external_user_id, scope, period, n, delivery_id, created_at) VALUES (?, 'daily', '2026-12-07', ?, ?, 0)", [ext, n, deliveryId]);
  const duplicate = async (ds: DataSource, ext: string, n: number) => {
    try {
      await insert(ds, ext, n, 99);
      return false;
    } catch (err) {
      return isDuplicateKeyError(err);
    }
  };
  /** The primary key's columns and whether an `id` column is there, as the engine reports them. */
  const shape = async (ds: DataSource) => {
    const qr = ds.createQueryRunner();
    try {
      const t = (await qr.getTable('send_slots'))!;
      return {
        primary: t.primaryColumns.map((c) => c.name),
        id: t.columns.some((c) => c.name === 'id'),
        // A unique key is an index on MySQL and a constraint on SQLite.
        indexes: [...new Set([...t.indices, ...t.uniques].map((i) => i.name))].sort(),
        ...(engine === 'sqlite' ? { withoutRowid: !!t.withoutRowid } : {}),
      };
    } finally {
      await qr.release();
    }
  };

  it('makes the unique key the primary key, keeping every slot and refusing a slot taken twice', async () => {
    expect(migrations).toContain(SendSlotKey1795000000073);
    const ds = mig.ds;
    await insert(ds, 'wmA', 1, 11);
    await insert(ds, 'wmA', 2, 12);
    await insert(ds, 'wm客户B', 1, 21);
    const before = norm(await slots(ds));
    expect(await shape(ds)).toMatchObject({ primary: ['id'], id: true, indexes: ['ix_send_slots_delivery', 'ix_send_slots_period', 'uq_send_slots'] });

    const runner = ds.createQueryRunner();
    try {
      await new SendSlotKey1795000000073().up(runner);
      expect(await shape(ds)).toEqual({
        primary: ['external_user_id', 'scope', 'period', 'n'],
        id: false,
        indexes: ['ix_send_slots_delivery', 'ix_send_slots_period'],
        ...(engine === 'sqlite' ? { withoutRowid: true } : {}),
      });
      expect(norm(await slots(ds))).toEqual(before);
      expect(await duplicate(ds, 'wmA', 2)).toBe(true);

      // What the planners and the care calendar do with the table.
      const db = new Db(ds);
      const repo = new SendSlotRepository(db);
      const now = new Date('2026-12-07T02:00:00Z');
      await ds.transaction((em: EntityManager) => repo.insertSlots([{ externalUserId: 'wmC', scope: 'daily', period: '2026-12-07', n: 1 }], [31], now, em));
      expect(await repo.claimSlot('wmA', { scope: 'daily', period: '2026-12-07', limit: 3 }, 13, now)).toBe(true);
      expect(await repo.claimSlot('wmA', { scope: 'daily', period: '2026-12-07', limit: 3 }, 14, now)).toBe(false);
      expect(Object.fromEntries(await repo.slotsTaken(['wmA', 'wmC', 'wmD'], 'daily', '2026-12-07'))).toEqual({ wmA: [1, 2, 3], wmC: [1] });
      expect((await repo.holdersOf('daily', '2026-12-07', 3))).toEqual(['wmA']);
      await repo.releaseSlots([12]);
      expect(await repo.countSlots('wmA', 'daily', '2026-12-07')).toBe(2);
      await db.close();
      const after = norm(await slots(ds));

      await new SendSlotKey1795000000073().down(runner);
      expect(await shape(ds)).toMatchObject({ primary: ['id'], id: true, indexes: ['ix_send_slots_delivery', 'ix_send_slots_period', 'uq_send_slots'] });
      expect(norm(await slots(ds))).toEqual(after);
      expect(await duplicate(ds, 'wmA', 1)).toBe(true);
      // The id is generated again, as before the migration.
      await insert(ds, 'wmE', 1, 51);
      const [{ id }] = (await ds.query("SELECT id FROM send_slots WHERE external_user_id = 'wmE'")) as { id: number | string }[];
      expect(Number(id)).toBeGreaterThan(0);

      await new SendSlotKey1795000000073().up(runner);
      expect(await shape(ds)).toMatchObject({ primary: ['external_user_id', 'scope', 'period', 'n'], id: false });
      expect(norm(await slots(ds))).toEqual([...after, JSON.stringify(['wmE', 'daily', '2026-12-07', 1, 51])].sort());
    } finally {
      await runner.release();
    }
  });
});
