import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { isDuplicateKeyError } from '../data-source.js';
import { upsertSql } from './sql-upsert.js';
import type {
  InviteVia,
  QuestionAnswer,
  ScoreKind,
  Survey,
  SurveyAnswer,
  SurveyInput,
  SurveyInvite,
  SurveyPeriod,
  SurveyQuestion,
  SurveyStatus,
  SurveyTrigger,
} from '../../domain/surveys/survey.types.js';

type Num = number | string;

interface SurveyRow {
  id: Num;
  name: string;
  status: string;
  intro: string;
  questions: string;
  reward_points: Num;
  period: string;
  trigger_type: string;
  trigger_days: Num;
  audience: string | null;
  message: string;
  link_ttl_days: Num;
  created_by: string;
  created_at: Num;
  updated_at: Num;
}

interface InviteRow {
  id: Num;
  survey_id: Num;
  external_user_id: string;
  period: string;
  link_id: string | null;
  via: string;
  staff_userid: string | null;
  created_at: Num;
  expires_at: Num;
  opened_at: Num | null;
}

interface AnswerRow {
  id: Num;
  survey_id: Num;
  invite_id: Num;
  external_user_id: string;
  period: string;
  kind: string | null;
  score: Num | null;
  comment: string | null;
  answers: string | null;
  staff_userid: string | null;
  channel_id: string | null;
  segment: string | null;
  via: string;
  submission: string;
  revisions: Num;
  first_answered_at: Num;
  answered_at: Num;
}

const toSurvey = (r: SurveyRow): Survey => ({
  id: Number(r.id),
  name: r.name,
  status: r.status as SurveyStatus,
  intro: r.intro,
  questions: JSON.parse(r.questions) as SurveyQuestion[],
  rewardPoints: Number(r.reward_points),
  period: r.period as SurveyPeriod,
  trigger: r.trigger_type as SurveyTrigger,
  triggerDays: Number(r.trigger_days),
  audience: r.audience,
  message: r.message,
  linkTtlDays: Number(r.link_ttl_days),
  createdBy: r.created_by,
  createdAt: new Date(Number(r.created_at)),
  updatedAt: new Date(Number(r.updated_at)),
});

const toInvite = (r: InviteRow): SurveyInvite => ({
  id: Number(r.id),
  surveyId: Number(r.survey_id),
  externalUserId: r.external_user_id,
  period: r.period,
  linkId: r.link_id,
  via: r.via as InviteVia,
  staffUserid: r.staff_userid,
  createdAt: new Date(Number(r.created_at)),
  expiresAt: new Date(Number(r.expires_at)),
  openedAt: r.opened_at === null ? null : new Date(Number(r.opened_at)),
});

const toAnswer = (r: AnswerRow): SurveyAnswer => ({
  id: Number(r.id),
  surveyId: Number(r.survey_id),
  inviteId: Number(r.invite_id),
  externalUserId: r.external_user_id,
  period: r.period,
  kind: r.kind as ScoreKind | null,
  score: r.score === null ? null : Number(r.score),
  comment: r.comment,
  answers: r.answers ? (JSON.parse(r.answers) as QuestionAnswer[]) : [],
  staffUserid: r.staff_userid,
  channelId: r.channel_id,
  segment: r.segment,
  via: r.via as InviteVia,
  submission: r.submission,
  revisions: Number(r.revisions),
  firstAnsweredAt: new Date(Number(r.first_answered_at)),
  answeredAt: new Date(Number(r.answered_at)),
});

/** A new invitation (its link id is made by the caller). */
export interface NewInvite {
  surveyId: number;
  externalUserId: string;
  period: string;
  linkId: string;
  via: InviteVia;
  staffUserid: string | null;
  expiresAt: number;
}

/** An answer to write (insert, or replace the period's earlier one): the answer less what the store assigns. */
export type AnswerWrite = Omit<SurveyAnswer, 'id' | 'revisions' | 'firstAnsweredAt' | 'answeredAt'>;

/** One answer's figures for the results: the score and what it is grouped by. */
export interface ScoreRow {
  kind: ScoreKind;
  score: number;
  answeredAt: number;
  staffUserid: string | null;
  channelId: string | null;
  segment: string | null;
}

/**
 * Surveys, their invitations and answers, and each customer's latest scores (migration 0040, docs/surveys.md). The
 * unique keys (survey, customer, period) of invitations and answers are what make a resend and a second answer in the
 * period land on the same row.
 */
export class SurveyRepository {
  constructor(private readonly db: Db) {}

