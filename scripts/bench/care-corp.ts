import type { Db } from '../../src/persistence/db.js';
import { createPrng } from '../../src/shared/prng.js';
import { zonedTimeToUtc } from '../../src/shared/dates.js';

/**
 * The generated archive the care benches plan over (`care`, `care-calendar`): `staff` members, each customer added by
 * one of them on a day within `spanDays` after 2022-01-01, 95 % with a birthday (10 % of those lunar), 70 % with a last
 * interaction. Seeded, so both engines get the same archive; `optedOutShare` marks that share of customers opted out
 * (an extra draw per customer, so a bench that leaves it out keeps the archive it always had).
 */
export async function seedCareCorp(db: Db, n: number, opts: { seed: number; staff: number; batch: number; spanDays: number; tz: string; optedOutShare?: number }): Promise<void> {
  const rand = createPrng(opts.seed);
  for (let i = 0; i < opts.staff; i++) await db.query("INSERT INTO staff (userid, name, status, updated_at) VALUES (?, ?, 'active', 0)", [`staff${i}`, `员工${i}`]);
  const day0 = zonedTimeToUtc('2022-01-01', '09:00', opts.tz).getTime();
  for (let start = 0; start < n; start += opts.batch) {
    const customers: unknown[] = [];
    const relations: unknown[] = [];
    const count = Math.min(opts.batch, n - start);
    for (let k = 0; k < count; k++) {
      const i = start + k;
      const id = `wm${String(i).padStart(10, '0')}`;
      const lunar = rand() < 0.1;
      const month = 1 + Math.floor(rand() * 12);
      const day = 1 + Math.floor(rand() * (lunar ? 30 : [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]));
      const hasBirthday = rand() < 0.95;
      const added = day0 + Math.floor(rand() * opts.spanDays) * 86_400_000;
      const last = rand() < 0.7 ? added + Math.floor(rand() * 300) * 86_400_000 : null;
      const optedOut = opts.optedOutShare !== undefined && rand() < opts.optedOutShare ? 1 : 0;
      customers.push(id, `客户${i}`, hasBirthday ? (lunar ? 'lunar' : 'solar') : null, hasBirthday ? month : null, hasBirthday ? day : null, added, last, optedOut);
      relations.push(`staff${i % opts.staff}`, id, added);
    }
    await db.tx(async (em) => {
      await em.query(
        `INSERT INTO customers (external_user_id, name, type, gender, birthday_calendar, birthday_month, birthday_day, birthday_leap, first_added_at, last_interaction_at, activity, opted_out, created_at, updated_at)
         VALUES ${Array(count).fill("(?,?,1,0,?,?,?,0,?,?,'active',?,0,0)").join(',')}`,
        customers,
      );
      await em.query(`INSERT INTO follow_relations (userid, external_user_id, add_way, added_at, status, created_at, updated_at) VALUES ${Array(count).fill("(?,?,1,?,'active',0,0)").join(',')}`, relations);
    });
  }
}
