import type { Container } from '../../src/container.js';

/** A customer group persisted through the group archive's repository, with `members` external members. */
export async function buildGroup(
  c: Container,
  g: { chatId: string; name: string; owner: string | null; createdAt: Date; members?: number },
): Promise<void> {
  const now = c.clock.now().getTime();
  const members = Array.from({ length: g.members ?? 0 }, (_, i) => ({ memberId: `wm_${g.chatId}_${i}`, type: 2, joinedAt: g.createdAt }));
  await c.db.tx((em) =>
    c.repos.groupChats.applySnapshotInTx(em, { chatId: g.chatId, name: g.name, owner: g.owner, createdAt: g.createdAt, members }, { readAt: now, now, leaveOf: () => ({ at: now, quitScene: null }) }),
  );
}
