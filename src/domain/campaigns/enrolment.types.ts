// Win-back campaign enrolments.

/** Where an enrolment is. */
export type EnrolmentStatus = 'active' | 'reactivated' | 'completed';

/** One customer's passage through a win-back campaign for one silence. */
export interface Enrolment {
  id: number;
  ruleId: string;
  externalUserId: string;
  cycle: string;
  enrolledDate: string;
  enrolledAt: Date;
  status: EnrolmentStatus;
  lastStep: number;
  messaged: number;
  exitedAt: Date | null;
}

/** Campaign statistics. */
export interface CampaignStats {
  enrolled: number;
  active: number;
  /** Enrolments a customer-facing step was planned for (the task went to the staff member, or to WeChat-KF). */
  messaged: number;
  /** Enrolments with a step WeCom reports as sent (the staff member confirmed it in 群发助手). */
  sent: number;
  reactivated: number;
  completed: number;
  /** reactivated / enrolled, 0 when nobody is enrolled. */
  rate: number;
}
