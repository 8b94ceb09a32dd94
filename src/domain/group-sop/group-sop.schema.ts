// The API's checks of group SOP plans (zod); the types they produce are group-sop.types.ts's.
import { z } from 'zod';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, '时间应为 HH:mm，例如 20:00');

// WeCom's text limit of a group send is 4000 bytes (docs/wecom-protocol.md §Mass messages); checked in bytes by the service.
const stepSchema = z.object({
  id: z.string().min(1).max(36).optional(),
  day: z.number({ message: '第几天须为 0–365 的整数' }).int('第几天须为 0–365 的整数').min(0, '第几天须为 0–365 的整数').max(365, '第几天须为 0–365 的整数').optional(),
  time: hhmm,
  action: z.enum(['post', 'remind'], { message: '动作须为 post（群发到群）或 remind（提醒群主）' }),
  title: z.string().trim().min(1, '请填写步骤名称').max(50, '步骤名称最多 50 个字'),
  text: z.string().trim().min(1, '请填写内容').max(4000, '内容最多 4000 个字'),
  operation: z.enum(['notice', 'at_all', 'other'], { message: '群主操作须为 notice（群公告）、at_all（@所有人）或 other' }).optional(),
});

const targetSchema = z.object({
  owners: z.array(z.string().min(1).max(64)).max(100, '群主最多 100 位').optional(),
  labelIds: z.array(z.string().min(1).max(36)).max(50).optional(),
  namePattern: z.string().trim().max(100, '群名关键词最多 100 个字').optional(),
  minMembers: z.number().int().min(0).max(2000).optional(),
  maxMembers: z.number().int().min(0).max(2000).optional(),
  chatIds: z.array(z.string().min(1).max(64)).max(2000, '指定的群最多 2000 个').optional(),
});

const scheduleSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('recurring'),
    weekdays: z
      .array(z.number().int().min(1, '星期须为 1（周一）到 7（周日）').max(7, '星期须为 1（周一）到 7（周日）'))
      .min(1, '至少选择一天')
      .transform((d) => [...new Set(d)].sort((a, b) => a - b)),
  }),
  z.object({ kind: z.literal('relative') }),
], { message: '计划类型须为 recurring（按周重复）或 relative（按建群天数）' });

const planFields = {
  name: z.string().trim().min(1, '请填写计划名称').max(100, '计划名称最多 100 个字'),
  target: targetSchema,
  schedule: scheduleSchema,
  steps: z.array(stepSchema).min(1, '至少一个步骤').max(20, '最多 20 个步骤'),
  windowMinutes: z.number().int().min(10, '发送窗口至少 10 分钟').max(1440, '发送窗口最多 1440 分钟（一天）'),
  isPaused: z.boolean(),
};

/** A new plan. */
export const sopPlanInput = z.object({ ...planFields, windowMinutes: planFields.windowMinutes.default(120), isPaused: planFields.isPaused.default(false) });

/** A change to a plan: the fields it names. */
export const sopPlanPatch = z.object(planFields).partial();

/** What `sopPlanInput` produces. */
export type SopPlanInput = z.infer<typeof sopPlanInput>;
/** What `sopPlanPatch` produces. */
export type SopPlanPatch = z.infer<typeof sopPlanPatch>;
