// 需求预测: what the archive answers of a customer's predicted next order (docs/repurchase.md).

/** The prediction as the archive shows it (docs/repurchase.md §API). */
export interface RepurchaseView {
  /** The predicted next order's local date. */
  dueOn: string;
  /** Whole days from today: positive ahead, 0 today, negative once overdue. */
  daysUntil: number;
  intervalDays: number;
  /** The median of the customer's own intervals. */
  ownDays: number;
  /** The segment's typical interval it was shrunk toward, null when none was known. */
  typicalDays: number | null;
  /** The segment (RFM) whose typical interval was used, null for the corp-wide one. */
  segment: string | null;
  orderDays: number;
  lastOrderOn: string;
}
