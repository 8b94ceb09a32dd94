/**
 * The eight RFM segments (RFM 八类客户), written verbatim into `customers.rfm` so `rfm:重要价值` selects them.
 * 重要/一般 is the monetary axis; 价值/发展/保持/挽留 combine recency and frequency.
 */
export const RFM_SEGMENTS = ['重要价值', '重要发展', '重要保持', '重要挽留', '一般价值', '一般发展', '一般保持', '一般挽留'] as const;
/** An RFM segment. */
export type RfmSegment = (typeof RFM_SEGMENTS)[number];

/** One customer's orders inside the look-back window. */
export interface RfmFacts {
  /** Frequency: orders in the window. */
  orders: number;
  /** Monetary: their sum in cents. */
  spentCents: number;
  /** Recency, as the instant (epoch ms) of the latest order in the window. */
  lastOrderAt: number;
}

/** The corp-wide reference every customer is compared with: totals over customers with orders in the window. */
export interface RfmBaseline {
  /** Customers with at least one order in the window. */
  customers: number;
  /** Their orders. */
  orders: number;
  /** Their spend in cents. */
  spentCents: number;
  /** Mean over those customers of their latest order's instant (epoch ms). */
  meanLastOrderAt: number;
}

// [R high][F high][M high] → segment; the standard table of the eight-segment model.
const TABLE: Record<string, RfmSegment> = {
  '111': '重要价值',
  '101': '重要发展',
  '011': '重要保持',
  '001': '重要挽留',
  '110': '一般价值',
  '100': '一般发展',
  '010': '一般保持',
  '000': '一般挽留',
};

/**
 * The customer's segment, or null without orders in the window. Each axis is "high" when strictly better than
 * the corp's mean (the usual reading of the model: 高于平均值): more orders, more spend, and a latest order more
 * recent than the mean latest order. Means rather than medians because spend is heavy-tailed: the mean keeps
 * 重要 for the customers who really carry the revenue (a median would call half of all buyers 重要), it is one
 * aggregate on both engines, and an operator can reproduce it in a spreadsheet.
 *
 * Recency compares instants, not whole days: "days since the last order < mean days since the last order" is
 * the same test without rounding to a time zone's midnights. Frequency is compared exactly in integers.
 */
export function rfmSegment(f: RfmFacts, b: RfmBaseline): RfmSegment | null {
  if (f.orders <= 0 || b.customers <= 0) return null;
  const isRecent = f.lastOrderAt > b.meanLastOrderAt;
  const isFrequent = f.orders * b.customers > b.orders;
  const isValuable = f.spentCents > b.spentCents / b.customers;
  return TABLE[`${isRecent ? 1 : 0}${isFrequent ? 1 : 0}${isValuable ? 1 : 0}`];
}
