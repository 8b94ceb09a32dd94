import type { Db } from '../db.js';
import type { Birthday } from '../../domain/care/occasion.types.js';
import type { DueNote, Recipient, ScannedCustomer, Sender, SqlCondition } from '../../domain/care/care-scan.types.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import { sqlByCount } from './sql-by-count.js';

interface Row {
  external_user_id: string;
  name: string;
  birthday_calendar: string | null;
  birthday_month: number | string | null;
  birthday_day: number | string | null;
  birthday_year: number | string | null;
  birthday_leap: number | string | boolean | null;
  first_added_at: number | string | null;
  last_interaction_at: number | string | null;
  activity: string;
  opted_out: number | string | boolean | null;
}

const COLS =
  'c.external_user_id, c.name, c.birthday_calendar, c.birthday_month, c.birthday_day, c.birthday_year, c.birthday_leap, c.first_added_at, c.last_interaction_at, c.activity, c.opted_out';

const truthy = (v: unknown) => v === true || v === 1 || v === '1';

function toScanned(r: Row): ScannedCustomer {
  const cal = r.birthday_calendar;
  const birthday: Birthday | null =
    (cal === 'solar' || cal === 'lunar') && r.birthday_month !== null && r.birthday_day !== null
      ? {
          calendar: cal as 'solar' | 'lunar',
          month: Number(r.birthday_month),
          day: Number(r.birthday_day),
          ...(r.birthday_year !== null ? { year: Number(r.birthday_year) } : {}),
          leapMonth: truthy(r.birthday_leap),
        }
      : null;
  return {
    externalUserId: r.external_user_id,
    name: r.name,
    birthday,
    firstAddedAt: r.first_added_at === null ? null : new Date(Number(r.first_added_at)),
    lastInteractionAt: r.last_interaction_at === null ? null : new Date(Number(r.last_interaction_at)),
    activity: r.activity,
    isOptedOut: truthy(r.opted_out),
  };
}

const marks = (n: number) => Array(n).fill('?').join(',');
// Built once per count: every page of a planning run asks for the senders of as many customers (sql-by-count.ts).
const sendersSql = sqlByCount(
  (n) => `SELECT r.external_user_id, r.userid, r.added_at, s.name FROM follow_relations r LEFT JOIN staff s ON s.userid = r.userid
       WHERE r.status = 'active' AND r.external_user_id IN (${marks(n)})`,
);

/**
 * Keyset pages on the customer id: each page starts after the last id of the one before, and the event loop gets a
 * turn before every page (docs/inbox.md §Long jobs share the loop).
 */
async function* keyset<T extends { externalUserId: string }>(page: (afterId: string) => Promise<T[]>, pageSize: number): AsyncGenerator<T[]> {
  let after = '';
  for (;;) {
    await yieldToEventLoop();
    const rows = await page(after);
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1].externalUserId;
    if (rows.length < pageSize) return;
  }
}

/**
 * The WHERE fragments over `customers c` that the care and win-back planners combine with a compiled audience;
 * CareScanRepository.page ANDs them.
 */
