import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api } from '../helpers/app.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';

interface Group { id: string; name: string; tags: { id: string; name: string }[] }
type Fields = { error: { details: { fields: Record<string, string> } } };

/**
 * 标签 page: customers per tag (GET /api/v1/tags/counts?ids=), one grouped count per page of tags, against a count
 * made here from the raw links; a customer with a tag on two relations and as a local tag counts once.
 */
describe.each(testEngines())('customers per tag (%s)', (engine) => {
  let app: ArchiveApp;

  beforeAll(async () => {
    app = await startArchiveApp(engine);
    await app.archive.fullSync.run();
  }, 60_000);
  afterAll(async () => app?.close());

  const counts = (ids: string[], token?: string) => api<{ counts: Record<string, number> }>(app, 'GET', `/api/v1/tags/counts?ids=${ids.map(encodeURIComponent).join(',')}`, undefined, token);

  it('counts each tag’s customers once, whatever relations and sources carry it, for every tag of the library', async () => {
    const tags = (await api<{ items: Group[] }>(app, 'GET', '/api/v1/tags')).body.items.flatMap((g) => g.tags);
    expect(tags.length).toBeGreaterThan(3);
    const db = app.container.db;
    // One customer gets the first tag on a second relation and as a local tag too: still one customer.
    const [{ external_user_id: ext }] = await db.query<{ external_user_id: string }>('SELECT external_user_id FROM customer_tags WHERE tag_id = ? ORDER BY external_user_id LIMIT 1', [tags[0].id]);
    for (const [userid, source] of [['someone-else', 'wecom'], ['', 'manual']]) {
      await db.query("INSERT INTO customer_tags (external_user_id, tag_id, userid, source, rule_id, created_at) VALUES (?, ?, ?, ?, NULL, 0)", [ext, tags[0].id, userid, source]);
    }
    const links = await db.query<{ external_user_id: string; tag_id: string }>('SELECT external_user_id, tag_id FROM customer_tags');
    const expected = new Map<string, Set<string>>();
    for (const l of links) expected.set(l.tag_id, (expected.get(l.tag_id) ?? new Set()).add(l.external_user_id));
    expect(links.filter((l) => l.tag_id === tags[0].id && l.external_user_id === ext).length).toBeGreaterThanOrEqual(3);

    const got: Record<string, number> = {};
    for (let i = 0; i < tags.length; i += 100) {
      const res = await counts(tags.slice(i, i + 100).map((t) => t.id));
      expect(res.status).toBe(200);
      Object.assign(got, res.body.counts);
    }
    expect(got).toEqual(Object.fromEntries(tags.map((t) => [t.id, expected.get(t.id)?.size ?? 0])));
    expect(Object.values(got).some((n) => n > 1)).toBe(true);
    // The same figure as the tag's own page (and the delete confirmation).
    const one = await api<{ customers: number }>(app, 'GET', `/api/v1/tags/${tags[0].id}`);
    expect(one.body.customers).toBe(got[tags[0].id]);
    // A tag nobody has, and an id the library does not know, count 0.
    const none = await counts(['etNoSuchTag', tags[0].id]);
    expect(none.body.counts).toEqual({ etNoSuchTag: 0, [tags[0].id]: got[tags[0].id] });
  });

  it('refuses a missing or too long list with a 400 naming ids, and staff with a 403', async () => {
    const missing = await api<Fields>(app, 'GET', '/api/v1/tags/counts');
    expect(missing.status).toBe(400);
    expect(Object.keys(missing.body.error.details.fields)).toEqual(['ids']);
    const tooMany = await counts(Array.from({ length: 101 }, (_, i) => `et${i}`));
    expect(tooMany.status).toBe(400);
    expect((tooMany.body as unknown as Fields).error.details.fields.ids).toContain('100');
    const staff = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    expect((await counts(['etA'], staff)).status).toBe(403);
  });
});
