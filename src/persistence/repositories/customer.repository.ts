import type { EntityManager } from 'typeorm';
import { execIn, type Db } from '../db.js';
import type { FieldCipher } from '../../shared/field-cipher.js';
import { NotFoundError } from '../../shared/errors.js';
import { IN_LIST_MAX, MAX_PARAMS, forUpdate, placeholders, slices, upsertManySql, upsertSql } from './sql-upsert.js';
import { normalizePhone, wholePhoneQuery } from '../../shared/phone.js';
import { aad } from '../sealed-columns.js';
import type { Customer, CustomerActivity, CustomerEdits, CustomerProfile } from '../../domain/customers/customer.types.js';
import type { AudienceCondition } from '../../domain/audiences/audience.types.js';

interface Row {
  external_user_id: string;
  name: string;
  avatar: string | null;
  type: number | string;
  gender: number | string;
  unionid: string | null;
  corp_name: string | null;
  corp_full_name: string | null;
  position: string | null;
  phone_enc: string | null;
  region: string | null;
  birthday_calendar: string | null;
  birthday_month: number | string | null;
  birthday_day: number | string | null;
  birthday_year: number | string | null;
  birthday_leap: number | string | boolean;
  channel_id: string | null;
  first_added_at: number | string | null;
  last_interaction_at: number | string | null;
  activity: CustomerActivity;
  stage: string | null;
  rfm: string | null;
  note: string | null;
  opted_out: number | string | boolean;
  created_at: number | string;
  updated_at: number | string;
}

const date = (v: number | string | null): Date | null => (v === null || v === undefined ? null : new Date(Number(v)));

/** Customers. Phone numbers are encrypted at rest (AAD `customers.phone|<id>`) with a blind index for lookups. */
export class CustomerRepository {
  constructor(
    private readonly db: Db,
    private readonly cipher: FieldCipher,
  ) {}

  private map(r: Row): Customer {
    return {
      externalUserId: r.external_user_id,
      name: r.name,
      avatar: r.avatar,
      type: Number(r.type),
      gender: Number(r.gender),
      unionid: r.unionid,
      corpName: r.corp_name,
      corpFullName: r.corp_full_name,
      position: r.position,
      phone: r.phone_enc ? this.cipher.decrypt(r.phone_enc, aad.customerPhone(r.external_user_id)) : null,
      region: r.region,
      birthday:
        r.birthday_calendar && r.birthday_month !== null && r.birthday_day !== null
          ? {
              calendar: r.birthday_calendar as 'solar' | 'lunar',
              month: Number(r.birthday_month),
              day: Number(r.birthday_day),
              year: r.birthday_year === null ? null : Number(r.birthday_year),
              leapMonth: Boolean(Number(r.birthday_leap)),
            }
          : null,
      channelId: r.channel_id,
      firstAddedAt: date(r.first_added_at),
      lastInteractionAt: date(r.last_interaction_at),
      activity: r.activity,
      stage: r.stage,
      rfm: r.rfm,
      note: r.note,
      isOptedOut: Boolean(Number(r.opted_out)),
      createdAt: new Date(Number(r.created_at)),
      updatedAt: new Date(Number(r.updated_at)),
    };
  }

