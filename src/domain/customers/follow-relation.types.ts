// A follow relation: one staff member following one customer (`follow_relations`).

/** Lifecycle of a (staff, customer) relation. */
export type RelationStatus = 'active' | 'deleted_by_staff' | 'deleted_by_customer' | 'transferred';

/** What WeCom says about a relation (externalcontact/get or batch/get_by_user). */
export interface RelationProfile {
  userid: string;
  externalUserId: string;
  remark: string;
  description: string;
  remarkMobiles: string[];
  addWay: number;
  state: string | null;
  operUserid: string | null;
  addedAt: Date | null;
}

/** A follow relation as the domain sees it (remark mobiles decrypted): WeCom's profile plus our lifecycle. */
export interface FollowRelation extends RelationProfile {
  status: RelationStatus;
  statusChangedAt: Date | null;
  lastEventTime: number | null;
}

/**
 * What a page store of the full sync reads of a relation before writing it (no remark mobiles: the page overwrites
 * them). Times in epoch ms.
 */
export interface RelationLifecycle {
  userid: string;
  externalUserId: string;
  state: string | null;
  operUserid: string | null;
  addedAt: number | null;
  status: RelationStatus;
  statusChangedAt: number | null;
  lastEventTime: number | null;
}

/** A relation row as a page store writes it whole (times in epoch ms; `createdAt` applies only to a new row). */
export interface RelationRowWrite extends RelationProfile {
  status: RelationStatus;
  statusChangedAt: number | null;
  lastEventTime: number | null;
  lastSeenSync: string | null;
  createdAt: number;
  updatedAt: number;
}
