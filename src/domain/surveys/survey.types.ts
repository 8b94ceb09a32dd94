// 满意度调查: survey definitions, invitations and answers (docs/surveys.md).

/** What a question asks for: NPS 0–10, CSAT 1–5, or free text. */
export const QUESTION_KINDS = ['nps', 'csat', 'text'] as const;
/** A question's kind. */
export type QuestionKind = (typeof QUESTION_KINDS)[number];

/** A scored kind (the headline score of a survey, and the `onScored` port's `kind`). */
export type ScoreKind = 'nps' | 'csat';

/** Where a survey is: only `active` surveys are sent and answered. */
export const SURVEY_STATUSES = ['draft', 'active', 'paused', 'archived'] as const;
/** A survey's status. */
export type SurveyStatus = (typeof SURVEY_STATUSES)[number];

/** How often a customer may be asked (and answer): one answer per period, the last one kept. */
export const SURVEY_PERIODS = ['once', 'month', 'quarter', 'half_year', 'year'] as const;
/** A survey's period. */
export type SurveyPeriod = (typeof SURVEY_PERIODS)[number];

/** What sends a survey (docs/surveys.md §Triggers). */
export const SURVEY_TRIGGERS = ['manual', 'first_order', 'added', 'periodic', 'kf_session_end'] as const;
/** A survey's trigger. */
export type SurveyTrigger = (typeof SURVEY_TRIGGERS)[number];

/** How an invitation reached the customer. */
export type InviteVia = 'mass_task' | 'kf' | 'link';

/** One question. */
export interface SurveyQuestion {
  kind: QuestionKind;
  /** The question in zh-CN, as the customer reads it. */
  title: string;
  required: boolean;
}

/** A survey definition. */
export interface Survey {
  id: number;
  name: string;
  status: SurveyStatus;
  intro: string;
  questions: SurveyQuestion[];
  rewardPoints: number;
  period: SurveyPeriod;
  trigger: SurveyTrigger;
  /** N of "N days after the first order / after added". */
  triggerDays: number;
  /** Who is asked (an audience expression); null: every customer the trigger finds. */
  audience: string | null;
  /** The invitation's text: {{link}} (required), {{name}}, {{staff}}. */
  message: string;
  linkTtlDays: number;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A survey to store (create or replace). */
export type SurveyInput = Omit<Survey, 'id' | 'createdAt' | 'updatedAt' | 'createdBy'>;

/** One invitation: a customer asked to answer a survey for one period. */
export interface SurveyInvite {
  id: number;
  surveyId: number;
  externalUserId: string;
  period: string;
  linkId: string | null;
  via: InviteVia;
  staffUserid: string | null;
  createdAt: Date;
  expiresAt: Date;
  openedAt: Date | null;
}

/** One answer to one question, by its index. */
export interface QuestionAnswer {
  q: number;
  kind: QuestionKind;
  /** The score (nps, csat) or the text. */
  value: number | string | null;
}

/** A customer's answer to a survey for one period (a later answer in the period replaces it). */
export interface SurveyAnswer {
  id: number;
  surveyId: number;
  inviteId: number;
  externalUserId: string;
  period: string;
  kind: ScoreKind | null;
  score: number | null;
  comment: string | null;
  answers: QuestionAnswer[];
  staffUserid: string | null;
  channelId: string | null;
  segment: string | null;
  via: InviteVia;
  submission: string;
  revisions: number;
  firstAnsweredAt: Date;
  answeredAt: Date;
}

/**
 * What the feedback feature hears after an answer with a score commits (the contract with #14 part 2): a detractor
 * opens or reopens a ticket there. Called once per submission; a replayed submission calls nothing.
 */
export type SurveyScored = {
  externalUserid: string;
  surveyId: number;
  answerId: number;
  kind: 'nps' | 'csat';
  score: number;
  comment: string | null;
  answeredAt: Date;
};

/** The port SurveyService calls after an answer's transaction commits (failures are logged, never shown the customer). */
export type OnScored = (s: SurveyScored) => Promise<void>;

/** The NPS bands: 0–6 detractor, 7–8 passive, 9–10 promoter. */
export const NPS_BANDS = ['detractor', 'passive', 'promoter'] as const;
/** An NPS band (`nps:detractor`). */
export type NpsBand = (typeof NPS_BANDS)[number];

// ── Results: what GET /api/v1/surveys/results answers (the console imports these type-only) ──

/** The figures of a set of scores: NPS (promoters % − detractors %) or CSAT (the mean, and the share of 4 and 5). */
export interface ScoreFigures {
  responses: number;
  /** NPS: −100…100, one decimal; CSAT: null. */
  nps: number | null;
  promoters?: number;
  passives?: number;
  detractors?: number;
  /** CSAT: the mean 1–5, two decimals; NPS: null. */
  csat: number | null;
  /** CSAT: the share of 4 and 5, one decimal. */
  satisfiedPercent?: number | null;
}

/** A group of the results (a period, a member, a channel, a segment). */
export type ResultGroup = ScoreFigures & { key: string | null; label: string };

/** The results of one question (docs/surveys.md §Results). */
export interface SurveyResults {
  kind: ScoreKind;
  surveyId: number | null;
  from: string;
  to: string;
  granularity: 'day' | 'week' | 'month';
  total: ScoreFigures;
  overTime: ResultGroup[];
  byStaff: ResultGroup[];
  byChannel: ResultGroup[];
  bySegment: ResultGroup[];
  /** Invitations made in the range, how many were opened, and responses per invitation (%); null without one. */
  invited: number;
  opened: number;
  responseRate: number | null;
}
