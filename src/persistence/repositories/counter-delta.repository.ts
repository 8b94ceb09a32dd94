import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { placeholders } from './sql-upsert.js';

/** Which rollup a delta counts on. */
export type CounterTarget = 'growth' | 'growth_tags' | 'channel_stats';

/** One count to add to a rollup row: the row's key (columns a target does not use are left out) and the column. */
export interface CounterDelta {
  target: CounterTarget;
  day: string;
  userid?: string;
  channelId?: string;
  groupId?: string;
  tagId?: string;
  col: string;
  delta: number;
  /** The relation change (analytics_relation_events id) a growth or tag delta counts. */
  ledgerId?: number | null;
}

/** Each target's table, key columns (as stored in counter_deltas) and the counters a delta may name. */
const TARGETS: Record<CounterTarget, { table: string; keys: ('day' | 'userid' | 'channel_id' | 'group_id' | 'tag_id')[]; cols: string[] }> = {
  growth: { table: 'analytics_daily_growth', keys: ['day', 'userid', 'channel_id'], cols: ['added', 'lost_by_customer', 'lost_by_staff', 'transferred_in', 'transferred_out'] },
  growth_tags: { table: 'analytics_daily_growth_tags', keys: ['day', 'group_id', 'tag_id', 'userid'], cols: ['added', 'lost_by_customer', 'lost_by_staff'] },
  channel_stats: { table: 'channel_stats', keys: ['channel_id', 'day'], cols: ['adds', 'deletes'] },
};

/** How many deltas one fold takes at most. */
const FOLD_BATCH = 5000;

interface DeltaRow {
  id: number | string;
  target: CounterTarget;
  day: string;
  userid: string;
  channel_id: string;
  group_id: string;
  tag_id: string;
  col: string;
  delta: number | string;
}

/**
 * Counts of rows that every add shares, on MySQL (docs/analytics.md §Counters every add shares). The day's growth row
 * of a member and channel, its tag rows and the channel's stats row are each updated by every add through one live
 * QR code: an `INSERT … ON DUPLICATE KEY UPDATE` locks the row until its transaction commits, so concurrent adds ran
 * one at a time, each holding a pooled connection while it waited. Here the add's transaction appends its deltas
 * (no shared row), and `fold()` adds them to the rollups in one short transaction, taking each row's lock once for a
 * whole batch. Deltas and their folding commit together, so every delta counts exactly once.
 *
 * SQLite has one writer at a time anyway, so there the callers update the rollups directly and this is unused.
 */
export class CounterDeltaRepository {
  constructor(private readonly db: Db) {}

  /** Whether the rollups are counted through deltas (MySQL) rather than updated in place (SQLite). */
  get isDeferred(): boolean {
    return this.db.engine === 'mysql';
  }

  /** Append deltas in the caller's transaction: one statement, no lock on any rollup row. */
  async addInTx(em: EntityManager, deltas: CounterDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    await em.query(
      `INSERT INTO counter_deltas (target, day, userid, channel_id, group_id, tag_id, col, delta, ledger_id) VALUES ${deltas.map(() => '(?,?,?,?,?,?,?,?,?)').join(', ')}`,
      deltas.flatMap((d) => {
        if (!TARGETS[d.target].cols.includes(d.col)) throw new Error(`counter ${d.target}.${d.col} is not a counter column`);
        return [d.target, d.day, d.userid ?? '', d.channelId ?? '', d.groupId ?? '', d.tagId ?? '', d.col, d.delta, d.ledgerId ?? null];
      }),
    );
  }

  /** Whether any delta waits (a cheap look: readers fold first only when one does). */
  async hasPending(): Promise<boolean> {
    if (!this.isDeferred) return false;
    return (await this.db.query('SELECT 1 AS x FROM counter_deltas LIMIT 1')).length > 0;
  }

  /**
   * Add waiting deltas to their rollup rows and delete them, in one transaction, a batch at a time until none wait.
   * Returns how many deltas were folded. Concurrent folds (other instances) take disjoint deltas (SKIP LOCKED) and
   * write the rollup rows in one key order, so they neither count twice nor deadlock each other.
   */
  async fold(): Promise<number> {
    if (!this.isDeferred) return 0;
    let total = 0;
    for (;;) {
      const n = await this.db.tx(async (em) => {
        const rows = (await em.query(
          `SELECT id, target, day, userid, channel_id, group_id, tag_id, col, delta FROM counter_deltas ORDER BY id LIMIT ${FOLD_BATCH} FOR UPDATE SKIP LOCKED`,
        )) as DeltaRow[];
        if (rows.length === 0) return 0;
        for (const target of Object.keys(TARGETS) as CounterTarget[]) {
          const mine = rows.filter((r) => r.target === target);
          if (mine.length > 0) await this.applyInTx(em, target, mine);
        }
        const ids = rows.map((r) => Number(r.id));
        await em.query(`DELETE FROM counter_deltas WHERE id IN (${placeholders(ids.length)})`, ids);
        return rows.length;
      });
      total += n;
      if (n < FOLD_BATCH) return total;
    }
  }

  /**
   * Fold first when deltas wait, so a read of the rollups sees every committed change. A fold that fails here (a lock
   * timeout, say) does not fail the read: it answers with what was folded, and the background fold, which logs, tries
   * again within a second.
   */
  async foldIfPending(): Promise<void> {
    if (!(await this.hasPending())) return;
    await this.fold().catch(() => undefined);
  }

  /**
   * A night rebuilding `day` from the relation ledger counted every change up to `ledgerThroughId`: the growth and tag
   * deltas of those changes are dropped with the rows they would have added to, in the rebuild's transaction.
   */
  async dropCountedInTx(em: EntityManager, day: string, ledgerThroughId: number): Promise<void> {
    if (!this.isDeferred) return;
    await em.query("DELETE FROM counter_deltas WHERE day = ? AND target IN ('growth', 'growth_tags') AND ledger_id <= ?", [day, ledgerThroughId]);
  }

  /** One multi-row upsert per target: each row's key once, with the sums of its deltas, in key order. */
  private async applyInTx(em: EntityManager, target: CounterTarget, rows: DeltaRow[]): Promise<void> {
    const { table, keys, cols } = TARGETS[target];
    const sums = new Map<string, { key: string[]; values: Record<string, number> }>();
    for (const r of rows) {
      const key = keys.map((k) => String(r[k]));
      const id = JSON.stringify(key);
      const entry = sums.get(id) ?? { key, values: Object.fromEntries(cols.map((c) => [c, 0])) };
      entry.values[r.col] += Number(r.delta);
      sums.set(id, entry);
    }
    const entries = [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
    const all = [...keys, ...cols];
    // An add counted on a day already rolled has no outcomes yet: its growth row says so until the day is rolled
    // again (docs/analytics.md §How the rollups stay right).
    const reset = target === 'growth' ? ', outcomes_through = IF(VALUES(added) > 0, NULL, outcomes_through)' : '';
    await em.query(
      `INSERT INTO ${table} (${all.join(', ')}) VALUES ${entries.map(() => `(${placeholders(all.length)})`).join(', ')}
       ON DUPLICATE KEY UPDATE ${cols.map((c) => `${c} = ${c} + VALUES(${c})`).join(', ')}${reset}`,
      entries.flatMap((e) => [...e.key, ...cols.map((c) => e.values[c])]),
    );
  }
}
