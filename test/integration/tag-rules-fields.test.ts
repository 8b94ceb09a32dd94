import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api, startTestApp, type TestApp } from '../helpers/app.js';

type Refusal = { error: { code: string; message: string; details?: { fields?: Record<string, string> } } };
interface Rule { id: string; name: string; pattern: string; tags: string[] }

/**
 * Tag rules refused for one field name that field (details.fields), so the console's rule form shows the message next
 * to it: a bad regex or an empty keyword (pattern), a behaviour rule's bad audience (audience), a name another rule has
 * (name, 409, also on a rename, which used to fail on the unique key). An edited rule fires with its new keyword.
 */
describe.each(testEngines())('tag rule refusals name their field (%s)', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(engine);
  }, 60_000);
  afterAll(async () => app?.close());

  const fieldsOf = (r: { body: unknown }) => (r.body as Refusal).error.details?.fields ?? {};

  it('names pattern, audience and name', async () => {
    const badRegex = await api(app, 'POST', '/api/v1/tag-rules', { name: '坏正则', pattern: '(未闭合', matchType: 'regex', tags: ['意向:测试'] });
    expect(badRegex.status).toBe(400);
    expect((badRegex.body as Refusal).error.code).toBe('invalid_pattern');
    expect(fieldsOf(badRegex)).toEqual({ pattern: '正则表达式无效' });
    const empty = await api(app, 'POST', '/api/v1/tag-rules', { name: '空关键词', pattern: '  ', tags: ['意向:测试'] });
    expect(empty.status).toBe(400);
    expect(Object.keys(fieldsOf(empty))).toEqual(['pattern']);
    const badAudience = await api(app, 'POST', '/api/v1/tag-rules', { name: '坏受众', kind: 'behaviour', audience: 'activity:', tags: ['行为:测试'] });
    expect(badAudience.status).toBe(400);
    expect((badAudience.body as Refusal).error.code).toBe('invalid_audience');
    expect(fieldsOf(badAudience).audience).toContain('第');
    const noTags = await api(app, 'POST', '/api/v1/tag-rules', { name: '没有标签', pattern: '你好', tags: [] });
    expect(noTags.status).toBe(400);
    expect(Object.keys(fieldsOf(noTags))).toEqual(['tags']);

    const a = await api<Rule>(app, 'POST', '/api/v1/tag-rules', { name: '询价甲', pattern: '价格', tags: ['意向:询价'] });
    expect(a.status).toBe(201);
    const b = await api<Rule>(app, 'POST', '/api/v1/tag-rules', { name: '询价乙', pattern: '多少钱', tags: ['意向:询价'] });
    expect(b.status).toBe(201);
    const dup = await api(app, 'POST', '/api/v1/tag-rules', { name: '询价甲', pattern: '优惠', tags: ['意向:询价'] });
    expect(dup.status).toBe(409);
    expect((dup.body as Refusal).error.code).toBe('tag_rule_exists');
    expect(fieldsOf(dup)).toEqual({ name: '规则名已存在：询价甲' });
    const rename = await api(app, 'PATCH', `/api/v1/tag-rules/${b.body.id}`, { name: '询价甲' });
    expect(rename.status).toBe(409);
    expect(fieldsOf(rename)).toEqual({ name: '规则名已存在：询价甲' });
    expect((await api<Rule>(app, 'GET', `/api/v1/tag-rules/${b.body.id}`)).body.name).toBe('询价乙');
  });

  it('fires an edited keyword rule with its new keyword and tags', async () => {
    const r = await api<Rule>(app, 'POST', '/api/v1/tag-rules', { name: '团购', pattern: '团购', tags: ['意向:团购'] });
    const edited = await api<Rule>(app, 'PATCH', `/api/v1/tag-rules/${r.body.id}`, { pattern: '拼单|团购', tags: ['意向:团购', '意向:多件'] });
    expect(edited.status).toBe(200);
    const fired = await api<{ items: { name: string; tags: string[] }[] }>(app, 'POST', '/api/v1/tag-rules/test', { text: '可以拼单吗' });
    expect(fired.body.items).toEqual([expect.objectContaining({ name: '团购', tags: ['意向:团购', '意向:多件'] })]);
  });
});
