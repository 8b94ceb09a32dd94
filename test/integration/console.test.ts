import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { api, startTestApp, type TestApp } from '../helpers/app.js';

describe('operator console', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('sqlite');
  });
  afterAll(() => app.close());

  it('serves the zh-CN console page, unframeable and uncached', async () => {
    const res = await fetch(`${app.url}/console/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain('lang="zh-CN"');
    expect(html).toContain('运营控制台');
    const redirect = await fetch(`${app.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
  });

  it('every admin API list the page calls exists and answers { items, total } for a token', async () => {
    const html = readFileSync(resolve(import.meta.dirname, '../../src/web/console/index.html'), 'utf8');
    // The lists the page GETs (its POSTs, such as /api/v1/audiences/preview, are not lists).
    const paths = [...new Set([...html.matchAll(/call\('GET', [`'](\/api\/v1\/[a-z/-]+)/g)].map((m) => m[1]))];
    expect(paths).toEqual(
      expect.arrayContaining(['/api/v1/customers', '/api/v1/events', '/api/v1/channels', '/api/v1/deliveries', '/api/v1/broadcasts', '/api/v1/transfers', '/api/v1/transfers/unassigned', '/api/v1/staff']),
    );
    for (const p of paths) {
      const { status, body } = await api(app, 'GET', `${p}?pageSize=5`);
      expect(status, p).toBe(200);
      expect(Array.isArray(body.items), p).toBe(true);
      expect(typeof body.total, p).toBe('number');
    }
  });
});
