// Idempotency keys on the API's POST routes (docs/security.md §Idempotency keys).

/** A remembered answer to a POST with an Idempotency-Key. */
export interface IdempotencyRecord {
  requestHash: string;
  /** 0 while the first request is still running. */
  status: number;
  response: unknown;
  createdAt: Date;
}
