import { randomBytes } from 'node:crypto';
import type { Db } from '../../persistence/db.js';
import type { SurveyRepository } from '../../persistence/repositories/survey.repository.js';
import type { TimelineRepository } from '../../persistence/repositories/timeline.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { addDays, localDate, zonedTimeToUtc } from '../../shared/dates.js';
import { ConflictError, NotFoundError, invalidField } from '../../shared/errors.js';
import { newLinkId, type LinkRefusal, type OpaqueLinks } from '../../shared/opaque-link.js';
import type { CustomerService, Viewer } from '../customers/customer.service.js';
import type { LoyaltyService } from '../loyalty/loyalty.service.js';
import { MAX_TEXT_ANSWER } from './survey.schema.js';
import { periodKey, periodWords } from './survey-periods.js';
import type { InviteVia, OnScored, QuestionAnswer, ScoreKind, Survey, SurveyAnswer, SurveyInput, SurveyInvite, SurveyStatus } from './survey.types.js';

const DAY_MS = 86_400_000;
/** The form's one-time id: 16 random bytes, base64url. */
const SUBMISSION = /^[A-Za-z0-9_-]{16,32}$/;

/** Why a link opens no survey (the page's words are the presenter's). */
export type SurveyRefusal = LinkRefusal | 'gone' | 'closed';

/** What the customer's page shows: the survey, the period, and the answer already given in it (prefilled). */
export interface OpenedSurvey {
  survey: Survey;
  invite: SurveyInvite;
  previous: SurveyAnswer | null;
  /** A fresh one-time id for the form. */
  submission: string;
  expiresAt: Date;
}

/** What a submission came to. */
export type SubmitOutcome =
  | { ok: true; answer: SurveyAnswer; replaced: boolean; replayed: boolean; pointsCredited: number; survey: Survey }
  | { ok: false; reason: SurveyRefusal }
  | { ok: false; reason: 'invalid'; errors: Record<string, string>; opened: OpenedSurvey; values: Record<string, string> };

/** The link a member hands out by hand, or a message carries. */
export interface SurveyLink {
  path: string;
  expiresAt: Date;
  invite: SurveyInvite;
}

/**
 * 满意度调查 (docs/surveys.md): definitions, invitations with their signed links, and answers. An answer is written in
 * one transaction with the customer's latest score, the timeline line and the survey's points (once per period); the
 * feedback feature hears of a scored answer after the commit (`onScored`).
 */
export class SurveyService {
  constructor(
    private readonly db: Db,
    private readonly repo: SurveyRepository,
    private readonly timeline: Pick<TimelineRepository, 'addInTx'>,
    private readonly customers: Pick<CustomerService, 'getVisible'>,
    private readonly loyalty: Pick<LoyaltyService, 'creditInTx' | 'afterImport'> | null,
    private readonly links: OpaqueLinks,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly tz: string,
    private readonly onScored: OnScored,
  ) {}

  /** Store a new survey. */
  async create(input: SurveyInput, actor: string): Promise<Survey> {
    this.checkRewards(input);
    const id = await this.repo.create(input, actor, this.clock.now().getTime());
    return (await this.repo.find(id))!;
  }

  /** Replace a survey's definition; the one before and after (for the audit log). */
  async update(id: number, input: SurveyInput): Promise<{ before: Survey; after: Survey }> {
    const before = await this.get(id);
    this.checkRewards(input);
    await this.repo.update(id, input, this.clock.now().getTime());
    return { before, after: await this.get(id) };
  }

  /** Change only the status (启用 / 暂停 / 归档). */
  async setStatus(id: number, status: SurveyStatus): Promise<{ before: Survey; after: Survey }> {
    const before = await this.get(id);
    const { id: _id, createdAt: _c, updatedAt: _u, createdBy: _b, ...input } = before;
    await this.repo.update(id, { ...input, status }, this.clock.now().getTime());
    return { before, after: await this.get(id) };
  }

  private checkRewards(input: SurveyInput): void {
    if (input.rewardPoints > 0 && !this.loyalty) throw invalidField('rewardPoints', '积分功能未启用，问卷不能设置奖励积分');
  }

  /** A survey, or 404. */
  async get(id: number): Promise<Survey> {
    const s = await this.repo.find(id);
    if (!s) throw new NotFoundError('问卷不存在');
    return s;
  }

  /** Every survey (archived ones when asked). */
  list(includeArchived = false): Promise<Survey[]> {
    return this.repo.list({ includeArchived });
  }

  /** The period of a survey a moment falls in. */
  periodAt(s: Pick<Survey, 'period'>, at: Date): string {
    return periodKey(s.period, localDate(at, this.tz));
  }

