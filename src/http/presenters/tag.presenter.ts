import type { Tag, TagGroup } from '../../domain/tags/tag.types.js';
import type { TagRule } from '../../domain/tags/tag-rule.types.js';

/** A tag of the library. */
export function presentTag(t: Tag) {
  return { id: t.id, name: t.name, group: t.groupName, groupId: t.groupId, order: t.sortOrder, source: t.source };
}

/** A tag group with its tags. */
export function presentTagGroup(g: TagGroup, tags: Tag[]) {
  return { id: g.id, name: g.name, order: g.sortOrder, source: g.source, tags: tags.filter((t) => t.groupId === g.id).map(presentTag) };
}

/** A tag rule. */
export function presentTagRule(r: TagRule) {
  return { id: r.id, name: r.name, kind: r.kind, pattern: r.pattern, matchType: r.matchType, audience: r.audience, tags: r.tags, enabled: r.isEnabled, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString() };
}
