import type { EntityManager } from 'typeorm';
import { execIn, type Db } from '../db.js';
import { placeholders, upsertManySql } from './sql-upsert.js';
import { isDuplicateKeyError, isRetryableLockError } from '../data-source.js';
import type { LoyaltyAccount, NewPointEntry, PointEntry, PointKind, Tier } from '../../domain/loyalty/loyalty.types.js';

type Num = number | string;

interface EntryRow {
  id: Num;
  external_user_id: string;
  kind: string;
  reason: string;
  reference: string;
  points: Num;
  created_at: Num;
  expires_at: Num | null;
  actor: string;
  note: string | null;
}

interface AccountRow {
  external_user_id: string;
  balance: Num;
  tier_rank: Num;
  tier_since: Num | null;
  tier_version: Num;
  below_since: Num | null;
  link_id: string | null;
}

const toEntry = (r: EntryRow): PointEntry => ({
  id: Number(r.id),
  externalUserId: r.external_user_id,
  kind: r.kind as PointKind,
  reason: r.reason,
  reference: r.reference,
  points: Number(r.points),
  createdAt: new Date(Number(r.created_at)),
  expiresAt: r.expires_at === null ? null : new Date(Number(r.expires_at)),
  actor: r.actor,
  note: r.note,
});

const toAccount = (r: AccountRow): LoyaltyAccount => ({
  externalUserId: r.external_user_id,
  balance: Number(r.balance),
  tierRank: Number(r.tier_rank),
  tierSince: r.tier_since === null ? null : new Date(Number(r.tier_since)),
  tierVersion: Number(r.tier_version),
  belowSince: r.below_since === null ? null : new Date(Number(r.below_since)),
  linkId: r.link_id,
});

/** What of a customer's points is due to expire: positive points due by the cutoff, and all points taken away. */
export interface ExpiryFigures {
  /** Points of positive entries whose expires_at is at or before the cutoff. */
  due: number;
  /** Points taken away so far (redeemed, deducted, expired), as a positive number. */
  used: number;
}

/**
 * The points ledger (loyalty_points, append-only), the accounts (loyalty_accounts: the balance kept with the ledger,
 * the tier, the link id) and the configured tiers (docs/loyalty.md). Writers lock the account first
 * (lockAccountsInTx), so one customer's entries are appended one transaction at a time on every engine.
 */
export class LoyaltyRepository {
  constructor(private readonly db: Db) {}