export const scanWhere = {
  /** Customers who did not opt out of messages. */
  notOptedOut: (): SqlCondition => ({ sql: 'c.opted_out = 0', params: [] }),
  /** Customers whose activity is `dormant`. */
  dormant: (): SqlCondition => ({ sql: "c.activity = 'dormant'", params: [] }),
  /** Customers who are 高风险 now (churn_risk.high_since set by the nightly pass, docs/churn.md §Warnings). */
  atRisk: (): SqlCondition => ({ sql: 'c.external_user_id IN (SELECT cr.external_user_id FROM churn_risk cr WHERE cr.high_since IS NOT NULL)', params: [] }),
  /** No interaction recorded after the add itself. */
  silentSinceAdded: (): SqlCondition => ({ sql: '(c.last_interaction_at IS NULL OR c.last_interaction_at <= c.first_added_at)', params: [] }),
  /** First added in [fromMs, toMs). */
  addedBetween: (fromMs: number, toMs: number): SqlCondition => ({ sql: 'c.first_added_at >= ? AND c.first_added_at < ?', params: [fromMs, toMs] }),
  /**
   * First added in any of the [fromMs, toMs) windows, as a subquery over ix_customers_first_added: the same rows as
   * anyOf(addedBetween…), but the windows are looked up in the index instead of tested on every row of the keyset
   * scan (50 yearly anniversaries made that a full scan, 39 ms a day at 20,000 customers on SQLite).
   */
  addedInAny: (windows: readonly { fromMs: number; toMs: number }[]): SqlCondition => ({
    sql: `c.external_user_id IN (SELECT a.external_user_id FROM customers a WHERE ${windows.map(() => '(a.first_added_at >= ? AND a.first_added_at < ?)').join(' OR ')})`,
    params: windows.flatMap((w) => [w.fromMs, w.toMs]),
  }),
  /** A predicted next order (repurchase_predictions) on a local date in [from, to], through ix_repurchase_due. */
  repurchaseDueBetween: (from: string, to: string): SqlCondition => ({
    sql: 'c.external_user_id IN (SELECT rp.external_user_id FROM repurchase_predictions rp WHERE rp.due_on >= ? AND rp.due_on <= ?)',
    params: [from, to],
  }),
  /** Customers with at least one active follow relation: the ones a sender can be chosen for (sendersOf). */
  hasSender: (): SqlCondition => ({ sql: "EXISTS (SELECT 1 FROM follow_relations r WHERE r.external_user_id = c.external_user_id AND r.status = 'active')", params: [] }),
  /** Customers among `ids` (a page's worth at most). */
  idsIn: (ids: readonly string[]): SqlCondition => ({ sql: ids.length ? `c.external_user_id IN (${marks(ids.length)})` : '1 = 0', params: [...ids] }),
  /** Customers from `id` on, in key order (a keyset scan that starts at a given customer). */
  fromId: (id: string): SqlCondition => ({ sql: 'c.external_user_id >= ?', params: [id] }),
  /** Any of the conditions. */
  anyOf: (conds: readonly SqlCondition[]): SqlCondition => ({ sql: conds.map((w) => `(${w.sql})`).join(' OR '), params: conds.flatMap((w) => w.params) }),
  /** A solar birthday on one of `solar.days` of its month, or a lunar one on one of `lunar.days`. */
  birthdayOn: (solar: { month: number; days: readonly number[] }, lunar: { month: number; days: readonly number[] }): SqlCondition => ({
    sql:
      `(c.birthday_calendar = 'solar' AND c.birthday_month = ? AND c.birthday_day IN (${marks(solar.days.length)}))` +
      ` OR (c.birthday_calendar = 'lunar' AND c.birthday_month = ? AND c.birthday_day IN (${marks(lunar.days.length)}))`,
    params: [solar.month, ...solar.days, lunar.month, ...lunar.days],
  }),
};

/**
 * Read-only queries over the customer archive's tables for care planning, win-back and send-time checks.
 * Every scan is keyset-paged on the primary key, so memory stays flat whatever the number of customers.
 *
 * The counts over a whole audience (`reachCounts`, `countOf`, `idAt`, `longNamed`, `ids`) serve the care calendar,
 * which an operator asks through the API: they are API reads, on SQLite's reader thread and under the API deadline
 * on MySQL (docs/care.md §Counts off the event loop).
 */
export class CareScanRepository {
  constructor(private readonly db: Db) {}

  /** One page of customers after `afterId` matching every condition, in key order. */
  async page(conditions: SqlCondition[], afterId: string, limit: number): Promise<ScannedCustomer[]> {
    const where = ['c.external_user_id > ?', ...conditions.map((c) => `(${c.sql})`)];
    const params = [afterId, ...conditions.flatMap((c) => c.params), limit];
    const rows = await this.db.query<Row>(`SELECT ${COLS} FROM customers c WHERE ${where.join(' AND ')} ORDER BY c.external_user_id LIMIT ?`, params);
    return rows.map(toScanned);
  }

