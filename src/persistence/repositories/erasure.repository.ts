import type { EntityManager } from 'typeorm';
import { execIn, type Db } from '../db.js';
import { newId } from '../../shared/ids.js';
import { forUpdate } from './sql-upsert.js';
import { RECOUNT_GROUPS_SQL } from './group-chat.repository.js';
import type { ErasureCounts, ErasureRecord } from '../../domain/privacy/erasure.types.js';

const marks = (n: number) => Array(n).fill('?').join(',');

/**
 * Ids of `ext`'s rows in `table` whose unique key (`keyColumns` + the customer) the stub already holds: a customer
 * erased, re-added and erased again would collide with their own earlier stub. Table and column names come from code.
 */
async function rowsCollidingWithStub(em: EntityManager, table: string, keyColumns: string[], ext: string, stubId: string): Promise<number[]> {
  const on = keyColumns.map((c) => `s.${c} = r.${c}`).join(' AND ');
  const rows = (await em.query(`SELECT r.id FROM ${table} r JOIN ${table} s ON ${on} AND s.external_user_id = ? WHERE r.external_user_id = ?`, [stubId, ext])) as {
    id: number | string;
  }[];
  return rows.map((r) => Number(r.id));
}

/**
 * The SQL of a customer's erasure (PIPL art. 47, docs/reliability.md §PIPL duties, §Reliability tests, test 25), one
 * method per table group, each its own transaction: a group is all-or-nothing, and a crash between groups is finished
 * by erasing again (every statement matches on the raw ExternalUserID, which a finished group no longer holds).
 */
export class ErasureRepository {
  constructor(private readonly db: Db) {}

  /** The staff members with a relation to the customer (for the response: what stays in WeCom). */
  async followers(ext: string): Promise<{ userid: string; status: string }[]> {
    return this.db.query('SELECT userid, status FROM follow_relations WHERE external_user_id = ? ORDER BY userid', [ext]);
  }

  /**
   * The archive: profile (name, phone and its blind index, birthday, note…), relations (remarks, descriptions,
   * encrypted remark mobiles), transfers, tags, notes, orders and group memberships are deleted outright. Nothing here is needed
   * once the person is gone, and orders are a copy: the shop system keeps its own record under its own retention.
   */
  async eraseArchive(ext: string): Promise<ErasureCounts> {
    return this.db.tx(async (em) => {
      // The customer's row first, as an order import locks it before writing its orders: an import either finishes
      // before this or finds the customer gone, and leaves no order behind
      // (docs/audiences.md §Order totals on the customer).
      await em.query(`SELECT external_user_id FROM customers WHERE external_user_id = ?${forUpdate(this.db.engine)}`, [ext]);
      return {
        customer_tags: await execIn(em, 'DELETE FROM customer_tags WHERE external_user_id = ?', [ext]),
        notes: await execIn(em, 'DELETE FROM notes WHERE external_user_id = ?', [ext]),
        orders: await execIn(em, 'DELETE FROM orders WHERE external_user_id = ?', [ext]),
        // type 2 = external contact (docs/wecom-protocol.md §Customer groups); a staff member with the same id string is
        // not this person.
        group_memberships: await this.eraseGroupMemberships(em, ext),
        follow_relations: await execIn(em, 'DELETE FROM follow_relations WHERE external_user_id = ?', [ext]),
        // Transfer records (客户继承) name the customer; an open one is dropped too, and WeCom's later callbacks about
        // it are then handled like any add or delete.
        transfers: await execIn(em, 'DELETE FROM transfers WHERE external_user_id = ?', [ext]),
        // Alerts waiting for a member's digest name the customer.
        staff_message_digest: await execIn(em, 'DELETE FROM staff_message_digest WHERE external_user_id = ?', [ext]),
        // A bulk tag job's item names the customer (its job keeps only counts and tag ids).
        bulk_tag_items: await execIn(em, 'DELETE FROM bulk_tag_items WHERE external_user_id = ?', [ext]),
        customers: await execIn(em, 'DELETE FROM customers WHERE external_user_id = ?', [ext]),
      };
    });
  }

  /**
   * A customer's group membership spells (type 2 = external contact, docs/wecom-protocol.md §Customer groups; a staff
   * member with the same id string is not this person); the groups they were in are recounted. Rows deleted.
   */
  private async eraseGroupMemberships(em: EntityManager, ext: string): Promise<number> {
    const chats = (await em.query('SELECT DISTINCT chat_id FROM group_memberships WHERE member_id = ? AND type = 2 AND current_mark = 1', [ext])) as { chat_id: string }[];
    const n = await execIn(em, 'DELETE FROM group_memberships WHERE member_id = ? AND type = 2', [ext]);
    if (chats.length > 0) await execIn(em, `${RECOUNT_GROUPS_SQL} WHERE chat_id IN (${chats.map(() => '?').join(',')})`, chats.map((r) => r.chat_id));
    return n;
  }

