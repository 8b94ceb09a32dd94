/**
 * Recursive key-set and value-type comparison against a WeCom sample response. Values are ignored; a key
 * in the sample may be absent (or an array empty) only when its path is listed as optional. Keys the
 * sample does not have are reported too, so a camelCase leak or a typo shows up.
 * Paths look like `follow_user[].tags[].tag_id`.
 */
type Json = unknown;

function kind(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Merge a sample array's elements into one shape; keys missing from some elements become optional. */
function mergeElements(elements: Json[], path: string): { shape: Json; optional: string[] } {
  const objects = elements.filter((e) => kind(e) === 'object') as Array<Record<string, Json>>;
  if (objects.length !== elements.length || objects.length === 0) return { shape: elements[0], optional: [] };
  const shape: Record<string, Json> = {};
  for (const o of objects) for (const [k, v] of Object.entries(o)) if (!(k in shape)) shape[k] = v;
  const optional = Object.keys(shape)
    .filter((k) => objects.some((o) => !(k in o)))
    .map((k) => `${path}.${k}`);
  return { shape, optional };
}

/** Every difference between `actual` and the shape of `sample`; empty when they conform. */
export function shapeMismatches(actual: Json, sample: Json, optional: readonly string[] = [], path = ''): string[] {
  const label = path || '<root>';
  if (kind(actual) !== kind(sample)) return [`${label}: expected ${kind(sample)}, got ${kind(actual)}`];
  if (Array.isArray(sample)) {
    const items = actual as Json[];
    if (sample.length === 0) return [];
    if (items.length === 0) return optional.includes(path) ? [] : [`${label}: empty, so its elements cannot be checked`];
    const merged = mergeElements(sample, `${path}[]`);
    const opts = [...optional, ...merged.optional];
    return items.flatMap((item) => shapeMismatches(item, merged.shape, opts, `${path}[]`));
  }
  if (kind(sample) !== 'object') return [];
  const a = actual as Record<string, Json>;
  const s = sample as Record<string, Json>;
  const out: string[] = [];
  for (const key of Object.keys(s)) {
    const p = path ? `${path}.${key}` : key;
    if (!(key in a)) {
      if (!optional.includes(p)) out.push(`${p}: missing`);
      continue;
    }
    out.push(...shapeMismatches(a[key], s[key], optional, p));
  }
  for (const key of Object.keys(a)) if (!(key in s)) out.push(`${path ? `${path}.${key}` : key}: not in the sample`);
  return out;
}
