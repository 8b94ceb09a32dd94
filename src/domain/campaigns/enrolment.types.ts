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
  messaged: number;
  reactivated: number;
  completed: number;
  /** reactivated / enrolled, 0 when nobody is enrolled. */
  rate: number;
}
