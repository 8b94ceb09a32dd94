import { describe, expect, it } from 'vitest';
import { buildSandbox, callApi, tokenFor } from './sandbox-harness.js';

describe('WecomSandbox corp tags', () => {
  it('creates a group with tags, returning ids that start with et and sorting larger order first', async () => {
    const { sut } = buildSandbox();
    const token = await tokenFor(sut);
    const added = await callApi(sut, token, 'externalcontact/add_corp_tag', { group_name: '生日月', order: 5, tag: [{ name: '一月', order: 1 }, { name: '二月', order: 2 }] });
    expect(added.errcode).toBe(0);
    expect(added.tag_group.group_id).toMatch(/^et/);
    expect(added.tag_group.tag.map((t: any) => t.name)).toEqual(['二月', '一月']);
    const list = await callApi(sut, token, 'externalcontact/get_corp_tag_list', {});
    expect(list.tag_group).toHaveLength(1);
    expect(list.tag_group[0]).not.toHaveProperty('deleted');
  });

  it('adds into an existing group by group_id and rejects duplicate names (40071) and long names (40058)', async () => {
    const { sut } = buildSandbox();
    const token = await tokenFor(sut);
    const { tag_group } = await callApi(sut, token, 'externalcontact/add_corp_tag', { group_name: 'G', tag: [{ name: 'A' }] });
    const more = await callApi(sut, token, 'externalcontact/add_corp_tag', { group_id: tag_group.group_id, tag: [{ name: 'B' }] });
    expect(more.tag_group.tag.map((t: any) => t.name)).toEqual(['B']);
    expect((await callApi(sut, token, 'externalcontact/add_corp_tag', { group_id: tag_group.group_id, tag: [{ name: 'A' }] })).errcode).toBe(40071);
    expect((await callApi(sut, token, 'externalcontact/add_corp_tag', { group_name: 'G', tag: [{ name: 'x'.repeat(31) }] })).errcode).toBe(40058);
  });

  it('enforces the 3000-tag corp limit with 40126', async () => {
    const { sut } = buildSandbox();
    const token = await tokenFor(sut);
    for (let g = 0; g < 3; g++) {
      const tag = Array.from({ length: 1000 }, (_, i) => ({ name: `t${i}` }));
      expect((await callApi(sut, token, 'externalcontact/add_corp_tag', { group_name: `g${g}`, tag })).errcode).toBe(0);
    }
    expect((await callApi(sut, token, 'externalcontact/add_corp_tag', { group_name: 'g4', tag: [{ name: 'one more' }] })).errcode).toBe(40126);
  });

  it('edits, filters by id with deleted flags, and deletes tags, removing them from customers', async () => {
    const { sut } = buildSandbox();
    sut.seed();
    const token = await tokenFor(sut);
    const group = sut.store.tagGroups[0];
    const [vip, normal] = group.tags;
    expect((await callApi(sut, token, 'externalcontact/edit_corp_tag', { id: vip.id, name: '钻石VIP' })).errcode).toBe(0);
    const tagged = sut.store.allRelations().find((r) => r.tagIds.includes(vip.id));
    expect(tagged).toBeDefined();
    expect((await callApi(sut, token, 'externalcontact/del_corp_tag', { tag_id: [vip.id] })).errcode).toBe(0);
    expect(sut.store.allRelations().some((r) => r.tagIds.includes(vip.id))).toBe(false);
    const byId = await callApi(sut, token, 'externalcontact/get_corp_tag_list', { tag_id: [vip.id, normal.id] });
    expect(byId.tag_group[0].tag).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: vip.id, name: '钻石VIP', deleted: true }), expect.objectContaining({ id: normal.id, deleted: false })]),
    );
    // Deleting the last tag of a group deletes the group.
    await callApi(sut, token, 'externalcontact/del_corp_tag', { tag_id: [normal.id] });
    const all = await callApi(sut, token, 'externalcontact/get_corp_tag_list', {});
    expect(all.tag_group.map((g: any) => g.group_id)).not.toContain(group.groupId);
    expect((await callApi(sut, token, 'externalcontact/del_corp_tag', {})).errcode).toBe(40063);
    expect((await callApi(sut, token, 'externalcontact/edit_corp_tag', { id: 'etNope', name: 'x' })).errcode).toBe(40068);
  });

  it('renames a group by its id (not a name another group has) and deletes a group with its tags and their links', async () => {
    const { sut } = buildSandbox();
    sut.seed();
    const token = await tokenFor(sut);
    const [group, other] = sut.store.tagGroups.filter((g) => !g.isDeleted && g.tags.length > 0);
    const tagIds = group.tags.map((t) => t.id);
    expect((await callApi(sut, token, 'externalcontact/edit_corp_tag', { id: group.groupId, name: '会员等级' })).errcode).toBe(0);
    expect(sut.store.findTagGroup(group.groupId)!.name).toBe('会员等级');
    expect(group.tags.map((t) => t.id)).toEqual(tagIds);
    expect((await callApi(sut, token, 'externalcontact/edit_corp_tag', { id: group.groupId, name: other.name })).errcode).toBe(40071);
    expect(sut.store.findTagGroup(group.groupId)!.name).toBe('会员等级');
    expect(sut.store.allRelations().some((r) => r.tagIds.some((id) => tagIds.includes(id)))).toBe(true);
    expect((await callApi(sut, token, 'externalcontact/del_corp_tag', { group_id: [group.groupId] })).errcode).toBe(0);
    expect(sut.store.findTagGroup(group.groupId)!.isDeleted).toBe(true);
    for (const id of tagIds) expect(sut.store.findTag(id)!.isDeleted).toBe(true);
    expect(sut.store.allRelations().some((r) => r.tagIds.some((id) => tagIds.includes(id)))).toBe(false);
    const all = await callApi(sut, token, 'externalcontact/get_corp_tag_list', {});
    expect(all.tag_group.map((g: any) => g.group_id)).not.toContain(group.groupId);
    expect((await callApi(sut, token, 'externalcontact/del_corp_tag', { group_id: [group.groupId] })).errcode).toBe(40068);
  });
});
