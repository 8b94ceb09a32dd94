import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { isDuplicateKeyError } from '../data-source.js';
import { sqlByCount } from './sql-by-count.js';
import type { CapPeriod, SlotClaim } from '../../domain/delivery/delivery.types.js';

const marks = (n: number) => Array(n).fill('?').join(',');

// Customers or slots per statement: on MySQL 5,000 (a page's worth, one round trip each), on SQLite 500 (larger
// chunks only cost memory there, see delivery.repository.ts).
const chunkOf = (engine: string) => (engine === 'mysql' ? 5000 : 500);
// Built once per count: a planning run repeats the same few (see sql-by-count.ts).
const slotsTakenSql = sqlByCount((n) => `SELECT external_user_id, n FROM send_slots WHERE scope = ? AND period = ? AND external_user_id IN (${marks(n)})`);
const insertSlotsSql = sqlByCount((n) => `INSERT INTO send_slots (external_user_id, scope, period, n, delivery_id, created_at) VALUES ${Array(n).fill('(?,?,?,?,?,?)').join(',')}`);

/** Runs one statement, in a transaction or on its own. */
type Run = (sql: string, params: unknown[]) => Promise<unknown>;

/**
 * Give back every slot some deliveries hold. A slot belongs to its ledger row (`delivery_id`), so DeliveryRepository
 * runs this with the status change that frees it (skipped, expired), in the same transaction when there is one.
 */
export async function deleteSlotsOfDeliveries(run: Run, deliveryIds: readonly number[]): Promise<void> {
  if (deliveryIds.length === 0) return;
  await run(`DELETE FROM send_slots WHERE delivery_id IN (${marks(deliveryIds.length)})`, [...deliveryIds]);
}

/**
 * The cap slots (`send_slots`): slot n of a customer's cap period is held by at most one ledger row, enforced by
 * UNIQUE(customer, scope, period, n), so racing planners on several instances never both take the last one.
 */
export class SendSlotRepository {
  constructor(private readonly db: Db) {}

  private q<T = Record<string, unknown>>(em: EntityManager | undefined, sql: string, params: unknown[]): Promise<T[]> {
    return em ? (em.query(sql, params) as Promise<T[]>) : this.db.query<T>(sql, params);
  }

  /**
   * The customers who hold slot `n` of one cap period, through ix_send_slots_period. With n the period's limit these
   * are the only customers whose period can be full (docs/care.md §The care calendar).
   */
  async holdersOf(scope: string, period: string, n: number): Promise<string[]> {
    const rows = await this.db.query<{ external_user_id: string }>('SELECT external_user_id FROM send_slots WHERE scope = ? AND period = ? AND n = ?', [scope, period, n]);
    return rows.map((r) => r.external_user_id);
  }

  /** The slot numbers the given customers hold in one cap period, keyed by customer. */
  async slotsTaken(customers: readonly string[], scope: string, period: string, em?: EntityManager): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    const list = [...new Set(customers)];
    const per = chunkOf(this.db.engine);
    for (let i = 0; i < list.length; i += per) {
      const n = Math.min(per, list.length - i);
      const params = new Array<unknown>(n + 2);
      params[0] = scope;
      params[1] = period;
      for (let j = 0; j < n; j++) params[j + 2] = list[i + j];
      const rows = await this.q<{ external_user_id: string; n: number | string }>(em, slotsTakenSql(n), params);
      // Exact keys, as in DeliveryRepository.idsOfKeys: a customer id differing only in case is another customer.
      for (const r of rows) {
        const held = out.get(r.external_user_id);
        if (held) held.push(Number(r.n));
        else out.set(r.external_user_id, [Number(r.n)]);
      }
    }
    return out;
  }

  /**
   * Insert claimed slots, many per statement, slot i held by ledger row deliveryIds[i]; a slot someone else took
   * meanwhile fails the statement (duplicate key). The ids come as a separate list so that a page's claims are written
   * as the planner made them, with no object per slot to carry its row's id.
   */
  async insertSlots(slots: readonly SlotClaim[], deliveryIds: readonly number[], now: Date, em: EntityManager): Promise<void> {
    const per = chunkOf(this.db.engine);
    const at = now.getTime();
    for (let i = 0; i < slots.length; i += per) {
      const n = Math.min(per, slots.length - i);
      const params = new Array<unknown>(n * 6);
      for (let j = 0, k = 0; j < n; j++) {
        const x = slots[i + j];
        params[k++] = x.externalUserId;
        params[k++] = x.scope;
        params[k++] = x.period;
        params[k++] = x.n;
        params[k++] = deliveryIds[i + j];
        params[k++] = at;
      }
      await this.q(em, insertSlotsSql(n), params);
    }
  }

  /**
   * Claim one slot of a cap period for a delivery: the lowest free n in 1..limit whose INSERT succeeds. Racing
   * claimers collide on UNIQUE(customer, scope, period, n); false when every slot is taken.
   */
  async claimSlot(externalUserId: string, cap: CapPeriod, deliveryId: number, now: Date, em?: EntityManager): Promise<boolean> {
    const taken = await this.q<{ n: number | string }>(em, 'SELECT n FROM send_slots WHERE external_user_id = ? AND scope = ? AND period = ?', [
      externalUserId, cap.scope, cap.period,
    ]);
    const held = new Set(taken.map((t) => Number(t.n)));
    // The lowest free numbers first, as the ledger's in-memory planning (freeSlots) takes them.
    for (let n = 1; n <= cap.limit; n++) {
      if (held.has(n)) continue;
      try {
        await this.q(em, 'INSERT INTO send_slots (external_user_id, scope, period, n, delivery_id, created_at) VALUES (?,?,?,?,?,?)', [
          externalUserId, cap.scope, cap.period, n, deliveryId, now.getTime(),
        ]);
        return true;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    return false;
  }

  /** Give back every slot a delivery holds (it was skipped or expired before reaching anyone). */
  async releaseSlots(deliveryIds: number[], em?: EntityManager): Promise<void> {
    await deleteSlotsOfDeliveries((sql, params) => this.q(em, sql, params), deliveryIds);
  }

  /** How many slots of a scope a customer holds in a period. */
  async countSlots(externalUserId: string, scope: string, period: string): Promise<number> {
    const [r] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM send_slots WHERE external_user_id = ? AND scope = ? AND period = ?', [
      externalUserId, scope, period,
    ]);
    return Number(r.n);
  }
}
