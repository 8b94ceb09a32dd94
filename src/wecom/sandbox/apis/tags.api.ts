import type { ApiContext, ApiTable } from '../api-types.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { assertMaxChars, optionalInt, optionalString, stringArray } from '../params.js';
import type { SandboxTag, SandboxTagGroup } from '../store.js';
import { presentTagGroup } from '../wire.js';

/** Corp-wide enterprise tag limit (docs/wecom-protocol.md §Corp tag library, 40126). */
export const MAX_CORP_TAGS = 3000;
/** Tag and group names are ≤ 30 characters (docs/wecom-protocol.md §Corp tag library). */
const MAX_TAG_NAME = 30;

/** Create a tag group and/or tags the way add_corp_tag does; shared with the admin-console control. */
export function createCorpTags(
  ctx: ApiContext,
  input: { groupId?: string; groupName?: string; groupOrder?: number; tags: Array<{ name: string; order?: number }> },
): { group: SandboxTagGroup; created: SandboxTag[]; isGroupNew: boolean } {
  const { store } = ctx;
  const nowS = Math.floor(ctx.nowMs() / 1000);
  if (input.tags.length === 0) throw new SandboxApiError(Errcode.ParameterEmpty, 'tag is required');
  for (const t of input.tags) {
    if (!t.name) throw new SandboxApiError(Errcode.ParameterEmpty, 'tag name is required');
    assertMaxChars(t.name, MAX_TAG_NAME, 'tag.name');
  }
  if (new Set(input.tags.map((t) => t.name)).size !== input.tags.length) {
    throw new SandboxApiError(Errcode.TagNameExists, 'duplicate names in request');
  }
  if (store.liveTagCount() + input.tags.length > MAX_CORP_TAGS) throw new SandboxApiError(Errcode.TagLimitReached);
  let group: SandboxTagGroup | undefined;
  let isGroupNew = false;
  if (input.groupId) {
    group = store.findTagGroup(input.groupId);
    if (!group || group.isDeleted) throw new SandboxApiError(Errcode.InvalidTagId, input.groupId);
  } else {
    if (!input.groupName) throw new SandboxApiError(Errcode.ParameterEmpty, 'group_id or group_name is required');
    assertMaxChars(input.groupName, MAX_TAG_NAME, 'group_name');
    // An existing group with that name receives the new tags rather than a duplicate group.
    group = store.tagGroups.find((g) => !g.isDeleted && g.name === input.groupName);
    if (!group) {
      group = { groupId: store.newId('et'), name: input.groupName, createTime: nowS, order: input.groupOrder ?? 0, isDeleted: false, tags: [] };
      store.tagGroups.push(group);
      isGroupNew = true;
    }
  }
  const existing = new Set(group.tags.filter((t) => !t.isDeleted).map((t) => t.name));
  for (const t of input.tags) if (existing.has(t.name)) throw new SandboxApiError(Errcode.TagNameExists, t.name);
  const created = input.tags.map<SandboxTag>((t) => ({
    id: store.newId('et'),
    groupId: group.groupId,
    name: t.name,
    createTime: nowS,
    order: t.order ?? 0,
    isDeleted: false,
  }));
  group.tags.push(...created);
  return { group, created, isGroupNew };
}

/** Delete tags and groups; a group whose last tag goes is deleted too (docs/wecom-protocol.md §Corp tag library). */
export function deleteCorpTags(ctx: ApiContext, tagIds: string[], groupIds: string[]): { tags: SandboxTag[]; groups: SandboxTagGroup[] } {
  const { store } = ctx;
  const tags = tagIds.map((id) => {
    const t = store.findTag(id);
    if (!t || t.isDeleted) throw new SandboxApiError(Errcode.InvalidTagId, id);
    return t;
  });
  const groups = groupIds.map((id) => {
    const g = store.findTagGroup(id);
    if (!g || g.isDeleted) throw new SandboxApiError(Errcode.InvalidTagId, id);
    return g;
  });
  for (const g of groups) {
    g.isDeleted = true;
    for (const t of g.tags) t.isDeleted = true;
  }
  for (const t of tags) t.isDeleted = true;
  for (const g of store.tagGroups) {
    if (!g.isDeleted && g.tags.length > 0 && g.tags.every((t) => t.isDeleted)) {
      g.isDeleted = true;
      groups.push(g);
    }
  }
  // A deleted tag disappears from every customer it was on.
  const gone = new Set(store.tagGroups.flatMap((g) => g.tags.filter((t) => t.isDeleted).map((t) => t.id)));
  for (const r of store.allRelations()) r.tagIds = r.tagIds.filter((id) => !gone.has(id));
  return { tags, groups };
}

