/** A tag named by an operator: `询价`, `意向/询价` or `意向:询价` (group, then tag). */
export interface TagRef {
  group: string | null;
  name: string;
}

/** The group new tags go into when a reference names none. */
export const DEFAULT_TAG_GROUP = '自动标签';

/**
 * Parse a tag reference. The first `/`, `:` or full-width `：` separates group from name, so config written in
 * Chinese input mode (`意向：询价`) works too.
 */
export function parseTagRef(ref: string): TagRef {
  const trimmed = ref.trim();
  const m = /^([^/:：]+)[/:：](.+)$/u.exec(trimmed);
  if (m && m[1].trim() && m[2].trim()) return { group: m[1].trim(), name: m[2].trim() };
  return { group: null, name: trimmed };
}
