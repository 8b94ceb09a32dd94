import type { EntityManager } from 'typeorm';
import type { Db } from '../../persistence/db.js';
import type { TagRepository } from '../../persistence/repositories/tag.repository.js';
import type { CustomerTagSource, Tag } from './tag.types.js';
import type { FollowRelationRepository } from '../../persistence/repositories/follow-relation.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { WecomApiError } from '../../shared/errors.js';

// 84061: no such relation (the staff deleted the customer or the add is half-done); 40096: id not visible.
// Such a relation cannot be tagged; the local record still holds (docs/wecom-protocol.md §Error codes).
const NO_RELATION_ERRCODES = new Set([84061, 40096]);

/** rule_id on a relation's `wecom` row that the bot itself marked (so a rule may take it back later). */
export const BOT_MARK = '@bot';

/**
 * Puts tags on customers and takes them off, locally and in WeCom. WeCom tags are per (staff, customer)
 * relation and API writes raise no callback (docs/wecom-protocol.md §Tagging a customer, §Follow relations), so every
 * write is mirrored into the relation's `wecom` rows here. Each source owns its rows: a rule never removes what a
 * person or WeCom put there.
 */
export class CustomerTaggingService {
  constructor(
    private readonly db: Db,
    private readonly tags: TagRepository,
    private readonly relations: FollowRelationRepository,
    private readonly wecom: WecomGateway,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /**
   * Add tags from one source. WeCom first (mark_tag per relation, idempotent there), then one local transaction.
   * `userids` limits the WeCom write to some relations (a channel tags the relation it created).
   */
  async addTags(input: { externalUserId: string; tags: Tag[]; source: CustomerTagSource; ruleId?: string | null; userids?: string[] }): Promise<void> {
    const write = await this.prepareAdd(input);
    if (write) await this.db.tx(write);
  }

  /**
   * `addTags` in two steps, so the local rows can commit inside a caller's transaction: the WeCom calls now, and the
   * returned write for the caller's transaction (null when there is nothing to write). `shown` says which tag ids WeCom
   * shows on a relation, when the caller has just read them (an add's customer as externalcontact/get returned it);
   * without it they are read from the archive.
   */
  async prepareAdd(input: {
    externalUserId: string;
    tags: Tag[];
    source: CustomerTagSource;
    ruleId?: string | null;
    userids?: string[];
    shown?: (userid: string) => readonly string[];
  }): Promise<((em: EntityManager) => Promise<void>) | null> {
    if (input.tags.length === 0) return null;
    const ext = input.externalUserId;
    const targets = input.userids ?? (await this.relations.activeUserids(ext));
    const wecomTagIds = input.tags.filter((t) => t.source === 'wecom').map((t) => t.id);
    // Only what WeCom does not already show on a relation: a replayed event then makes no WeCom call at all.
    let shown = input.shown;
    if (!shown && wecomTagIds.length > 0) {
      const have = await this.tags.listForCustomer(ext);
      shown = (userid) => have.filter((r) => r.source === 'wecom' && r.userid === userid).map((r) => r.tagId);
    }
    const marked: string[] = [];
    for (const userid of targets) {
      const on = shown?.(userid) ?? [];
      const missing = wecomTagIds.filter((id) => !on.includes(id));
      if (missing.length === 0) continue;
      marked.push(...(await this.markEach(ext, [userid], missing, [])));
    }
    const now = this.clock.now().getTime();
    const rows = [
      ...input.tags.map((t) => ({ externalUserId: ext, tagId: t.id, userid: '', source: input.source, ruleId: input.ruleId ?? null })),
      ...marked.flatMap((userid) => wecomTagIds.map((tagId) => ({ externalUserId: ext, tagId, userid, source: 'wecom' as const, ruleId: BOT_MARK }))),
    ];
    return (em) => this.tags.addManyInTx(em, rows, now);
  }

  /**
   * Remove tags written by one source (and rule). In WeCom a tag is removed only when no other source still
   * claims it for this customer, so manual and WeCom-side tags are never clobbered.
   */
  async removeTags(input: { externalUserId: string; tagIds: string[]; source: CustomerTagSource; ruleId?: string }): Promise<void> {
    if (input.tagIds.length === 0) return;
    const ext = input.externalUserId;
    await this.db.tx((em) => this.tags.removeInTx(em, { externalUserId: ext, tagIds: input.tagIds, source: input.source, ruleId: input.ruleId }));
    const remaining = await this.tags.listForCustomer(ext);
    const claimed = new Set(remaining.filter((r) => r.source !== 'wecom').map((r) => r.tagId));
    const unclaimed = input.tagIds.filter((id) => !claimed.has(id));
    if (unclaimed.length === 0) return;
    const wecomIds = (await this.tags.findByIds(unclaimed)).filter((t) => t.source === 'wecom').map((t) => t.id);
    // A person removing a tag means it, on every relation. A rule only takes back what the bot itself marked
    // (rows tagged BOT_MARK): a tag staff put on in the WeCom client stays.
    const relevant = remaining.filter((r) => r.source === 'wecom' && wecomIds.includes(r.tagId) && (input.source === 'manual' || r.ruleId === BOT_MARK));
    const byUser = new Map<string, string[]>();
    for (const r of relevant) byUser.set(r.userid, [...(byUser.get(r.userid) ?? []), r.tagId]);
    // A person's removal goes to every active relation, not only those whose local rows show the tag: an add's archive
    // write replaces each relation's WeCom tags with what externalcontact/get showed when the add was read, which can
    // be from before the tag was marked, and the tag would then stay in WeCom (docs/tags.md §Removing a tag by hand).
    if (input.source === 'manual' && wecomIds.length > 0) {
      for (const userid of await this.relations.activeUserids(ext)) byUser.set(userid, [...new Set([...(byUser.get(userid) ?? []), ...wecomIds])]);
    }
    for (const [userid, tagIds] of byUser) {
      const done = await this.markEach(ext, [userid], [], tagIds);
      if (done.length === 0) continue;
      await this.db.tx((em) => this.tags.removeInTx(em, { externalUserId: ext, tagIds, source: 'wecom', userid }));
    }
  }

  /** mark_tag on each relation; relations WeCom says do not exist are skipped. Returns the userids written. */
  private async markEach(ext: string, userids: string[], add: string[], remove: string[]): Promise<string[]> {
    const done: string[] = [];
    for (const userId of userids) {
      try {
        await this.wecom.markTag({ userId, externalUserId: ext, addTagIds: add.length ? add : undefined, removeTagIds: remove.length ? remove : undefined });
        done.push(userId);
      } catch (err) {
        if (err instanceof WecomApiError && NO_RELATION_ERRCODES.has(err.errcode)) {
          this.log.info({ userId, errcode: err.errcode }, 'mark_tag skipped: relation not taggable');
          continue;
        }
        throw err;
      }
    }
    return done;
  }
}
