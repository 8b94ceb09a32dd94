import type { CustomerActivity, CustomerProfile } from './customer.types.js';
import type { RelationLifecycle, RelationRowWrite } from './follow-relation.types.js';
import type { ExternalContact, FollowInfo } from '../../wecom/client/gateway.js';

/** One (customer, follower) pair of batch/get_by_user (docs/wecom-protocol.md §Batch customer details). */
export interface PagePair {
  contact: ExternalContact;
  followInfo: FollowInfo;
}

/** What the page store read, locked, before planning: the page's customers that exist, all their relations and `wecom` tags. */
export interface PageRows {
  customers: Map<string, { activity: CustomerActivity; firstAddedAt: number | null }>;
  relations: RelationLifecycle[];
  wecomTags: { id: string; externalUserId: string; userid: string; tagId: string }[];
}

/** The page's writes: whole rows, one multi-row statement per table (docs/reliability.md §Storing a page of the full sync). */
export interface PagePlan {
  /** Distinct staff userids of the page, in order of appearance. */
  staff: string[];
  customers: { profile: CustomerProfile; activity: CustomerActivity; firstAddedAt: number | null }[];
  relations: RelationRowWrite[];
  /** customer_tags ids to delete (a `wecom` tag the relation no longer has). */
  tagDeletes: string[];
  /** `wecom` tag rows to insert, in the order the pairs added them. */
  tagInserts: { externalUserId: string; userid: string; tagId: string }[];
}

/** The archive's profile of a customer as WeCom describes them (externalcontact/get, batch/get_by_user). */
export function customerProfileOf(c: ExternalContact): CustomerProfile {
  return {
    externalUserId: c.externalUserId,
    name: c.name,
    avatar: c.avatar ?? null,
    type: c.type,
    gender: c.gender,
    unionid: c.unionId ?? null,
    corpName: c.corpName ?? null,
    corpFullName: c.corpFullName ?? null,
    position: c.position ?? null,
  };
}

/** CustomerRepository.refreshActivityInTx's rule: churned with no active relation, back to active when one is. */
export function nextActivity(current: CustomerActivity, activeRelations: number): CustomerActivity {
  return activeRelations === 0 ? 'churned' : current === 'churned' ? 'active' : current;
}

const relationKey = (userid: string, ext: string): string => `${userid}\u0000${ext}`;

type TagEntry = { storedId: string } | { insert: number };

/**
 * Work out a page's writes exactly as storing its pairs one by one would leave the tables: in page order, each pair
 * writes the customer's profile (CustomerRepository.upsertProfileInTx), the relation
 * (FollowRelationRepository.upsertProfileInTx with no event time: a relation the customer or staff ended stays ended,
 * docs/wecom-protocol.md §Error codes), the relation's `wecom` tags (TagRepository.replaceRelationWecomTagsInTx), the
 * earliest add (noteAddedInTx), then the customer's activity (refreshActivityInTx). A later pair of the same customer
 * or relation sees what an earlier one wrote, so repeats within a page end as they did pair by pair. Column widths are
 * the repository's to apply, on this path as on the single writes (FollowRelationRepository.upsertManyInTx).
 */
export function planPairPage(pairs: PagePair[], rows: PageRows, ctx: { now: number; syncRunId: string }): PagePlan {
  const { now, syncRunId } = ctx;
  const customers = new Map<string, { profile: CustomerProfile; activity: CustomerActivity; firstAddedAt: number | null }>();
  const activeCount = new Map<string, number>();
  const relations = new Map<string, RelationLifecycle>();
  for (const r of rows.relations) {
    relations.set(relationKey(r.userid, r.externalUserId), r);
    if (r.status === 'active') activeCount.set(r.externalUserId, (activeCount.get(r.externalUserId) ?? 0) + 1);
  }
  const tagState = new Map<string, Map<string, TagEntry>>();
  for (const t of rows.wecomTags) {
    const k = relationKey(t.userid, t.externalUserId);
    let m = tagState.get(k);
    if (!m) tagState.set(k, (m = new Map()));
    m.set(t.tagId, { storedId: t.id });
  }
  const written = new Map<string, RelationRowWrite>();
  const staff = new Set<string>();
  const tagDeletes: string[] = [];
  const inserts: { externalUserId: string; userid: string; tagId: string; isAlive: boolean }[] = [];

  for (const { contact: c, followInfo: f } of pairs) {
    const ext = c.externalUserId;
    const profile = customerProfileOf(c);
    let customer = customers.get(ext);
    if (customer) customer.profile = profile;
    else {
      const stored = rows.customers.get(ext);
      customer = { profile, activity: stored?.activity ?? 'active', firstAddedAt: stored?.firstAddedAt ?? null };
      customers.set(ext, customer);
    }

    staff.add(f.userId);
    const k = relationKey(f.userId, ext);
    const before = relations.get(k);
    const addedAt = f.addedAt ?? null;
    const base = {
      userid: f.userId,
      externalUserId: ext,
      remark: f.remark ?? '',
      description: f.description ?? '',
      remarkMobiles: f.remarkMobiles ?? [],
      addWay: f.addWay ?? 0,
      lastSeenSync: syncRunId,
      updatedAt: now,
    };
    const row: RelationRowWrite = before
      ? {
          ...base,
          state: f.state ?? before.state,
          operUserid: f.operUserId ?? before.operUserid,
          addedAt: addedAt ?? (before.addedAt === null ? null : new Date(before.addedAt)),
          status: before.status,
          statusChangedAt: before.statusChangedAt,
          lastEventTime: before.lastEventTime,
          createdAt: written.get(k)?.createdAt ?? now,
        }
      : {
          ...base,
          state: f.state ?? null,
          operUserid: f.operUserId ?? null,
          addedAt,
          status: 'active',
          statusChangedAt: now,
          lastEventTime: null,
          createdAt: now,
        };
    if (!before) activeCount.set(ext, (activeCount.get(ext) ?? 0) + 1);
    written.set(k, row);
    relations.set(k, {
      userid: row.userid,
      externalUserId: ext,
      state: row.state,
      operUserid: row.operUserid,
      addedAt: row.addedAt?.getTime() ?? null,
      status: row.status,
      statusChangedAt: row.statusChangedAt,
      lastEventTime: row.lastEventTime,
    });

    let have = tagState.get(k);
    if (!have) tagState.set(k, (have = new Map()));
    const want = new Set(f.tagIds);
    for (const [tagId, e] of [...have]) {
      if (want.has(tagId)) continue;
      if ('storedId' in e) tagDeletes.push(e.storedId);
      else inserts[e.insert].isAlive = false;
      have.delete(tagId);
    }
    for (const tagId of want) {
      if (have.has(tagId)) continue;
      have.set(tagId, { insert: inserts.length });
      inserts.push({ externalUserId: ext, userid: f.userId, tagId, isAlive: true });
    }

    if (addedAt && (customer.firstAddedAt === null || customer.firstAddedAt > addedAt.getTime())) customer.firstAddedAt = addedAt.getTime();
    customer.activity = nextActivity(customer.activity, activeCount.get(ext) ?? 0);
  }

  return {
    staff: [...staff],
    customers: [...customers.values()],
    relations: [...written.values()],
    tagDeletes,
    tagInserts: inserts.filter((t) => t.isAlive).map(({ externalUserId, userid, tagId }) => ({ externalUserId, userid, tagId })),
  };
}