  /**
   * Create the accounts that do not exist and lock all of them for the rest of the caller's transaction, in id order
   * (two writers never wait on each other crosswise). On MySQL the upsert's no-op update takes the row's exclusive
   * lock; SQLite transactions are IMMEDIATE, so the whole database is the writer's already.
   */
  async lockAccountsInTx(em: EntityManager, exts: string[], now: number): Promise<void> {
    const ids = [...new Set(exts)].sort();
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      const sql = upsertManySql(this.db.engine, 'loyalty_accounts', ['external_user_id', 'balance', 'tier_rank', 'tier_version', 'created_at', 'updated_at'], ['external_user_id'], [], part.length);
      await em.query(sql, part.flatMap((ext) => [ext, 0, 0, 0, now, now]));
    }
  }

  /** The accounts of these customers that exist (one read per 500). */
  async accountsOf(exts: string[]): Promise<Map<string, LoyaltyAccount>> {
    const out = new Map<string, LoyaltyAccount>();
    for (let i = 0; i < exts.length; i += 500) {
      const part = exts.slice(i, i + 500);
      const rows = await this.db.query<AccountRow>(`SELECT * FROM loyalty_accounts WHERE external_user_id IN (${placeholders(part.length)})`, part);
      for (const r of rows) out.set(r.external_user_id, toAccount(r));
    }
    return out;
  }

  /** Spend (cents) per customer on orders placed at or after `since`, for these customers (absent: none). */
  async spendOf(exts: string[], since: number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < exts.length; i += 500) {
      const part = exts.slice(i, i + 500);
      const rows = await this.db.query<{ id: string; s: Num }>(
        `SELECT external_user_id AS id, SUM(amount_cents) AS s FROM orders WHERE external_user_id IN (${placeholders(part.length)}) AND ordered_at >= ? GROUP BY external_user_id`,
        [...part, since],
      );
      for (const r of rows) out.set(r.id, Number(r.s));
    }
    return out;
  }

  /** Per customer (of these, locked), the positive points due by `cutoff` and the points used: only those with some due. */
  async expiryFiguresManyInTx(em: EntityManager, exts: string[], cutoff: number): Promise<Map<string, ExpiryFigures>> {
    const out = new Map<string, ExpiryFigures>();
    for (let i = 0; i < exts.length; i += 500) {
      const part = exts.slice(i, i + 500);
      const rows: { id: string; due: Num | null; used: Num | null }[] = await em.query(
        `SELECT external_user_id AS id,
                SUM(CASE WHEN points > 0 AND expires_at IS NOT NULL AND expires_at <= ? THEN points ELSE 0 END) AS due,
                SUM(CASE WHEN points < 0 THEN -points ELSE 0 END) AS used
           FROM loyalty_points WHERE external_user_id IN (${placeholders(part.length)}) GROUP BY external_user_id`,
        [cutoff, ...part],
      );
      for (const r of rows) out.set(r.id, { due: Number(r.due ?? 0), used: Number(r.used ?? 0) });
    }
    return out;
  }

  async customerExistsInTx(em: EntityManager, ext: string): Promise<boolean> {
    const rows: unknown[] = await em.query('SELECT 1 AS x FROM customers WHERE external_user_id = ?', [ext]);
    return rows.length > 0;
  }

  async accountInTx(em: EntityManager, ext: string): Promise<LoyaltyAccount | null> {
    const rows: AccountRow[] = await em.query('SELECT * FROM loyalty_accounts WHERE external_user_id = ?', [ext]);
    return rows[0] ? toAccount(rows[0]) : null;
  }

  async account(ext: string): Promise<LoyaltyAccount | null> {
    const rows = await this.db.query<AccountRow>('SELECT * FROM loyalty_accounts WHERE external_user_id = ?', [ext]);
    return rows[0] ? toAccount(rows[0]) : null;
  }

  async accountByLink(linkId: string): Promise<LoyaltyAccount | null> {
    const rows = await this.db.query<AccountRow>('SELECT * FROM loyalty_accounts WHERE link_id = ?', [linkId]);
    return rows[0] ? toAccount(rows[0]) : null;
  }

  /** Give the account a link id unless it has one; returns the one it has. */
  async ensureLinkIdInTx(em: EntityManager, ext: string, candidate: string, now: number): Promise<string> {
    await em.query('UPDATE loyalty_accounts SET link_id = ?, updated_at = ? WHERE external_user_id = ? AND link_id IS NULL', [candidate, now, ext]);
    const rows: { link_id: string }[] = await em.query('SELECT link_id FROM loyalty_accounts WHERE external_user_id = ?', [ext]);
    return rows[0].link_id;
  }

  async entryByReferenceInTx(em: EntityManager, ext: string, reference: string): Promise<PointEntry | null> {
    const rows: EntryRow[] = await em.query('SELECT * FROM loyalty_points WHERE external_user_id = ? AND reference = ?', [ext, reference]);
    return rows[0] ? toEntry(rows[0]) : null;
  }

  /** The entries of these references that exist, per customer and reference (`ext\u0000reference`). */
  async existingReferencesInTx(em: EntityManager, keys: { externalUserId: string; reference: string }[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < keys.length; i += 400) {
      const part = keys.slice(i, i + 400);
      const rows: { external_user_id: string; reference: string }[] = await em.query(
        `SELECT external_user_id, reference FROM loyalty_points WHERE reference IN (${placeholders(part.length)}) AND external_user_id IN (${placeholders(part.length)})`,
        [...part.map((k) => k.reference), ...part.map((k) => k.externalUserId)],
      );
      for (const r of rows) out.add(`${r.external_user_id}\u0000${r.reference}`);
    }
    return out;
  }

  /**
   * Append one entry and move the balance by its points, in the caller's transaction, the account locked. A negative
   * entry that would take the balance below zero writes nothing and returns false.
   */
  async appendInTx(em: EntityManager, e: NewPointEntry, now: number): Promise<boolean> {
    const moved = await execIn(em, 'UPDATE loyalty_accounts SET balance = balance + ?, updated_at = ? WHERE external_user_id = ? AND balance + ? >= 0', [e.points, now, e.externalUserId, e.points]);
    if (moved === 0) return false;
    await em.query(
      'INSERT INTO loyalty_points (external_user_id, kind, reason, reference, points, created_at, expires_at, actor, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [e.externalUserId, e.kind, e.reason, e.reference, e.points, now, e.expiresAt?.getTime() ?? null, e.actor, e.note ?? null],
    );
    return true;
  }

  /** Positive points due by `cutoff` and points used so far (docs/loyalty.md §Expiry: oldest points first). */
  async expiryFiguresInTx(em: EntityManager, ext: string, cutoff: number): Promise<ExpiryFigures> {
    const [r]: { due: Num | null; used: Num | null }[] = await em.query(
      `SELECT SUM(CASE WHEN points > 0 AND expires_at IS NOT NULL AND expires_at <= ? THEN points ELSE 0 END) AS due,
              SUM(CASE WHEN points < 0 THEN -points ELSE 0 END) AS used
         FROM loyalty_points WHERE external_user_id = ?`,
      [cutoff, ext],
    );
    return { due: Number(r?.due ?? 0), used: Number(r?.used ?? 0) };
  }

  /** The same figures outside a transaction (the customer's page: what expires next). */
  async expiryFigures(ext: string, cutoff: number): Promise<ExpiryFigures> {
    return this.db.run((em) => this.expiryFiguresInTx(em, ext, cutoff));
  }

  /** The earliest expiry after `after` among the customer's positive entries, or null. */
  async nextExpiry(ext: string, after: number): Promise<number | null> {
    const [r] = await this.db.query<{ at: Num | null }>('SELECT MIN(expires_at) AS at FROM loyalty_points WHERE external_user_id = ? AND points > 0 AND expires_at > ?', [ext, after]);
    return r?.at === null || r?.at === undefined ? null : Number(r.at);
  }

  /** A page of customers with a positive balance and points due by `cutoff`, after `afterId`, in id order. */
  async customersWithDuePoints(cutoff: number, afterId: string, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT DISTINCT p.external_user_id AS id FROM loyalty_points p JOIN loyalty_accounts a ON a.external_user_id = p.external_user_id
        WHERE p.expires_at <= ? AND p.points > 0 AND a.balance > 0 AND p.external_user_id > ? ORDER BY p.external_user_id LIMIT ?`,
      [cutoff, afterId, limit],
    );
    return rows.map((r) => r.id);
  }

  /** The newest entries of a customer. */
  async recent(ext: string, limit: number): Promise<PointEntry[]> {
    const rows = await this.db.query<EntryRow>('SELECT * FROM loyalty_points WHERE external_user_id = ? ORDER BY id DESC LIMIT ?', [ext, limit]);
    return rows.map(toEntry);
  }

  /** A page of the accounts, in id order (the nightly tier pass). */
  async accountsPage(afterId: string, limit: number): Promise<LoyaltyAccount[]> {
    const rows = await this.db.query<AccountRow>('SELECT * FROM loyalty_accounts WHERE external_user_id > ? ORDER BY external_user_id LIMIT ?', [afterId, limit]);
    return rows.map(toAccount);
  }

  /** Customers without an account whose spend in the window reaches `minCents` (tiers by spend: a first tier). */
  async customersWithSpendWithoutAccount(since: number, minCents: number, afterId: string, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT o.external_user_id AS id FROM orders o
        WHERE o.ordered_at >= ? AND o.external_user_id > ?
          AND NOT EXISTS (SELECT 1 FROM loyalty_accounts a WHERE a.external_user_id = o.external_user_id)
        GROUP BY o.external_user_id HAVING SUM(o.amount_cents) >= ? ORDER BY o.external_user_id LIMIT ?`,
      [since, afterId, minCents, limit],
    );
    return rows.map((r) => r.id);
  }

  /** The customer's spend (cents) on orders placed at or after `since`. */
  async spendSinceInTx(em: EntityManager, ext: string, since: number): Promise<number> {
    const [r]: { s: Num | null }[] = await em.query('SELECT COALESCE(SUM(amount_cents), 0) AS s FROM orders WHERE external_user_id = ? AND ordered_at >= ?', [ext, since]);
    return Number(r?.s ?? 0);
  }

  /** Write the tier fields of a locked account. */
  async setTierInTx(em: EntityManager, ext: string, t: { tierRank: number; tierSince: number | null; tierVersion: number; belowSince: number | null }, now: number): Promise<void> {
    await em.query('UPDATE loyalty_accounts SET tier_rank = ?, tier_since = ?, tier_version = ?, below_since = ?, updated_at = ? WHERE external_user_id = ?', [
      t.tierRank,
      t.tierSince,
      t.tierVersion,
      t.belowSince,
      now,
      ext,
    ]);
  }

  /**
   * Replace the stored tiers with the configured ones (each start): audiences read tier names from here. Instances
   * that start together on one MySQL each find the table empty and insert the same ranks; the loser's duplicate key
   * (or deadlock) is retried, and its second look finds the tiers already as configured.
   */
  async replaceTiers(tiers: readonly Tier[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.writeTiers(tiers);
      } catch (err) {
        if (attempt >= 5 || !(isDuplicateKeyError(err) || isRetryableLockError(err))) throw err;
        await new Promise((r) => setTimeout(r, 20 * attempt));
      }
    }
  }

  private async writeTiers(tiers: readonly Tier[]): Promise<void> {
    await this.db.tx(async (em) => {
      const stored: { tier_rank: Num; name: string; threshold: Num; benefits: string }[] = await em.query('SELECT tier_rank, name, threshold, benefits FROM loyalty_tiers ORDER BY tier_rank');
      const same = stored.length === tiers.length && stored.every((s, i) => s.name === tiers[i].name && Number(s.threshold) === tiers[i].threshold && s.benefits === tiers[i].benefits);
      if (same) return;
      await em.query('DELETE FROM loyalty_tiers');
      for (const [i, t] of tiers.entries()) await em.query('INSERT INTO loyalty_tiers (tier_rank, name, threshold, benefits) VALUES (?, ?, ?, ?)', [i, t.name, t.threshold, t.benefits]);
    });
  }

  /** Balance per account next to the sum of its ledger (the invariant the tests check). */
  async balancesAgainstLedger(): Promise<{ id: string; balance: number; sum: number }[]> {
    const rows = await this.db.query<{ id: string; balance: Num; s: Num | null }>(
      'SELECT a.external_user_id AS id, a.balance, (SELECT SUM(p.points) FROM loyalty_points p WHERE p.external_user_id = a.external_user_id) AS s FROM loyalty_accounts a',
    );
    return rows.map((r) => ({ id: r.id, balance: Number(r.balance), sum: Number(r.s ?? 0) }));
  }
}

/** A customer's birthday as stored (plain columns), for the birthday-month multiplier. */
export interface StoredBirthday {
  calendar: 'solar' | 'lunar';
  month: number;
  day: number;
  leapMonth: boolean;
}

/** The birthdays of these customers that are known, inside a caller's transaction. */
export async function birthdaysInTx(em: EntityManager, exts: string[]): Promise<Map<string, StoredBirthday>> {
  const out = new Map<string, StoredBirthday>();
  for (let i = 0; i < exts.length; i += 500) {
    const part = exts.slice(i, i + 500);
    const rows: { id: string; cal: string | null; m: Num | null; d: Num | null; leap: Num | null }[] = await em.query(
      `SELECT external_user_id AS id, birthday_calendar AS cal, birthday_month AS m, birthday_day AS d, birthday_leap AS leap FROM customers WHERE external_user_id IN (${placeholders(part.length)})`,
      part,
    );
    for (const r of rows) {
      if ((r.cal !== 'solar' && r.cal !== 'lunar') || r.m === null || r.d === null) continue;
      out.set(r.id, { calendar: r.cal, month: Number(r.m), day: Number(r.d), leapMonth: Number(r.leap ?? 0) === 1 });
    }
  }
  return out;
}
