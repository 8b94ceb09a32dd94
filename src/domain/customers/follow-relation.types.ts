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
