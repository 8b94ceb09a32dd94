// Orders imported for customers.

/** An order (订单) imported for a customer. Amounts are whole cents (分). */
export interface Order {
  id: string;
  externalUserId: string;
  orderNo: string;
  amountCents: number;
  orderedAt: Date;
  createdAt: Date;
}

/** A customer's orders in brief, for the archive and value scoring. */
export interface OrderSummary {
  count: number;
  totalCents: number;
  lastOrderedAt: Date | null;
}