  /**
   * How many customers match, and of them how many opted out, how many have no active follow relation (no sender:
   * among those who did not opt out when `customerFacing`), and how many have a name longer than `nameBytesOver`
   * bytes (null: not counted). One scan of the matching customers, in SQL (docs/care.md §The care calendar). An API
   * read, like the four below.
   */
  async reachCounts(conditions: SqlCondition[], opts: { customerFacing: boolean; nameBytesOver: number | null }): Promise<{ total: number; optedOut: number; noSender: number; longNames: number }> {
    const where = conditions.length ? conditions.map((c) => `(${c.sql})`).join(' AND ') : '1 = 1';
    const nameBytes = this.db.engine === 'sqlite' ? 'length(CAST(c.name AS BLOB))' : 'LENGTH(c.name)';
    const live = opts.customerFacing ? 'c.opted_out = 0 AND ' : '';
    const sql =
      'SELECT COUNT(*) AS total, ' +
      `SUM(CASE WHEN c.opted_out = 1 THEN 1 ELSE 0 END) AS opted, ` +
      `SUM(CASE WHEN ${live}NOT ${scanWhere.hasSender().sql} THEN 1 ELSE 0 END) AS no_sender, ` +
      `SUM(CASE WHEN ${opts.nameBytesOver === null ? '1 = 0' : `${nameBytes} > ?`} THEN 1 ELSE 0 END) AS long_names ` +
      `FROM customers c WHERE ${where}`;
    const params = [...(opts.nameBytesOver === null ? [] : [opts.nameBytesOver]), ...conditions.flatMap((c) => c.params)];
    const [r] = await this.db.apiRead<{ total: number | string; opted: number | string | null; no_sender: number | string | null; long_names: number | string | null }>(sql, params);
    return { total: Number(r.total), optedOut: opts.customerFacing ? Number(r.opted ?? 0) : 0, noSender: Number(r.no_sender ?? 0), longNames: Number(r.long_names ?? 0) };
  }

  /** How many customers match. */
  async countOf(conditions: SqlCondition[]): Promise<number> {
    const where = conditions.length ? conditions.map((c) => `(${c.sql})`).join(' AND ') : '1 = 1';
    const [r] = await this.db.apiRead<{ n: number | string }>(`SELECT COUNT(*) AS n FROM customers c WHERE ${where}`, conditions.flatMap((c) => c.params));
    return Number(r.n);
  }

  /** The ids of the matching customers whose name is longer than `bytes` bytes. */
  async longNamed(conditions: SqlCondition[], bytes: number): Promise<string[]> {
    const nameBytes = this.db.engine === 'sqlite' ? 'length(CAST(c.name AS BLOB))' : 'LENGTH(c.name)';
    const where = [`${nameBytes} > ?`, ...conditions.map((c) => `(${c.sql})`)];
    const rows = await this.db.apiRead<{ external_user_id: string }>(`SELECT c.external_user_id FROM customers c WHERE ${where.join(' AND ')}`, [bytes, ...conditions.flatMap((c) => c.params)]);
    return rows.map((r) => r.external_user_id);
  }

  /** The id of the matching customer at 0-based position `offset` in key order, or null past the end. */
  async idAt(conditions: SqlCondition[], offset: number): Promise<string | null> {
    const where = conditions.length ? conditions.map((c) => `(${c.sql})`).join(' AND ') : '1 = 1';
    const rows = await this.db.apiRead<{ external_user_id: string }>(`SELECT c.external_user_id FROM customers c WHERE ${where} ORDER BY c.external_user_id LIMIT 1 OFFSET ?`, [...conditions.flatMap((c) => c.params), offset]);
    return rows[0]?.external_user_id ?? null;
  }

