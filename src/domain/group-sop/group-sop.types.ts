// 群 SOP (docs/groups.md §Group SOP): plans that act on sets of customer groups at scheduled times.

/** Which groups a plan acts on; empty lists and absent fields do not narrow. */
export interface SopTarget {
  /** Group owners (userids). */
  owners?: string[];
  /** Local group labels (ids). */
  labelIds?: string[];
  /** A part of the group's name (plain text, not a pattern language). */
  namePattern?: string;
  minMembers?: number;
  maxMembers?: number;
  /** Groups named one by one; with other fields set, the groups must also match them. */
  chatIds?: string[];
}

/** When a plan's steps fire. */
export type SopSchedule =
  /** Every chosen weekday (1 Monday … 7 Sunday) at each step's time. */
  | { kind: 'recurring'; weekdays: number[] }
  /** Each step's `day` after the group was created (local date), at its time. */
  | { kind: 'relative' };

/** What a step does: post through a group broadcast, or remind the owner to do what only they can. */
export type SopAction = 'post' | 'remind';

/** Group-manager-only operations a reminder asks the owner to do (docs/groups.md §Group SOP). */
export type SopOperation = 'notice' | 'at_all' | 'other';

/** One step of a plan. */
export interface SopStep {
  /** Stable across edits: fires and reports refer to it. */
  id: string;
  /** Relative plans: days after the group's creation date (0 is that date). */
  day?: number;
  /** Local 'HH:mm'. */
  time: string;
  action: SopAction;
  /** A short name for lists and reminders (e.g. 每日小贴士). */
  title: string;
  /** The message posted, or the content the owner is asked to use. */
  text: string;
  /** Reminders: what the owner should do with it. */
  operation?: SopOperation;
}

/** A plan as stored. */
export interface SopPlan {
  id: string;
  name: string;
  isPaused: boolean;
  target: SopTarget;
  schedule: SopSchedule;
  steps: SopStep[];
  /** A fire done later than this many minutes after its time is late; not done by then, missed. */
  windowMinutes: number;
  activeSince: Date;
  scannedUntil: Date;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A group a plan acts on, as the runner needs it. */
export interface SopGroup {
  chatId: string;
  name: string;
  owner: string | null;
  /** When WeCom created the group; relative plans skip groups without it. */
  createdAt: Date | null;
}

/** Where one fire is. */
export type SopFireStatus = 'claimed' | 'posted' | 'reminded' | 'done' | 'missed' | 'failed';

/** One (plan, step, group, fire time): claimed once across instances, then acted on and followed to an outcome. */
export interface SopFire {
  id: number;
  planId: string;
  stepId: string;
  chatId: string;
  fireAt: Date;
  owner: string | null;
  status: SopFireStatus;
  instanceId: string;
  claimedAt: Date;
  actedAt: Date | null;
  doneAt: Date | null;
  reason: string | null;
  linkId: string | null;
  attempts: number;
}

/** How a fire is reported: done in its window, done after it, not done in it, or still in it. */
export type SopOutcome = 'done' | 'late' | 'missed' | 'pending';

/** The broadcast side of a post step (the group broadcast service): one send per group, never twice. */
export interface GroupPostPort {
  /**
   * Submit `text` to each group under `key` (one send per group; a repeat with the same key and group sends nothing
   * again, also after a crash between submit and record). Answers the groups it took; the others cannot be sent to
   * (dismissed, or their owner left).
   */
  post(input: { key: string; groups: { chatId: string; owner: string }[]; text: string }): Promise<{ included: string[] }>;
  /** What became of each group's send under `key`, for groups whose outcome is known. */
  outcomes(key: string, chatIds: string[]): Promise<Map<string, GroupPostOutcome>>;
}

/** A group send's outcome as the SOP report needs it. */
export type GroupPostOutcome = { state: 'sent'; sentAt: Date } | { state: 'pending' } | { state: 'failed'; reason: string };
