// Full syncs of the archive and their progress.
import type { GroupSyncProgress } from '../groups/group-chat.types.js';

/** Where a full sync is; persisted after every page so a crashed run resumes there. */
export interface SyncProgress {
  userIds: string[];
  /**
   * Index of the current chunk of ≤ 100 userids (batch/get_by_user's limit,
   * docs/wecom-protocol.md §Batch customer details).
   */
  chunk: number;
  cursor: string;
  pairs: number;
  customers: number;
  /** A run saved before the 'staff' phase existed resumes at 'tags' and skips the names. */
  phase: 'staff' | 'tags' | 'relations' | 'vanished' | 'groups' | 'done';
  /** The customer-group phase (docs/groups.md §Full sync); absent in runs saved before it existed. */
  groups?: GroupSyncProgress;
  /** Relations marked vanished, kept for the report when the run resumes in a later phase. */
  vanished?: number;
  /** The staff phase's outcome: names read from WeCom, and members WeCom would not show. */
  staffNames?: { named: number; unavailable: string[] };
}

/** One full-sync run. */
export interface SyncRun {
  id: string;
  startedAt: Date;
  finishedAt: Date | null;
  status: 'running' | 'done' | 'failed';
  progress: SyncProgress;
}
