import { AUDIENCE_FIELDS, type AudienceExpr, type AudiencePredicate } from './audience.types.js';
import { buildPredicate, expectedOperator, isTextField } from './audience.values.js';

/**
 * Canonical text for an expression: single spaces, upper-case keywords, parentheses only
 * where precedence needs them, values quoted only when they must be.
 * `parseAudience(formatAudience(e))` equals `e` for every AST the parser yields; other ASTs
 * come back normalised (nested same-kind groups flattened, one-item groups unwrapped,
 * an empty `and` as `all`, an empty `or` as `NOT all`).
 * Throws on a predicate the parser could never produce, such as `orders>=1.5`.
 */
export function formatAudience(expr: AudienceExpr): string {
  return formatNode(normalize(expr));
}

function formatNode(expr: AudienceExpr): string {
  switch (expr.type) {
    case 'all':
      return 'all';
    case 'pred':
      return formatPredicate(expr);
    case 'not': {
      const item = expr.item;
      const text = formatNode(item);
      return item.type === 'and' || item.type === 'or' ? `NOT (${text})` : `NOT ${text}`;
    }
    case 'and':
      // AND binds tighter than OR, so only an OR operand needs parentheses.
      return expr.items.map((item) => (item.type === 'or' ? `(${formatNode(item)})` : formatNode(item))).join(' AND ');
    case 'or':
      return expr.items.map(formatNode).join(' OR ');
  }
}

function formatPredicate(pred: AudiencePredicate): string {
  let raw: string;
  if (pred.field === 'silent' || pred.field === 'due_in' || pred.field === 'overdue') raw = `${pred.value}d`;
  else raw = String(pred.value);

  const valid =
    (AUDIENCE_FIELDS as readonly string[]).includes(pred.field) &&
    expectedOperator(pred.field).ops.includes(pred.op) && isSame(buildPredicate(pred.field, pred.op, raw), pred);
  if (!valid) throw new TypeError(`Cannot format audience predicate ${JSON.stringify(pred)}`);
  // An id list is text too: an id may hold a character that ends a bare word.
  return `${pred.field}${pred.op}${isTextField(pred.field) || pred.field === 'id' ? formatText(raw) : raw}`;
}

function isSame(built: AudiencePredicate | null, pred: AudiencePredicate): boolean {
  return built !== null && built.field === pred.field && built.op === pred.op && built.value === pred.value;
}

/** Quotes a free-text value unless it reads back unchanged as a bare word. */
function formatText(value: string): string {
  const isBare = /^[^\s()":<>=\\]+$/u.test(value) && !/^(and|or|not)$/i.test(value);
  return isBare ? value : `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

function normalize(expr: AudienceExpr): AudienceExpr {
  switch (expr.type) {
    case 'all':
    case 'pred':
      return expr;
    case 'not':
      return { type: 'not', item: normalize(expr.item) };
    case 'and':
    case 'or': {
      const items = expr.items
        .map(normalize)
        .flatMap((item) => (item.type === expr.type ? item.items : [item]));
      if (items.length === 1) return items[0];
      if (items.length === 0) return expr.type === 'and' ? { type: 'all' } : { type: 'not', item: { type: 'all' } };
      return { type: expr.type, items };
    }
  }
}
