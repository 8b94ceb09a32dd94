import { execIn, type Db } from '../db.js';
import type { SealedColumn } from '../sealed-columns.js';

/** A sealed value re-sealed under the write key, with what derives from it (the phone's blind index). */
export interface SealedWrite {
  /** The row as read: its primary key, AAD columns and the sealed value it held. */
  row: Record<string, unknown>;
  sealed: string;
  derived: Record<string, unknown>;
}

/**
 * The sealed columns (SEALED_COLUMNS) as DataKeysService reads and rewrites them: which key each value is under, the
 * values not under the write key page by page, and the compare-and-set writes of their re-sealed form.
 */
export class SealedValueRepository {
  constructor(private readonly db: Db) {}

  /** The first stored phone number (by customer id), to check the configured keys against; null when none. */
  async samplePhone(): Promise<{ external_user_id: string; phone_enc: string } | null> {
    const [row] = await this.db.query<{ external_user_id: string; phone_enc: string }>(
      'SELECT external_user_id, phone_enc FROM customers WHERE phone_enc IS NOT NULL ORDER BY external_user_id LIMIT 1',
    );
    return row ?? null;
  }

  /** How many values of a column are under each key id (`v1` for values from before key ids, `other` for neither). */
  async countByKey(col: SealedColumn): Promise<Record<string, number>> {
    const c = col.column;
    // 'v2:' + the 8-character key id; 'v1:' values carry none.
    const rows = await this.db.query<{ k: string; n: number | string }>(
      `SELECT CASE WHEN ${c} LIKE 'v2:%' THEN SUBSTR(${c}, 4, 8) WHEN ${c} LIKE 'v1:%' THEN 'v1' ELSE 'other' END AS k, COUNT(*) AS n
       FROM ${col.table} WHERE ${c} IS NOT NULL AND ${c} <> '' GROUP BY 1`,
    );
    return Object.fromEntries(rows.map((r) => [r.k, Number(r.n)]));
  }

  /** The next page of values not under the key `keyId`, after `after` in primary-key order. */
  pendingPage(col: SealedColumn, keyId: string, after: string | number | null, limit: number): Promise<Record<string, unknown>[]> {
    const columns = [col.pk, ...col.aadColumns, col.column].join(', ');
    const params: unknown[] = [`v2:${keyId}:%`];
    let where = `${col.column} IS NOT NULL AND ${col.column} <> '' AND ${col.column} NOT LIKE ?`;
    if (after !== null) {
      where += ` AND ${col.pk} > ?`;
      params.push(after);
    }
    params.push(limit);
    return this.db.query(`SELECT ${columns} FROM ${col.table} WHERE ${where} ORDER BY ${col.pk} LIMIT ?`, params);
  }

  /**
   * Write a page of re-sealed values in one transaction, each only if its row still holds the value read
   * (compare-and-set); how many were written.
   */
  writeIfUnchanged(col: SealedColumn, writes: readonly SealedWrite[]): Promise<number> {
    return this.db.tx(async (em) => {
      let n = 0;
      for (const w of writes) {
        const sets = [`${col.column} = ?`, ...Object.keys(w.derived).map((k) => `${k} = ?`)];
        const affected = await execIn(em, `UPDATE ${col.table} SET ${sets.join(', ')} WHERE ${col.pk} = ? AND ${col.column} = ?`, [
          w.sealed,
          ...Object.values(w.derived),
          w.row[col.pk],
          w.row[col.column],
        ]);
        n += affected > 0 ? 1 : 0;
      }
      return n;
    });
  }
}
