import type { AudienceExpr } from './audience.types.js';

/** The tags each `tag:` value of an expression means: value → ids of live tags, possibly none. */
export type AudienceTagIds = ReadonlyMap<string, readonly string[]>;

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

/** Port: the live tags that may be what these `tag:` values mean (a name, or a group/name path), from the library. */
export type AudienceTagLookup = (values: string[]) => Promise<{ id: string; name: string; group: string | null }[]>;

/**
 * Which live tags each `tag:` value of the expression means, in one small read of the tag library (the lookup, e.g.
 * TagRepository.liveTagsNamed), so the compiled statement names tag ids (`ct.tag_id IN (?, ?)`) and the engine can
 * estimate each tag's customers from the index (docs/audiences.md §Tag names become ids). The lookup only narrows
 * the candidates: on MySQL its `IN` folds case and pads spaces, so the exact comparison is the matcher's, made here.
 */
export async function resolveAudienceTags(lookup: AudienceTagLookup, expr: AudienceExpr): Promise<AudienceTagIds> {
  const values = audienceTagValues(expr);
  const out = new Map<string, string[]>(values.map((v) => [v, []]));
  if (values.length === 0) return out;
  for (const r of await lookup(values)) {
    for (const v of values) if (tagMeans(v, r)) out.get(v)!.push(r.id);
  }
  for (const ids of out.values()) ids.sort();
  return out;
}
