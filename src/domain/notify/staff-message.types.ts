// App messages to staff: digests and per-member budgets.

/** A line waiting for a member's next digest. */
export interface DigestLine {
  id: number;
  userid: string;
  kind: string;
  line: string;
  createdAt: Date;
}

/** Caps per fixed bucket: `perMinute` per calendar minute, `perHour` per calendar hour. */
export interface BucketCaps {
  perMinute: number;
  perHour: number;
}
