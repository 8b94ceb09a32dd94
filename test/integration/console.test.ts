import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Koa from 'koa';
import { webRouter } from '../../src/http/routes/web.router.js';
import { api, startTestApp, type TestApp } from '../helpers/app.js';

/** Serve webRouter over `dir` on a loopback port; what a request for another path gets is a bare 404. */
async function serve(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const koa = new Koa();
  const router = webRouter({ dir });
  koa.use(router.routes()).use(router.allowedMethods());
  const server: Server = await new Promise((ok) => {
    const s = koa.listen(0, '127.0.0.1', () => ok(s));
  });
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(() => ok())) };
}

describe('operator console files (dist/console/)', () => {
  const root = mkdtempSync(join(tmpdir(), 'wo-console-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('without a build, every console path says in Chinese that it is not built: never a blank page', async () => {
    const s = await serve(join(root, 'missing'));
    try {
      for (const path of ['/console/', '/console/customers/wm123']) {
        const res = await fetch(`${s.url}${path}`);
        expect(res.status, path).toBe(503);
        expect(res.headers.get('content-type')).toContain('text/html');
        expect(res.headers.get('x-frame-options')).toBe('DENY');
        const html = await res.text();
        expect(html).toContain('控制台尚未构建');
        expect(html).toContain('npm run build:console');
      }
    } finally {
      await s.close();
    }
  });

  it('serves the app for every page path (history mode), hashed assets for a year, and nothing else', async () => {
    const dir = join(root, 'built');
    mkdirSync(join(dir, 'assets'), { recursive: true });
    // The first screen's script is inlined after its markup, as the build does (src/web/console/vite.config.ts).
    const inline = 'document.body.dataset.first = "1";';
    writeFileSync(join(dir, 'index.html'), `<!doctype html><html lang="zh-CN"><title>wecom-ops 运营控制台</title><script type="module" src="/console/assets/index-AbC123.js"></script><body><script type="module" async>${inline}</script></body></html>`);
    writeFileSync(join(dir, 'assets/index-AbC123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'assets/index-AbC123.css'), 'body{}');
    writeFileSync(join(root, 'secret.js'), 'nope');
    const s = await serve(dir);
    try {
      for (const path of ['/console/', '/console/customers', '/console/customers/wm%E5%BC%A0', '/console/channels/x/y']) {
        // With a console session cookie (the page does not read it: any value will do here).
        const res = await fetch(`${s.url}${path}`, { headers: { cookie: 'wo_console=x' } });
        expect(res.status, path).toBe(200);
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(res.headers.get('x-frame-options')).toBe('DENY');
        // Scripts from this server, and the one inline script by its hash: no other inline script would run.
        expect(res.headers.get('content-security-policy')).toContain(`script-src 'self' 'sha256-${createHash('sha256').update(inline).digest('base64')}';`);
        expect(await res.text()).toContain('运营控制台');
        // The dashboard names its first number for the browser to ask at once (src/web/console/first-screen.ts).
        expect(res.headers.get('link'), path).toBe(path === '/console/' ? '</api/v1/customers?audience=all&page=1&pageSize=1>; rel=preload; as=fetch; crossorigin' : null);
      }
      // Without one (signed out, or a pasted API token the preload could not carry) there is nothing to preload.
      expect((await fetch(`${s.url}/console/`)).headers.get('link')).toBeNull();
      const js = await fetch(`${s.url}/console/assets/index-AbC123.js`);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(await js.text()).toBe('console.log(1)');
      expect((await fetch(`${s.url}/console/assets/index-AbC123.css`)).headers.get('content-type')).toContain('text/css');
      // A missing asset is a 404, not the app's page (a stale tab asking for an old chunk must see the error).
      for (const path of ['/console/assets/gone-123.js', '/console/assets/..%2Fsecret.js', '/console/assets/.hidden.js', '/console/assets/x.exe']) {
        expect((await fetch(`${s.url}${path}`)).status, path).toBe(404);
      }
      // The server's own sign-in paths are never answered with the app (another router owns them).
      for (const path of ['/console/login', '/console/auth/callback', '/console//login', '/console//customers']) expect((await fetch(`${s.url}${path}`)).status, path).toBe(404);
      const redirect = await fetch(`${s.url}/console`, { redirect: 'manual' });
      expect(redirect.status).toBe(302);
      expect(redirect.headers.get('location')).toBe('/console/');
    } finally {
      await s.close();
    }
  });
});

describe('operator console API use', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('sqlite');
  });
  afterAll(() => app.close());

  it('every list the console pages through exists and answers { items, total } for a token', async () => {
    const dir = resolve(import.meta.dirname, '../../src/web/console');
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(ts|vue)$/.test(n)) files.push(p);
      }
    };
    walk(dir);
    const source = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    // A list is read with get<Page<T>>(path) or through usePagedList<T>(path) (src/web/console/lib/paged.ts).
    const paths = [...new Set([...source.matchAll(/(?:get<Page<\w+>>|usePagedList<\w+>)\('(\/api\/v1\/[a-z/-]+)'/g)].map((m) => m[1]))];
    expect(paths).toEqual(expect.arrayContaining(['/api/v1/customers', '/api/v1/events', '/api/v1/channels', '/api/v1/deliveries', '/api/v1/broadcasts', '/api/v1/staff', '/api/v1/tags']));
    for (const p of paths) {
      const { status, body } = await api(app, 'GET', `${p}?pageSize=5`);
      expect(status, p).toBe(200);
      expect(Array.isArray(body.items), p).toBe(true);
      expect(typeof body.total, p).toBe('number');
    }
  });
});
