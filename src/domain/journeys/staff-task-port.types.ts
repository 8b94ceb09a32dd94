// The staff to-do list as journeys use it: ports over the to-do feature's tasks (docs/todo.md §Staff tasks).
import type { NewStaffTask, StaffTask, StaffTaskStatus } from '../todo/staff-task.types.js';

/** The to-do feature's side, as ports written in the container. */
export interface JourneyTaskPort {
  /** Idempotent on (source, sourceRef): the same step asks twice (a takeover after a crash), one task. */
  create(t: NewStaffTask): Promise<{ id: string; created: boolean }>;
  states(ids: string[]): Promise<Map<string, StaffTaskStatus>>;
  /** A membership that follows its customer to a new owner takes its open tasks along; answers how many moved. */
  reassign(membershipId: number, userid: string): Promise<number>;
  /** Open tasks whose reminder is owed and unclaimed since `staleBefore`, oldest first (docs/todo.md §Reminders). */
  owedReminders(staleBefore: Date, limit: number): Promise<Pick<StaffTask, 'id' | 'source' | 'sourceRef' | 'userid' | 'externalUserId' | 'title'>[]>;
  /** A compare-and-set on the reminder's claim: of two instances one sends it. */
  claimReminder(id: string, holder: string, now: Date, staleBefore: Date): Promise<boolean>;
  markReminded(id: string, holder: string, now: Date): Promise<boolean>;
  /** Owe no more the reminders of closed tasks and of tasks created before `giveUpBefore`. */
  dropReminders(giveUpBefore: Date): Promise<number>;
}
