import type { EntityManager } from 'typeorm';
import type { DbEngine } from '../data-source.js';
import { forUpdate, placeholders } from './sql-upsert.js';

/** One rollup table whose rows are kept per day: its key within the day and its other columns. Names come from code. */
export interface DayRowsTable {
  table: string;
  /** The columns that, with `day`, make a row's unique key. */
  key: readonly string[];
  /** The other columns the roll writes. */
  values: readonly string[];
}

/** What replacing a day's rows wrote. */
export interface DayRowsWritten {
  inserted: number;
  updated: number;
  deleted: number;
  unchanged: number;
}

/** Rows per statement: 20 columns × 400 stays far under SQLite's bound-parameter limit. */
const CHUNK = 400;

/**
 * Make a day's rows of `t` exactly `rows` (each row its key's values then its values', in the table's column order,
 * `day` left out), in the caller's transaction, writing only what differs (docs/analytics.md §Rolling in place): the
 * day's rows are read (locked on MySQL, as the DELETE they replace locked them), a row whose values are those stored
 * is left alone, a changed one is updated in place by its id, a new one inserted, a stored one no longer computed
 * deleted. The result is the table a DELETE of the day and an INSERT of `rows` would leave, but an unchanged or
 * updated row keeps its id and its entries in the secondary indexes (which lead with member or channel, so each row's
 * delete and insert there was a page from disk on MySQL with a small buffer pool).
 */
export async function replaceDayRowsInTx(em: EntityManager, engine: DbEngine, t: DayRowsTable, day: string, rows: readonly (readonly unknown[])[]): Promise<DayRowsWritten> {
  const k = t.key.length;
  const keyOf = (vals: readonly unknown[]) => vals.slice(0, k).map((v) => String(v ?? '')).join('\u0000');
  const same = (a: readonly unknown[], b: readonly unknown[]) => a.every((v, i) => String(v ?? '') === String(b[i] ?? ''));
  const cols = [...t.key, ...t.values];
  const stored = new Map<string, { id: unknown; vals: unknown[] }>();
  for (const r of (await em.query(`SELECT id, ${cols.join(', ')} FROM ${t.table} WHERE day = ?${forUpdate(engine)}`, [day])) as Record<string, unknown>[]) {
    const vals = cols.map((c) => r[c]);
    stored.set(keyOf(vals), { id: r.id, vals });
  }
  const inserts: (readonly unknown[])[] = [];
  const updates: { id: unknown; row: readonly unknown[] }[] = [];
  let unchanged = 0;
  for (const row of rows) {
    const key = keyOf(row);
    const s = stored.get(key);
    if (!s) inserts.push(row);
    else {
      stored.delete(key);
      if (same(row.slice(k), s.vals.slice(k))) unchanged++;
      else updates.push({ id: s.id, row });
    }
  }
  // Gone rows first: a new row's key may equal a gone one's under MySQL's case-insensitive collation.
  const gone = [...stored.values()].map((s) => s.id);
  for (let i = 0; i < gone.length; i += CHUNK) {
    const ids = gone.slice(i, i + CHUNK);
    await em.query(`DELETE FROM ${t.table} WHERE id IN (${placeholders(ids.length)})`, ids);
  }
  if (engine === 'mysql') {
    // By primary key: the row is found and changed in the clustered index; the secondary indexes hold only key
    // columns, which an update by key never changes.
    for (let i = 0; i < updates.length; i += CHUNK) {
      const chunk = updates.slice(i, i + CHUNK);
      await em.query(
        `INSERT INTO ${t.table} (id, day, ${cols.join(', ')}) VALUES ${chunk.map(() => `(?, ?, ${placeholders(cols.length)})`).join(', ')}
         ON DUPLICATE KEY UPDATE ${t.values.map((c) => `${c} = VALUES(${c})`).join(', ')}`,
        chunk.flatMap((u) => [u.id, day, ...u.row]),
      );
    }
  } else {
    for (const u of updates) await em.query(`UPDATE ${t.table} SET ${t.values.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`, [...u.row.slice(k), u.id]);
  }
  for (let i = 0; i < inserts.length; i += CHUNK) {
    const chunk = inserts.slice(i, i + CHUNK);
    await em.query(`INSERT INTO ${t.table} (day, ${cols.join(', ')}) VALUES ${chunk.map(() => `(?, ${placeholders(cols.length)})`).join(', ')}`, chunk.flatMap((r) => [day, ...r]));
  }
  return { inserted: inserts.length, updated: updates.length, deleted: gone.length, unchanged };
}
