import type { EntityManager } from 'typeorm';
import { LRUCache } from 'lru-cache';
import type { Db } from '../db.js';
import type { FieldCipher } from '../../shared/field-cipher.js';
import { IN_LIST_MAX, MAX_PARAMS, forUpdate, placeholders, slices, upsertManySql, upsertSql } from './sql-upsert.js';
import { aad } from '../sealed-columns.js';
import type { FollowRelation, RelationLifecycle, RelationProfile, RelationRowWrite, RelationStatus } from '../../domain/customers/follow-relation.types.js';

interface Row {
  userid: string;
  external_user_id: string;
  remark: string;
  description: string;
  remark_mobiles_enc: string | null;
  add_way: number | string;
  state: string | null;
  oper_userid: string | null;
  added_at: number | string | null;
  status: RelationStatus;
  status_changed_at: number | string | null;
  last_event_time: number | string | null;
}

const num = (v: number | string | null): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * How long a member found in `staff` is taken to be there without looking again (ensureStaffInTx). Rows leave `staff`
 * only when a member's account changes in WeCom (修改账号, StaffRenameRepository), so a member known here stays known;
 * an account changed meanwhile is seen within this time. docs/inbox.md §Statements per event
 */
const STAFF_KNOWN_MS = 5_000;

/** Follow relations. Remark mobiles are encrypted at rest, bound to their relation by AAD. */
export class FollowRelationRepository {
  private readonly knownStaff = new LRUCache<string, true>({ max: 10_000, ttl: STAFF_KNOWN_MS });

  constructor(
    private readonly db: Db,
    private readonly cipher: FieldCipher,
  ) {}

  private aad(userid: string, ext: string): string {
    return aad.remarkMobiles(userid, ext);
  }

  private map(r: Row): FollowRelation {
    return {
      userid: r.userid,
      externalUserId: r.external_user_id,
      remark: r.remark,
      description: r.description,
      remarkMobiles: r.remark_mobiles_enc ? (JSON.parse(this.cipher.decrypt(r.remark_mobiles_enc, this.aad(r.userid, r.external_user_id))) as string[]) : [],
      addWay: Number(r.add_way),
      state: r.state,
      operUserid: r.oper_userid,
      addedAt: r.added_at === null ? null : new Date(Number(r.added_at)),
      status: r.status,
      statusChangedAt: r.status_changed_at === null ? null : new Date(Number(r.status_changed_at)),
      lastEventTime: num(r.last_event_time),
    };
  }

  /** The relation, locked for update on MySQL, inside a caller's transaction. */
  async findForUpdateInTx(em: EntityManager, userid: string, ext: string): Promise<FollowRelation | null> {
    const rows: Row[] = await em.query(
      `SELECT * FROM follow_relations WHERE userid = ? AND external_user_id = ?${forUpdate(this.db.engine)}`,
      [userid, ext],
    );
    return rows[0] ? this.map(rows[0]) : null;
  }

