import type { GroupChatRepository } from '../../persistence/repositories/group-chat.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { GroupChatRef } from '../../wecom/client/types.js';
import { WecomApiError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { GroupArchiveService } from './group-archive.service.js';
import type { GroupSyncProgress } from './group-chat.types.js';

export type { GroupSyncProgress } from './group-chat.types.js';

/** groupchat/list without owner_filter over a visible range of more than 1000 members (docs/wecom-protocol.md §Customer groups). */
export const ERR_VISIBLE_RANGE_TOO_LARGE = 81017;
/** groupchat/list's page size, at most 1000; owner_filter takes at most 100 userids (docs/wecom-protocol.md §Customer groups). */
const LIST_LIMIT = 1000;
const OWNERS_PER_CALL = 100;
/** groupchat/get calls in flight at once: a few, so one sync does not eat the corp's API budget (docs/rate-limits.md). */
const GET_CONCURRENCY = 5;
/** Progress is saved after this many groups, and at every page. */
const SAVE_EVERY = 50;

/** Progress as the command line shows it. */
export type GroupSyncListener = (p: { groups: number; fetched: number; elapsedMs: number }) => void;

/** A fresh group phase. */
export function newGroupSyncProgress(): GroupSyncProgress {
  return { cursor: '', ownerChunk: null, isListed: false, listed: 0, fetched: 0, joined: 0, left: 0, dismissed: 0 };
}

/**
 * The group phase of `wecom-ops sync` and the nightly sync (docs/groups.md §Full sync): every group of every status
 * from groupchat/list (status_filter 0, cursor-paged; per 100 owners after 81017), each re-read with groupchat/get
 * and applied like a callback, so members who joined or left unseen get their spells opened or closed. A group
 * this run already applied is skipped, which makes a resumed page cheap. Groups WeCom did not list are re-read last:
 * 40050 dismisses them.
 */
export class GroupSyncService {
  constructor(
    private readonly chats: GroupChatRepository,
    private readonly archive: GroupArchiveService,
    private readonly wecom: WecomGateway,
    private readonly log: Logger,
  ) {}

  /** Run (or resume) the phase to its end; `save` persists progress with the run. */
  async run(runId: string, p: GroupSyncProgress, owners: string[], save: (p: GroupSyncProgress) => Promise<void>, onProgress?: GroupSyncListener): Promise<GroupSyncProgress> {
    const started = Date.now();
    while (!p.isListed) {
      const ownerUserIds = p.ownerChunk === null ? undefined : owners.slice(p.ownerChunk * OWNERS_PER_CALL, (p.ownerChunk + 1) * OWNERS_PER_CALL);
      let page: { items: GroupChatRef[]; nextCursor: string };
      try {
        page = await this.wecom.groupChatList({ statusFilter: 0, limit: LIST_LIMIT, cursor: p.cursor || undefined, ...(ownerUserIds ? { ownerUserIds } : {}) });
      } catch (err) {
        if (err instanceof WecomApiError && err.errcode === ERR_VISIBLE_RANGE_TOO_LARGE && p.ownerChunk === null) {
          this.log.info({ runId, owners: owners.length }, 'groupchat/list refused the whole visible range; listing per 100 owners');
          Object.assign(p, { ownerChunk: 0, cursor: '' });
          await save(p);
          continue;
        }
        throw err;
      }
      const seen = await this.chats.seenIn(runId, page.items.map((g) => g.chatId));
      const todo = page.items.filter((g) => !seen.has(g.chatId));
      for (let i = 0; i < todo.length; i += SAVE_EVERY) {
        await this.refreshAll(runId, todo.slice(i, i + SAVE_EVERY), p);
        await save(p);
        onProgress?.({ groups: p.fetched, fetched: p.fetched, elapsedMs: Date.now() - started });
      }
      if (page.nextCursor) p.cursor = page.nextCursor;
      else if (p.ownerChunk !== null && (p.ownerChunk + 1) * OWNERS_PER_CALL < owners.length) Object.assign(p, { ownerChunk: p.ownerChunk + 1, cursor: '' });
      else p.isListed = true;
      await save(p);
    }
    // Counted from the archive, so a run that crashed between two saves still reports every group it applied.
    p.listed = await this.chats.countSeen(runId);
    // Groups the archive holds that WeCom no longer listed: dismissed while the bot was not listening, or out of reach.
    const unseen = await this.chats.findUnseen(runId);
    for (const chatId of unseen) {
      const r = await this.archive.refresh(chatId, { syncRunId: runId });
      if (r.isDismissed) p.dismissed += 1;
      p.left += r.left;
    }
    if (unseen.length > 0) await save(p);
    return p;
  }

  /** groupchat/get and apply each group, a few at a time. */
  private async refreshAll(runId: string, refs: GroupChatRef[], p: GroupSyncProgress): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < refs.length) {
        const ref = refs[next++]!;
        const r = await this.archive.refresh(ref.chatId, { syncRunId: runId, status: ref.status });
        p.fetched += 1;
        p.joined += r.joined;
        p.left += r.left;
        if (r.isDismissed) p.dismissed += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(GET_CONCURRENCY, refs.length) }, worker));
  }
}
