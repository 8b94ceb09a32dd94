import { createHash } from 'node:crypto';
import type { DeliveryKind } from './delivery.types.js';

/** The largest share a rule, broadcast or campaign may hold out: beyond half, the message reaches fewer than it spares. */
export const MAX_HOLDOUT_PERCENT = 50;

/** The ledger reason of a held-out row; it starts with the stable code `holdout`. */
export function holdoutReason(percent: number): string {
  return `holdout: 对照组，不发送 / held out to measure the lift (${percent}%)`;
}

/**
 * Where a customer falls for one source, 0–9999: the first 32 bits of SHA-256 over (kind, source id, customer), so
 * the same customer always falls in the same place for the same rule, broadcast or campaign, and independently for
 * another one (docs/analytics.md §Holdout).
 */
export function holdoutBucket(kind: DeliveryKind, sourceId: string, externalUserId: string): number {
  const h = createHash('sha256').update(`${kind}\u0000${sourceId}\u0000${externalUserId}`).digest();
  return h.readUInt32BE(0) % 10_000;
}

/**
 * Whether the customer is in the source's holdout: the customers whose bucket is below `percent` × 100. The occasion
 * is not part of it, so a customer held out of a birthday rule is held out of every birthday of it, and of every step
 * of a win-back campaign; raising the percentage keeps those held out and adds more.
 */
export function isHeldOut(kind: DeliveryKind, sourceId: string, externalUserId: string, percent: number): boolean {
  if (!(percent > 0)) return false;
  return holdoutBucket(kind, sourceId, externalUserId) < Math.round(Math.min(percent, MAX_HOLDOUT_PERCENT) * 100);
}