  /** The timeline (KF message text, consent entries, welcome and care texts…): deleted; it is the person's history. */
  async eraseTimeline(ext: string): Promise<ErasureCounts> {
    return this.db.tx(async (em) => ({ timeline_entries: await execIn(em, 'DELETE FROM timeline_entries WHERE external_user_id = ?', [ext]) }));
  }

  /**
   * The delivery ledger and what hangs off it. Ledger rows and win-back enrolments are kept as stubs: the customer id
   * becomes `stubId` (a keyed hash) and the rendered text goes, so broadcast, care and campaign counts stay right.
   * Rows not yet sent are skipped (reason `erased`) so nothing is ever sent to the stub. Frequency-cap slots are
   * deleted (they only matter today). A batch whose every row was this customer's loses its text, which was
   * personalised (`{{name}}`, a note).
   */
  async stubLedger(ext: string, stubId: string, now: number): Promise<ErasureCounts> {
    return this.db.tx(async (em) => {
      await execIn(em, "UPDATE deliveries SET status = 'skipped', reason = 'erased', updated_at = ? WHERE external_user_id = ? AND status = 'planned'", [now, ext]);
      const batchIds = (await em.query('SELECT DISTINCT batch_id FROM deliveries WHERE external_user_id = ? AND batch_id IS NOT NULL', [ext]) as { batch_id: string }[]).map((r) => r.batch_id);
      let batches = 0;
      for (const id of batchIds) {
        const [other] = (await em.query('SELECT COUNT(*) AS n FROM deliveries WHERE batch_id = ? AND external_user_id <> ?', [id, ext])) as { n: number | string }[];
        if (Number(other.n) === 0) batches += await execIn(em, "UPDATE delivery_batches SET text = '', attachments = NULL WHERE id = ?", [id]);
      }
      // A customer erased before, re-added and erased again can collide with their own earlier stub on the unique
      // key (source, customer, occasion): that occasion is already counted once, so the newer row is dropped.
      const dupes = await rowsCollidingWithStub(em, 'deliveries', ['source', 'occasion'], ext, stubId);
      if (dupes.length > 0) {
        await execIn(em, `DELETE FROM send_slots WHERE delivery_id IN (${marks(dupes.length)})`, dupes);
        await execIn(em, `DELETE FROM deliveries WHERE id IN (${marks(dupes.length)})`, dupes);
      }
      const slots = await execIn(em, 'DELETE FROM send_slots WHERE external_user_id = ?', [ext]);
      const deliveries = await execIn(
        em,
        "UPDATE deliveries SET external_user_id = ?, text = '', attachments = NULL, updated_at = ? WHERE external_user_id = ?",
        [stubId, now, ext],
      );
      const enrolDupes = await rowsCollidingWithStub(em, 'campaign_enrolments', ['rule_id', 'cycle'], ext, stubId);
      if (enrolDupes.length > 0) await execIn(em, `DELETE FROM campaign_enrolments WHERE id IN (${marks(enrolDupes.length)})`, enrolDupes);
      // An active enrolment is closed so the win-back steps never look for the stub.
      await execIn(em, "UPDATE campaign_enrolments SET status = 'completed', exited_at = ? WHERE external_user_id = ? AND status = 'active'", [now, ext]);
      const enrolments = await execIn(em, 'UPDATE campaign_enrolments SET external_user_id = ? WHERE external_user_id = ?', [stubId, ext]);
      // The analytics ledger's relation changes are kept under the stub, so a past day rolled again keeps its counts
      // (docs/analytics.md §Erasure).
      const analytics = await execIn(em, 'UPDATE analytics_relation_events SET external_user_id = ? WHERE external_user_id = ?', [stubId, ext]);
      // What the last mix snapshot saw of them goes: it only matters for the next night's changes.
      const mixState = await execIn(em, 'DELETE FROM analytics_customer_states WHERE external_user_id = ?', [ext]);
      // Survey answers keep non-personal stubs (survey, period, kind, score, times) under the stub id, so the results
      // stay right; the texts go. Invitations lose their link id, so every survey link of theirs opens nothing, and the
      // latest scores audiences read go (docs/surveys.md §Erasure).
      for (const table of ['survey_answers', 'survey_invites']) {
        // Erased before, re-added and erased again in the same period: the earlier stub already counts that answer.
        const clash = await rowsCollidingWithStub(em, table, ['survey_id', 'period'], ext, stubId);
        if (clash.length > 0) await execIn(em, `DELETE FROM ${table} WHERE id IN (${marks(clash.length)})`, clash);
      }
      const surveyAnswers = await execIn(em, `UPDATE survey_answers SET external_user_id = ?, comment = NULL, answers = '[]', staff_userid = NULL WHERE external_user_id = ?`, [stubId, ext]);
      const surveyInvites = await execIn(em, 'UPDATE survey_invites SET external_user_id = ?, link_id = NULL, staff_userid = NULL WHERE external_user_id = ?', [stubId, ext]);
      const surveyScores = await execIn(em, 'DELETE FROM survey_customer_scores WHERE external_user_id = ?', [ext]);
      // The points ledger keeps non-personal stubs (kind, reason, points, times) under the stub id, so the programme's
      // totals stay right; the reference (an order number) and the note go, and each stub's reference is its own row
      // id, unique however often a customer is erased. The account, with the link id, goes (docs/loyalty.md §Erasure).
      const stubRef = this.db.engine === 'mysql' ? "CONCAT('erased:', id)" : "'erased:' || id";
      const points = await execIn(em, `UPDATE loyalty_points SET external_user_id = ?, reference = ${stubRef}, note = NULL WHERE external_user_id = ?`, [stubId, ext]);
      const accounts = await execIn(em, 'DELETE FROM loyalty_accounts WHERE external_user_id = ?', [ext]);
      // The predicted next order goes with the orders it came from (docs/repurchase.md §Erasure).
      const predictions = await execIn(em, 'DELETE FROM repurchase_predictions WHERE external_user_id = ?', [ext]);
      // Feedback tickets keep non-personal stubs (source, status, category, score, times) for the analysis; what the
      // customer said, the notes and the owner go, and an open one is never notified or escalated (docs/feedback.md §Erasure).
      await execIn(
        em,
        'UPDATE feedback_ticket_events SET note = NULL WHERE ticket_id IN (SELECT id FROM feedback_tickets WHERE external_user_id = ?)',
        [ext],
      );
      const tickets = await execIn(
        em,
        `UPDATE feedback_tickets SET external_user_id = ?, active_key = NULL, summary = '', resolution_note = NULL, owner_userid = NULL,
                notified_at = COALESCE(notified_at, ?), escalated_at = COALESCE(escalated_at, ?), updated_at = ? WHERE external_user_id = ?`,
        [stubId, now, now, now, ext],
      );
      // The churn-risk score goes; lost relations keep non-personal stubs (causes, score, times) for the counts by
      // cause, without the member's note (docs/churn.md §Erasure).
      const risk = await execIn(em, 'DELETE FROM churn_risk WHERE external_user_id = ?', [ext]);
      const journeys = await this.stubJourneys(em, ext, stubId, now);
      const causes = await execIn(em, 'UPDATE churn_causes SET external_user_id = ?, staff_note = NULL WHERE external_user_id = ?', [stubId, ext]);
      return {
        ...journeys,
        churn_risk: risk,
        churn_causes: causes,
        loyalty_points: points,
        loyalty_accounts: accounts,
        repurchase_predictions: predictions,
        survey_answers: surveyAnswers,
        survey_invites: surveyInvites,
        survey_customer_scores: surveyScores,
        feedback_tickets: tickets,
        deliveries: deliveries + dupes.length,
        delivery_batches: batches,
        send_slots: slots + dupes.length,
        campaign_enrolments: enrolments + enrolDupes.length,
        analytics_relation_events: analytics,
        analytics_customer_states: mixState,
      };
    });
  }

