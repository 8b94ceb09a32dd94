// 员工任务 (docs/todo.md §Staff tasks): a piece of work for one member, from a journey step or entered by hand.
import type { SourcedAttachment } from '../content/content.types.js';

/** Where a task came from: a journey's staff-task step, or a person. */
export type StaffTaskSource = 'journey' | 'manual';
/**
 * open → done | skipped (by the member) | withdrawn (by its source: the customer left the journey, so the work is
 * no longer asked for; not the member's, so the completion report leaves it out). Snoozed is open with
 * `snoozedUntil` in the future.
 */
export type StaffTaskStatus = 'open' | 'done' | 'skipped' | 'withdrawn';

/** A task to create. */
export interface NewStaffTask {
  source: StaffTaskSource;
  /** Unique with `source`: creating the same task twice returns the first (a journey uses `<membershipId>:<stepIndex>`). */
  sourceRef: string;
  userid: string; // the member who must do it
  externalUserId: string | null;
  title: string; // zh-CN, e.g. "第3天：亲自问候"
  text: string; // prepared content, variables already rendered
  /** A 素材库 item's names the item (`contentId`), so a send reads it as it is then (docs/todo.md §One-tap send). */
  attachments: SourcedAttachment[];
  dueAt: Date;
  /** Owe the member an app-message reminder, sent once by whoever claims it (docs/todo.md §Reminders). */
  remind?: boolean;
}

/** A stored task. */
export interface StaffTask extends NewStaffTask {
  id: string;
  status: StaffTaskStatus;
  snoozedUntil: Date | null;
  skipReason: string | null;
  doneAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
