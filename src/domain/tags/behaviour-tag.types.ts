// Behaviour tagging: which customers a rule selects, page by page.

/** A WHERE fragment over `customers c` with its params (a compiled audience). */
export interface CustomerCondition {
  sql: string;
  params: unknown[];
}

/** Customers with external_user_id in (after, upTo]; `upTo` null means no upper bound. */
export interface KeyRange {
  after: string;
  upTo: string | null;
}