/** Rename or reorder a tag or group by id. */
export function editCorpTag(ctx: ApiContext, id: string, name?: string, order?: number): { kind: 'tag' | 'tag_group' } {
  assertMaxChars(name, MAX_TAG_NAME, 'name');
  const group = ctx.store.findTagGroup(id);
  const tag = group ? undefined : ctx.store.findTag(id);
  const target = group ?? tag;
  if (!target || target.isDeleted) throw new SandboxApiError(Errcode.InvalidTagId, id);
  if (name !== undefined && tag) {
    const siblings = ctx.store.findTagGroup(tag.groupId)?.tags ?? [];
    if (siblings.some((t) => t !== tag && !t.isDeleted && t.name === name)) throw new SandboxApiError(Errcode.TagNameExists, name);
  }
  // Group names are unique too: add_corp_tag with a live group's name adds to that group (see createCorpTags).
  if (name !== undefined && group && ctx.store.tagGroups.some((g) => g !== group && !g.isDeleted && g.name === name)) {
    throw new SandboxApiError(Errcode.TagNameExists, name);
  }
  if (name !== undefined) target.name = name;
  if (order !== undefined) target.order = order;
  return { kind: group ? 'tag_group' : 'tag' };
}

/** The enterprise tag library (docs/wecom-protocol.md §Corp tag library). */
export const tagApis: ApiTable = {
  'externalcontact/get_corp_tag_list': {
    method: 'POST',
    auth: 'agent',
    handle(req, { store }) {
      const tagIds = stringArray(req.body, 'tag_id');
      const groupIds = stringArray(req.body, 'group_id');
      const byOrder = (a: SandboxTagGroup, b: SandboxTagGroup) => b.order - a.order;
      // Both given → tag_id is ignored and only group_id filters (docs/wecom-protocol.md §Corp tag library).
      if (groupIds.length > 0) {
        const wanted = new Set(groupIds);
        const groups = store.tagGroups.filter((g) => wanted.has(g.groupId)).sort(byOrder);
        return { tag_group: groups.map((g) => presentTagGroup(g, { withDeleted: true })) };
      }
      if (tagIds.length > 0) {
        const wanted = new Set(tagIds);
        const groups = store.tagGroups.filter((g) => g.tags.some((t) => wanted.has(t.id))).sort(byOrder);
        return { tag_group: groups.map((g) => presentTagGroup(g, { withDeleted: true, tagIds: wanted })) };
      }
      const groups = store.tagGroups.filter((g) => !g.isDeleted).sort(byOrder);
      return { tag_group: groups.map((g) => presentTagGroup(g, { withDeleted: false })) };
    },
  },

  'externalcontact/add_corp_tag': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const raw = req.body.tag;
      if (!Array.isArray(raw)) throw new SandboxApiError(Errcode.ParameterEmpty, 'tag is required');
      const tags = raw.map((t: unknown) => {
        const o = (t ?? {}) as Record<string, unknown>;
        return { name: optionalString(o, 'name') ?? '', order: optionalInt(o, 'order') };
      });
      const { group, created } = createCorpTags(ctx, {
        groupId: optionalString(req.body, 'group_id'),
        groupName: optionalString(req.body, 'group_name'),
        groupOrder: optionalInt(req.body, 'order'),
        tags,
      });
      // The response carries the group with only the newly created tags (docs/wecom-protocol.md §Corp tag library).
      const presented = presentTagGroup(group, { withDeleted: false, tagIds: new Set(created.map((t) => t.id)) });
      return { tag_group: presented };
    },
  },

  'externalcontact/edit_corp_tag': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const id = optionalString(req.body, 'id');
      if (!id) throw new SandboxApiError(Errcode.ParameterEmpty, 'id is required');
      editCorpTag(ctx, id, optionalString(req.body, 'name'), optionalInt(req.body, 'order'));
      return {};
    },
  },

  'externalcontact/del_corp_tag': {
    method: 'POST',
    auth: 'agent',
    handle(req, ctx) {
      const tagIds = stringArray(req.body, 'tag_id');
      const groupIds = stringArray(req.body, 'group_id');
      if (tagIds.length === 0 && groupIds.length === 0) throw new SandboxApiError(Errcode.ParameterEmpty, 'tag_id and group_id are both empty');
      deleteCorpTags(ctx, tagIds, groupIds);
      return {};
    },
  },
};
