import type { OpenedSurvey, SurveyRefusal } from '../../domain/surveys/survey.service.js';
import type { Survey, SurveyAnswer } from '../../domain/surveys/survey.types.js';
import { periodWords } from '../../domain/surveys/survey-periods.js';
import { localDate, localParts } from '../../shared/dates.js';
import { MAX_TEXT_ANSWER } from '../../domain/surveys/survey.schema.js';
import { esc, h5ErrorPage, h5Page } from './h5-page.js';

/** A survey definition for the API. */
export function presentSurvey(s: Survey) {
  return {
    id: s.id,
    name: s.name,
    status: s.status,
    intro: s.intro,
    questions: s.questions,
    rewardPoints: s.rewardPoints,
    period: s.period,
    trigger: s.trigger,
    triggerDays: s.triggerDays,
    audience: s.audience,
    message: s.message,
    linkTtlDays: s.linkTtlDays,
    createdBy: s.createdBy,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

/** An answer for staff and operators (the archive, the survey's answer list). */
export function presentAnswer(a: SurveyAnswer & { surveyName?: string; periodWords?: string }) {
  return {
    id: a.id,
    surveyId: a.surveyId,
    surveyName: a.surveyName,
    externalUserId: a.externalUserId,
    period: a.period,
    periodWords: a.periodWords ?? periodWords(a.period),
    kind: a.kind,
    score: a.score,
    comment: a.comment,
    answers: a.answers,
    staffUserid: a.staffUserid,
    channelId: a.channelId,
    segment: a.segment,
    via: a.via,
    revisions: a.revisions,
    firstAnsweredAt: a.firstAnsweredAt.toISOString(),
    answeredAt: a.answeredAt.toISOString(),
  };
}

const STYLE = `.head h1{font-size:19px;margin:0 0 6px}.notice{background:#fff7e6;border:1px solid #ffd591;border-radius:8px;padding:8px 12px;font-size:13px;margin-top:10px}
.q h2 .req{color:#d4380d;margin-left:2px;white-space:nowrap}.q fieldset{border:0;margin:0;padding:0;min-width:0}
.scale{display:grid;gap:6px}.nps{grid-template-columns:repeat(6,1fr)}.csat{grid-template-columns:repeat(5,1fr)}
.scale label{display:flex;position:relative}.scale input{position:absolute;opacity:0;width:1px;height:1px}
.scale span{flex:1;display:flex;flex-direction:column;justify-content:center;text-align:center;border:1px solid #d0d3d9;border-radius:8px;padding:9px 0;font-size:16px;background:#fff}
.csat span{font-size:13px;padding:9px 2px;line-height:1.3}
.scale input:checked+span{background:#1677ff;border-color:#1677ff;color:#fff;font-weight:600}.scale input:focus-visible+span{outline:2px solid #1677ff;outline-offset:2px}
.ends{display:flex;justify-content:space-between;font-size:12px;color:#8f959e;margin-top:6px}
textarea{width:100%;min-height:96px;border:1px solid #d0d3d9;border-radius:8px;padding:8px;font:inherit;resize:vertical}
.bad{color:#d4380d;font-size:13px;margin-top:6px}.q.has-error{box-shadow:0 0 0 1px #ff7875}
button{width:100%;border:0;border-radius:10px;background:#1677ff;color:#fff;font-size:17px;padding:12px;margin:4px 0 12px}
.ok{text-align:center;padding:40px 16px}.ok h1{font-size:20px;margin:8px 0}.tick{font-size:44px;color:#52c41a;line-height:1}`;

const CSAT_WORDS = ['非常不满意', '不满意', '一般', '满意', '非常满意'];

const fmtTime = (d: Date, tz: string) => {
  const p = localParts(d, tz);
  return `${localDate(d, tz).replace(/^(\d{4})-(\d{2})-(\d{2})$/, '$1年$2月$3日')} ${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
};

/** The PIPL line (docs/surveys.md §The customer's page): what the answers are used for, and whom to ask. */
const PRIVACY =
  '<p class="muted">个人信息说明：您的回答仅用于了解和改进我们的服务，可能由为您服务的顾问跟进您反馈的问题，不用于其他目的，也不会提供给第三方。本链接仅供您本人填写，请勿转发；如需查询、更正或删除您的回答，请联系为您服务的顾问。</p>';

/**
 * The customer's survey page (docs/surveys.md §The customer's page): the questions as a plain form that posts to the
 * same address (no script), prefilled with the answer already given in the period, or with what was just posted when
 * it comes back with errors (400).
 */
export function renderSurveyPage(o: OpenedSurvey, tz: string, posted?: { values: Record<string, string>; errors: Record<string, string> }): string {
  const s = o.survey;
  const value = (i: number): string => {
    if (posted) return posted.values[`q${i}`] ?? '';
    const a = o.previous?.answers.find((x) => x.q === i);
    return a?.value === null || a?.value === undefined ? '' : String(a.value);
  };
  const questions = s.questions
    .map((q, i) => {
      const name = `q${i}`;
      const err = posted?.errors[name];
      const current = value(i);
      let input: string;
      if (q.kind === 'text') {
        input = `<textarea name="${name}" maxlength="${MAX_TEXT_ANSWER}" aria-labelledby="${name}-t" placeholder="请输入（最多 ${MAX_TEXT_ANSWER} 字）">${esc(current)}</textarea>`;
      } else {
        const [min, max] = q.kind === 'nps' ? [0, 10] : [1, 5];
        const options: string[] = [];
        for (let n = min; n <= max; n++) {
          const label = q.kind === 'csat' ? `${n}<br>${CSAT_WORDS[n - 1]}` : String(n);
          options.push(`<label><input type="radio" name="${name}" value="${n}"${current === String(n) ? ' checked' : ''}${q.required ? ' required' : ''}><span>${label}</span></label>`);
        }
        const ends = q.kind === 'nps' ? '<div class="ends"><span>0 完全不可能</span><span>10 非常愿意</span></div>' : '';
        input = `<fieldset aria-labelledby="${name}-t"><div class="scale ${q.kind}">${options.join('')}</div>${ends}</fieldset>`;
      }
      return `<section class="card q${err ? ' has-error' : ''}"><h2 id="${name}-t">${i + 1}. ${esc(q.title)}${q.required ? '<span class="req" aria-label="必答">*</span>' : ''}</h2>${input}${err ? `<div class="bad" role="alert">${esc(err)}</div>` : ''}</section>`;
    })
    .join('\n');
  const notices: string[] = [];
  if (o.previous) notices.push(`您已于 ${fmtTime(o.previous.answeredAt, tz)} 提交过${periodWords(o.invite.period) ? `${periodWords(o.invite.period)}的` : ''}回答，再次提交将替换之前的回答。`);
  if (s.rewardPoints > 0 && !o.previous) notices.push(`完成问卷可获得 ${s.rewardPoints} 积分。`);
  const formError = posted?.errors.submission ? `<div class="bad" role="alert">${esc(posted.errors.submission)}</div>` : '';
  const hasErrors = posted && Object.keys(posted.errors).length > 0;
  return h5Page(
    s.name,
    `<section class="card head"><h1>${esc(s.name)}</h1>${s.intro ? `<div class="muted">${esc(s.intro)}</div>` : ''}${notices.map((n) => `<div class="notice">${esc(n)}</div>`).join('')}${
      hasErrors ? '<div class="bad" role="alert">有题目未填写或填写有误，请检查标红的题目。</div>' : ''
    }</section>
<form method="post" accept-charset="utf-8">
<input type="hidden" name="submission" value="${esc(o.submission)}">
${questions}
${formError}<button type="submit">提交</button>
</form>
${PRIVACY}
<p class="muted">链接有效期至 ${fmtTime(o.expiresAt, tz)}。</p>`,
    STYLE,
  );
}

/** After a good submission: thanks, whether it replaced the earlier answer, and the points credited. */
export function renderSurveyThanks(o: { replaced: boolean; replayed: boolean; pointsCredited: number; survey: Survey }): string {
  const lines = [o.replaced ? '您的回答已更新，以最新一次为准。' : '您的回答已收到。'];
  if (o.pointsCredited > 0) lines.push(`已为您累计 ${o.pointsCredited} 积分。`);
  return h5Page(
    '感谢您的反馈',
    `<section class="card ok"><div class="tick" aria-hidden="true">✓</div><h1>感谢您的反馈</h1>${lines.map((l) => `<p class="muted">${esc(l)}</p>`).join('')}<p class="muted">如需修改，可在链接有效期内再次打开本链接重新提交。</p></section>${PRIVACY}`,
    STYLE,
  );
}

/** A kind error page: what happened and what to do, never any data. */
export function renderSurveyError(kind: SurveyRefusal | 'limited'): string {
  const text: Record<SurveyRefusal | 'limited', [string, string]> = {
    malformed: ['链接不完整', '这个问卷链接不完整或已损坏，请从顾问发给您的消息中重新打开。'],
    tampered: ['链接无效', '这个问卷链接无法识别，请联系为您服务的顾问获取新的链接。'],
    expired: ['问卷链接已过期', '感谢您的关注！这份问卷的填写时间已经结束，您无需再填写。如有意见或建议，欢迎直接告诉为您服务的顾问。'],
    gone: ['未找到问卷', '这个链接对应的问卷已不存在。如有疑问，请联系为您服务的顾问。'],
    closed: ['问卷已结束', '感谢您的关注！这份问卷已停止收集回答。如有意见或建议，欢迎直接告诉为您服务的顾问。'],
    limited: ['访问太频繁', '请稍候一分钟再刷新页面。'],
  };
  const [title, body] = text[kind];
  return h5ErrorPage(title, body);
}
