import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { switchToWal } from '../../src/persistence/data-source.js';

// An ingress and a worker starting together on one SQLite file: one of them switches the file to WAL while the other
// holds it. SQLite answers that switch with SQLITE_BUSY at once, so a start used to fail with "database is locked".
describe('switching a SQLite file to WAL while another process holds it', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function file(): string {
    const dir = mkdtempSync(join(tmpdir(), 'wal-switch-'));
    dirs.push(dir);
    return join(dir, 'db.sqlite');
  }

  it('waits for the other connection to let go, then switches', async () => {
    const path = file();
    const holder = new Database(path);
    holder.exec('CREATE TABLE t (x INTEGER)');
    holder.exec('BEGIN EXCLUSIVE');
    holder.exec('INSERT INTO t VALUES (1)');
    const opener = new Database(path, { timeout: 0 });
    expect(() => opener.pragma('journal_mode = WAL')).toThrow(/locked|busy/i);
    setTimeout(() => holder.exec('COMMIT'), 150);
    const started = Date.now();
    await switchToWal(opener, 5_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(opener.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(opener.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
    opener.close();
    holder.close();
  });

  it('gives up with the driver error once its budget is spent', async () => {
    const path = file();
    const holder = new Database(path);
    holder.exec('CREATE TABLE t (x INTEGER)');
    holder.exec('BEGIN EXCLUSIVE');
    const opener = new Database(path, { timeout: 0 });
    await expect(switchToWal(opener, 200)).rejects.toMatchObject({ code: expect.stringMatching(/^SQLITE_BUSY/) });
    holder.exec('ROLLBACK');
    opener.close();
    holder.close();
  });

  it('does not retry an error that is not about the lock', async () => {
    let calls = 0;
    const db = {
      pragma(): unknown {
        calls += 1;
        throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
      },
    };
    await expect(switchToWal(db, 5_000)).rejects.toThrow('disk I/O error');
    expect(calls).toBe(1);
  });
});
