// Erasures of a customer's personal data.

/** Rows removed or stubbed per table by one erasure. */
export type ErasureCounts = Record<string, number>;

/** One audit row of the `erasures` table (no personal data). */
export interface ErasureRecord {
  id: string;
  subjectHash: string;
  erasedAt: Date;
  byPrincipal: string;
  countsPerTable: ErasureCounts;
}
