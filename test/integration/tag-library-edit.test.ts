import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api } from '../helpers/app.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';

interface LibTag { id: string; name: string; group: string; source: string }
interface Group { id: string; name: string; tags: LibTag[] }
interface AuditRow { action: string; targetId: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null }

/** 标签 page: rename and delete a tag (WeCom first, then the library), and the 测试消息 box for keyword rules. */
describe.each(testEngines())('tag library rename/delete and the rule test box (%s)', (engine) => {
  let app: ArchiveApp;

  beforeAll(async () => {
    app = await startArchiveApp(engine);
    await app.archive.fullSync.run();
  }, 60_000);
  afterAll(async () => app?.close());

  async function library(): Promise<LibTag[]> {
    const res = await api<{ items: Group[] }>(app, 'GET', '/api/v1/tags');
    expect(res.status).toBe(200);
    return res.body.items.flatMap((g) => g.tags);
  }
  async function auditRow(action: string, target: string): Promise<AuditRow> {
    const res = await api<{ items: AuditRow[] }>(app, 'GET', `/api/v1/audit-log?action=${action}&target=${encodeURIComponent(target)}`);
    const row = res.body.items.find((r) => r.targetId === target);
    expect(row, `${action} audit row for ${target}`).toBeDefined();
    return row!;
  }

  it('renames a WeCom tag in WeCom and the library, and audits before/after', async () => {
    const created = await api<LibTag>(app, 'POST', '/api/v1/tags', { name: '待改名', group: '测试组' });
    expect(created.status).toBe(201);
    const edits = app.sandbox.calls('externalcontact/edit_corp_tag').length;
    const res = await api<LibTag>(app, 'PATCH', `/api/v1/tags/${created.body.id}`, { name: '已改名' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: created.body.id, name: '已改名', group: '测试组', source: 'wecom' });
    expect(app.sandbox.calls('externalcontact/edit_corp_tag').length).toBe(edits + 1);
    expect(app.sandbox.store.findTag(created.body.id)!.name).toBe('已改名');
    const names = (await library()).filter((t) => t.id === created.body.id).map((t) => t.name);
    expect(names).toEqual(['已改名']);
    const row = await auditRow('tags.update', created.body.id);
    expect(row.before).toMatchObject({ name: '待改名' });
    expect(row.after).toMatchObject({ name: '已改名' });
  });

  it('rejects a bad or clashing name with a 400 naming the field, and an unknown id with a 404', async () => {
    const a = await api<LibTag>(app, 'POST', '/api/v1/tags', { name: '甲', group: '冲突组' });
    await api<LibTag>(app, 'POST', '/api/v1/tags', { name: '乙', group: '冲突组' });
    const empty = await api<{ error: { details: { fields: Record<string, string> } } }>(app, 'PATCH', `/api/v1/tags/${a.body.id}`, { name: '  ' });
    expect(empty.status).toBe(400);
    expect(Object.keys(empty.body.error.details.fields)).toEqual(['name']);
    const long = await api<{ error: { details: { fields: Record<string, string> } } }>(app, 'PATCH', `/api/v1/tags/${a.body.id}`, { name: '长'.repeat(31) });
    expect(long.status).toBe(400);
    expect(long.body.error.details.fields.name).toBeTruthy();
    const clash = await api<{ error: { details: { fields: Record<string, string> } } }>(app, 'PATCH', `/api/v1/tags/${a.body.id}`, { name: '乙' });
    expect(clash.status).toBe(400);
    expect(clash.body.error.details.fields.name).toContain('乙');
    expect(app.sandbox.store.findTag(a.body.id)!.name).toBe('甲');
    expect((await api(app, 'PATCH', '/api/v1/tags/etNoSuchTag', { name: '丙' })).status).toBe(404);
    expect((await api(app, 'DELETE', '/api/v1/tags/etNoSuchTag')).status).toBe(404);
  });

  it('deletes a WeCom tag carried by customers: gone in WeCom, from the library and from customers, audited with the count', async () => {
    const tagged = (await api<{ items: { externalUserId: string }[] }>(app, 'GET', '/api/v1/customers?pageSize=2')).body.items.map((c) => c.externalUserId);
    expect(tagged.length).toBe(2);
    const put = await api(app, 'POST', '/api/v1/customers/bulk-tags', { customers: tagged, add: ['删除组/将删除'] });
    expect(put.status).toBe(200);
    const tag = (await library()).find((t) => t.name === '将删除')!;
    const info = await api<LibTag & { customers: number }>(app, 'GET', `/api/v1/tags/${tag.id}`);
    expect(info.body.customers).toBe(2);
    for (const ext of tagged) expect(JSON.stringify((await api(app, 'GET', `/api/v1/customers/${ext}`)).body)).toContain('将删除');

    const res = await api(app, 'DELETE', `/api/v1/tags/${tag.id}`);
    expect(res.status).toBe(204);
    expect(app.sandbox.store.findTag(tag.id)!.isDeleted).toBe(true);
    expect((await library()).some((t) => t.id === tag.id)).toBe(false);
    for (const ext of tagged) {
      expect(JSON.stringify((await api(app, 'GET', `/api/v1/customers/${ext}`)).body)).not.toContain('将删除');
    }
    const row = await auditRow('tags.delete', tag.id);
    expect(row.before).toMatchObject({ name: '将删除', customers: 2 });
    expect((await api(app, 'DELETE', `/api/v1/tags/${tag.id}`)).status).toBe(404);
  });

  it('renames and deletes a local tag without calling WeCom', async () => {
    const local = await api<LibTag>(app, 'POST', '/api/v1/tags', { name: '本地甲', local: true });
    expect(local.body.source).toBe('local');
    const edits = app.sandbox.calls('externalcontact/edit_corp_tag').length;
    const dels = app.sandbox.calls('externalcontact/del_corp_tag').length;
    expect((await api<LibTag>(app, 'PATCH', `/api/v1/tags/${local.body.id}`, { name: '本地乙' })).body.name).toBe('本地乙');
    expect((await library()).find((t) => t.id === local.body.id)!.name).toBe('本地乙');
    expect((await api(app, 'DELETE', `/api/v1/tags/${local.body.id}`)).status).toBe(204);
    expect((await library()).some((t) => t.id === local.body.id)).toBe(false);
    expect(app.sandbox.calls('externalcontact/edit_corp_tag').length).toBe(edits);
    expect(app.sandbox.calls('externalcontact/del_corp_tag').length).toBe(dels);
  });

  it('tests a message against the keyword rules without tagging anyone', async () => {
    await api(app, 'POST', '/api/v1/tag-rules', { name: '问价格', pattern: '价格|多少钱', tags: ['意向/询价'] });
    await api(app, 'POST', '/api/v1/tag-rules', { name: '要发票', pattern: '发票', tags: ['需求/发票'] });
    await api(app, 'POST', '/api/v1/tag-rules', { name: '停用的', pattern: '多少钱', tags: ['意向/停用'], enabled: false });
    const before = await app.archive.repos.tags.countCustomerTags();
    const res = await api<{ items: { name: string; tags: string[] }[]; total: number }>(app, 'POST', '/api/v1/tag-rules/test', { text: '这个ＶＩＰ套餐多少钱？' });
    expect(res.status).toBe(200);
    expect(res.body.items.map((r) => r.name)).toContain('问价格');
    expect(res.body.items.find((r) => r.name === '问价格')!.tags).toEqual(['意向/询价']);
    expect(res.body.items.map((r) => r.name)).not.toContain('要发票');
    expect(res.body.items.map((r) => r.name)).not.toContain('停用的');
    expect(await app.archive.repos.tags.countCustomerTags()).toBe(before);
    const none = await api<{ total: number }>(app, 'POST', '/api/v1/tag-rules/test', { text: '你好' });
    expect(none.body.total).toBe(0);
    const bad = await api<{ error: { details: { fields: Record<string, string> } } }>(app, 'POST', '/api/v1/tag-rules/test', { text: '' });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.details.fields)).toEqual(['text']);
  });
});
