// The API's checks of journeys (zod); the types they produce are journey.types.ts's.
import { z } from 'zod';
import { MAX_HOLDOUT_PERCENT } from '../delivery/holdout.js';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, '时间应为 HH:mm，例如 10:00');

// ≤ 9 attachments per message (docs/wecom-protocol.md §Mass messages); the shapes are checked by WeCom and the gateway.
const attachments = z
  .array(z.looseObject({ kind: z.enum(['image', 'link', 'miniprogram', 'video', 'file'], { message: '附件类型须为 image、link、miniprogram、video 或 file' }) }))
  .max(9, '每条消息最多 9 个附件')
  .default([]);

const delay = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('after'), minutes: z.number({ message: '延迟须为分钟数' }).int('延迟须为整数分钟').min(0, '延迟不能为负').max(365 * 1440, '延迟最多一年') }),
    z.object({ kind: z.literal('at'), days: z.number({ message: '请填写第几天' }).int('天数须为整数').min(0, '天数不能为负').max(365, '天数最多 365'), time: hhmm }),
  ],
  { message: '延迟须为 after（分钟/小时/天后）或 at（N 天后的几点）' },
);

const title = z.string().trim().min(1, '请填写步骤名称').max(50, '步骤名称最多 50 个字');
const text = z.string().trim().min(1, '请填写内容').max(4000, '内容最多 4000 个字');
const contentIds = z.array(z.string().min(1).max(36)).max(9, '每条消息最多 9 个素材').default([]);
const tagIds = z.array(z.string().min(1).max(64)).max(20, '最多 20 个标签');
const stageField = z.enum(['stage', 'activity'], { message: '须为 stage（生命周期阶段）或 activity（活跃度）' });

const step = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('message'), title, delay, text, attachments, contentIds }),
    z.object({ kind: z.literal('task'), title, delay, text, attachments, contentIds, dueHours: z.number().int().min(1, '完成期限至少 1 小时').max(24 * 30, '完成期限最多 30 天').default(24) }),
    z
      .object({ kind: z.literal('tag'), title, delay, add: tagIds.default([]), remove: tagIds.default([]) })
      .refine((s) => s.add.length + s.remove.length > 0, '标签步骤请至少添加或移除一个标签'),
    z.object({
      kind: z.literal('wait'),
      title,
      delay,
      until: z.discriminatedUnion(
        'kind',
        [z.object({ kind: z.literal('ordered') }), z.object({ kind: z.literal('has_tag'), tagId: z.string().min(1).max(64) }), z.object({ kind: z.literal('stage'), field: stageField, value: z.string().min(1).max(32) })],
        { message: '等待条件须为 ordered（已下单）、has_tag（有标签）或 stage（阶段为）' },
      ),
      timeoutHours: z.number().int().min(1, '超时至少 1 小时').max(24 * 90, '超时最多 90 天'),
      onTimeout: z.enum(['continue', 'exit'], { message: '超时后须为 continue（继续）或 exit（退出旅程）' }).default('continue'),
    }),
  ],
  { message: '步骤类型须为 message（自动消息）、task（员工任务）、tag（标签变更）或 wait（等待条件）' },
);

const trigger = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('channel'), channelIds: z.array(z.string().min(1).max(36)).min(1, '请至少选择一个渠道').max(50) }),
    z.object({ kind: z.literal('tag_added'), tagIds: tagIds.min(1, '请至少选择一个标签') }),
    z.object({ kind: z.literal('stage'), field: stageField, value: z.string().min(1).max(32) }),
    z.object({ kind: z.literal('first_order') }),
    z
      .object({ kind: z.literal('survey'), surveyId: z.number().int().positive().nullable().default(null), minScore: z.number().int().min(0).max(10), maxScore: z.number().int().min(0).max(10) })
      .refine((t) => t.minScore <= t.maxScore, '最低分不能高于最高分'),
    z.object({ kind: z.literal('birthday'), daysBefore: z.number().int().min(0, '提前天数不能为负').max(60, '最多提前 60 天') }),
    z.object({ kind: z.literal('audience'), audience: z.string().trim().min(1, '请填写人群条件').max(2000) }),
    z.object({ kind: z.literal('manual') }),
  ],
  { message: '触发方式须为 channel、tag_added、stage、first_order、survey、birthday、audience 或 manual' },
);

const exits = z.object({ replied: z.boolean().default(true), ordered: z.boolean().default(true), tagRemoved: tagIds.default([]) });

/** A version's definition. */
export const journeyDefinition = z.object({
  trigger,
  steps: z.array(step).min(1, '至少一个步骤').max(30, '最多 30 个步骤'),
  exits: exits.default({ replied: true, ordered: true, tagRemoved: [] }),
});

const settings = {
  name: z.string().trim().min(1, '请填写旅程名称').max(100, '旅程名称最多 100 个字'),
  reentry: z.enum(['never', 'after_days'], { message: '重新进入须为 never（不再进入）或 after_days（N 天后可再进入）' }),
  reentryDays: z.number().int().min(1, '重新进入间隔至少 1 天').max(3650).nullable(),
  holdoutPercent: z.number().int().min(0, '对照组比例须为 0–50').max(MAX_HOLDOUT_PERCENT, `对照组比例须为 0–${MAX_HOLDOUT_PERCENT}`),
  transferPolicy: z.enum(['follow', 'stop'], { message: '客户转接后须为 follow（跟随新负责人）或 stop（停止）' }),
  conversionDays: z.number().int().min(1, '转化窗口至少 1 天').max(365, '转化窗口最多 365 天'),
  priority: z.number().int().min(0).max(100),
};

/** A new journey (a draft, with its first version). */
export const journeyInput = z
  .object({
    ...settings,
    reentry: settings.reentry.default('never'),
    reentryDays: settings.reentryDays.default(null),
    holdoutPercent: settings.holdoutPercent.default(0),
    transferPolicy: settings.transferPolicy.default('follow'),
    conversionDays: settings.conversionDays.default(7),
    priority: settings.priority.default(50),
    definition: journeyDefinition,
  })
  .refine((j) => j.reentry !== 'after_days' || j.reentryDays !== null, { message: '选择 N 天后可再进入时请填写天数', path: ['reentryDays'] });

/** An edit: settings it names; a definition makes a new version. */
export const journeyPatch = z.object({ ...settings, definition: journeyDefinition }).partial();

/** Enrol a selection by hand. */
export const journeyEnrolInput = z.object({ externalUserIds: z.array(z.string().min(1).max(64)).min(1, '请至少选择一位客户').max(1000, '一次最多 1000 位客户') });

/** Move active members to the newest version. */
export const journeyMigrateInput = z.object({ membershipIds: z.array(z.number().int().positive()).max(10_000).optional() });

export type JourneyInput = z.infer<typeof journeyInput>;
export type JourneyPatch = z.infer<typeof journeyPatch>;
