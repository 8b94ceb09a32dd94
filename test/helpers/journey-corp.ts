/**
 * Customers and journey memberships in bulk, for the journeys' crash test and bench: the same customers in the
 * sandbox (WeCom's side) and in the bot's archive, and memberships inserted with multi-row INSERTs. It writes rows
 * directly and shares nothing with the journeys' tick, which is what the test and the bench measure.
 */
import type { SandboxStore } from '../../src/wecom/sandbox/store.js';

type Query = (sql: string, params?: unknown[]) => Promise<unknown>;

/** Customer i's external_userid (the same on both sides). */
export const journeyCustomerId = (i: number): string => `wmJ${String(i).padStart(9, '0')}`;

/** Customers 0…n-1 in the sandbox, customer i added by staff[i % staff.length]. */
export function putSandboxCustomers(store: SandboxStore, n: number, staff: readonly string[], nowS: number): void {
  for (let i = 0; i < n; i++) {
    const externalUserId = journeyCustomerId(i);
    store.customers.set(externalUserId, { externalUserId, name: `旅程客户${i}`, type: 1, gender: 0, avatar: '' });
    store.putRelation({
      seq: store.nextSeq(),
      userid: staff[i % staff.length],
      externalUserId,
      remark: '',
      description: '',
      remarkMobiles: [],
      createtime: nowS - 86_400,
      addWay: 1,
      operUserid: externalUserId,
      tagIds: [],
      isDeletedByCustomer: false,
    });
  }
}

/** The same customers in the bot's archive (customers and their active relations), `batch` rows per INSERT. */
export async function insertArchiveCustomers(query: Query, n: number, staff: readonly string[], addedAtMs: number, batch = 1000): Promise<void> {
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const customers: unknown[] = [];
    const relations: unknown[] = [];
    for (let i = start; i < start + count; i++) {
      customers.push(journeyCustomerId(i), `旅程客户${i}`, addedAtMs);
      relations.push(staff[i % staff.length], journeyCustomerId(i), addedAtMs);
    }
    await query(
      `INSERT INTO customers (external_user_id, name, type, gender, birthday_leap, first_added_at, activity, opted_out, created_at, updated_at) VALUES ${Array(count).fill("(?,?,1,0,0,?,'active',0,0,0)").join(',')}`,
      customers,
    );
    await query(`INSERT INTO follow_relations (userid, external_user_id, add_way, added_at, status, created_at, updated_at) VALUES ${Array(count).fill("(?,?,1,?,'active',0,0)").join(',')}`, relations);
  }
}

/**
 * Active memberships at step 0 of a journey's version 1 for customers [from, to), owned as their relation is,
 * entered at `enteredAtMs` and due at `dueAtMs`.
 */
export async function insertMemberships(
  query: Query,
  o: { journeyId: string; from: number; to: number; staff: readonly string[]; enteredAtMs: number; dueAtMs: number; batch?: number },
): Promise<void> {
  const batch = o.batch ?? 1000;
  for (let start = o.from; start < o.to; start += batch) {
    const count = Math.min(batch, o.to - start);
    const params: unknown[] = [];
    for (let i = start; i < start + count; i++) params.push(journeyCustomerId(i), o.staff[i % o.staff.length]);
    await query(
      `INSERT INTO journey_memberships (journey_id, version, external_user_id, owner_userid, status, entered_by, entered_at, current_step, step_since, next_due_at, is_holdout, entry_number)
       VALUES ${Array(count).fill(`('${o.journeyId}',1,?,?,'active','manual',${o.enteredAtMs},0,${o.enteredAtMs},${o.dueAtMs},0,1)`).join(',')}`,
      params,
    );
  }
}
