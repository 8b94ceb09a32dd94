// What the customer list's bulk actions act on (docs/customers-bulk.md): checked rows, or every customer the filter
// matches, and how each action names them.
import { MAX_AUDIENCE_LENGTH } from './audience-parse';

/** Checked rows (`customers`), or all customers of an audience ('' is everyone); `count` is how many that is. */
export interface Selection {
  customers?: string[];
  audience?: string;
  count: number;
}

/**
 * The audience expression that names a selection, for a broadcast: the filter's expression, or one `id:` term listing
 * the checked customers; null when the list does not fit in an expression (MAX_AUDIENCE_LENGTH).
 */
export function selectionAudience(s: Selection): string | null {
  if (s.audience !== undefined) return s.audience.trim() || 'all';
  const text = `id:${(s.customers ?? []).join(',')}`;
  return text.length <= MAX_AUDIENCE_LENGTH ? text : null;
}

/** The audience narrowed to one member's customers: `(<audience>) AND owner:"<userid>"`. */
export function ownedBy(audience: string, userid: string): string {
  const owner = `owner:"${userid.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  const a = audience.trim();
  return a && a.toLowerCase() !== 'all' ? `(${a}) AND ${owner}` : owner;
}