  /** Stream the ids of every matching customer page by page (nothing else read), each page an API read. */
  ids(conditions: SqlCondition[], pageSize: number): AsyncGenerator<{ externalUserId: string }[]> {
    return keyset(async (after) => {
      const where = ['c.external_user_id > ?', ...conditions.map((c) => `(${c.sql})`)];
      const rows = await this.db.apiRead<{ external_user_id: string }>(`SELECT c.external_user_id FROM customers c WHERE ${where.join(' AND ')} ORDER BY c.external_user_id LIMIT ?`, [after, ...conditions.flatMap((c) => c.params), pageSize]);
      return rows.map((r) => ({ externalUserId: r.external_user_id }));
    }, pageSize);
  }

  /**
   * The most bytes a sender's name can take in a message: a staff member's name, or their userid when the name is
   * empty or the member is not in the staff table (sendersOf); WeCom userids are at most 64 characters.
   */
  async longestSenderNameBytes(): Promise<number> {
    const len = (x: string) => (this.db.engine === 'sqlite' ? `length(CAST(${x} AS BLOB))` : `LENGTH(${x})`);
    const [r] = await this.db.query<{ m: number | string | null }>(`SELECT MAX(CASE WHEN ${len('name')} > ${len('userid')} THEN ${len('name')} ELSE ${len('userid')} END) AS m FROM staff`);
    return Math.max(Number(r?.m ?? 0), 64 * 4);
  }

  /** Stream every matching customer page by page. */
  stream(conditions: SqlCondition[], pageSize: number): AsyncGenerator<ScannedCustomer[]> {
    return keyset((after) => this.page(conditions, after, pageSize), pageSize);
  }

  /**
   * Stream every matching customer page by page as a broadcast addresses them: three columns instead of the eleven
   * care planning reads, and no birthday or dates built per customer (docs/audiences.md §Planning a broadcast).
   */
  recipients(conditions: SqlCondition[], pageSize: number): AsyncGenerator<Recipient[]> {
    return keyset(async (after) => {
      const where = ['c.external_user_id > ?', ...conditions.map((c) => `(${c.sql})`)];
      const rows = await this.db.query<{ external_user_id: string; name: string; opted_out: Row['opted_out'] }>(
        `SELECT c.external_user_id, c.name, c.opted_out FROM customers c WHERE ${where.join(' AND ')} ORDER BY c.external_user_id LIMIT ?`,
        [after, ...conditions.flatMap((c) => c.params), pageSize],
      );
      return rows.map((r) => ({ externalUserId: r.external_user_id, name: r.name, isOptedOut: truthy(r.opted_out) }));
    }, pageSize);
  }

