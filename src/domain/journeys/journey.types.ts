// 客户旅程 / 客户SOP (docs/journeys.md): journeys, their versions, memberships and step runs.
import type { AttachmentInput } from '../delivery/delivery.types.js';

export type JourneyStatus = 'draft' | 'active' | 'paused' | 'archived';

/** When a step runs, counted from when the previous step was acted on (the entry for the first step). */
export type StepDelay =
  | { kind: 'after'; minutes: number }
  /** `days` local days after (1: the next day) at `time` ('HH:mm', the settings' time zone). */
  | { kind: 'at'; days: number; time: string };

/** A condition a wait step waits for. */
export type WaitCondition =
  | { kind: 'ordered' }
  | { kind: 'has_tag'; tagId: string }
  | { kind: 'stage'; field: 'stage' | 'activity'; value: string };

export type JourneyStep =
  /** `contentIds`: 素材库 items added after the text and attachments (their text, then their attachments). */
  | { kind: 'message'; title: string; delay: StepDelay; text: string; attachments: AttachmentInput[]; contentIds?: string[] }
  | { kind: 'task'; title: string; delay: StepDelay; text: string; attachments: AttachmentInput[]; contentIds?: string[]; dueHours: number }
  | { kind: 'tag'; title: string; delay: StepDelay; add: string[]; remove: string[] }
  | { kind: 'wait'; title: string; delay: StepDelay; until: WaitCondition; timeoutHours: number; onTimeout: 'continue' | 'exit' };

/** What puts a customer into a journey. */
export type JourneyTrigger =
  /** Added through one of these channels (channel ids). */
  | { kind: 'channel'; channelIds: string[] }
  | { kind: 'tag_added'; tagIds: string[] }
  /** The lifecycle stage (new, prospect, customer, loyal, at_risk, churned) or activity (active, dormant, churned) became this value. */
  | { kind: 'stage'; field: 'stage' | 'activity'; value: string }
  | { kind: 'first_order' }
  | { kind: 'survey'; surveyId: number | null; minScore: number; maxScore: number }
  /** `daysBefore` days before the birthday (local date), checked nightly. */
  | { kind: 'birthday'; daysBefore: number }
  /** Customers matching an audience expression, checked nightly. */
  | { kind: 'audience'; audience: string }
  /** Only by hand (a selection through the API). */
  | { kind: 'manual' };

/** Why a member leaves a journey early. */
export const EXIT_REASONS = ['replied', 'ordered', 'tag_removed', 'opted_out', 'relation_deleted', 'transferred', 'wait_timeout', 'journey_archived', 'manual', 'erased'] as const;
export type ExitReason = (typeof EXIT_REASONS)[number];

/** The exit rules a journey checks (opted out and relation deleted always apply). */
export interface JourneyExits {
  replied: boolean;
  ordered: boolean;
  /** Leave when any of these tags is no longer on the customer. */
  tagRemoved: string[];
}

/** One version's definition: never changed once written. */
export interface JourneyDefinition {
  trigger: JourneyTrigger;
  steps: JourneyStep[];
  exits: JourneyExits;
}

export interface Journey {
  id: string;
  name: string;
  status: JourneyStatus;
  currentVersion: number;
  reentry: 'never' | 'after_days';
  reentryDays: number | null;
  holdoutPercent: number;
  transferPolicy: 'follow' | 'stop';
  conversionDays: number;
  priority: number;
  activatedAt: Date | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface JourneyVersion {
  journeyId: string;
  version: number;
  definition: JourneyDefinition;
  createdBy: string | null;
  createdAt: Date;
}

export type MembershipStatus = 'active' | 'completed' | 'exited';

export interface JourneyMembership {
  id: number;
  journeyId: string;
  version: number;
  externalUserId: string;
  ownerUserid: string | null;
  status: MembershipStatus;
  exitReason: ExitReason | null;
  enteredBy: string;
  enteredAt: Date;
  currentStep: number;
  stepSince: Date;
  nextDueAt: Date | null;
  isHoldout: boolean;
  entryNumber: number;
  endedAt: Date | null;
}

export type StepRunStatus = 'claimed' | 'waiting' | 'done' | 'skipped' | 'failed';

export interface StepRun {
  id: number;
  membershipId: number;
  journeyId: string;
  stepIndex: number;
  kind: JourneyStep['kind'];
  status: StepRunStatus;
  claimedBy: string;
  claimedAt: Date;
  attempts: number;
  deliveryId: number | null;
  taskId: string | null;
  result: string | null;
  actedAt: Date | null;
  doneAt: Date | null;
}

/** What a hook point reports for the tick to match against triggers and exits. */
export type JourneySignal =
  | { kind: 'added'; externalUserId: string; userid: string; channelId: string | null }
  | { kind: 'first_order'; externalUserId: string }
  | { kind: 'survey'; externalUserId: string; surveyId: number; score: number }
  | { kind: 'replied'; externalUserId: string; userid: string | null; via: 'kf' | 'staff' };

/** Per step figures of a journey's stats. */
export interface JourneyStepStats {
  stepIndex: number;
  kind: JourneyStep['kind'];
  title: string;
  reached: number;
  done: number;
  waiting: number;
  skipped: number;
  failed: number;
  /** Members who left while this was their next step, by reason. */
  exited: Record<string, number>;
}

export interface JourneyGroupStats {
  entered: number;
  active: number;
  completed: number;
  exited: number;
  /** Ordered within the conversion window after entering. */
  converted: number;
  rate: number;
}

export interface JourneyStats {
  journeyId: string;
  conversionDays: number;
  holdoutPercent: number;
  treated: JourneyGroupStats;
  holdout: JourneyGroupStats;
  /** Converted rate of the treated minus that of the holdout, in points; null without a holdout. */
  lift: number | null;
  exitReasons: Record<string, number>;
  steps: JourneyStepStats[];
}
