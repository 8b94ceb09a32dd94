import type { Channel, ChannelDayStats } from '../../domain/channels/channel.types.js';

/** A channel (contract: `{ id, state, qrCode }` plus its definition). */
export function presentChannel(c: Channel, stats?: ChannelDayStats[]) {
  return {
    id: c.id,
    name: c.name,
    state: c.state,
    qrCode: c.qrCode,
    configId: c.configId,
    staff: c.staff,
    tags: c.tags,
    welcome: c.welcome,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    ...(stats ? { stats: stats.map((s) => ({ ...s, net: s.adds - s.deletes })) } : {}),
  };
}