  /**
   * The customer's invitation to the survey for the current period, made if missing (one per survey, customer and
   * period), and its signed link. A new link's expiry moves the invitation's forward, never back.
   */
  async inviteLink(s: Survey, ext: string, via: InviteVia, staffUserid: string | null): Promise<SurveyLink> {
    const now = this.clock.now();
    const invite = await this.repo.ensureInvite(
      { surveyId: s.id, externalUserId: ext, period: this.periodAt(s, now), linkId: newLinkId(), via, staffUserid, expiresAt: now.getTime() + s.linkTtlDays * DAY_MS },
      now.getTime(),
    );
    if (!invite.linkId) throw new NotFoundError('该客户的问卷邀请已删除');
    return { path: `/s/${this.links.sign(invite.linkId, invite.expiresAt)}`, expiresAt: invite.expiresAt, invite };
  }

  /** A link a member hands out by hand (the sidebar's 复制问卷链接): their own customers only, active surveys only. */
  async linkFor(surveyId: number, ext: string, viewer: Viewer): Promise<SurveyLink> {
    const s = await this.get(surveyId);
    if (s.status !== 'active') throw new ConflictError('问卷未启用，不能发送链接', 'survey_not_active');
    await this.customers.getVisible(ext, viewer);
    return this.inviteLink(s, ext, 'link', viewer.role === 'staff' ? viewer.userid : null);
  }

  /** What a token opens: the survey for its one customer and period, or why nothing. Records the first opening. */
  async open(token: string): Promise<{ ok: true; opened: OpenedSurvey } | { ok: false; reason: SurveyRefusal }> {
    const v = this.links.verify(token, this.clock.now());
    if (!v.ok) return v;
    const invite = await this.repo.inviteByLink(v.linkId);
    // An erased customer's invitation has no link id any more: the link opens nothing.
    if (!invite) return { ok: false, reason: 'gone' };
    const survey = await this.repo.find(invite.surveyId);
    if (!survey) return { ok: false, reason: 'gone' };
    if (survey.status !== 'active') return { ok: false, reason: 'closed' };
    if (!invite.openedAt) await this.repo.markOpened(invite.id, this.clock.now().getTime());
    const previous = await this.repo.findAnswer(survey.id, invite.externalUserId, invite.period);
    return { ok: true, opened: { survey, invite, previous, submission: randomBytes(16).toString('base64url'), expiresAt: v.expiresAt } };
  }

  /**
   * The customer's answer from the page's form (docs/surveys.md §Answering). Bad values come back as errors per
   * question (the page answers 400 with the form again); the same form posted twice is recorded once (`replayed`); a
   * second answer in the period replaces the first.
   */
  async submit(token: string, form: Record<string, string>): Promise<SubmitOutcome> {
    const o = await this.open(token);
    if (!o.ok) return o;
    const { survey, invite } = o.opened;
    const { answers, errors } = readAnswers(survey, form);
    const submission = form.submission ?? '';
    if (!SUBMISSION.test(submission)) errors.submission = '表单已失效，请刷新页面后重新填写';
    if (Object.keys(errors).length > 0) return { ok: false, reason: 'invalid', errors, opened: o.opened, values: form };

    const headline = answers.find((a) => a.kind !== 'text' && a.value !== null);
    // The first answered question of each scored kind: the customer's latest NPS and CSAT (audiences), and what the
    // feedback feature hears.
    const scored = (['nps', 'csat'] as const).flatMap((k) => {
      const a = answers.find((x) => x.kind === k && typeof x.value === 'number');
      return a ? [{ kind: k, score: a.value as number }] : [];
    });
    const comment = (answers.find((a) => a.kind === 'text' && typeof a.value === 'string' && a.value !== '')?.value as string | undefined) ?? null;
    const kind = (headline?.kind as ScoreKind | undefined) ?? null;
    const score = headline ? (headline.value as number) : null;
    const ext = invite.externalUserId;
    const reward = this.loyalty && survey.rewardPoints > 0 ? survey.rewardPoints : 0;

    const result = await this.db.tx(async (em) => {
      const now = this.clock.now();
      const write = async (before: SurveyAnswer | null) => {
        const snap = await this.repo.customerSnapshotInTx(em, ext);
        return this.repo.writeAnswerInTx(
          em,
          { surveyId: survey.id, inviteId: invite.id, externalUserId: ext, period: invite.period, kind, score, comment, answers, staffUserid: invite.staffUserid, channelId: snap?.channelId ?? null, segment: snap?.segment ?? null, via: invite.via, submission },
          before,
          now.getTime(),
        );
      };
      let before = await this.repo.answerForUpdateInTx(em, survey.id, ext, invite.period);
      if (before?.submission === submission) return { answer: before, replaced: false, replayed: true, credited: 0 };
      if ((await write(before)) === null) {
        // Another transaction inserted the period's answer first: this one replaces it.
        before = await this.repo.answerForUpdateInTx(em, survey.id, ext, invite.period);
        if (before?.submission === submission) return { answer: before, replaced: false, replayed: true, credited: 0 };
        await write(before);
      }
      for (const x of scored) await this.repo.setLatestScoreInTx(em, ext, x.kind, x.score, now.getTime());
      const answer = (await this.repo.answerForUpdateInTx(em, survey.id, ext, invite.period))!;
      await this.timeline.addInTx(
        em,
        {
          externalUserId: ext,
          staffUserid: invite.staffUserid,
          kind: 'survey_answered',
          summary: timelineSummary(survey, answer, before !== null),
          data: { surveyId: survey.id, answerId: answer.id, period: invite.period, kind, score },
          source: 'survey',
          sourceId: `answer:${answer.id}:${answer.revisions}`,
          occurredAt: now,
        },
        now,
      );
      let credited = 0;
      if (reward > 0) {
        const done = await this.loyalty!.creditInTx(
          em,
          { externalUserId: ext, reason: 'survey', reference: `survey:${survey.id}:${invite.period}`, points: reward, actor: 'system', note: `问卷「${survey.name}」`.slice(0, 200) },
          now,
        );
        if (done) credited = reward;
      }
      return { answer, replaced: before !== null, replayed: false, credited };
    });

    if (result.credited > 0) await this.loyalty!.afterImport([ext]);
    // Once per scored kind of a new submission (NPS first), after the commit; a replay calls nothing
    // (docs/surveys.md §Answering).
    for (const x of result.replayed ? [] : scored) {
      try {
        await this.onScored({ externalUserid: ext, surveyId: survey.id, answerId: result.answer.id, kind: x.kind, score: x.score, comment, answeredAt: result.answer.answeredAt });
      } catch (err) {
        // The answer is stored; the feedback side's failure is the operators' to see, never the customer's.
        this.log.error({ err, surveyId: survey.id, answerId: result.answer.id }, 'survey score hook failed');
      }
    }
    return { ok: true, answer: result.answer, replaced: result.replaced, replayed: result.replayed, pointsCredited: result.credited, survey };
  }

