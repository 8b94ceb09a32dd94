// A customer's timeline.

/** One line of a customer's history. */
export interface TimelineEntry {
  id?: number;
  externalUserId: string | null;
  staffUserid: string | null;
  kind: string;
  summary: string;
  data?: Record<string, unknown> | null;
  /** Where it came from (`inbox`, `kf`, `note`, `delivery`…) and that record's id: unique together. */
  source: string;
  sourceId: string;
  occurredAt: Date;
}
