import type { Db } from '../../src/persistence/db.js';

/**
 * The database with every statement a repository sends through `query` or `exec` recorded with its parameters, so a
 * test can ask SQLite how it ran them (`EXPLAIN QUERY PLAN`).
 */
export function recordingDb(db: Db): { db: Db; seen: Array<[string, unknown[]]> } {
  const seen: Array<[string, unknown[]]> = [];
  const recording = new Proxy(db, {
    get(target, prop) {
      if (prop === 'query' || prop === 'exec') {
        return async (sql: string, params: unknown[] = []) => {
          seen.push([sql, params]);
          return (target[prop] as (s: string, p: unknown[]) => Promise<unknown>).call(target, sql, params);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { db: recording, seen };
}
