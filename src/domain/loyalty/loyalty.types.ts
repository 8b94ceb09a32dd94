// 积分与会员: the points ledger, accounts and tiers (docs/loyalty.md).

/** What an entry does to the balance: earned, given or deducted by hand, redeemed, expired. */
export const POINT_KINDS = ['earn', 'adjust', 'redeem', 'expire'] as const;
/** An entry's kind. */
export type PointKind = (typeof POINT_KINDS)[number];

/** One ledger entry. */
export interface PointEntry {
  id: number;
  externalUserId: string;
  kind: PointKind;
  /** `order`, `survey`, `birthday`, `manual`, `redemption`, `expiry`, or another feature's own code. */
  reason: string;
  /** What it is for: unique per customer (`order:<no>`, `redeem:<key>`, `expire:<date>`). */
  reference: string;
  /** Signed: positive adds, negative takes away. */
  points: number;
  createdAt: Date;
  expiresAt: Date | null;
  actor: string;
  note: string | null;
}

/** An entry to append. */
export interface NewPointEntry {
  externalUserId: string;
  kind: PointKind;
  reason: string;
  reference: string;
  points: number;
  expiresAt: Date | null;
  actor: string;
  note?: string | null;
}

/** A customer's account: the balance (the sum of the ledger), the tier and the link id. */
export interface LoyaltyAccount {
  externalUserId: string;
  balance: number;
  tierRank: number;
  tierSince: Date | null;
  tierVersion: number;
  belowSince: Date | null;
  linkId: string | null;
}

/** A configured tier (会员等级), lowest first; the threshold is points, or yuan when tiers go by spend. */
export interface Tier {
  name: string;
  threshold: number;
  benefits: string;
}
