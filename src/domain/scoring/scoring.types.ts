// What customer scoring reads.

/** A customer as scoring reads it. */
export interface ScoringCustomer {
  externalUserId: string;
  rfm: string | null;
  stage: string | null;
  firstAddedAt: Date | null;
  /** When the archive row was created: the "added" date when WeCom gave none (as the audience `added` rule). */
  createdAt: Date;
  lastInteractionAt: Date | null;
  hasActiveRelation: boolean;
}

/** One customer's orders: all of them up to the window's end, and those inside the window. */
export interface CustomerOrderFacts {
  lifetimeOrders: number;
  lastOrderAt: number;
  windowOrders: number;
  windowSpentCents: number;
  /** Latest order inside the window, null when none is. */
  windowLastOrderAt: number | null;
}

/** Corp-wide totals over customers with orders in the window (the RFM baseline). */
export interface OrderTotals {
  customers: number;
  orders: number;
  spentCents: number;
  meanLastOrderAt: number;
}

/** An instant window [from, to) in epoch ms. */
export interface OrderWindow {
  from: number;
  to: number;
}