  /**
   * Write WeCom's view of a relation. A relation the customer or staff ended stays ended unless `reactivate` (a
   * newer add event): WeCom keeps serving a one-way relation after del_follow_user
   * (docs/wecom-protocol.md §Error codes, 84061), so a re-read alone must not resurrect it. Returns the status before
   * (null: new) and after.
   */
  async upsertProfileInTx(
    em: EntityManager,
    p: RelationProfile,
    opts: { now: number; eventTime?: number | null; reactivate?: boolean; syncRunId?: string | null },
  ): Promise<{ before: RelationStatus | null; after: RelationStatus }> {
    const existing = await this.findForUpdateInTx(em, p.userid, p.externalUserId);
    const mobiles = p.remarkMobiles.length > 0 ? this.cipher.encrypt(JSON.stringify(p.remarkMobiles), this.aad(p.userid, p.externalUserId)) : null;
    const eventTime = opts.eventTime ?? null;
    if (!existing) {
      await em.query(
        `INSERT INTO follow_relations (userid, external_user_id, remark, description, remark_mobiles_enc, add_way, state, oper_userid,
           added_at, status, status_changed_at, last_event_time, last_seen_sync, created_at, updated_at)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
        [
          p.userid,
          p.externalUserId,
          p.remark.slice(0, 100),
          p.description.slice(0, 300),
          mobiles,
          p.addWay,
          p.state?.slice(0, 64) ?? null,
          p.operUserid?.slice(0, 64) ?? null,
          p.addedAt?.getTime() ?? null,
          'active',
          opts.now,
          eventTime,
          opts.syncRunId ?? null,
          opts.now,
          opts.now,
        ],
      );
      return { before: null, after: 'active' };
    }
    const isNewer = eventTime !== null && (existing.lastEventTime === null || eventTime > existing.lastEventTime);
    const after: RelationStatus = existing.status !== 'active' && opts.reactivate && isNewer ? 'active' : existing.status;
    await em.query(
      `UPDATE follow_relations SET remark = ?, description = ?, remark_mobiles_enc = ?, add_way = ?, state = ?, oper_userid = ?,
         added_at = ?, status = ?, status_changed_at = ?, last_event_time = ?, last_seen_sync = COALESCE(?, last_seen_sync), updated_at = ?
       WHERE userid = ? AND external_user_id = ?`,
      [
        p.remark.slice(0, 100),
        p.description.slice(0, 300),
        mobiles,
        p.addWay,
        p.state?.slice(0, 64) ?? existing.state,
        p.operUserid?.slice(0, 64) ?? existing.operUserid,
        p.addedAt?.getTime() ?? existing.addedAt?.getTime() ?? null,
        after,
        after !== existing.status ? opts.now : (existing.statusChangedAt?.getTime() ?? null),
        isNewer ? eventTime : existing.lastEventTime,
        opts.syncRunId ?? null,
        opts.now,
        p.userid,
        p.externalUserId,
      ],
    );
    return { before: existing.status, after };
  }

  /**
   * The full sync's page store: every relation of these customers, locked on MySQL after their customer rows
   * (the order the archive always takes), with what the page folds over (docs/reliability.md §Storing a page of the full sync).
   */
  async lockOfCustomersInTx(em: EntityManager, exts: string[]): Promise<RelationLifecycle[]> {
    const out: RelationLifecycle[] = [];
    for (const part of slices(exts, IN_LIST_MAX)) {
      const rows: Omit<Row, 'remark' | 'description' | 'remark_mobiles_enc' | 'add_way'>[] = await em.query(
        `SELECT userid, external_user_id, state, oper_userid, added_at, status, status_changed_at, last_event_time FROM follow_relations
         WHERE external_user_id IN (${placeholders(part.length)}) ORDER BY external_user_id, userid${forUpdate(this.db.engine)}`,
        part,
      );
      for (const r of rows) {
        out.push({
          userid: r.userid,
          externalUserId: r.external_user_id,
          state: r.state,
          operUserid: r.oper_userid,
          addedAt: num(r.added_at),
          status: r.status,
          statusChangedAt: num(r.status_changed_at),
          lastEventTime: num(r.last_event_time),
        });
      }
    }
    return out;
  }

  /**
   * The full sync's page store: write relations whole, as the page worked them out from lockOfCustomersInTx's rows,
   * in multi-row upserts (a new row takes `createdAt`, an existing one keeps its own). Remark mobiles are encrypted
   * here as upsertProfileInTx encrypts them.
   */
  async upsertManyInTx(em: EntityManager, rows: RelationRowWrite[]): Promise<void> {
    const cols = ['userid', 'external_user_id', 'remark', 'description', 'remark_mobiles_enc', 'add_way', 'state', 'oper_userid', 'added_at', 'status', 'status_changed_at', 'last_event_time', 'last_seen_sync', 'created_at', 'updated_at'];
    const update = cols.filter((c) => c !== 'userid' && c !== 'external_user_id' && c !== 'created_at');
    for (const part of slices(rows, Math.floor(MAX_PARAMS / cols.length))) {
      await em.query(
        upsertManySql(this.db.engine, 'follow_relations', cols, ['userid', 'external_user_id'], update, part.length),
        part.flatMap((r) => [
          r.userid,
          r.externalUserId,
          r.remark.slice(0, 100),
          r.description.slice(0, 300),
          r.remarkMobiles.length > 0 ? this.cipher.encrypt(JSON.stringify(r.remarkMobiles), this.aad(r.userid, r.externalUserId)) : null,
          r.addWay,
          r.state?.slice(0, 64) ?? null,
          r.operUserid?.slice(0, 64) ?? null,
          r.addedAt?.getTime() ?? null,
          r.status,
          r.statusChangedAt,
          r.lastEventTime,
          r.lastSeenSync,
          r.createdAt,
          r.updatedAt,
        ]),
      );
    }
  }

  /**
   * Apply a status change from an event, unless a newer event already touched the relation (stale CreateTime).
   * Creates a bare row when the relation was never seen. Returns the previous status and whether it changed.
   */
  async setStatusInTx(
    em: EntityManager,
    userid: string,
    ext: string,
    status: RelationStatus,
    eventTime: number | null,
    now: number,
  ): Promise<{ applied: boolean; isStale: boolean; before: RelationStatus | null; relation: FollowRelation | null }> {
    const existing = await this.findForUpdateInTx(em, userid, ext);
    if (!existing) {
      await em.query(
        `INSERT INTO follow_relations (userid, external_user_id, add_way, status, status_changed_at, last_event_time, created_at, updated_at)
         VALUES (?,?,?,?,?,?,?,?)`,
        [userid, ext, 0, status, now, eventTime, now, now],
      );
      return { applied: true, isStale: false, before: null, relation: null };
    }
    if (eventTime !== null && existing.lastEventTime !== null && eventTime < existing.lastEventTime) {
      return { applied: false, isStale: true, before: existing.status, relation: existing };
    }
    const changed = existing.status !== status;
    await em.query(
      'UPDATE follow_relations SET status = ?, status_changed_at = ?, last_event_time = ?, updated_at = ? WHERE userid = ? AND external_user_id = ?',
      [
        status,
        changed ? now : (existing.statusChangedAt?.getTime() ?? now),
        eventTime ?? existing.lastEventTime,
        now,
        userid,
        ext,
      ],
    );
    return { applied: changed, isStale: false, before: existing.status, relation: existing };
  }

  /** Every relation of a customer, oldest first. */
  async listForCustomer(ext: string): Promise<FollowRelation[]> {
    const rows = await this.db.query<Row>('SELECT * FROM follow_relations WHERE external_user_id = ? ORDER BY added_at, id', [ext]);
    return rows.map((r) => this.map(r));
  }

  /** userids with an active relation to the customer. */
  async activeUserids(ext: string, em?: EntityManager): Promise<string[]> {
    const sql = "SELECT userid FROM follow_relations WHERE external_user_id = ? AND status = 'active' ORDER BY id";
    const rows: { userid: string }[] = em ? await em.query(sql, [ext]) : await this.db.query(sql, [ext]);
    return rows.map((r) => r.userid);
  }

  /** Active owners per customer, for list pages. */
  async activeOwnersOf(exts: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (exts.length === 0) return out;
    const rows = await this.db.query<{ userid: string; external_user_id: string }>(
      `SELECT userid, external_user_id FROM follow_relations WHERE status = 'active' AND external_user_id IN (${placeholders(exts.length)}) ORDER BY id`,
      exts,
    );
    for (const r of rows) out.set(r.external_user_id, [...(out.get(r.external_user_id) ?? []), r.userid]);
    return out;
  }

  /** Whether a staff member follows (or followed) the customer: staff principals may see only these. */
  async isFollowedBy(ext: string, userid: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 AS x FROM follow_relations WHERE external_user_id = ? AND userid = ? AND status = ? LIMIT 1', [ext, userid, 'active']);
    return rows.length > 0;
  }

  /**
   * Relations of `userids` still active locally that a completed sync run did not see in WeCom: they vanished
   * while the bot was not listening. Returned, then marked by the caller.
   */
  async findVanished(runId: string, userids: string[]): Promise<{ userid: string; externalUserId: string }[]> {
    if (userids.length === 0) return [];
    const rows = await this.db.query<{ userid: string; external_user_id: string }>(
      `SELECT userid, external_user_id FROM follow_relations
       WHERE status = 'active' AND (last_seen_sync IS NULL OR last_seen_sync <> ?) AND userid IN (${placeholders(userids.length)})`,
      [runId, ...userids],
    );
    return rows.map((r) => ({ userid: r.userid, externalUserId: r.external_user_id }));
  }

  /** Count relations by status, for sync reports and tests. */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db.query<{ status: string; n: number | string }>('SELECT status, COUNT(*) AS n FROM follow_relations GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /**
   * Insert a staff member seen in a relation if the bot does not know them yet. Reads first: on MySQL an
   * `INSERT … ON DUPLICATE KEY UPDATE` of an existing row takes its exclusive lock until commit, and every add
   * for one staff member (a popular channel code) would queue behind it.
   */
  async ensureStaffInTx(em: EntityManager, userid: string, now: number): Promise<void> {
    // A member found here is not looked for again for STAFF_KNOWN_MS: every add asks, for a handful of members. One
    // this transaction inserts is not remembered, as the transaction may still roll back.
    if (this.knownStaff.has(userid)) return;
    if ((await em.query('SELECT 1 AS x FROM staff WHERE userid = ?', [userid])).length > 0) {
      this.knownStaff.set(userid, true);
      return;
    }
    await em.query(upsertSql(this.db.engine, 'staff', ['userid', 'name', 'status', 'updated_at'], ['userid'], []), [userid, '', 'active', now]);
  }

  /** ensureStaffInTx for several staff members: one read, then one insert of those the bot does not know. */
  async ensureStaffManyInTx(em: EntityManager, userids: string[], now: number): Promise<void> {
    const known = new Set<string>();
    for (const part of slices([...new Set(userids)], IN_LIST_MAX)) {
      const rows: { userid: string }[] = await em.query(`SELECT userid FROM staff WHERE userid IN (${placeholders(part.length)})`, part);
      for (const r of rows) known.add(r.userid);
    }
    const missing = [...new Set(userids)].filter((u) => !known.has(u));
    for (const part of slices(missing, Math.floor(MAX_PARAMS / 4))) {
      await em.query(upsertManySql(this.db.engine, 'staff', ['userid', 'name', 'status', 'updated_at'], ['userid'], [], part.length), part.flatMap((u) => [u, '', 'active', now]));
    }
  }
}
