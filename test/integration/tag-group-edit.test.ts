import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api } from '../helpers/app.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';

interface LibTag { id: string; name: string; group: string; groupId: string; source: string }
interface Group { id: string; name: string; source: string; tags: LibTag[] }
interface AuditRow { action: string; targetId: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null }
interface Fields { error: { code: string; details: { fields: Record<string, string> } } }

/** 标签 page: rename and delete a tag group (WeCom first through edit_corp_tag / del_corp_tag, then the library). */
describe.each(testEngines())('tag group rename/delete (%s)', (engine) => {
  let app: ArchiveApp;

  beforeAll(async () => {
    app = await startArchiveApp(engine);
    await app.archive.fullSync.run();
  }, 60_000);
  afterAll(async () => app?.close());

  async function groups(): Promise<Group[]> {
    const res = await api<{ items: Group[] }>(app, 'GET', '/api/v1/tags');
    expect(res.status).toBe(200);
    return res.body.items;
  }
  async function auditRow(action: string, target: string): Promise<AuditRow> {
    const res = await api<{ items: AuditRow[] }>(app, 'GET', `/api/v1/audit-log?action=${action}&target=${encodeURIComponent(target)}`);
    const row = res.body.items.find((r) => r.targetId === target);
    expect(row, `${action} audit row for ${target}`).toBeDefined();
    return row!;
  }

  it('renames a WeCom group in WeCom and the library; its tags follow; audited before/after', async () => {
    const tag = await api<LibTag>(app, 'POST', '/api/v1/tags', { name: '组内标签', group: '旧组名' });
    expect(tag.status).toBe(201);
    const groupId = tag.body.groupId;
    const edits = app.sandbox.calls('externalcontact/edit_corp_tag').length;
    const res = await api<{ id: string; name: string; source: string }>(app, 'PATCH', `/api/v1/tag-groups/${groupId}`, { name: '  新组名 ' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: groupId, name: '新组名', source: 'wecom' });
    expect(app.sandbox.calls('externalcontact/edit_corp_tag').length).toBe(edits + 1);
    expect(app.sandbox.store.findTagGroup(groupId)!.name).toBe('新组名');
    const g = (await groups()).find((x) => x.id === groupId)!;
    expect(g.name).toBe('新组名');
    expect(g.tags.map((t) => `${t.group}/${t.name}`)).toEqual(['新组名/组内标签']);
    // A full re-read of WeCom agrees with the library (the name really changed there).
    await app.archive.library.reconcile();
    expect((await groups()).find((x) => x.id === groupId)!.name).toBe('新组名');
    const row = await auditRow('tag-groups.update', groupId);
    expect(row.before).toMatchObject({ name: '旧组名' });
    expect(row.after).toMatchObject({ name: '新组名' });
  });

  it('refuses a bad name (400 naming the field), a name another group has (409), an unknown group (404), and staff (403)', async () => {
    const a = (await api<LibTag>(app, 'POST', '/api/v1/tags', { name: '甲', group: '组甲' })).body;
    await api<LibTag>(app, 'POST', '/api/v1/tags', { name: '乙', group: '组乙' });
    const empty = await api<Fields>(app, 'PATCH', `/api/v1/tag-groups/${a.groupId}`, { name: '   ' });
    expect(empty.status).toBe(400);
    expect(Object.keys(empty.body.error.details.fields)).toEqual(['name']);
    const long = await api<Fields>(app, 'PATCH', `/api/v1/tag-groups/${a.groupId}`, { name: '长'.repeat(31) });
    expect(long.status).toBe(400);
    expect(Object.keys(long.body.error.details.fields)).toEqual(['name']);
    const edits = app.sandbox.calls('externalcontact/edit_corp_tag').length;
    const clash = await api<Fields>(app, 'PATCH', `/api/v1/tag-groups/${a.groupId}`, { name: '组乙' });
    expect(clash.status).toBe(409);
    expect(clash.body.error.details.fields.name).toContain('组乙');
    expect(app.sandbox.calls('externalcontact/edit_corp_tag').length).toBe(edits);
    expect(app.sandbox.store.findTagGroup(a.groupId)!.name).toBe('组甲');
    expect((await api(app, 'PATCH', '/api/v1/tag-groups/etNoSuchGroup', { name: '丙' })).status).toBe(404);
    expect((await api(app, 'DELETE', '/api/v1/tag-groups/etNoSuchGroup')).status).toBe(404);
    expect((await api(app, 'GET', '/api/v1/tag-groups/etNoSuchGroup')).status).toBe(404);
    const staff = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    expect((await api(app, 'PATCH', `/api/v1/tag-groups/${a.groupId}`, { name: '丁' }, staff)).status).toBe(403);
    expect((await api(app, 'DELETE', `/api/v1/tag-groups/${a.groupId}`, undefined, staff)).status).toBe(403);
    expect(app.sandbox.store.findTagGroup(a.groupId)!.isDeleted).toBe(false);
  });

  it('deletes a WeCom group with its tags: gone in WeCom, from the library and from customers, audited with the counts', async () => {
    const customers = (await api<{ items: { externalUserId: string }[] }>(app, 'GET', '/api/v1/customers?pageSize=3')).body.items.map((c) => c.externalUserId);
    expect(customers.length).toBe(3);
    // Two customers carry both tags, a third only one: three customers, not five.
    expect((await api(app, 'POST', '/api/v1/customers/bulk-tags', { customers: customers.slice(0, 2), add: ['删除组/标签一', '删除组/标签二'] })).status).toBe(200);
    expect((await api(app, 'POST', '/api/v1/customers/bulk-tags', { customers: customers.slice(2), add: ['删除组/标签一'] })).status).toBe(200);
    const group = (await groups()).find((g) => g.name === '删除组')!;
    expect(group.tags.map((t) => t.name).sort()).toEqual(['标签一', '标签二']);
    const tagIds = group.tags.map((t) => t.id);
    const reach = await api<{ tags: number; customers: number }>(app, 'GET', `/api/v1/tag-groups/${group.id}`);
    expect(reach.body).toMatchObject({ id: group.id, name: '删除组', tags: 2, customers: 3 });
    const linkedInWecom = () => app.sandbox.store.allRelations().filter((r) => r.tagIds.some((id) => tagIds.includes(id))).length;
    expect(linkedInWecom()).toBeGreaterThan(0);

    const dels = app.sandbox.calls('externalcontact/del_corp_tag').length;
    expect((await api(app, 'DELETE', `/api/v1/tag-groups/${group.id}`)).status).toBe(204);
    expect(app.sandbox.calls('externalcontact/del_corp_tag').length).toBe(dels + 1);
    expect(app.sandbox.store.findTagGroup(group.id)!.isDeleted).toBe(true);
    for (const id of tagIds) expect(app.sandbox.store.findTag(id)!.isDeleted).toBe(true);
    expect(linkedInWecom()).toBe(0);
    expect((await groups()).some((g) => g.id === group.id)).toBe(false);
    for (const ext of customers) expect(JSON.stringify((await api(app, 'GET', `/api/v1/customers/${ext}`)).body)).not.toContain('标签一');
    const row = await auditRow('tag-groups.delete', group.id);
    expect(row.before).toMatchObject({ name: '删除组', source: 'wecom', tags: 2, customers: 3 });
    expect((await api(app, 'DELETE', `/api/v1/tag-groups/${group.id}`)).status).toBe(404);
    expect((await api(app, 'PATCH', `/api/v1/tag-groups/${group.id}`, { name: '复活' })).status).toBe(404);
    // A full re-read of WeCom does not bring it back.
    await app.archive.library.reconcile();
    expect((await groups()).some((g) => g.id === group.id)).toBe(false);
  });

  it('renames and deletes a local group without calling WeCom', async () => {
    const t1 = (await api<LibTag>(app, 'POST', '/api/v1/tags', { name: '本地一', group: '本地组', local: true })).body;
    await api<LibTag>(app, 'POST', '/api/v1/tags', { name: '本地二', group: '本地组', local: true });
    expect(t1.source).toBe('local');
    const edits = app.sandbox.calls('externalcontact/edit_corp_tag').length;
    const dels = app.sandbox.calls('externalcontact/del_corp_tag').length;
    const renamed = await api<{ name: string; source: string }>(app, 'PATCH', `/api/v1/tag-groups/${t1.groupId}`, { name: '本地新组' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: '本地新组', source: 'local' });
    expect((await groups()).find((g) => g.id === t1.groupId)!.tags.map((t) => t.group)).toEqual(['本地新组', '本地新组']);
    expect((await auditRow('tag-groups.update', t1.groupId)).before).toMatchObject({ name: '本地组' });
    expect((await api(app, 'DELETE', `/api/v1/tag-groups/${t1.groupId}`)).status).toBe(204);
    expect((await groups()).some((g) => g.id === t1.groupId)).toBe(false);
    expect((await auditRow('tag-groups.delete', t1.groupId)).before).toMatchObject({ name: '本地新组', source: 'local', tags: 2, customers: 0 });
    expect(app.sandbox.calls('externalcontact/edit_corp_tag').length).toBe(edits);
    expect(app.sandbox.calls('externalcontact/del_corp_tag').length).toBe(dels);
  });
});
