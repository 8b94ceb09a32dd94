// The API's checks of a channel code (zod); the type it produces is channel.service.ts's ChannelInput.
import { z } from 'zod';

const required = (what: string, max: number) => z.string().trim().min(1, `请填写${what}`).max(max, `${what}最多 ${max} 个字`);
const httpUrl = (what: string) =>
  z
    .string()
    .trim()
    .max(2048, `${what}过长`)
    .refine((s) => /^https?:\/\/[^\s]+$/i.test(s), `${what}须以 http:// 或 https:// 开头`);
const LASTING_ONLY = '渠道欢迎语在客户扫码时才发送，可能是几个月后，而 media_id 3 天后失效：请用图片链接或网页链接';

// A welcome goes out whenever a customer scans, long after the channel was saved, and a media id lives 3 days
// (docs/wecom-protocol.md §Media); so a channel's attachments are the ones that need no media id: an image by its
// permanent URL (pic_url) and a link. Mini-programs, videos and files need a fresh media id per send and are refused
// with that reason. Shapes: the gateway's MessageAttachment (docs/wecom-protocol.md §Welcome messages).
const attachment = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('image'), picUrl: httpUrl('图片链接') }).strict(),
    z
      .object({
        kind: z.literal('link'),
        title: required('链接标题', 128),
        url: httpUrl('链接地址'),
        desc: z.string().trim().max(512, '链接描述最多 512 个字').optional(),
        picUrl: httpUrl('封面图片链接').optional(),
      })
      .strict(),
    z.object({ kind: z.literal('miniprogram') }).passthrough().refine(() => false, LASTING_ONLY),
    z.object({ kind: z.literal('video') }).passthrough().refine(() => false, LASTING_ONLY),
    z.object({ kind: z.literal('file') }).passthrough().refine(() => false, LASTING_ONLY),
  ],
  { error: () => '附件类型只能是 image（图片）或 link（链接）' },
);

/** The welcome: text ({{name}}, {{staff}}) and up to 9 attachments (docs/wecom-protocol.md §Welcome messages). */
export const channelWelcome = z.object({
  text: z.string().max(20_000, '欢迎语过长').default(''),
  attachments: z.array(attachment).max(9, '欢迎语附件最多 9 个').optional(),
  /**
   * 素材库 items: their media is kept fresh by the library's job, so files, videos and mini-programs may come from
   * there (docs/content.md §Composers). Checked by the service when saved.
   */
  contentIds: z.array(z.string().min(1).max(36)).max(9, '每条消息最多 9 个素材').optional(),
});

/** A channel code as `POST /api/v1/channels` accepts it; the welcome's 4000-byte limit is checked by the service. */
export const channelInput = z.object({
  name: z.string().trim().min(1, '请填写渠道名称').max(100, '渠道名称最多 100 个字'),
  staff: z.array(z.string().min(1).max(64)).min(1, '至少选择一位接待员工').max(100, '接待员工最多 100 人'),
  tags: z.array(z.string().trim().min(1, '标签名不能为空').max(61, '标签名最多 61 个字')).max(20, '自动标签最多 20 个').default([]),
  welcome: channelWelcome.nullable().optional(),
});

/** A PATCH: any subset of the fields; tags are not reset by omission. */
export const channelPatch = channelInput.extend({ tags: channelInput.shape.tags.unwrap() }).partial();