  /**
   * Journeys and the to-do list (docs/journeys.md §Erasure). Signals not yet matched go: they would enter the stub.
   * Memberships keep non-personal stubs (journey, version, step, status, times) under the stub id, so each step's counts
   * stay right; an active one ends as exited `erased`, so the tick never looks for it. Staff tasks about the customer
   * keep stubs without title, text, attachments or reason, so a member's completion figures stay right; an open one
   * is withdrawn and leaves their list (docs/todo.md §Withdrawn tasks).
   */
  private async stubJourneys(em: EntityManager, ext: string, stubId: string, now: number): Promise<ErasureCounts> {
    const signals = await execIn(em, 'DELETE FROM journey_signals WHERE external_user_id = ?', [ext]);
    // Erased before, re-added and entered the same journey again: the new entry numbers go after the stub's, so the
    // unique key (journey, customer, entry number) holds and both entries stay counted.
    const clashes = (await em.query(
      `SELECT r.id, r.journey_id FROM journey_memberships r JOIN journey_memberships s
         ON s.journey_id = r.journey_id AND s.entry_number = r.entry_number AND s.external_user_id = ? WHERE r.external_user_id = ?`,
      [stubId, ext],
    )) as { id: number | string; journey_id: string }[];
    for (const journeyId of new Set(clashes.map((r) => r.journey_id))) {
      const [{ top }] = (await em.query('SELECT MAX(entry_number) AS top FROM journey_memberships WHERE journey_id = ? AND external_user_id = ?', [journeyId, stubId])) as {
        top: number | string;
      }[];
      await execIn(em, 'UPDATE journey_memberships SET entry_number = entry_number + ? WHERE journey_id = ? AND external_user_id = ?', [Number(top), journeyId, ext]);
    }
    await execIn(
      em,
      "UPDATE journey_memberships SET exit_reason = 'erased', ended_at = ?, next_due_at = NULL, status = 'exited' WHERE external_user_id = ? AND status = 'active'",
      [now, ext],
    );
    const memberships = await execIn(em, 'UPDATE journey_memberships SET external_user_id = ? WHERE external_user_id = ?', [stubId, ext]);
    // skip_reason and closed_at before status: MySQL evaluates SET left to right, so they must see the old status.
    const tasks = await execIn(
      em,
      `UPDATE staff_tasks SET
         skip_reason = CASE WHEN status = 'open' THEN '客户资料已删除' ELSE NULL END,
         closed_at = CASE WHEN status = 'open' THEN ? ELSE closed_at END,
         status = CASE WHEN status = 'open' THEN 'withdrawn' ELSE status END,
         external_user_id = ?, title = '客户资料已删除', text = '', attachments = '[]', updated_at = ?
       WHERE external_user_id = ?`,
      [now, stubId, now, ext],
    );
    return { journey_signals: signals, journey_memberships: memberships, staff_tasks: tasks };
  }

