// The API's checks of a group broadcast (zod); the types they produce are group-broadcast.types.ts's.
import { z } from 'zod';
import { attachments } from '../broadcasts/broadcast.schema.js';
import { GROUP_BROADCAST_STATUSES, type GroupBroadcastInput, type GroupFilter } from './group-broadcast.types.js';

const userid = z.string().trim().min(1).max(64);
const members = z.number({ message: '群人数须为整数' }).int('群人数须为整数').min(0, '群人数不能为负').max(100_000);

/** Which groups: owners, local labels, part of the name, member count. */
export const groupFilter = z
  .object({
    owners: z.array(userid).max(100, '群主最多选 100 位').optional(),
    labelIds: z.array(z.string().trim().min(1).max(64)).max(100).optional(),
    namePattern: z.string().trim().max(100, '群名关键字最多 100 个字').optional(),
    minMembers: members.optional(),
    maxMembers: members.optional(),
    chatIds: z.array(z.string().trim().min(1).max(64)).max(10_000).optional(),
    statuses: z.array(z.number().int().min(0).max(3)).max(4).optional(),
  })
  .refine((f) => f.minMembers === undefined || f.maxMembers === undefined || f.minMembers <= f.maxMembers, { message: '最少人数不能大于最多人数', path: ['maxMembers'] })
  .transform((f) => (f.namePattern === '' ? { ...f, namePattern: undefined } : f));

const message = z.object({
  text: z.string().max(20_000).default(''),
  attachments,
  // add_msg_template takes at most 9 attachments; the service counts the message's own with the items' (docs/content.md §Limits).
  contentIds: z.array(z.string().trim().min(1).max(36)).max(9, '每条消息最多 9 个素材').optional(),
});

/** `POST /api/v1/group-broadcasts`. The text's byte limit and emptiness are checked by the service. */
export const groupBroadcastInput = z.object({
  name: z.string().trim().min(1, '请填写群发名称').max(100, '群发名称最多 100 个字'),
  filter: groupFilter.default({}),
  message,
  sendAt: z.iso.datetime({ offset: true, message: '发送时间格式有误' }).optional(),
});

/** `POST /api/v1/group-broadcasts/preview`: the filter (and the message, not needed to count). */
export const groupBroadcastPreviewInput = z.object({ filter: groupFilter.default({}) });

/** `GET /api/v1/group-broadcasts` query's status. */
export const groupBroadcastStatus = z.enum(GROUP_BROADCAST_STATUSES);

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _filter: Same<z.infer<typeof groupFilter>, GroupFilter> = true;
const _input: Same<z.infer<typeof groupBroadcastInput>, GroupBroadcastInput> = true;