  /** Store a new survey; its id. */
  async create(s: SurveyInput, createdBy: string, now: number): Promise<number> {
    const sql = `INSERT INTO surveys (name, status, intro, questions, reward_points, period, trigger_type, trigger_days, audience, message, link_ttl_days, created_by, created_at, updated_at)
      VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`;
    const params = [s.name, s.status, s.intro, JSON.stringify(s.questions), s.rewardPoints, s.period, s.trigger, s.triggerDays, s.audience, s.message, s.linkTtlDays, createdBy, now, now];
    if (this.db.engine === 'sqlite') {
      const rows = await this.db.query<{ id: Num }>(`${sql} RETURNING id`, params);
      return Number(rows[0].id);
    }
    const res = (await this.db.query(sql, params)) as unknown as { insertId: Num };
    return Number(res.insertId);
  }

  /** Replace a survey's definition; false when there is none. */
  async update(id: number, s: SurveyInput, now: number): Promise<boolean> {
    const n = await this.db.exec(
      `UPDATE surveys SET name = ?, status = ?, intro = ?, questions = ?, reward_points = ?, period = ?, trigger_type = ?, trigger_days = ?, audience = ?, message = ?, link_ttl_days = ?, updated_at = ? WHERE id = ?`,
      [s.name, s.status, s.intro, JSON.stringify(s.questions), s.rewardPoints, s.period, s.trigger, s.triggerDays, s.audience, s.message, s.linkTtlDays, now, id],
    );
    return n > 0;
  }

  /** A survey, or null. */
  async find(id: number): Promise<Survey | null> {
    const rows = await this.db.query<SurveyRow>('SELECT * FROM surveys WHERE id = ?', [id]);
    return rows[0] ? toSurvey(rows[0]) : null;
  }

