import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { isDuplicateKeyError } from '../data-source.js';
import type { ChurnCause, DerivedCause, StaffCause } from '../../domain/churn/churn-cause.types.js';
import type { RiskReason } from '../../domain/churn/churn-risk.types.js';

const num = (v: unknown): number => Number(v ?? 0);
const parse = (v: unknown): RiskReason[] => (typeof v === 'string' ? (JSON.parse(v) as RiskReason[]) : ((v as RiskReason[] | null) ?? []));

interface Row {
  id: unknown;
  external_user_id: string;
  userid: string;
  lost_by: string;
  lost_at: unknown;
  score: unknown;
  cause: string;
  reasons: unknown;
  staff_cause: string | null;
  staff_note: string | null;
  recorded_by: string | null;
  recorded_at: unknown;
}

const toCause = (r: Row): ChurnCause => ({
  id: num(r.id),
  externalUserId: r.external_user_id,
  userid: r.userid,
  lostBy: r.lost_by as ChurnCause['lostBy'],
  lostAt: new Date(num(r.lost_at)),
  score: r.score === null || r.score === undefined ? null : num(r.score),
  cause: r.cause as DerivedCause,
  reasons: parse(r.reasons),
  staffCause: r.staff_cause as StaffCause | null,
  staffNote: r.staff_note,
  recordedBy: r.recorded_by,
  recordedAt: r.recorded_at === null || r.recorded_at === undefined ? null : new Date(num(r.recorded_at)),
});

/** Lost relations and their causes (docs/churn.md §Causes). */
export class ChurnCauseRepository {
  constructor(private readonly db: Db) {}

  /**
   * Record a loss in the transaction that applied it, with the customer's last churn-risk score and reasons as they
   * stood then; a replayed event (same relation and moment) records nothing.
   */
  async recordInTx(em: EntityManager, loss: { externalUserId: string; userid: string; lostBy: 'customer' | 'staff'; lostAt: number }): Promise<void> {
    const [risk] = (await em.query('SELECT score, reasons FROM churn_risk WHERE external_user_id = ?', [loss.externalUserId])) as { score: unknown; reasons: unknown }[];
    const reasons = risk ? parse(risk.reasons) : [];
    const cause: DerivedCause = reasons[0]?.code ?? 'no_signal';
    try {
      await em.query(
        'INSERT INTO churn_causes (external_user_id, userid, lost_by, lost_at, score, cause, reasons) VALUES (?,?,?,?,?,?,?)',
        [loss.externalUserId, loss.userid, loss.lostBy, loss.lostAt, risk ? num(risk.score) : null, cause, JSON.stringify(reasons)],
      );
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  /** A customer's losses, newest first. */
  async forCustomer(externalUserId: string): Promise<ChurnCause[]> {
    const rows = await this.db.query<Row>('SELECT * FROM churn_causes WHERE external_user_id = ? ORDER BY lost_at DESC, id DESC', [externalUserId]);
    return rows.map(toCause);
  }

  async find(id: number): Promise<ChurnCause | null> {
    const [r] = await this.db.query<Row>('SELECT * FROM churn_causes WHERE id = ?', [id]);
    return r ? toCause(r) : null;
  }

  /** Set what a member recorded. */
  async setStaffCause(id: number, cause: StaffCause, note: string | null, by: string, at: number): Promise<void> {
    await this.db.exec('UPDATE churn_causes SET staff_cause = ?, staff_note = ?, recorded_by = ?, recorded_at = ? WHERE id = ?', [cause, note, by, at, id]);
  }

  /** Losses in [from, to) by the bot's cause and by the recorded one; one member's only when `userid` is given. */
  async counts(from: number, to: number, userid: string | null): Promise<{ byCause: Map<string, number>; byStaffCause: Map<string, number>; total: number }> {
    const where = `lost_at >= ? AND lost_at < ?${userid ? ' AND userid = ?' : ''}`;
    const params = [from, to, ...(userid ? [userid] : [])];
    const byCause = new Map<string, number>();
    const byStaffCause = new Map<string, number>();
    let total = 0;
    for (const r of await this.db.query<{ cause: string; n: unknown }>(`SELECT cause, COUNT(*) AS n FROM churn_causes WHERE ${where} GROUP BY cause`, params)) {
      byCause.set(r.cause, num(r.n));
      total += num(r.n);
    }
    for (const r of await this.db.query<{ cause: string; n: unknown }>(`SELECT staff_cause AS cause, COUNT(*) AS n FROM churn_causes WHERE ${where} AND staff_cause IS NOT NULL GROUP BY staff_cause`, params)) {
      byStaffCause.set(r.cause, num(r.n));
    }
    return { byCause, byStaffCause, total };
  }
}
