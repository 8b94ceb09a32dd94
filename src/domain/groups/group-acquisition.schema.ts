// The API's checks of 群活码 and 入群欢迎语 (zod), in zh-CN; the types they produce are the services' inputs.
import { z } from 'zod';

const chatId = z.string().trim().min(1, '群 ID 不能为空').max(64, '群 ID 过长');
const httpUrl = (what: string) =>
  z
    .string()
    .trim()
    .max(2048, `${what}过长`)
    .refine((s) => /^https?:\/\/[^\s]+$/i.test(s), `${what}须以 http:// 或 https:// 开头`);
const bytesAtMost = (max: number, what: string) => z.string().refine((s) => Buffer.byteLength(s, 'utf8') <= max, `${what}最多 ${max} 字节`);

/**
 * A 群活码 as `POST /api/v1/group-codes` takes it: 1–5 groups, and with auto-create a room base name ≤ 40 characters
 * (docs/wecom-protocol.md §Group join ways).
 */
export const groupCodeInput = z
  .object({
    name: z.string().trim().min(1, '请填写群活码名称').max(100, '群活码名称最多 100 个字'),
    chatIds: z
      .array(chatId)
      .min(1, '请至少选择一个客户群')
      .max(5, '一个群活码最多 5 个群')
      .refine((ids) => new Set(ids).size === ids.length, '同一个群不能选两次'),
    autoCreateRoom: z.boolean().default(true),
    roomBaseName: z.string().trim().max(40, '群名前缀最多 40 个字').default(''),
    roomBaseId: z.number().int('起始序号须为整数').min(1, '起始序号至少为 1').max(1_000_000, '起始序号过大').default(1),
  })
  .refine((c) => !c.autoCreateRoom || c.roomBaseName.length > 0, { message: '开启自动建群时请填写群名前缀', path: ['roomBaseName'] });

/** A PATCH of a 群活码: any subset of the fields. */
export const groupCodePatch = z.object({
  name: z.string().trim().min(1, '请填写群活码名称').max(100, '群活码名称最多 100 个字').optional(),
  chatIds: z
    .array(chatId)
    .min(1, '请至少选择一个客户群')
    .max(5, '一个群活码最多 5 个群')
    .refine((ids) => new Set(ids).size === ids.length, '同一个群不能选两次')
    .optional(),
  autoCreateRoom: z.boolean().optional(),
  roomBaseName: z.string().trim().max(40, '群名前缀最多 40 个字').optional(),
  roomBaseId: z.number().int('起始序号须为整数').min(1, '起始序号至少为 1').max(1_000_000, '起始序号过大').optional(),
});

/**
 * The attachments of a group welcome template: at most one of each kind, as WeCom's template holds (an object per kind,
 * docs/wecom-protocol.md §Group welcome templates). The image is a lasting URL (media/uploadimg); mini-programs, files
 * and videos take media ids.
 */
const attachments = z.strictObject(
  {
    image: z.object({ picUrl: httpUrl('图片链接') }).strict().optional(),
    link: z
      .object({
        title: z.string().trim().min(1, '请填写链接标题').pipe(bytesAtMost(128, '链接标题')),
        url: httpUrl('链接地址'),
        desc: bytesAtMost(512, '链接描述').optional(),
        picUrl: httpUrl('封面图片链接').optional(),
      })
      .strict()
      .optional(),
    miniprogram: z
      .object({
        title: z.string().trim().min(1, '请填写小程序标题').pipe(bytesAtMost(64, '小程序标题')),
        picMediaId: z.string().trim().min(1, '请填写小程序封面的素材 ID').max(256),
        appId: z.string().trim().min(1, '请填写小程序 appid').max(64),
        page: z.string().trim().min(1, '请填写小程序页面路径').max(512),
      })
      .strict()
      .optional(),
    file: z.object({ mediaId: z.string().trim().min(1, '请填写文件的素材 ID').max(256) }).strict().optional(),
    video: z.object({ mediaId: z.string().trim().min(1, '请填写视频的素材 ID').max(256) }).strict().optional(),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? '附件只能是 image、link、miniprogram、file、video，每种最多一个' : undefined) },
);

/** A group welcome template as `POST /api/v1/group-welcome-templates` takes it; the 3000-byte text is checked by the service. */
export const groupWelcomeInput = z.object({
  name: z.string().trim().min(1, '请填写欢迎语名称').max(50, '欢迎语名称最多 50 个字'),
  text: z.string().max(20_000, '欢迎语文字过长').default(''),
  attachments: attachments.default({}),
  // 素材库 items; with the own attachments at most one of each kind, checked by the service (docs/content.md §Composers).
  contentIds: z.array(z.string().trim().min(1).max(36)).max(9, '最多选 9 个素材').default([]),
  notify: z.boolean().default(true),
});

/** A PATCH of a group welcome template. */
export const groupWelcomePatch = z.object({
  name: groupWelcomeInput.shape.name.optional(),
  text: z.string().max(20_000, '欢迎语文字过长').optional(),
  attachments: attachments.optional(),
  contentIds: groupWelcomeInput.shape.contentIds.removeDefault().optional(),
  notify: z.boolean().optional(),
});
