// The API's checks of a new broadcast (zod); the type it produces is broadcast.types.ts's BroadcastInput.
import { z } from 'zod';
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { BroadcastInput } from './broadcast.types.js';
import { MAX_HOLDOUT_PERCENT } from '../delivery/holdout.js';

const isNotBlank = (s: string) => s.trim() !== '';
const required = (what: string, max: number) => z.string().trim().min(1, `请填写${what}`).max(max, `${what}最多 ${max} 个字`);
const httpUrl = (what: string) =>
  z
    .string()
    .trim()
    .max(2048, `${what}过长`)
    .refine((s) => /^https?:\/\/[^\s]+$/i.test(s), `${what}须以 http:// 或 https:// 开头`);
const mediaId = z.string().trim().min(1, '请填写素材 media_id').max(256);

// The five attachment kinds of add_msg_template, in the gateway's shape (docs/wecom-protocol.md §Mass messages,
// §Welcome messages). A media id lives 3 days (docs/wecom-protocol.md §Media), so an image for a broadcast is best a
// permanent picUrl; WeCom checks the ids themselves when the task is created.
const attachment = z.discriminatedUnion('kind', [
  z
    .object({ kind: z.literal('image'), picUrl: httpUrl('图片链接').optional(), mediaId: mediaId.optional() })
    .refine((a) => a.picUrl || a.mediaId, { message: '图片需要图片链接或 media_id', path: ['picUrl'] }),
  z.object({ kind: z.literal('link'), title: required('链接标题', 128), url: httpUrl('链接地址'), desc: z.string().trim().max(512, '链接描述最多 512 个字').optional(), picUrl: httpUrl('封面图片链接').optional() }),
  z.object({
    kind: z.literal('miniprogram'),
    title: required('小程序标题', 64),
    appId: z.string().trim().regex(/^wx[0-9a-zA-Z]{6,30}$/, '小程序 AppID 形如 wx 开头的 18 位字符'),
    page: required('小程序页面路径', 1024),
    picMediaId: mediaId,
  }),
  z.object({ kind: z.literal('video'), mediaId }),
  z.object({ kind: z.literal('file'), mediaId }),
]);

/** ≤ 9 attachments per add_msg_template (docs/wecom-protocol.md §Mass messages); group broadcasts take the same. */
export const attachments = z.array(attachment).max(9, '附件最多 9 个').default([]);

/** A broadcast as `POST /api/v1/broadcasts` accepts it. The text's byte limit is checked by the service. */
export const broadcastInput = z.object({
  name: z.string().trim().min(1, '请填写群发名称').max(100, '群发名称最多 100 个字'),
  // Blank would mean "everyone" to the parser; a broadcast to every customer must say `all` on purpose.
  audience: z.string().max(4000, '受众表达式过长').refine(isNotBlank, { message: '受众不能为空；发给全部客户请写 all / required: write `all` for every customer' }),
  message: z.object({
    text: z.string().max(20_000).refine(isNotBlank, { message: '消息文本不能为空 / text must not be empty' }),
    attachments,
    /** 素材库 items after the text and attachments: checked now, resolved when planned (docs/content.md §Media lifecycle). */
    contentIds: z.array(z.string().min(1).max(36)).max(9, '每条消息最多 9 个素材').default([]),
  }),
  /** ISO-8601 with an offset; default now. */
  sendAt: z.iso.datetime({ offset: true, message: '发送时间格式有误' }).optional(),
  /** Who sends: the customer's owner, chosen by the care flow's sender policy among active followers. */
  sender: z.literal('owner').default('owner'),
  /** The share of the audience held out to measure the lift (docs/analytics.md §Holdout). */
  holdoutPercent: z
    .number({ message: '对照组比例须为 0–50 的整数' })
    .int('对照组比例须为 0–50 的整数')
    .min(0, '对照组比例须为 0–50 的整数')
    .max(MAX_HOLDOUT_PERCENT, `对照组比例最多 ${MAX_HOLDOUT_PERCENT}%`)
    .default(0),
});

/**
 * `POST /api/v1/broadcasts/preview`: a message as the create form holds it, rendered for one customer of the audience
 * (the one named, or the first).
 */
export const broadcastPreviewInput = z.object({
  audience: broadcastInput.shape.audience,
  message: z.object({ text: z.string().max(20_000).default(''), attachments }),
  externalUserId: z.string().trim().min(1).max(64).optional(),
});

// The schemas above and the types in broadcast.types.ts describe the same shapes: each must accept the other's.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _input: Same<z.infer<typeof broadcastInput>, BroadcastInput> = true;
const _attachment: Same<z.infer<typeof attachment>, MessageAttachment> = true;
