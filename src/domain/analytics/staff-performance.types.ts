// Staff performance (员工统计, docs/analytics.md §Staff performance): what the API answers, one definition for the
// server and the console.
import type { Frame } from './analytics.types.js';

/** One member's figures over a period or the whole range (docs/analytics.md §Staff performance). */
export interface StaffFigures {
  userid: string;
  name: string;
  // WeCom's figures (get_user_behavior_data), summed over the days pulled.
  /** Days of the range with WeCom figures stored. */
  wecomDays: number;
  chatCnt: number;
  messageCnt: number;
  /** Chat-weighted mean over the days that have it (days without chats have none); null when no day has. */
  replyPercentage: number | null;
  /** Minutes, chat-weighted like replyPercentage. */
  avgReplyTime: number | null;
  /** Days that had the reply figures. */
  replyDays: number;
  negativeFeedbackCnt: number;
  newApplyCnt: number;
  newContactCnt: number;
  // The bot's own figures.
  /** Customers in an active relation with the member at the last nightly snapshot of the period; null with none. */
  customers: number | null;
  customersAsOf: string | null;
  /** Mass-send tasks that reached the member (by the day they did), and how they were confirmed. */
  massTasks: number;
  confirmedLate: number;
  neverConfirmed: number;
  awaiting: number;
  /** Follow-ups (notes with a due date by the member) falling due in the period, and how many of them are done. */
  followupsDue: number;
  followupsDone: number;
}

export interface StaffLine extends StaffFigures {
  period: string;
  periodStart: string;
  periodEnd: string;
}

/** Where a member's nightly WeCom pull stands. */
export interface StaffPullInfo {
  lastDay: string | null;
  lastPulledAt: string | null;
  failures: number;
  failedAt: string | null;
  lastError: string | null;
}

export interface StaffAnswer extends Frame {
  /** WeCom's figures are pulled, the mass tasks and follow-ups events, the customers a snapshot. */
  kind: 'mixed';
  figureKinds: { wecom: 'pulled'; bot: 'event'; customers: 'snapshot' };
  lateConfirmHours: number;
  lines: StaffLine[];
  /** Each member over the whole range, with their pull's state. */
  members: (StaffFigures & { status: string; pull: StaffPullInfo | null })[];
}