  /**
   * Insert or refresh the WeCom-owned profile; local fields (birthday, phone, note…) are never touched. Returns true
   * when the row was inserted. `firstAddedAt`: the earliest add among the relations being stored, kept as
   * noteAddedInTx keeps it, in the same statement (one round trip less per add).
   */
  async upsertProfileInTx(em: EntityManager, p: CustomerProfile, now: number, opts: { firstAddedAt?: number | null } = {}): Promise<boolean> {
    const firstAdded = opts.firstAddedAt ?? null;
    const exists: unknown[] = await em.query(`SELECT external_user_id FROM customers WHERE external_user_id = ?${forUpdate(this.db.engine)}`, [p.externalUserId]);
    const values = profileValues(p);
    if (exists.length === 0) {
      await em.query(
        `INSERT INTO customers (external_user_id, name, avatar, type, gender, unionid, corp_name, corp_full_name, position,
           activity, profile_synced_at, created_at, updated_at, first_added_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
        [p.externalUserId, ...values, 'active', now, now, now, firstAdded],
      );
      return true;
    }
    await em.query(
      `UPDATE customers SET name = ?, avatar = ?, type = ?, gender = ?, unionid = ?, corp_name = ?, corp_full_name = ?, position = ?,
         profile_synced_at = ?, updated_at = ?${firstAdded === null ? '' : ', first_added_at = CASE WHEN first_added_at IS NULL OR first_added_at > ? THEN ? ELSE first_added_at END'}
       WHERE external_user_id = ?`,
      [...values, now, now, ...(firstAdded === null ? [] : [firstAdded, firstAdded]), p.externalUserId],
    );
    return false;
  }

  /**
   * The full sync's page store, first read: which of these customers exist, with their activity and first add,
   * locked (MySQL) in key order as lockExistingInTx locks (docs/reliability.md §Storing a page of the full sync).
   */
  async lockForPageInTx(em: EntityManager, exts: string[]): Promise<Map<string, { activity: CustomerActivity; firstAddedAt: number | null }>> {
    const out = new Map<string, { activity: CustomerActivity; firstAddedAt: number | null }>();
    for (const part of slices(exts, IN_LIST_MAX)) {
      const rows: { external_user_id: string; activity: CustomerActivity; first_added_at: number | string | null }[] = await em.query(
        `SELECT external_user_id, activity, first_added_at FROM customers WHERE external_user_id IN (${placeholders(part.length)}) ORDER BY external_user_id${forUpdate(this.db.engine)}`,
        part,
      );
      for (const r of rows) out.set(r.external_user_id, { activity: r.activity, firstAddedAt: r.first_added_at === null ? null : Number(r.first_added_at) });
    }
    return out;
  }

  /**
   * The full sync's page store, the write: each customer's WeCom profile with the activity and first add the page
   * worked out from the rows lockForPageInTx read, in multi-row upserts. A new row gets created_at `now`; local
   * fields (phone, birthday, note…) are never touched, as in upsertProfileInTx.
   */
  async upsertPageInTx(em: EntityManager, rows: { profile: CustomerProfile; activity: CustomerActivity; firstAddedAt: number | null }[], now: number): Promise<void> {
    const cols = ['external_user_id', 'name', 'avatar', 'type', 'gender', 'unionid', 'corp_name', 'corp_full_name', 'position', 'activity', 'first_added_at', 'profile_synced_at', 'created_at', 'updated_at'];
    const update = cols.filter((c) => c !== 'external_user_id' && c !== 'created_at');
    for (const part of slices(rows, Math.floor(MAX_PARAMS / cols.length))) {
      await em.query(
        upsertManySql(this.db.engine, 'customers', cols, ['external_user_id'], update, part.length),
        part.flatMap((r) => [r.profile.externalUserId, ...profileValues(r.profile), r.activity, r.firstAddedAt, now, now, now]),
      );
    }
  }

  /** Make sure a row exists (a KF customer may message before any profile is known); one statement either way. */
  async ensureInTx(em: EntityManager, ext: string, now: number): Promise<void> {
    await em.query(upsertSql(this.db.engine, 'customers', ['external_user_id', 'activity', 'created_at', 'updated_at'], ['external_user_id'], []), [ext, 'active', now, now]);
  }

  /** Keep the earliest known add time (anniversaries count from the first add). */
  async noteAddedInTx(em: EntityManager, ext: string, addedAt: number): Promise<void> {
    await em.query('UPDATE customers SET first_added_at = ? WHERE external_user_id = ? AND (first_added_at IS NULL OR first_added_at > ?)', [addedAt, ext, addedAt]);
  }

  /** Record the channel the customer first came through; a later channel does not overwrite the source. */
  async setChannelIfUnsetInTx(em: EntityManager, ext: string, channelId: string, now: number): Promise<void> {
    await em.query('UPDATE customers SET channel_id = ?, updated_at = ? WHERE external_user_id = ? AND channel_id IS NULL', [channelId, now, ext]);
  }

  /** Record a marketing opt-out (or its withdrawal); true when the flag changed. */
  async setOptedOutInTx(em: EntityManager, ext: string, isOptedOut: boolean, now: number): Promise<boolean> {
    return (await execIn(em, 'UPDATE customers SET opted_out = ?, updated_at = ? WHERE external_user_id = ? AND opted_out <> ?', [isOptedOut ? 1 : 0, now, ext, isOptedOut ? 1 : 0])) > 0;
  }

  /** Move last_interaction_at forward (never back: events may arrive out of order). */
  async touchInteractionInTx(em: EntityManager, ext: string, at: number): Promise<void> {
    await em.query(
      "UPDATE customers SET last_interaction_at = ?, activity = CASE WHEN activity = 'dormant' THEN 'active' ELSE activity END WHERE external_user_id = ? AND (last_interaction_at IS NULL OR last_interaction_at < ?)",
      [at, ext, at],
    );
  }

  /**
   * Lock the customer row (MySQL) inside a caller's transaction before touching their relations: the archive writes
   * the customer first and then the relations, so a writer taking the same order cannot deadlock with it.
   */
  async lockInTx(em: EntityManager, ext: string): Promise<void> {
    await em.query(`SELECT external_user_id FROM customers WHERE external_user_id = ?${forUpdate(this.db.engine)}`, [ext]);
  }

  /** Set activity to churned when no active relation is left, back to active when one is (nextActivity in domain/customers/pair-page.ts folds the same rule over a page). */
  async refreshActivityInTx(em: EntityManager, ext: string, now: number): Promise<CustomerActivity | null> {
    const [row] = (await em.query(
      "SELECT c.activity AS activity, (SELECT COUNT(*) FROM follow_relations r WHERE r.external_user_id = c.external_user_id AND r.status = 'active') AS n FROM customers c WHERE c.external_user_id = ?",
      [ext],
    )) as { activity: CustomerActivity; n: number | string }[];
    if (!row) return null;
    const next: CustomerActivity = Number(row.n) === 0 ? 'churned' : row.activity === 'churned' ? 'active' : row.activity;
    if (next !== row.activity) await em.query('UPDATE customers SET activity = ?, updated_at = ? WHERE external_user_id = ?', [next, now, ext]);
    return next;
  }

  /** The customer or null. */
  async find(ext: string): Promise<Customer | null> {
    const rows = await this.db.query<Row>('SELECT * FROM customers WHERE external_user_id = ?', [ext]);
    return rows[0] ? this.map(rows[0]) : null;
  }

  /** The customer or NotFoundError. */
  async get(ext: string): Promise<Customer> {
    const c = await this.find(ext);
    if (!c) throw new NotFoundError('客户不存在', 'customer_not_found');
    return c;
  }

  /** Several customers by id, in no particular order. */
  async findMany(exts: string[]): Promise<Customer[]> {
    if (exts.length === 0) return [];
    const rows = await this.db.query<Row>(`SELECT * FROM customers WHERE external_user_id IN (${exts.map(() => '?').join(',')})`, exts);
    return rows.map((r) => this.map(r));
  }

  /**
   * Lock these customers' rows for the rest of a caller's transaction (MySQL; SQLite has one writer) and return which
   * of them exist. Rows are locked in key order, so two writers locking overlapping sets take turns instead of
   * deadlocking. Order writers lock the customers whose stored totals they recompute
   * (docs/audiences.md §Order totals on the customer). Ids are compared exactly: MySQL's collation would also match an id differing only in case,
   * which SQLite would not, so the engines agree only if the caller trusts the stored spelling alone.
   */
  async lockExistingInTx(em: EntityManager, exts: string[]): Promise<Set<string>> {
    if (exts.length === 0) return new Set();
    const rows: { external_user_id: string }[] = await em.query(
      `SELECT external_user_id FROM customers WHERE external_user_id IN (${exts.map(() => '?').join(',')}) ORDER BY external_user_id${forUpdate(this.db.engine)}`,
      exts,
    );
    const wanted = new Set(exts);
    return new Set(rows.map((r) => r.external_user_id).filter((id) => wanted.has(id)));
  }

  /** Apply operator edits. The phone is encrypted and blind-indexed; a null clears it. */
  async applyEdits(ext: string, e: CustomerEdits, now: number): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    if (e.birthday !== undefined) {
      sets.push('birthday_calendar = ?', 'birthday_month = ?', 'birthday_day = ?', 'birthday_year = ?', 'birthday_leap = ?');
      const b = e.birthday;
      params.push(b?.calendar ?? null, b?.month ?? null, b?.day ?? null, b?.year ?? null, b?.leapMonth ? 1 : 0);
    }
    if (e.phone !== undefined) {
      sets.push('phone_enc = ?', 'phone_index = ?');
      params.push(
        e.phone ? this.cipher.encrypt(e.phone, aad.customerPhone(ext)) : null,
        e.phone ? this.cipher.blindIndex(normalizePhone(e.phone)) : null,
      );
    }
    if (e.note !== undefined) sets.push('note = ?'), params.push(e.note);
    if (e.region !== undefined) sets.push('region = ?'), params.push(e.region);
    if (sets.length === 0) return;
    sets.push('updated_at = ?');
    params.push(now, ext);
    await this.db.query(`UPDATE customers SET ${sets.join(', ')} WHERE external_user_id = ?`, params);
  }

  /** An audience WHERE fragment over `customers c`, narrowed to the customers a staff member actively follows. */
  followedBy(where: AudienceCondition, userid: string): AudienceCondition {
    const followed = "EXISTS (SELECT 1 FROM follow_relations sv WHERE sv.external_user_id = c.external_user_id AND sv.userid = ? AND sv.status = 'active')";
    return {
      sql: `(${where.sql}) AND ${followed}`,
      params: [...where.params, userid],
      // Reads only c.external_user_id, so the count keeps its covering lookups.
      ...(where.count ? { count: { from: where.count.from, where: `(${where.count.where}) AND ${followed}`, params: [...where.count.params, userid] } } : {}),
      ...(where.narrowed ? { narrowed: { from: where.narrowed.from, where: `(${where.narrowed.where}) AND ${followed}`, params: [...where.narrowed.params, userid] } } : {}),
    };
  }

  /**
   * How many customers match a WHERE fragment over `customers c` (an API read, docs/security.md §Audience queries),
   * in the fragment's count shape when it has one (docs/audiences.md §Counting from the tags first).
   */
  async countWhere(where: AudienceCondition): Promise<number> {
    const sql = where.count ? `SELECT COUNT(*) AS n FROM ${where.count.from} WHERE ${where.count.where}` : `SELECT COUNT(*) AS n FROM customers c WHERE ${where.sql}`;
    const [{ n }] = await this.db.apiRead<{ n: number | string }>(sql, where.count ? where.count.params : where.params);
    return Number(n);
  }

  /** The ids of the customers matching the fragment, in id order, at most `limit` (an API read). */
  async idsWhere(where: AudienceCondition, limit: number): Promise<string[]> {
    const { from, sql, params } = narrowedFrom(where);
    const rows = await this.db.apiRead<{ id: string }>(`SELECT c.external_user_id AS id FROM ${from} WHERE ${sql} ORDER BY c.external_user_id LIMIT ?`, [...params, limit]);
    return rows.map((r) => r.id);
  }

  /** Per active follower, how many of the customers matching the fragment they follow, most first (an API read). */
  async followerCountsWhere(where: AudienceCondition): Promise<{ userid: string; count: number }[]> {
    const { from, sql, params } = narrowedFrom(where);
    const rows = await this.db.apiRead<{ userid: string; n: number | string }>(
      `SELECT fr.userid AS userid, COUNT(DISTINCT fr.external_user_id) AS n FROM ${from} JOIN follow_relations fr ON fr.external_user_id = c.external_user_id
       WHERE fr.status = 'active' AND ${sql} GROUP BY fr.userid ORDER BY n DESC, fr.userid`,
      params,
    );
    return rows.map((r) => ({ userid: r.userid, count: Number(r.n) }));
  }

  /**
   * One page of customers matching a compiled WHERE fragment (alias `c`) and its bound params, plus the total.
   * `q` searches name, remark and the phone's blind index.
   */
  async search(where: AudienceCondition, q: string | undefined, page: number, pageSize: number): Promise<{ items: Customer[]; total: number }> {
    const base = narrowedFrom(where);
    const clauses = [base.sql];
    const params = [...base.params];
    if (q) {
      // A phone matches by its whole number only, and only when q is written as one
      // (docs/security.md §Phone search). Under every configured DATA_KEY: during a key rotation some phones are still
      // indexed under the old one.
      const phone = wholePhoneQuery(q);
      const phoneIndexes = phone ? this.cipher.blindIndexes(phone) : [];
      const byPhone = phoneIndexes.length > 0 ? ` OR c.phone_index IN (${phoneIndexes.map(() => '?').join(',')})` : '';
      clauses.push(
        // '!' as the LIKE escape: a backslash means different things in SQLite and MySQL string literals.
        `(c.name LIKE ? ESCAPE '!'${byPhone} OR EXISTS (SELECT 1 FROM follow_relations fr WHERE fr.external_user_id = c.external_user_id AND fr.remark LIKE ? ESCAPE '!'))`,
      );
      const like = `%${q.replace(/[!%_]/g, (m) => `!${m}`)}%`;
      params.push(like, ...phoneIndexes, like);
    }
    const sqlWhere = clauses.join(' AND ');
    // API reads: off the event loop on SQLite, with the short API deadline on MySQL (docs/security.md §Audience queries).
    // Without a search the total is the audience's count, in its count shape (docs/audiences.md §Counting from the tags first).
    const total = q ? undefined : await this.countWhere(where);
    const [{ n }] = total !== undefined ? [{ n: total }] : await this.db.apiRead<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${base.from} WHERE ${sqlWhere}`, params);
    const rows = await this.db.apiRead<Row>(`SELECT c.* FROM ${base.from} WHERE ${sqlWhere} ORDER BY c.created_at DESC, c.external_user_id LIMIT ? OFFSET ?`, [
      ...params,
      pageSize,
      (page - 1) * pageSize,
    ]);
    return { items: rows.map((r) => this.map(r)), total: Number(n) };
  }

  /** Raw row, for the encryption test and diagnostics. */
  async rawRow(ext: string): Promise<Record<string, unknown> | null> {
    const rows = await this.db.query('SELECT * FROM customers WHERE external_user_id = ?', [ext]);
    return rows[0] ?? null;
  }

  /** Number of customers. */
  async count(): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM customers');
    return Number(n);
  }
}

/** The WeCom-owned profile columns name … position, cut to their column widths. */
function profileValues(p: CustomerProfile): unknown[] {
  return [
    p.name.slice(0, 100),
    p.avatar?.slice(0, 500) ?? null,
    p.type,
    p.gender,
    p.unionid?.slice(0, 64) ?? null,
    p.corpName?.slice(0, 100) ?? null,
    p.corpFullName?.slice(0, 200) ?? null,
    p.position?.slice(0, 100) ?? null,
  ];
}

/**
 * The audience as a FROM clause over `c` and its condition: the required tags' intersection first where the compiler
 * gave one (MySQL, docs/audiences.md §Counting from the tags first), else the customers table.
 */
function narrowedFrom(where: AudienceCondition): { from: string; sql: string; params: unknown[] } {
  return where.narrowed ? { from: where.narrowed.from, sql: where.narrowed.where, params: where.narrowed.params } : { from: 'customers c', sql: where.sql, params: where.params };
}
