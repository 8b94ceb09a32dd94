import type { ChannelService } from './channel.service.js';
import type { ChannelRepository } from '../../persistence/repositories/channel.repository.js';
import type { Channel } from './channel.types.js';

/** The name of the channel created for the sandbox tour. */
export const DEMO_CHANNEL_NAME = '演示渠道';

/**
 * In sandbox mode, make sure one demo channel exists so the quick start's curl shows the whole flow: the add is
 * attributed to a channel, tagged and welcomed. Idempotent across restarts (found by name).
 */
export async function ensureDemoChannel(channels: ChannelService, repo: ChannelRepository): Promise<Channel> {
  const { items } = await repo.list(1, 500);
  const existing = items.find((c) => c.name === DEMO_CHANNEL_NAME);
  if (existing) return existing;
  return channels.create({
    name: DEMO_CHANNEL_NAME,
    staff: ['zhangsan'],
    tags: ['来源:演示渠道', '客户等级:普通'],
    welcome: { text: '{{name}}您好，我是{{staff}}，欢迎添加！有任何问题随时找我。' },
  });
}
