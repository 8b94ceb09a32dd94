// Care and win-back rules: what they fire on, what the API accepts, what is stored. The API's checks are
// care-rule.schema.ts.
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { AttachmentInput, DeliveryChannel } from '../delivery/delivery.types.js';

/** One step of a win-back campaign: `day` days after enrolment. */
export interface WinbackStep {
  day: number;
  channel: DeliveryChannel;
  template: string;
  attachments: AttachmentInput[];
}

/** What a rule fires on. */
/**
 * Who enters a win-back campaign: customers who fell `dormant` (the default), or customers whose churn-risk score
 * reached the warning threshold (docs/churn.md §Win-back).
 */
export type WinbackEntry = 'dormant' | 'churn_risk';

export type Occasion =
  /** On the customer's birthday, or `daysBefore` days ahead of it (a reminder to prepare). */
  | { type: 'birthday'; daysBefore?: number }
  | { type: 'holiday'; holidays: string[] }
  | { type: 'anniversary'; days: number[]; years: boolean }
  /** N days after the customer was added, if nobody has interacted since: a reminder to staff, never a customer message. */
  | { type: 'followup'; afterDays: number }
  /** Notes whose due date is today: a reminder to the note's author (or the owner). */
  | { type: 'note_due' }
  /**
   * 复购提醒: `daysBefore` days ahead of the customer's predicted next order (docs/repurchase.md §The care occasion),
   * once per predicted cycle.
   */
  | { type: 'repurchase'; daysBefore: number }
  | { type: 'winback'; steps: WinbackStep[]; entry?: WinbackEntry };

/** The occasion kinds. */
export type OccasionType = Occasion['type'];

/** Input of a new rule, defaults filled in. */
export interface CareRuleInput {
  name: string;
  occasion: Occasion;
  /** An audience expression; null = all customers. */
  audience: string | null;
  template: string;
  attachments: AttachmentInput[];
  /** 素材库 items after the template and attachments, resolved each time the rule is planned (docs/content.md §Composers). */
  contentIds: string[];
  sendTime: string;
  priority: number;
  channel: DeliveryChannel;
  enabled: boolean;
  /** The share of the audience held out to measure the lift, 0–50 (docs/analytics.md §Holdout). */
  holdoutPercent: number;
}

/** A stored rule. */
export interface CareRule {
  id: string;
  seedKey: string | null;
  name: string;
  occasion: Occasion;
  audience: string | null;
  template: string;
  attachments: MessageAttachment[];
  /** 素材库 items whose text and attachments follow the rule's own, resolved when it is planned (docs/content.md §Media lifecycle). */
  contentIds: string[];
  sendTime: string;
  priority: number;
  channel: DeliveryChannel;
  enabled: boolean;
  holdoutPercent: number;
  createdAt: Date;
  updatedAt: Date;
}
