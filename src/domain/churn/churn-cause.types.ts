// 流失原因: why a relation was lost, as the bot derives it and as a member records it (docs/churn.md §Causes).
import type { RiskReason, RiskReasonCode } from './churn-risk.types.js';

/** The bot's cause: the largest reason of the customer's last score, or `no_signal` when nothing warned. */
export type DerivedCause = RiskReasonCode | 'no_signal';

/** What a member may record as the cause. */
export const STAFF_CAUSES = ['price', 'service', 'product', 'competitor', 'no_need', 'other'] as const;
/** A recorded cause. */
export type StaffCause = (typeof STAFF_CAUSES)[number];

/** The words of each cause, as the console and the API show them. */
export const CAUSE_WORDS: Record<DerivedCause | StaffCause, string> = {
  order_overdue: '久未复购',
  single_order_lapsed: '首单后未复购',
  interaction_drop: '互动减少',
  silent: '长期沉默',
  detractor: '满意度差评',
  open_ticket: '反馈未解决',
  broadcasts_ignored: '群发无回应',
  owner_resigned: '员工离职未交接',
  complaint: '客户投诉',
  no_signal: '无预警信号',
  price: '价格原因',
  service: '服务不满意',
  product: '产品问题',
  competitor: '选择了竞品',
  no_need: '不再需要',
  other: '其他',
};

/** One lost relation and its causes. */
export interface ChurnCause {
  id: number;
  externalUserId: string;
  userid: string;
  lostBy: 'customer' | 'staff';
  lostAt: Date;
  score: number | null;
  cause: DerivedCause;
  reasons: RiskReason[];
  staffCause: StaffCause | null;
  staffNote: string | null;
  recordedBy: string | null;
  recordedAt: Date | null;
}

/** Losses by cause over a period. */
export interface CauseCounts {
  from: string;
  to: string;
  losses: number;
  /** By the bot's cause, largest first. */
  byCause: { cause: DerivedCause; words: string; count: number; share: number }[];
  /** By what members recorded, largest first; `unrecorded` counts the rest. */
  byStaffCause: { cause: StaffCause; words: string; count: number; share: number }[];
  unrecorded: number;
}

/** One lost relation as `GET …/churn-causes` answers it (docs/churn.md §Causes). */
export interface ChurnCauseAnswer {
  id: number;
  externalUserId: string;
  userid: string;
  lostBy: 'customer' | 'staff';
  lostByWords: string;
  lostAt: string;
  score: number | null;
  cause: DerivedCause;
  causeWords: string;
  reasons: RiskReason[];
  staffCause: StaffCause | null;
  staffCauseWords: string | null;
  staffNote: string | null;
  recordedBy: string | null;
  recordedAt: string | null;
}