  /** Every survey, newest first (archived ones only when asked). */
  async list(opts: { includeArchived?: boolean; status?: SurveyStatus; trigger?: SurveyTrigger } = {}): Promise<Survey[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.status) {
      where.push('status = ?');
      params.push(opts.status);
    } else if (!opts.includeArchived) where.push("status <> 'archived'");
    if (opts.trigger) {
      where.push('trigger_type = ?');
      params.push(opts.trigger);
    }
    const rows = await this.db.query<SurveyRow>(`SELECT * FROM surveys ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC`, params);
    return rows.map(toSurvey);
  }

  /** The invitation of (survey, customer, period), or null. */
  async findInvite(surveyId: number, ext: string, period: string): Promise<SurveyInvite | null> {
    const rows = await this.db.query<InviteRow>('SELECT * FROM survey_invites WHERE survey_id = ? AND external_user_id = ? AND period = ?', [surveyId, ext, period]);
    return rows[0] ? toInvite(rows[0]) : null;
  }

  /**
   * The invitation of (survey, customer, period): the one already there (a resend, or a second instance planning
   * the same day), else a new one with this link id. A new link's expiry moves an existing one forward only.
   */
  async ensureInvite(i: NewInvite, now: number): Promise<SurveyInvite> {
    try {
      await this.db.query(
        'INSERT INTO survey_invites (survey_id, external_user_id, period, link_id, via, staff_userid, created_at, expires_at) VALUES (?,?,?,?,?,?,?,?)',
        [i.surveyId, i.externalUserId, i.period, i.linkId, i.via, i.staffUserid, now, i.expiresAt],
      );
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      await this.db.exec('UPDATE survey_invites SET expires_at = ? WHERE survey_id = ? AND external_user_id = ? AND period = ? AND expires_at < ?', [
        i.expiresAt,
        i.surveyId,
        i.externalUserId,
        i.period,
        i.expiresAt,
      ]);
    }
    return (await this.findInvite(i.surveyId, i.externalUserId, i.period))!;
  }

  /** The invitation a link id names, or null (none, or erased). */
  async inviteByLink(linkId: string): Promise<SurveyInvite | null> {
    const rows = await this.db.query<InviteRow>('SELECT * FROM survey_invites WHERE link_id = ?', [linkId]);
    return rows[0] ? toInvite(rows[0]) : null;
  }

  /** Record the first time an invitation's page was opened. */
  async markOpened(inviteId: number, now: number): Promise<void> {
    await this.db.exec('UPDATE survey_invites SET opened_at = ? WHERE id = ? AND opened_at IS NULL', [now, inviteId]);
  }

  /** The answer of (survey, customer, period), inside a transaction, locked on MySQL, or null. */
  async answerForUpdateInTx(em: EntityManager, surveyId: number, ext: string, period: string): Promise<SurveyAnswer | null> {
    const lock = this.db.engine === 'mysql' ? ' FOR UPDATE' : '';
    const rows = (await em.query(`SELECT * FROM survey_answers WHERE survey_id = ? AND external_user_id = ? AND period = ?${lock}`, [surveyId, ext, period])) as AnswerRow[];
    return rows[0] ? toAnswer(rows[0]) : null;
  }

  /** The answer of (survey, customer, period), or null. */
  async findAnswer(surveyId: number, ext: string, period: string): Promise<SurveyAnswer | null> {
    const rows = await this.db.query<AnswerRow>('SELECT * FROM survey_answers WHERE survey_id = ? AND external_user_id = ? AND period = ?', [surveyId, ext, period]);
    return rows[0] ? toAnswer(rows[0]) : null;
  }

  /**
   * Insert the period's answer, or replace the earlier one (keeping its id and first time, counting the revision).
   * Returns the row's id; null when another transaction inserted it first (the caller retries as a replacement).
   */
  async writeAnswerInTx(em: EntityManager, a: AnswerWrite, before: SurveyAnswer | null, now: number): Promise<number | null> {
    const values = [a.kind, a.score, a.comment, JSON.stringify(a.answers), a.staffUserid, a.channelId, a.segment, a.via, a.submission];
    if (before) {
      await em.query(
        'UPDATE survey_answers SET kind = ?, score = ?, comment = ?, answers = ?, staff_userid = ?, channel_id = ?, segment = ?, via = ?, submission = ?, invite_id = ?, revisions = revisions + 1, answered_at = ? WHERE id = ?',
        [...values, a.inviteId, now, before.id],
      );
      return before.id;
    }
    const sql = `INSERT INTO survey_answers (kind, score, comment, answers, staff_userid, channel_id, segment, via, submission, survey_id, invite_id, external_user_id, period, revisions, first_answered_at, answered_at)
      VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,0,?,?)`;
    const params = [...values, a.surveyId, a.inviteId, a.externalUserId, a.period, now, now];
    try {
      if (this.db.engine === 'sqlite') {
        const rows = (await em.query(`${sql} RETURNING id`, params)) as { id: Num }[];
        return Number(rows[0].id);
      }
      const res = (await em.query(sql, params)) as { insertId: Num };
      return Number(res.insertId);
    } catch (err) {
      if (isDuplicateKeyError(err)) return null;
      throw err;
    }
  }

  /** Keep the customer's latest NPS or CSAT score (audiences read it), in the answer's transaction. */
  async setLatestScoreInTx(em: EntityManager, ext: string, kind: ScoreKind, score: number, at: number): Promise<void> {
    const cols = kind === 'nps' ? ['nps_score', 'nps_at'] : ['csat_score', 'csat_at'];
    await em.query(upsertSql(this.db.engine, 'survey_customer_scores', ['external_user_id', ...cols], ['external_user_id'], cols), [ext, score, at]);
  }

  /** A customer's answers, newest first (the archive). */
  async answersOf(ext: string, limit = 50): Promise<SurveyAnswer[]> {
    const rows = await this.db.query<AnswerRow>('SELECT * FROM survey_answers WHERE external_user_id = ? ORDER BY answered_at DESC, id DESC LIMIT ?', [ext, limit]);
    return rows.map(toAnswer);
  }

  /** A survey's answers in [from, to), newest first, a page at a time. */
  async answersOfSurvey(surveyId: number, from: number, to: number, limit: number, offset: number): Promise<{ items: SurveyAnswer[]; total: number }> {
    const [count] = await this.db.query<{ n: Num }>('SELECT COUNT(*) AS n FROM survey_answers WHERE survey_id = ? AND answered_at >= ? AND answered_at < ?', [surveyId, from, to]);
    const rows = await this.db.query<AnswerRow>(
      'SELECT * FROM survey_answers WHERE survey_id = ? AND answered_at >= ? AND answered_at < ? ORDER BY answered_at DESC, id DESC LIMIT ? OFFSET ?',
      [surveyId, from, to, limit, offset],
    );
    return { items: rows.map(toAnswer), total: Number(count?.n ?? 0) };
  }

  /**
   * The scores of `kind` answered in [from, to), of one survey or all, optionally only of customers `visibleTo` follows
   * (a staff member's own): each answer's first question of that kind that has a value (a survey may ask NPS and CSAT).
   * One row per answer: the results of a range are at most its answers.
   */
  async scores(q: { kind: ScoreKind; surveyId: number | null; from: number; to: number; visibleTo: string | null }): Promise<ScoreRow[]> {
    const where = ['a.answered_at >= ?', 'a.answered_at < ?'];
    const params: unknown[] = [q.from, q.to];
    if (q.surveyId !== null) {
      where.push('a.survey_id = ?');
      params.push(q.surveyId);
    }
    if (q.visibleTo !== null) {
      where.push("a.external_user_id IN (SELECT fr.external_user_id FROM follow_relations fr WHERE fr.userid = ? AND fr.status = 'active')");
      params.push(q.visibleTo);
    }
    const rows = await this.db.apiRead<{ kind: string | null; score: Num | null; answers: string | null; answered_at: Num; staff_userid: string | null; channel_id: string | null; segment: string | null }>(
      `SELECT a.kind, a.score, a.answers, a.answered_at, a.staff_userid, a.channel_id, a.segment FROM survey_answers a WHERE ${where.join(' AND ')}`,
      params,
    );
    const out: ScoreRow[] = [];
    for (const r of rows) {
      let score: number | null = r.kind === q.kind && r.score !== null ? Number(r.score) : null;
      if (score === null && r.answers) {
        const hit = (JSON.parse(r.answers) as QuestionAnswer[]).find((x) => x.kind === q.kind && typeof x.value === 'number');
        score = hit ? (hit.value as number) : null;
      }
      if (score !== null) out.push({ kind: q.kind, score, answeredAt: Number(r.answered_at), staffUserid: r.staff_userid, channelId: r.channel_id, segment: r.segment });
    }
    return out;
  }

  /** Invitations made and opened in [from, to), of one survey or all (the response rate). */
  async inviteCounts(surveyId: number | null, from: number, to: number): Promise<{ invited: number; opened: number }> {
    const where = ['created_at >= ?', 'created_at < ?'];
    const params: unknown[] = [from, to];
    if (surveyId !== null) {
      where.push('survey_id = ?');
      params.push(surveyId);
    }
    const [r] = await this.db.query<{ invited: Num; opened: Num | null }>(
      `SELECT COUNT(*) AS invited, SUM(CASE WHEN opened_at IS NOT NULL THEN 1 ELSE 0 END) AS opened FROM survey_invites WHERE ${where.join(' AND ')}`,
      params,
    );
    return { invited: Number(r?.invited ?? 0), opened: Number(r?.opened ?? 0) };
  }

  /** What the customer is now, kept on the answer: the acquisition channel and the RFM segment. */
  async customerSnapshotInTx(em: EntityManager, ext: string): Promise<{ channelId: string | null; segment: string | null } | null> {
    const rows = (await em.query('SELECT channel_id, rfm FROM customers WHERE external_user_id = ?', [ext])) as { channel_id: string | null; rfm: string | null }[];
    return rows[0] ? { channelId: rows[0].channel_id, segment: rows[0].rfm } : null;
  }

  /**
   * Of `exts`, the customers the survey already reached in `period`: a ledger row of `source` for an occasion of the
   * period that is not skipped, expired or failed (it is planned, on its way, or sent). "Never twice per survey per
   * period" (docs/surveys.md §Sending).
   */
  async reachedInPeriod(source: string, period: string, exts: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < exts.length; i += 500) {
      const part = exts.slice(i, i + 500);
      const rows = await this.db.query<{ external_user_id: string }>(
        `SELECT DISTINCT external_user_id FROM deliveries WHERE source = ? AND occasion LIKE ? AND external_user_id IN (${part.map(() => '?').join(',')})
           AND status NOT IN ('skipped', 'expired', 'failed', 'over_quota')`,
        [source, `${period}#%`, ...part],
      );
      for (const r of rows) out.add(r.external_user_id);
    }
    return out;
  }

  /**
   * A page of customer ids (by id, after `after`) matching a compiled audience and, when given, first added or first
   * ordering within [from, to). The candidates of a survey's trigger (docs/surveys.md §Triggers).
   */
  async candidates(where: { sql: string; params: unknown[] }, q: { by: 'first_order' | 'added' | null; from: number; to: number }, after: string, limit: number): Promise<string[]> {
    const cond = [`(${where.sql})`, 'c.external_user_id > ?'];
    const params: unknown[] = [...where.params, after];
    if (q.by === 'added') {
      cond.push('c.first_added_at >= ?', 'c.first_added_at < ?');
      params.push(q.from, q.to);
    } else if (q.by === 'first_order') {
      cond.push('c.external_user_id IN (SELECT o.external_user_id FROM orders o GROUP BY o.external_user_id HAVING MIN(o.ordered_at) >= ? AND MIN(o.ordered_at) < ?)');
      params.push(q.from, q.to);
    }
    const rows = await this.db.query<{ id: string }>(`SELECT c.external_user_id AS id FROM customers c WHERE ${cond.join(' AND ')} ORDER BY c.external_user_id LIMIT ?`, [...params, limit]);
    return rows.map((r) => r.id);
  }

  /** Whether one customer matches a compiled audience (the session-end survey's audience, docs/surveys.md §After a WeChat-KF session). */
  async inAudience(where: { sql: string; params: unknown[] }, ext: string): Promise<boolean> {
    const rows = await this.db.query<{ one: number }>(`SELECT 1 AS one FROM customers c WHERE (${where.sql}) AND c.external_user_id = ? LIMIT 1`, [...where.params, ext]);
    return rows.length > 0;
  }

  /** The names of channels (QR codes), by id. */
  async channelNames(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<{ id: string; name: string }>(`SELECT id, name FROM channels WHERE id IN (${ids.map(() => '?').join(',')})`, ids);
    return new Map(rows.map((r) => [r.id, r.name]));
  }
}