  /**
   * Callbacks about the customer (subject `customer:<id>`, inbound-event.ts): the row stays as non-personal
   * metadata (kind, times, status, the content hash that keeps a late WeCom retry from being applied twice) and
   * the encrypted payload, the subject and the error text go. Events not yet handled are set `ignored`: their
   * payload is gone, and applying them would re-create what was just erased.
   */
  async eraseInbox(ext: string): Promise<ErasureCounts> {
    const subject = `customer:${ext}`.slice(0, 191);
    return this.db.tx(async (em) => ({
      inbox_events: await execIn(
        em,
        // queue_lane before status: MySQL evaluates SET left to right, so it must see the old status
        // (docs/inbox.md §Claims that stay flat: a finished event is in no lane).
        `UPDATE inbox_events SET payload = '', subject_key = NULL, error = NULL,
           queue_lane = CASE WHEN status IN ('pending', 'failed') THEN NULL ELSE queue_lane END,
           status = CASE WHEN status IN ('pending', 'failed') THEN 'ignored' ELSE status END
         WHERE subject_key = ?`,
        [subject],
      ),
    }));
  }

  /** The latest erasure time (epoch ms) of each of these subject hashes that was ever erased. */
  async lastErasedAt(subjectHashes: string[]): Promise<Map<string, number>> {
    if (subjectHashes.length === 0) return new Map();
    const rows = await this.db.query<{ subject_hash: string; at: number | string }>(
      `SELECT subject_hash, MAX(erased_at) AS at FROM erasures WHERE subject_hash IN (${subjectHashes.map(() => '?').join(',')}) GROUP BY subject_hash`,
      subjectHashes,
    );
    return new Map(rows.map((r) => [r.subject_hash, Number(r.at)]));
  }

  /** Append the audit row. */
  async record(r: Omit<ErasureRecord, 'id'>): Promise<ErasureRecord> {
    const id = newId(r.erasedAt.getTime());
    await this.db.query('INSERT INTO erasures (id, subject_hash, erased_at, by_principal, counts_per_table) VALUES (?,?,?,?,?)', [
      id,
      r.subjectHash,
      r.erasedAt.getTime(),
      r.byPrincipal.slice(0, 100),
      JSON.stringify(r.countsPerTable),
    ]);
    return { id, ...r };
  }

  /** Audit rows for one subject hash, oldest first. */
  async listBySubject(subjectHash: string): Promise<ErasureRecord[]> {
    const rows = await this.db.query<{ id: string; subject_hash: string; erased_at: number | string; by_principal: string; counts_per_table: string | null }>(
      'SELECT * FROM erasures WHERE subject_hash = ? ORDER BY erased_at, id',
      [subjectHash],
    );
    return rows.map((r) => ({
      id: r.id,
      subjectHash: r.subject_hash,
      erasedAt: new Date(Number(r.erased_at)),
      byPrincipal: r.by_principal,
      countsPerTable: r.counts_per_table ? (JSON.parse(r.counts_per_table) as ErasureCounts) : {},
    }));
  }
}
