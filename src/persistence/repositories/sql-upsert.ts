import type { DbEngine } from '../data-source.js';

/**
 * Portable upsert SQL for one row: SQLite `ON CONFLICT(...) DO UPDATE`, MySQL `ON DUPLICATE KEY UPDATE`.
 * `update` lists the columns overwritten from the new row; empty means "insert if absent, else leave alone".
 * Column names come from code, never from user input.
 */
export function upsertSql(engine: DbEngine, table: string, rawCols: readonly string[], rawConflict: readonly string[], rawUpdate: readonly string[]): string {
  return upsertManySql(engine, table, rawCols, rawConflict, rawUpdate, 1);
}

/**
 * `upsertSql` for `rows` rows in one statement; params are the rows' values one row after another. Keep
 * rows × columns under SQLite's 32,766 bound parameters.
 */
export function upsertManySql(engine: DbEngine, table: string, rawCols: readonly string[], rawConflict: readonly string[], rawUpdate: readonly string[], rows: number): string {
  // Backticks quote identifiers on both engines (SQLite accepts them), so reserved words like `cursor` work.
  const q = (c: string) => `\`${c}\``;
  const cols = rawCols.map(q);
  const conflict = rawConflict.map(q);
  const update = rawUpdate.map(q);
  const insert = `INSERT INTO ${table} (${cols.join(', ')}) VALUES ${Array(rows).fill(`(${cols.map(() => '?').join(', ')})`).join(', ')}`;
  if (engine === 'mysql') {
    const sets = update.length > 0 ? update.map((c) => `${c} = VALUES(${c})`) : [`${conflict[0]} = ${conflict[0]}`];
    return `${insert} ON DUPLICATE KEY UPDATE ${sets.join(', ')}`;
  }
  if (update.length === 0) return `${insert} ON CONFLICT(${conflict.join(', ')}) DO NOTHING`;
  return `${insert} ON CONFLICT(${conflict.join(', ')}) DO UPDATE SET ${update.map((c) => `${c} = excluded.${c}`).join(', ')}`;
}

/**
 * Insert a counter row at 1 or add 1 to it, in one atomic statement (the row is then locked on MySQL until the
 * transaction ends, so a read that follows sees this instance's increment and no one else's in between). Params:
 * the key columns' values, then `created_at`.
 */
export function incrementSql(engine: DbEngine, table: string, keyCols: readonly string[], counter: string): string {
  const insert = `INSERT INTO ${table} (${[...keyCols, counter, 'created_at'].join(', ')}) VALUES (${keyCols.map(() => '?').join(', ')}, 1, ?)`;
  return engine === 'mysql' ? `${insert} ON DUPLICATE KEY UPDATE ${counter} = ${counter} + 1` : `${insert} ON CONFLICT(${keyCols.join(', ')}) DO UPDATE SET ${counter} = ${counter} + 1`;
}

/** `?, ?, ?` for an IN list of n values (n ≥ 1; callers short-circuit empty lists). */
export function placeholders(n: number): string {
  return Array(n).fill('?').join(', ');
}

/** `FOR UPDATE` on MySQL (row lock inside a transaction); SQLite serializes writers already. */
export function forUpdate(engine: DbEngine): string {
  return engine === 'mysql' ? ' FOR UPDATE' : '';
}

/**
 * A table (with its alias) read through the index named, on SQLite only. Without ANALYZE's statistics SQLite prefers
 * any index with an equality in the WHERE (`status = 'sent'`, `activity = 'dormant'`) to a key range, and then reads
 * every such row of the corp for each page; MariaDB estimates the range and needs no hint.
 * docs/churn.md §The nightly job
 * docs/tags.md §Behaviour tags at a million
 */
export function sqliteIndexedBy(engine: DbEngine, table: string, index: string): string {
  return engine === 'sqlite' ? `${table} INDEXED BY ${index}` : table;
}

/** Bound parameters per statement, under SQLite's limit of 32,766 (MySQL has a higher one). */
export const MAX_PARAMS = 30_000;

/** Values per IN list of a chunked read. */
export const IN_LIST_MAX = 5_000;

/** `items` in consecutive slices of at most `size` (a multi-row statement per slice). */
export function slices<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
