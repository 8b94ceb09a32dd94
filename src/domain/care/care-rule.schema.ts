// The API's checks of care and win-back rules (zod); the types they produce are care-rule.types.ts's.
import { z } from 'zod';
import { DELIVERY_CHANNELS } from '../delivery/delivery.types.js';
import { MAX_HOLDOUT_PERCENT } from '../delivery/holdout.js';
import type { CareRuleInput, Occasion, WinbackStep } from './care-rule.types.js';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, '应为 HH:mm / must be HH:mm');

// ≤ 9 attachments per message (docs/wecom-protocol.md §Mass messages); the shapes are checked by WeCom and the gateway.
const attachments = z
  .array(z.looseObject({ kind: z.enum(['image', 'link', 'miniprogram', 'video', 'file']) }))
  .max(9)
  .default([]);

/** One step of a win-back campaign: `day` days after enrolment. */
export const winbackStep = z.object({
  day: z.number().int().min(0).max(365),
  channel: z.enum(DELIVERY_CHANNELS).default('mass_task'),
  template: z.string().min(1).max(4000),
  attachments,
});

/** What a rule fires on. */
export const occasionSchema = z.discriminatedUnion('type', [
  // daysBefore: fire that many days ahead of the birthday (0 or absent: on the day).
  z.object({ type: z.literal('birthday'), daysBefore: z.number().int().min(0).max(30).optional() }),
  z.object({ type: z.literal('holiday'), holidays: z.array(z.string().regex(/^[a-z0-9-]+$/)).min(1) }),
  z.object({ type: z.literal('anniversary'), days: z.array(z.number().int().min(1).max(36500)).default([]), years: z.boolean().default(false) }),
  // N days after the customer was added, if nobody has interacted since: a reminder to staff, never a customer message.
  z.object({ type: z.literal('followup'), afterDays: z.number().int().min(1).max(365) }),
  // Notes whose due date is today: a reminder to the note's author (or the owner).
  z.object({ type: z.literal('note_due') }),
  // 复购提醒: daysBefore days ahead of the predicted next order (docs/repurchase.md §The care occasion).
  z.object({ type: z.literal('repurchase'), daysBefore: z.number({ message: '复购提醒的提前天数须为 0–60 的整数' }).int('复购提醒的提前天数须为 0–60 的整数').min(0, '复购提醒的提前天数须为 0–60 的整数').max(60, '复购提醒的提前天数须为 0–60 的整数') }),
  // entry: who enters (docs/churn.md §Win-back); absent: dormant customers, as before.
  z.object({
    type: z.literal('winback'),
    steps: z.array(winbackStep).min(1).max(10),
    entry: z.enum(['dormant', 'churn_risk'], { message: '入组条件须为 dormant（沉睡客户）或 churn_risk（流失高风险客户）' }).optional(),
  }),
]);

// The fields without defaults: a PATCH must not reset what it does not mention (zod's partial() keeps defaults).
const ruleFields = {
  name: z.string().min(1).max(100),
  occasion: occasionSchema,
  /** An audience expression (CONTRACT "Audience expressions"); null = all customers. */
  audience: z.string().max(4000).nullable(),
  template: z.string().min(1).max(4000),
  attachments: z.array(z.looseObject({ kind: z.enum(['image', 'link', 'miniprogram', 'video', 'file']) })).max(9),
  /** 素材库 items after the template and attachments: checked when saved, resolved when planned (docs/content.md §Composers). */
  contentIds: z.array(z.string().min(1).max(36)).max(9, '每条消息最多 9 个素材'),
  sendTime: hhmm,
  priority: z.number().int().min(0).max(1000),
  channel: z.enum(DELIVERY_CHANNELS),
  enabled: z.boolean(),
  /** The share of the audience held out to measure the lift (docs/analytics.md §Holdout). */
  holdoutPercent: z
    .number({ message: '对照组比例须为 0–50 的整数' })
    .int('对照组比例须为 0–50 的整数')
    .min(0, '对照组比例须为 0–50 的整数')
    .max(MAX_HOLDOUT_PERCENT, `对照组比例最多 ${MAX_HOLDOUT_PERCENT}%`),
};

/** A care or win-back rule as the API accepts it. */
export const careRuleInput = z.object({
  ...ruleFields,
  audience: ruleFields.audience.default(null),
  attachments: ruleFields.attachments.default([]),
  contentIds: ruleFields.contentIds.default([]),
  sendTime: ruleFields.sendTime.default('09:00'),
  priority: ruleFields.priority.default(100),
  channel: ruleFields.channel.default('mass_task'),
  enabled: ruleFields.enabled.default(true),
  holdoutPercent: ruleFields.holdoutPercent.default(0),
});

/** A PATCH: any subset of the fields, none defaulted. */
export const careRulePatch = z.object(ruleFields).partial();

// The schemas above and the types in care-rule.types.ts describe the same shapes: each must accept the other's.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _occasion: Same<z.infer<typeof occasionSchema>, Occasion> = true;
const _step: Same<z.infer<typeof winbackStep>, WinbackStep> = true;
const _input: Same<z.infer<typeof careRuleInput>, CareRuleInput> = true;
