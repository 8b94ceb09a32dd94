import { SEALED_COLUMNS } from '../../persistence/sealed-columns.js';
import type { SealedValueRepository, SealedWrite } from '../../persistence/repositories/sealed-value.repository.js';
import type { SecretRepository } from '../../persistence/repositories/secret.repository.js';
import { FieldDecryptError, type FieldCipher } from '../../shared/field-cipher.js';
import type { Logger } from '../../shared/logger.js';

/** DATA_KEY cannot open what this database holds: starting would mix keys or lose data. */
export class DataKeyMismatchError extends Error {
  /** EX_CONFIG, as for an invalid configuration: the CLI prints the message alone and exits with it. */
  readonly exitCode = 78;

  constructor(detail: string) {
    super(
      `DATA_KEY 与数据库不匹配 / DATA_KEY does not match this database: ${detail}. Set DATA_KEY to the key this database ` +
        'was written with; during a key rotation list the other key in DATA_KEY_READ_ONLY (README: 密钥轮换 Key rotation).',
    );
    this.name = 'DataKeyMismatchError';
  }
}

/** How many values of one sealed column are under each key. */
export interface SealedColumnStatus {
  table: string;
  column: string;
  /** key id (or `v1`, values from before key ids) → count. */
  byKey: Record<string, number>;
  /** Values not under the write key: what `keys rotate` has left to do (unreadable ones included). */
  remaining: number;
}

/** One column's outcome of a rotation pass. */
export interface RotationProgress {
  table: string;
  column: string;
  rotated: number;
  /** Changed by someone else between read and write; they were written under the write key anyway. */
  skipped: number;
  /** No configured key opens them (tampered with, or sealed under a key that is not configured). */
  unreadable: number;
}

/** The name of the erasure key in `secrets`. */
export const ERASURE_KEY = 'erasure_key';

/**
 * DATA_KEY management: the start-up check that the configured keys open this database, the stable erasure key, and
 * the rotation of every sealed value to the write key (docs/reliability.md §Personal data at rest, §Reliability tests, test 23).
 */
export class DataKeysService {
  constructor(
    private readonly sealed: SealedValueRepository,
    private readonly cipher: FieldCipher,
    private readonly secrets: SecretRepository,
    private readonly log: Logger,
  ) {}

  /**
   * The key erased customers are remembered under (a keyed hash of their id, PIPL erasure). Created on first start
   * from the write key's blind-index key, which is what erasure hashes were keyed with before this table existed,
   * so earlier erasures keep matching. Kept in `secrets`, so it survives any number of DATA_KEY rotations.
   *
   * Also the start-up check: throws DataKeyMismatchError when no configured key opens the stored secret, or, on the
   * first start with the table, a stored phone number.
   */
  async erasureKey(now: number): Promise<Buffer> {
    try {
      const hex = await this.secrets.get(ERASURE_KEY);
      if (hex !== null) return Buffer.from(hex, 'hex');
    } catch (err) {
      if (err instanceof FieldDecryptError) throw new DataKeyMismatchError(`the erasure key ${err.message}`);
      throw err;
    }
    await this.checkSample();
    return Buffer.from(await this.secrets.getOrCreate(ERASURE_KEY, () => this.cipher.currentIndexKeyHex(), now), 'hex');
  }

  /** One stored phone must open, or this is the wrong key for an existing database. */
  private async checkSample(): Promise<void> {
    const row = await this.sealed.samplePhone();
    if (!row) return;
    const column = SEALED_COLUMNS.find((c) => c.table === 'customers')!;
    try {
      this.cipher.decrypt(row.phone_enc, column.aad(row));
    } catch (err) {
      if (err instanceof FieldDecryptError) throw new DataKeyMismatchError(`a stored phone number ${err.message}`);
      throw err;
    }
  }

  /** How many values of each sealed column are under which key. */
  async status(): Promise<SealedColumnStatus[]> {
    const out: SealedColumnStatus[] = [];
    for (const col of SEALED_COLUMNS) {
      const byKey = await this.sealed.countByKey(col);
      const remaining = Object.entries(byKey).reduce((sum, [k, n]) => (k === this.cipher.keyId ? sum : sum + n), 0);
      out.push({ table: col.table, column: col.column, byKey, remaining });
    }
    return out;
  }

  /**
   * Re-seal every value that is not under the write key, and recompute what derives from it (the phone's blind
   * index). Keyset paging over the primary key, `batch` rows per transaction; each row is written only if it still
   * holds the value read (compare-and-set), so a concurrent write, which is under the write key anyway, is never
   * overwritten with older data. Safe to stop and run again, and to run on several instances at once.
   */
  async rotate(opts: { batch?: number; onProgress?: (p: RotationProgress) => void } = {}): Promise<RotationProgress[]> {
    const batch = opts.batch ?? 500;
    const results: RotationProgress[] = [];
    for (const col of SEALED_COLUMNS) {
      const progress: RotationProgress = { table: col.table, column: col.column, rotated: 0, skipped: 0, unreadable: 0 };
      let after: string | number | null = null;
      for (;;) {
        const rows = await this.sealed.pendingPage(col, this.cipher.keyId, after, batch);
        if (rows.length === 0) break;
        after = rows[rows.length - 1][col.pk] as string | number;
        const writes: SealedWrite[] = [];
        for (const row of rows) {
          const stored = String(row[col.column]);
          let plain: string;
          try {
            plain = this.cipher.decrypt(stored, col.aad(row));
          } catch (err) {
            if (!(err instanceof FieldDecryptError)) throw err;
            progress.unreadable++;
            this.log.warn({ table: col.table, column: col.column, id: row[col.pk], reason: err.message }, 'sealed value opens under no configured key; left as is');
            continue;
          }
          writes.push({ row, sealed: this.cipher.encrypt(plain, col.aad(row)), derived: col.derived?.(plain, this.cipher) ?? {} });
        }
        const changed = await this.sealed.writeIfUnchanged(col, writes);
        progress.rotated += changed;
        progress.skipped += writes.length - changed;
        opts.onProgress?.({ ...progress });
      }
      results.push(progress);
    }
    return results;
  }
}
