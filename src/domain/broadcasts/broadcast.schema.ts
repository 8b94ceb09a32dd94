// The API's checks of a new broadcast (zod); the type it produces is broadcast.types.ts's BroadcastInput.
import { z } from 'zod';
import type { BroadcastInput } from './broadcast.types.js';

// ≤ 9 attachments per add_msg_template (docs/wecom-protocol.md §Mass messages); the shapes are checked by the gateway
// and WeCom.
const attachments = z
  .array(z.looseObject({ kind: z.enum(['image', 'link', 'miniprogram', 'video', 'file']) }))
  .max(9)
  .default([]);

const isNotBlank = (s: string) => s.trim() !== '';

/** A broadcast as `POST /api/v1/broadcasts` accepts it. The text's byte limit is checked by the service. */
export const broadcastInput = z.object({
  name: z.string().trim().min(1).max(100),
  // Blank would mean "everyone" to the parser; a broadcast to every customer must say `all` on purpose.
  audience: z.string().max(4000).refine(isNotBlank, { message: '受众不能为空；发给全部客户请写 all / required: write `all` for every customer' }),
  message: z.object({
    text: z.string().max(20_000).refine(isNotBlank, { message: '消息文本不能为空 / text must not be empty' }),
    attachments,
  }),
  /** ISO-8601 with an offset; default now. */
  sendAt: z.iso.datetime({ offset: true }).optional(),
  /** Who sends: the customer's owner, chosen by the care flow's sender policy among active followers. */
  sender: z.literal('owner').default('owner'),
});

// The schemas above and the types in broadcast.types.ts describe the same shapes: each must accept the other's.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _input: Same<z.infer<typeof broadcastInput>, BroadcastInput> = true;
