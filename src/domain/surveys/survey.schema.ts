// The API's checks of survey definitions (zod, zh-CN messages); the types they produce are survey.types.ts's.
import { z } from 'zod';
import { QUESTION_KINDS, SURVEY_PERIODS, SURVEY_STATUSES, SURVEY_TRIGGERS } from './survey.types.js';

/** At most this many questions in a survey (docs/surveys.md §Definitions). */
export const MAX_QUESTIONS = 10;
/** Longest free-text answer. */
export const MAX_TEXT_ANSWER = 500;

const question = z.object({
  kind: z.enum(QUESTION_KINDS, { message: '题型须为 nps（0–10 分）、csat（1–5 分）或 text（文字）' }),
  title: z.string({ message: '请填写题目' }).trim().min(1, '请填写题目').max(200, '题目最多 200 个字'),
  required: z.boolean({ message: 'required 须为 true 或 false' }).default(true),
});

const fields = {
  name: z.string({ message: '请填写问卷名称' }).trim().min(1, '请填写问卷名称').max(100, '问卷名称最多 100 个字'),
  status: z.enum(SURVEY_STATUSES, { message: '状态须为 draft（草稿）、active（启用）、paused（暂停）或 archived（归档）' }),
  intro: z.string().trim().max(500, '问卷说明最多 500 个字'),
  questions: z
    .array(question, { message: '请至少添加一道题' })
    .min(1, '请至少添加一道题')
    .max(MAX_QUESTIONS, `一份问卷最多 ${MAX_QUESTIONS} 道题`),
  rewardPoints: z.number({ message: '奖励积分须为 0–100000 的整数' }).int('奖励积分须为整数').min(0, '奖励积分不能为负数').max(100_000, '奖励积分最多 100000'),
  period: z.enum(SURVEY_PERIODS, { message: '周期须为 once（仅一次）、month（每月）、quarter（每季度）、half_year（每半年）或 year（每年）' }),
  trigger: z.enum(SURVEY_TRIGGERS, { message: '触发方式须为 manual（手动）、first_order（首单后 N 天）、added（添加后 N 天）、periodic（按周期发给受众）或 kf_session_end（微信客服会话结束）' }),
  triggerDays: z.number({ message: '天数须为 0–365 的整数' }).int('天数须为整数').min(0, '天数不能为负数').max(365, '天数最多 365'),
  audience: z.string().trim().max(4000, '受众表达式最多 4000 个字符').nullable(),
  message: z
    .string({ message: '请填写邀请文案' })
    .trim()
    .min(1, '请填写邀请文案')
    .max(1000, '邀请文案最多 1000 个字')
    .refine((s) => s.includes('{{link}}'), '邀请文案须包含 {{link}}（问卷链接的位置）'),
  linkTtlDays: z.number({ message: '链接有效天数须为 1–90 的整数' }).int('链接有效天数须为整数').min(1, '链接有效期至少 1 天').max(90, '链接有效期最多 90 天'),
};

/** A survey as the API accepts it (create, or replace with PUT). */
export const surveyInput = z
  .object({
    ...fields,
    status: fields.status.default('draft'),
    intro: fields.intro.default(''),
    rewardPoints: fields.rewardPoints.default(0),
    period: fields.period.default('quarter'),
    trigger: fields.trigger.default('manual'),
    triggerDays: fields.triggerDays.default(0),
    audience: fields.audience.default(null),
    message: fields.message.default('{{name}}您好，想听听您对我们服务的评价，花 1 分钟填写问卷：{{link}}'),
    linkTtlDays: fields.linkTtlDays.default(14),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.trigger === 'periodic' && s.period === 'once') ctx.addIssue({ code: 'custom', path: ['period'], message: '按周期发送的问卷须选择每月、每季度、每半年或每年' });
    if ((s.trigger === 'first_order' || s.trigger === 'added') && s.triggerDays < 1) ctx.addIssue({ code: 'custom', path: ['triggerDays'], message: '首单或添加后发送须填写 1–365 天' });
  });

/** A status change. */
export const surveyStatusInput = z.object({ status: fields.status }).strict();
