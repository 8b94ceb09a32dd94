// The visual audience builder's model: condition rows, combined with 全部满足 (AND) or 任一满足 (OR), nested one level in
// groups, each row or group excludable (排除, NOT). It turns into the audience expression the API takes
// (docs/audiences.md §The language) and back: an expression typed or pasted into the box becomes rows when it has
// this shape, and stays text when it does not (deeper nesting, `all` inside a condition, NOT NOT).
import { buildPredicate, formatPredicate, isDaysField, parseAudience, type AudienceExpr, type AudienceField, type AudiencePredicate, type CompareOp } from './audience-parse';

export type Join = 'and' | 'or';

/** One condition: field, operator and value as the pickers hold them (numbers as text; `silent` without its `d`). */
export interface ConditionRow {
  kind: 'row';
  field: AudienceField;
  op: ':' | CompareOp;
  value: string;
  /** 排除: NOT this condition. */
  negate: boolean;
}

/** A bracketed group of rows with its own join, one level deep. */
export interface ConditionGroup {
  kind: 'group';
  join: Join;
  negate: boolean;
  rows: ConditionRow[];
}

export type BuilderItem = ConditionRow | ConditionGroup;

export interface BuilderModel {
  join: Join;
  items: BuilderItem[];
}

export const JOIN_WORD: Record<Join, string> = { and: 'AND', or: 'OR' };

/** The operator a field starts with. */
export const defaultOp = (field: AudienceField): ConditionRow['op'] => (field === 'due_in' ? '<=' : ['added', 'silent', 'orders', 'spent', 'points', 'csat', 'overdue'].includes(field) ? '>=' : ':');

export const newRow = (field: AudienceField = 'tag'): ConditionRow => ({ kind: 'row', field, op: defaultOp(field), value: '', negate: false });
export const newGroup = (join: Join): ConditionGroup => ({ kind: 'group', join, negate: false, rows: [newRow(), newRow()] });
export const emptyModel = (): BuilderModel => ({ join: 'and', items: [] });

/** The predicate a row stands for, or null while it is incomplete or its value does not fit the field. */
export function rowPredicate(row: ConditionRow): AudiencePredicate | null {
  if (row.value === '') return null;
  return buildPredicate(row.field, row.op, isDaysField(row.field) ? `${row.value}d` : row.value);
}

/** A complete row's text, NOT included; null for an incomplete row (left out of the expression). */
function rowText(row: ConditionRow, negate = row.negate): string | null {
  const p = rowPredicate(row);
  return p ? `${negate ? 'NOT ' : ''}${formatPredicate(p)}` : null;
}

function itemText(item: BuilderItem, alone: boolean): string | null {
  if (item.kind === 'row') return rowText(item);
  const rows = item.rows.filter((r) => rowPredicate(r) !== null);
  if (rows.length === 0) return null;
  // NOT (NOT x) cancels: written as x, which reads back as a row.
  if (rows.length === 1) return rowText(rows[0], rows[0].negate !== item.negate);
  const inner = rows.map((r) => rowText(r)!).join(` ${JOIN_WORD[item.join]} `);
  if (item.negate) return `NOT (${inner})`;
  return alone ? inner : `(${inner})`;
}

/** The expression the rows make; '' when no row is complete (everyone). */
export function toExpression(model: BuilderModel): string {
  const texts = model.items.map((i, _, all) => itemText(i, all.length === 1)).filter((t): t is string => t !== null);
  return texts.join(` ${JOIN_WORD[model.join]} `);
}

function predRow(e: AudienceExpr, negate: boolean): ConditionRow | null {
  if (e.type !== 'pred') return null;
  return { kind: 'row', field: e.field, op: e.op, value: String(e.value), negate };
}

/** A row from `x` or `NOT x`. */
function asRow(e: AudienceExpr): ConditionRow | null {
  return e.type === 'not' ? predRow(e.item, true) : predRow(e, false);
}

/** A group from `(x OR y)` or `NOT (x AND y)`, whose items are rows. */
function asGroup(e: AudienceExpr): ConditionGroup | null {
  const negate = e.type === 'not';
  const inner = e.type === 'not' ? e.item : e;
  if (inner.type !== 'and' && inner.type !== 'or') return null;
  const rows = inner.items.map(asRow);
  if (rows.some((r) => r === null)) return null;
  return { kind: 'group', join: inner.type, negate, rows: rows as ConditionRow[] };
}

/**
 * The rows an expression shows as, or null when it cannot be shown as rows. `join` is kept when the expression does
 * not say (a single condition, or none).
 */
export function fromExpr(expr: AudienceExpr, join: Join = 'and'): BuilderModel | null {
  if (expr.type === 'all') return { join, items: [] };
  const row = asRow(expr);
  if (row) return { join, items: [row] };
  if (expr.type === 'not') {
    const g = asGroup(expr);
    return g ? { join, items: [g] } : null;
  }
  if (expr.type === 'pred') return null;
  const items: BuilderItem[] = [];
  for (const item of expr.items) {
    const it = asRow(item) ?? asGroup(item);
    if (!it) return null;
    items.push(it);
  }
  return { join: expr.type, items };
}

/** What the text box holds, read back: rows, or why not (a syntax error, or a shape rows cannot show). */
export type TextReading = { kind: 'rows'; model: BuilderModel } | { kind: 'too-deep' } | { kind: 'error'; error: unknown };

export function readExpression(text: string, join: Join): TextReading {
  let expr: AudienceExpr;
  try {
    expr = parseAudience(text);
  } catch (error) {
    return { kind: 'error', error };
  }
  const model = fromExpr(expr, join);
  return model ? { kind: 'rows', model } : { kind: 'too-deep' };
}

/**
 * The rows as the expression keeps them: incomplete rows and empty groups left out, values as the parser reads them
 * (`ACTIVE` → `active`, `007` → `7`), a one-row group a row, a plain group of the top's own join merged into the top,
 * and a lone plain group the top itself. `fromExpr(parse(toExpression(m)))` gives exactly this.
 */
export function normalizeModel(model: BuilderModel): BuilderModel {
  const norm = (r: ConditionRow, negate = r.negate): ConditionRow => {
    const p = rowPredicate(r)!;
    return { kind: 'row', field: p.field, op: p.op, value: String(p.value), negate };
  };
  const items: BuilderItem[] = [];
  for (const item of model.items) {
    if (item.kind === 'row') {
      if (rowPredicate(item)) items.push(norm(item));
      continue;
    }
    const rows = item.rows.filter((r) => rowPredicate(r) !== null);
    if (rows.length === 0) continue;
    if (rows.length === 1) items.push(norm(rows[0], rows[0].negate !== item.negate));
    else if (!item.negate && item.join === model.join) items.push(...rows.map((r) => norm(r)));
    else items.push({ kind: 'group', join: item.join, negate: item.negate, rows: rows.map((r) => norm(r)) });
  }
  if (items.length === 1 && items[0].kind === 'group' && !items[0].negate) return { join: items[0].join, items: items[0].rows };
  return { join: model.join, items };
}
