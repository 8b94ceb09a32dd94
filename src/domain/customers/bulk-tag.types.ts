// Bulk tag changes (批量打标签 / 移除标签) from the customer list: a durable job with one item per customer.

/** As whom a job's tags are applied (the viewer who asked). */
export interface BulkTagViewer {
  role: 'admin' | 'operator' | 'staff';
  userid: string | null;
}

/** A job to record: its customers, resolved when it was asked for. */
export interface NewBulkTagJob {
  id: string;
  requestedBy: string;
  viewer: BulkTagViewer;
  addTagIds: string[];
  removeTagIds: string[];
  customers: string[];
}

/** A recorded job. `running` until every customer is done or failed. */
export interface BulkTagJob {
  id: string;
  status: 'running' | 'done';
  requestedBy: string;
  viewer: BulkTagViewer;
  addTagIds: string[];
  removeTagIds: string[];
  total: number;
  createdAt: Date;
  finishedAt: Date | null;
}

/** How far a job got. */
export interface BulkTagProgress {
  pending: number;
  done: number;
  failed: number;
  /** The first failures, with the reason in zh-CN. */
  failures: { externalUserId: string; error: string }[];
}