  /**
   * The sender of each customer: among active follow relations, the most recently added one ('latest', which
   * approximates WeCom's "last interacted" member, docs/wecom-protocol.md §Mass messages) or the first ('earliest');
   * ties by userid.
   */
  async sendersOf(ids: string[], policy: 'latest' | 'earliest'): Promise<Map<string, Sender>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<{ external_user_id: string; userid: string; added_at: number | string | null; name: string | null }>(sendersSql(ids.length), ids);
    // One map, answered as it is (a Sender with the time it was chosen by): a page of 5,000 customers builds no
    // second map.
    const best = new Map<string, Sender & { at: number }>();
    for (const r of rows) {
      const at = r.added_at === null ? 0 : Number(r.added_at);
      const cur = best.get(r.external_user_id);
      const better = !cur || (policy === 'latest' ? at > cur.at : at < cur.at) || (at === cur.at && r.userid < cur.userid);
      if (better) best.set(r.external_user_id, { userid: r.userid, name: r.name || r.userid, at });
    }
    return best;
  }

  /** Staff display names. */
  async staffNames(userids: string[]): Promise<Map<string, string>> {
    if (userids.length === 0) return new Map();
    const rows = await this.db.query<{ userid: string; name: string }>(`SELECT userid, name FROM staff WHERE userid IN (${marks(userids.length)})`, userids);
    return new Map(rows.map((r) => [r.userid, r.name || r.userid]));
  }

  /** Customers who have at least one active relation. */
  async withActiveRelation(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.query<{ external_user_id: string }>(
      `SELECT DISTINCT external_user_id FROM follow_relations WHERE status = 'active' AND external_user_id IN (${marks(ids.length)})`,
      ids,
    );
    return new Set(rows.map((r) => r.external_user_id));
  }

  /** Customers among `ids` who opted out of messages. */
  async optedOut(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += 5000) {
      const chunk = ids.slice(i, i + 5000);
      const rows = await this.db.query<{ external_user_id: string }>(
        `SELECT external_user_id FROM customers WHERE opted_out = 1 AND external_user_id IN (${marks(chunk.length)})`,
        chunk,
      );
      for (const r of rows) out.add(r.external_user_id);
    }
    return out;
  }

  /** The predicted next order (its date and the cycle's last order date) of each customer among `ids` that has one. */
  async repurchaseOf(ids: string[]): Promise<Map<string, { dueOn: string; lastOrderOn: string }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<{ external_user_id: string; due_on: string; last_order_on: string }>(
      `SELECT external_user_id, due_on, last_order_on FROM repurchase_predictions WHERE external_user_id IN (${marks(ids.length)})`,
      ids,
    );
    return new Map(rows.map((r) => [r.external_user_id, { dueOn: r.due_on, lastOrderOn: r.last_order_on }]));
  }

  /** Open notes due on `date` ('YYYY-MM-DD'), keyset-paged by note id. */
  async notesDue(date: string, afterId: string, limit: number): Promise<DueNote[]> {
    const rows = await this.db.query<{ id: string; external_user_id: string; userid: string | null; text: string }>(
      'SELECT id, external_user_id, userid, text FROM notes WHERE due_date = ? AND done_at IS NULL AND id > ? ORDER BY id LIMIT ?',
      [date, afterId, limit],
    );
    return rows.map((r) => ({ id: r.id, externalUserId: r.external_user_id, userid: r.userid, text: r.text }));
  }

  /** Customers by id (for notes and enrolments). */
  async byIds(ids: string[]): Promise<Map<string, ScannedCustomer>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<Row>(`SELECT ${COLS} FROM customers c WHERE c.external_user_id IN (${marks(ids.length)})`, ids);
    return new Map(rows.map((r) => [r.external_user_id, toScanned(r)]));
  }

  /**
   * The customer's open WeChat-KF conversation: their latest message since `since` (the 48 h window opens with the
   * customer's own message, docs/wecom-protocol.md §WeChat customer service), unless a session end came after it
   * (kf/send_msg is refused until they write again, docs/wecom-protocol.md §KF sessions and event replies). Read from
   * the timeline the KF pull writes, in WeCom's order: entries carry `data.openKfId`, `data.origin` (3 the customer)
   * and, for a session's change, `data.changeType`.
   */
  async kfConversation(externalUserId: string, since: Date): Promise<{ openKfId: string; kfUserId: string } | null> {
    const rows = await this.db.query<{ data: string | null }>(
      "SELECT data FROM timeline_entries WHERE external_user_id = ? AND source = 'kf' AND occurred_at >= ? ORDER BY occurred_at DESC, id DESC LIMIT 50",
      [externalUserId, since.getTime()],
    );
    for (const r of rows) {
      const data = r.data ? (JSON.parse(r.data) as { openKfId?: string; origin?: number; eventType?: string; changeType?: number }) : null;
      if (data?.eventType === 'session_status_change' && data.changeType === 3) return null;
      if (data?.openKfId && data.origin === 3) return { openKfId: data.openKfId, kfUserId: externalUserId };
    }
    return null;
  }

  /**
   * Move these customers to `activity` in one statement; returns how many changed. One UPDATE per page and class
   * instead of one per customer: a night where most of a million customers change class is minutes, not a quarter
   * of an hour of round trips.
   */
  async setActivities(externalUserIds: string[], activity: string, now: Date): Promise<number> {
    if (externalUserIds.length === 0) return 0;
    return this.db.exec(
      `UPDATE customers SET activity = ?, updated_at = ? WHERE external_user_id IN (${externalUserIds.map(() => '?').join(',')}) AND activity <> ?`,
      [activity, now.getTime(), ...externalUserIds, activity],
    );
  }
}
