import type { DbEngine } from '../../persistence/data-source.js';
import type { AudienceExpr } from './audience.types.js';

/** The tags each `tag:` value of an expression means: value → ids of live tags, possibly none. */
export type AudienceTagIds = ReadonlyMap<string, readonly string[]>;

/** Runs one read statement (`Db.query`, or `Db.apiRead` for an API request). */
export type AudienceReader = <T = Record<string, unknown>>(sql: string, params: unknown[]) => Promise<T[]>;

/** The distinct values of the expression's `tag:` terms, in order of first appearance. */
export function audienceTagValues(expr: AudienceExpr): string[] {
  const out = new Set<string>();
  const walk = (e: AudienceExpr): void => {
    if (e.type === 'not') walk(e.item);
    else if (e.type === 'and' || e.type === 'or') e.items.forEach(walk);
    else if (e.type === 'pred' && e.field === 'tag') out.add(e.value);
  };
  walk(expr);
  return [...out];
}

/** Whether a live tag is what a `tag:` value means: exactly the matcher's rule (audience.matcher.ts). */
export function tagMeans(value: string, tag: { name: string; group: string | null }): boolean {
  return tag.name === value || (tag.group !== null && `${tag.group}/${tag.name}` === value);
}

/**
 * Which live tags each `tag:` value of the expression means, in one small read of `tags` and `tag_groups`, so the
 * compiled statement names tag ids (`ct.tag_id IN (?, ?)`) and the engine can estimate each tag's customers from
 * the index (docs/audiences.md §Tag names become ids). The statement only narrows the candidates: on MySQL its `IN`
 * folds case and pads spaces, so the exact comparison is the matcher's, made here. Two parameters per value, as in
 * the name-based shape (docs/security.md §Audience queries).
 */
export async function resolveAudienceTags(read: AudienceReader, engine: DbEngine, expr: AudienceExpr): Promise<AudienceTagIds> {
  const values = audienceTagValues(expr);
  const out = new Map<string, string[]>(values.map((v) => [v, []]));
  if (values.length === 0) return out;
  const marks = values.map(() => '?').join(', ');
  const path = engine === 'mysql' ? "CONCAT(g.name, '/', t.name)" : "(g.name || '/' || t.name)";
  const rows = await read<{ id: string; name: string; grp: string | null }>(
    `SELECT t.id AS id, t.name AS name, g.name AS grp FROM tags t LEFT JOIN tag_groups g ON g.id = t.group_id
     WHERE t.deleted_at IS NULL AND (t.name IN (${marks}) OR (g.name IS NOT NULL AND ${path} IN (${marks})))`,
    [...values, ...values],
  );
  for (const r of rows) {
    for (const v of values) if (tagMeans(v, { name: String(r.name), group: r.grp === null ? null : String(r.grp) })) out.get(v)!.push(String(r.id));
  }
  for (const ids of out.values()) ids.sort();
  return out;
}
