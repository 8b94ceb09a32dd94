import type { Db } from '../db.js';
import type { CampaignStats, Enrolment, EnrolmentStatus } from '../../domain/campaigns/enrolment.types.js';

interface Row {
  id: number | string;
  rule_id: string;
  external_user_id: string;
  cycle: string;
  enrolled_date: string;
  enrolled_at: number | string;
  status: EnrolmentStatus;
  last_step: number | string;
  messaged: number | string;
  exited_at: number | string | null;
}

function toEnrolment(r: Row): Enrolment {
  return {
    id: Number(r.id),
    ruleId: r.rule_id,
    externalUserId: r.external_user_id,
    cycle: r.cycle,
    enrolledDate: r.enrolled_date,
    enrolledAt: new Date(Number(r.enrolled_at)),
    status: r.status,
    lastStep: Number(r.last_step),
    messaged: Number(r.messaged),
    exitedAt: r.exited_at === null ? null : new Date(Number(r.exited_at)),
  };
}

/** `campaign_enrolments`. */
export class CampaignEnrolmentRepository {
  constructor(private readonly db: Db) {}

  /** Enrol a customer for a silence; false if already enrolled for it (the UNIQUE key decides). */
  async enrol(ruleId: string, externalUserId: string, cycle: string, today: string, now: Date): Promise<boolean> {
    return this.db.writeUnique(
      `INSERT INTO campaign_enrolments (rule_id, external_user_id, cycle, enrolled_date, enrolled_at, status, last_step, messaged)
       VALUES (?,?,?,?,?,'active',-1,0)`,
      [ruleId, externalUserId, cycle, today, now.getTime()],
    );
  }

  /** Whether a customer is enrolled for a silence (dry runs). */
  async isEnrolled(ruleId: string, externalUserId: string, cycle: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 AS x FROM campaign_enrolments WHERE rule_id = ? AND external_user_id = ? AND cycle = ?', [ruleId, externalUserId, cycle])).length > 0;
  }

  /**
   * Active enrolments whose customer came back leave as reactivated: for a campaign entered by silence, an interaction
   * after enrolling; for one entered by churn risk, the risk fell below the threshold after enrolling (a later crossing
   * counts too, since the one enrolled for ended). A customer at risk often still writes (a complaint is an interaction),
   * and one who left has no score any more: neither is won back (docs/churn.md §Win-back).
   */
  async exitReactivated(ruleId: string, now: Date, entry: 'dormant' | 'churn_risk' = 'dormant'): Promise<number> {
    if (entry === 'churn_risk') {
      return this.db.exec(
        `UPDATE campaign_enrolments SET status = 'reactivated', exited_at = ?
         WHERE rule_id = ? AND status = 'active' AND EXISTS (
           SELECT 1 FROM churn_risk cr WHERE cr.external_user_id = campaign_enrolments.external_user_id
             AND (cr.high_since IS NULL OR cr.high_since > campaign_enrolments.enrolled_at))`,
        [now.getTime(), ruleId],
      );
    }
    return this.db.exec(
      `UPDATE campaign_enrolments SET status = 'reactivated', exited_at = ?
       WHERE rule_id = ? AND status = 'active' AND EXISTS (
         SELECT 1 FROM customers c WHERE c.external_user_id = campaign_enrolments.external_user_id
           AND c.last_interaction_at IS NOT NULL AND c.last_interaction_at > campaign_enrolments.enrolled_at)`,
      [now.getTime(), ruleId],
    );
  }

  /** A page of active enrolments of a rule, keyset by id. */
  async activePage(ruleId: string, afterId: number, limit: number): Promise<Enrolment[]> {
    const rows = await this.db.query<Row>("SELECT * FROM campaign_enrolments WHERE rule_id = ? AND status = 'active' AND id > ? ORDER BY id LIMIT ?", [
      ruleId, afterId, limit,
    ]);
    return rows.map(toEnrolment);
  }

  /** Advance an enrolment past `step` (compare-and-set on the previous step). */
  async advance(id: number, fromStep: number, toStep: number, messaged: boolean): Promise<boolean> {
    return (
      (await this.db.exec('UPDATE campaign_enrolments SET last_step = ?, messaged = messaged + ? WHERE id = ? AND last_step = ?', [toStep, messaged ? 1 : 0, id, fromStep])) === 1
    );
  }

  /** Finish an enrolment whose steps are all done and whose observation window passed. */
  async complete(id: number, now: Date): Promise<void> {
    await this.db.query("UPDATE campaign_enrolments SET status = 'completed', exited_at = ? WHERE id = ? AND status = 'active'", [now.getTime(), id]);
  }

  /** End these active enrolments as completed (their campaign became a journey, docs/journeys.md §Win-back as a journey). */
  async completeMany(ids: number[], now: Date): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      await this.db.query(`UPDATE campaign_enrolments SET status = 'completed', exited_at = ? WHERE status = 'active' AND id IN (${part.map(() => '?').join(',')})`, [now.getTime(), ...part]);
    }
  }

  /** A customer's enrolments (tests, archive). */
  async forCustomer(externalUserId: string): Promise<Enrolment[]> {
    return (await this.db.query<Row>('SELECT * FROM campaign_enrolments WHERE external_user_id = ? ORDER BY id', [externalUserId])).map(toEnrolment);
  }

  /** Enrolled / messaged / reactivated / rate of a campaign. */
  async stats(ruleId: string, period: { from?: string; to?: string } = {}): Promise<CampaignStats> {
    // A period counts the enrolments that began in it (local dates, inclusive), whatever happened to them since.
    const where = ['e.rule_id = ?'];
    const params: unknown[] = [ruleId];
    if (period.from) (where.push('e.enrolled_date >= ?'), params.push(period.from));
    if (period.to) (where.push('e.enrolled_date <= ?'), params.push(period.to));
    const [r] = await this.db.query<Record<string, number | string | null>>(
      `SELECT COUNT(*) AS enrolled,
         SUM(CASE WHEN e.status = 'active' THEN 1 ELSE 0 END) AS active,
         SUM(CASE WHEN e.messaged > 0 THEN 1 ELSE 0 END) AS messaged,
         SUM(CASE WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.source = ? AND d.external_user_id = e.external_user_id
               AND d.local_date >= e.enrolled_date AND d.status = 'sent') THEN 1 ELSE 0 END) AS sent,
         SUM(CASE WHEN e.status = 'reactivated' THEN 1 ELSE 0 END) AS reactivated,
         SUM(CASE WHEN e.status = 'completed' THEN 1 ELSE 0 END) AS completed
       FROM campaign_enrolments e WHERE ${where.join(' AND ')}`,
      [`winback:${ruleId}`, ...params],
    );
    const n = (k: string) => Number(r[k] ?? 0);
    return {
      enrolled: n('enrolled'), active: n('active'), messaged: n('messaged'), sent: n('sent'), reactivated: n('reactivated'), completed: n('completed'),
      rate: n('enrolled') ? n('reactivated') / n('enrolled') : 0,
    };
  }
}
