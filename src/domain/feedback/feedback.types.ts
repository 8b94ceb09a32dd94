// 客户反馈处理: feedback tickets, their events and the category rules (docs/feedback.md).

/** Where a ticket came from: a detractor survey score, a WeChat-KF message a complaint rule matched, or staff. */
export const TICKET_SOURCES = ['survey', 'kf', 'staff'] as const;
/** A ticket's source. */
export type TicketSource = (typeof TICKET_SOURCES)[number];

/** open → contacted → resolved; a resolved ticket is opened again when the customer is a detractor again. */
export const TICKET_STATUSES = ['open', 'contacted', 'resolved'] as const;
/** A ticket's status. */
export type TicketStatus = (typeof TICKET_STATUSES)[number];

/** What happened to a ticket (docs/feedback.md §Lifecycle). */
export type TicketEventKind = 'opened' | 'reopened' | 'again' | 'contacted' | 'resolved' | 'escalated';

/** A feedback ticket. */
export interface FeedbackTicket {
  id: number;
  externalUserId: string;
  source: TicketSource;
  status: TicketStatus;
  /** A category name from the rules (docs/feedback.md §Categories), or null when none matched. */
  category: string | null;
  /** What the customer said (the survey comment, the KF message, what staff heard). */
  summary: string;
  /** The detractor score that opened (or last reopened) it, with its kind. */
  score: number | null;
  scoreKind: 'nps' | 'csat' | null;
  /** The member it is routed to (the customer's owner), or null when the customer has none. */
  ownerUserid: string | null;
  openedAt: Date;
  /** The last time it was opened again, or null. */
  reopenedAt: Date | null;
  reopenCount: number;
  /** First contact is due by then (the SLA, counted from the last opening). */
  dueAt: Date;
  contactedAt: Date | null;
  resolvedAt: Date | null;
  resolutionNote: string | null;
  /** When the owner was told (app message or digest), or null while that is still to do. */
  notifiedAt: Date | null;
  /** When the missed SLA was escalated to the admins, or null. */
  escalatedAt: Date | null;
  createdBy: string;
  updatedAt: Date;
}

/** One event of a ticket's history. */
export interface TicketEvent {
  id: number;
  ticketId: number;
  kind: TicketEventKind;
  actor: string;
  note: string | null;
  /** What caused it (`answer:<id>`, `kf:<msgid>`, `staff:<request id>`): unique, so a cause acts once. */
  sourceRef: string | null;
  createdAt: Date;
}

/** A keyword rule: a category for matching text, and (a complaint rule) a ticket for a matching WeChat-KF message. */
export interface FeedbackRule {
  id: string;
  name: string;
  pattern: string;
  matchType: 'substring' | 'regex';
  category: string;
  /** A complaint rule: a customer's KF message it matches opens a ticket. */
  opensTicket: boolean;
  isEnabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** Filters of a ticket list. */
export interface TicketQuery {
  status?: TicketStatus;
  source?: TicketSource;
  category?: string;
  ownerUserid?: string;
  externalUserId?: string;
  /** Only open tickets past their first-contact SLA. */
  isOverdue?: boolean;
  /** Staff: only tickets of customers this member follows. */
  followedBy?: string;
  page: number;
  pageSize: number;
}

/** A survey score of a customer, for the improvement analysis. */
export interface CustomerScore {
  externalUserId: string;
  kind: 'nps' | 'csat';
  score: number;
  answeredAt: Date;
}