  /** A survey's answers answered from `from` through `to` (local dates; default the last 90 days), newest first. */
  answersOfSurvey(surveyId: number, from: string | undefined, to: string | undefined, page: number, pageSize: number): Promise<{ items: SurveyAnswer[]; total: number }> {
    const last = to ?? localDate(this.clock.now(), this.tz);
    const first = from ?? addDays(last, -89);
    return this.repo.answersOfSurvey(surveyId, zonedTimeToUtc(first, '00:00', this.tz).getTime(), zonedTimeToUtc(addDays(last, 1), '00:00', this.tz).getTime(), pageSize, (page - 1) * pageSize);
  }

  /** A customer's answers, for a viewer who may see them (the archive). */
  async answersOf(ext: string, viewer: Viewer): Promise<(SurveyAnswer & { surveyName: string; periodWords: string })[]> {
    await this.customers.getVisible(ext, viewer);
    const answers = await this.repo.answersOf(ext);
    const names = new Map<number, string>();
    for (const a of answers) if (!names.has(a.surveyId)) names.set(a.surveyId, (await this.repo.find(a.surveyId))?.name ?? `问卷 ${a.surveyId}`);
    return answers.map((a) => ({ ...a, surveyName: names.get(a.surveyId)!, periodWords: periodWords(a.period) }));
  }
}

/** The form's values as answers, and what is wrong with them, per question (`q0`…`q9`). */
export function readAnswers(s: Survey, form: Record<string, string>): { answers: QuestionAnswer[]; errors: Record<string, string> } {
  const answers: QuestionAnswer[] = [];
  const errors: Record<string, string> = {};
  s.questions.forEach((q, i) => {
    const key = `q${i}`;
    const raw = (form[key] ?? '').trim();
    if (raw === '') {
      if (q.required) errors[key] = q.kind === 'text' ? '请填写这道题' : '请选择一个分数';
      answers.push({ q: i, kind: q.kind, value: q.kind === 'text' ? '' : null });
      return;
    }
    if (q.kind === 'text') {
      if ([...raw].length > MAX_TEXT_ANSWER) errors[key] = `最多 ${MAX_TEXT_ANSWER} 个字`;
      answers.push({ q: i, kind: q.kind, value: raw.slice(0, 2000) });
      return;
    }
    const [min, max] = q.kind === 'nps' ? [0, 10] : [1, 5];
    const n = /^\d{1,2}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) errors[key] = `请选择 ${min}–${max} 分`;
    answers.push({ q: i, kind: q.kind, value: Number.isInteger(n) ? n : null });
  });
  return { answers, errors };
}

function timelineSummary(s: Survey, a: SurveyAnswer, replaced: boolean): string {
  const score = a.kind === 'nps' ? `，推荐意愿 ${a.score} 分（0–10）` : a.kind === 'csat' ? `，满意度 ${a.score} 分（1–5）` : '';
  return `${replaced ? '更新了' : '填写了'}问卷「${s.name}」${score}`;
}
