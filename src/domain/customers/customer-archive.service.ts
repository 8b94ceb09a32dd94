import type { EntityManager } from 'typeorm';
import type { Db } from '../../persistence/db.js';
import type { CustomerRepository } from '../../persistence/repositories/customer.repository.js';
import type { FollowRelationRepository } from '../../persistence/repositories/follow-relation.repository.js';
import type { RelationStatus } from './follow-relation.types.js';
import type { TagRepository } from '../../persistence/repositories/tag.repository.js';
import type { ExternalContact, ExternalContactDetail, FollowInfo, WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import type { TagLibraryService } from '../tags/tag-library.service.js';
import { customerProfileOf, planPairPage, type PagePair } from './pair-page.js';

/** Port: when each customer's personal data was last erased (epoch ms), for those erased at all. */
export type ErasureCheck = (externalUserIds: string[]) => Promise<Map<string, number>>;

/** How a customer is stored (CustomerArchiveService.store). */
export interface StoreOptions {
  eventTime?: number | null;
  reactivateUserid?: string;
  /** The caller's bookkeeping, last in the same transaction, with what changed on each relation. */
  inTx?: (em: EntityManager, changes: RelationChange[]) => Promise<void>;
}

/** What changed on one relation when WeCom's view was written. */
export interface RelationChange {
  userid: string;
  before: RelationStatus | null;
  after: RelationStatus;
  state: string | null;
}

/** A relation as both WeCom APIs describe it, with its enterprise tag ids. */
interface FollowSnapshot extends Omit<FollowInfo, 'tagIds'> {
  tagIds: string[];
}

/**
 * Writes WeCom's view of customers into the archive: profile, relations and each relation's enterprise tags.
 * Used by the event handlers (which re-read the customer,
 * docs/wecom-protocol.md §Customer contact events, §Follow relations) and by the full sync.
 */
export class CustomerArchiveService {
  constructor(
    private readonly db: Db,
    private readonly customers: CustomerRepository,
    private readonly relations: FollowRelationRepository,
    private readonly tags: TagRepository,
    private readonly library: TagLibraryService,
    private readonly wecom: WecomGateway,
    private readonly clock: Clock,
    /**
     * When each of these customers' personal data was last erased (epoch ms), from the privacy feature. WeCom still
     * holds an erased customer's relation (the friendship is theirs), so without this the nightly sync or an edit
     * event would read the profile straight back in; only a relation added after the erasure (a new add) brings the
     * customer back (PIPL art. 47).
     */
    private readonly erasedAt: ErasureCheck = async () => new Map(),
  ) {}

  /** Read the customer from WeCom (externalcontact/get, every follower page). */
  fetch(externalUserId: string): Promise<ExternalContactDetail> {
    return this.wecom.getExternalContact(externalUserId);
  }

  /**
   * Store a customer as externalcontact/get returned it. `reactivate` names the relation a newer add event
   * re-opened; `eventTime` (the event's CreateTime) lets stale events leave newer state alone.
   */
  async store(detail: ExternalContactDetail, opts: StoreOptions = {}): Promise<RelationChange[]> {
    const write = await this.prepareStore(detail, opts);
    return write ? this.db.tx(write) : [];
  }

  /**
   * `store` in two steps, so the writes can commit in a caller's transaction (an add's, with its inbox finish,
   * docs/inbox.md §Cheap handlers): the reads that come first now, and the writes as a function of the caller's
   * transaction. Null when there is nothing to write (no relation, or only ones older than the customer's erasure).
   */
  async prepareStore(detail: ExternalContactDetail, opts: StoreOptions = {}): Promise<((em: EntityManager) => Promise<RelationChange[]>) | null> {
    const follows: FollowSnapshot[] = detail.followUsers.map((f) => ({
      ...f,
      // Personal tags (type 2) have no id and cannot be managed; strategy tags (3) share the corp library
      // (docs/wecom-protocol.md §Customer details).
      tagIds: f.tags.filter((t) => t.tagId && t.type !== 2).map((t) => t.tagId!),
    }));
    return this.prepareFollows(detail.contact, follows, opts);
  }

  /**
   * Store (customer, follower) pairs from batch/get_by_user (docs/wecom-protocol.md §Batch customer details), marking
   * them seen by a sync run. A page costs a few set-based statements, not ten per pair, and leaves the tables as
   * storing its pairs one by one would (docs/reliability.md §Storing a page of the full sync).
   */
  async storePairs(allPairs: PagePair[], syncRunId: string): Promise<void> {
    const erased = await this.erasedAt([...new Set(allPairs.map((p) => p.contact.externalUserId))]);
    const pairs = allPairs.filter((p) => !isErasedRelation(erased.get(p.contact.externalUserId), p.followInfo.addedAt));
    await this.library.ensureKnown([...new Set(pairs.flatMap((p) => p.followInfo.tagIds))]);
    if (pairs.length === 0) return;
    const now = this.clock.now().getTime();
    const exts = [...new Set(pairs.map((p) => p.contact.externalUserId))];
    await this.db.tx(async (em) => {
      // Customers first, then their relations: the order every archive write locks in.
      const customers = await this.customers.lockForPageInTx(em, exts);
      const relations = await this.relations.lockOfCustomersInTx(em, exts);
      const wecomTags = await this.tags.wecomTagsOfCustomersInTx(em, exts);
      const plan = planPairPage(pairs, { customers, relations, wecomTags }, { now, syncRunId });
      await this.customers.upsertPageInTx(em, plan.customers, now);
      await this.relations.ensureStaffManyInTx(em, plan.staff, now);
      await this.relations.upsertManyInTx(em, plan.relations);
      await this.tags.deleteByIdsInTx(em, plan.tagDeletes);
      await this.tags.addManyInTx(em, plan.tagInserts.map((t) => ({ ...t, source: 'wecom' as const, ruleId: null })), now);
    });
  }

  private async prepareFollows(contact: ExternalContact, follows: FollowSnapshot[], opts: StoreOptions): Promise<((em: EntityManager) => Promise<RelationChange[]>) | null> {
    const erasedAt = (await this.erasedAt([contact.externalUserId])).get(contact.externalUserId);
    if (follows.every((f) => isErasedRelation(erasedAt, f.addedAt))) return null;
    await this.library.ensureKnown([...new Set(follows.flatMap((f) => f.tagIds))]);
    const now = this.clock.now().getTime();
    // The earliest add goes in with the profile: one statement instead of one per relation, and an add's archive
    // write is most of its statements (docs/inbox.md §Cheap handlers).
    const added = follows.flatMap((f) => (f.addedAt ? [f.addedAt.getTime()] : []));
    const firstAddedAt = added.length > 0 ? Math.min(...added) : null;
    return async (em) => {
      const isNew = await this.writeContact(em, contact, now, firstAddedAt);
      const changes: RelationChange[] = [];
      for (const f of follows) {
        const r = await this.writeFollow(em, contact.externalUserId, f, { now, eventTime: opts.eventTime, reactivate: f.userId === opts.reactivateUserid, isAddNoted: true });
        changes.push({ userid: f.userId, before: r.before, after: r.after, state: f.state ?? null });
      }
      // A customer inserted just now as active, with an active relation, stays active: nothing to refresh.
      if (!isNew || !changes.some((c) => c.after === 'active')) await this.customers.refreshActivityInTx(em, contact.externalUserId, now);
      // The caller's bookkeeping (channel stats) commits with the relation change it counts: exactly once. Last,
      // because it updates a row every add through the channel shares; its lock is then held only for the commit.
      await opts.inTx?.(em, changes);
      return changes;
    };
  }

  /** Write the profile; true when the customer was inserted. */
  private async writeContact(em: import('typeorm').EntityManager, c: ExternalContact, now: number, firstAddedAt: number | null = null): Promise<boolean> {
    return this.customers.upsertProfileInTx(em, customerProfileOf(c), now, { firstAddedAt });
  }

  private async writeFollow(
    em: import('typeorm').EntityManager,
    ext: string,
    f: FollowSnapshot,
    opts: { now: number; eventTime?: number | null; reactivate?: boolean; syncRunId?: string; isAddNoted?: boolean },
  ) {
    await this.relations.ensureStaffInTx(em, f.userId, opts.now);
    const r = await this.relations.upsertProfileInTx(
      em,
      {
        userid: f.userId,
        externalUserId: ext,
        remark: f.remark ?? '',
        description: f.description ?? '',
        remarkMobiles: f.remarkMobiles ?? [],
        addWay: f.addWay ?? 0,
        state: f.state ?? null,
        operUserid: f.operUserId ?? null,
        addedAt: f.addedAt ?? null,
      },
      { now: opts.now, eventTime: opts.eventTime, reactivate: opts.reactivate, syncRunId: opts.syncRunId ?? null },
    );
    await this.tags.replaceRelationWecomTagsInTx(em, ext, f.userId, f.tagIds, opts.now);
    // Unless writeContact already kept the earliest add.
    if (f.addedAt && !opts.isAddNoted) await this.customers.noteAddedInTx(em, ext, f.addedAt.getTime());
    return r;
  }
}

/** A relation that existed when the customer's data was erased (so it is no basis for reading them back in). */
function isErasedRelation(erasedAt: number | undefined, addedAt: Date | null | undefined): boolean {
  return erasedAt !== undefined && (!addedAt || addedAt.getTime() <= erasedAt);
}
