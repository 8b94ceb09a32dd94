import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { CookieJar } from '../helpers/cookie-jar.js';

/**
 * This site's origin (JS-SDK signatures, OAuth redirect_uri) never comes from the request.
 * docs/security.md §Proxies and the public origin.
 */


/** What an attacker's request carries: another host, claimed over https. */
const FORGED = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', 'x-forwarded-for': '127.0.0.1' };

function helpers(app: () => TestApp) {
  const browse = async (jar: CookieJar, path: string, headers: Record<string, string> = {}) => {
    const h = new Headers(headers);
    if (jar.values.size > 0) h.set('cookie', jar.header());
    const res = await fetch(path.startsWith('http') ? path : `${app().url}${path}`, { headers: h, redirect: 'manual' });
    jar.take(res);
    return res;
  };
  /** Sign in as zhangsan through the sandbox stand-in; the callback is called on the test server whatever its origin. */
  const signIn = async (): Promise<CookieJar> => {
    const jar = new CookieJar();
    const start = await browse(jar, '/sidebar/');
    const authorize = new URL(start.headers.get('location')!, app().url);
    authorize.hash = '';
    authorize.searchParams.set('userid', 'zhangsan');
    const back = await browse(jar, authorize.toString());
    expect(back.status).toBe(302);
    const callback = new URL(back.headers.get('location')!);
    const done = await browse(jar, `/sidebar/oauth/callback${callback.search}`);
    expect(done.status).toBe(302);
    return jar;
  };
  const jssdk = async (jar: CookieJar, url: string, headers: Record<string, string> = {}) => {
    const res = await browse(jar, `/sidebar/api/jssdk-config?url=${encodeURIComponent(url)}`, { 'x-requested-with': 'XMLHttpRequest', ...headers });
    return { status: res.status, body: (await res.json()) as any };
  };
  return { browse, signIn, jssdk };
}

describe.each(testEngines())('sandbox mode without PUBLIC_URL: the origin is the listen URL, never a header (%s)', (engine) => {
  let app: TestApp;
  const h = helpers(() => app);
  beforeAll(async () => {
    app = await startTestApp(engine);
  });
  afterAll(async () => app?.close());

  it('X-Forwarded-Host: evil.example does not change the OAuth redirect_uri, and X-Forwarded-Proto is ignored (TRUST_PROXY=0)', async () => {
    const jar = new CookieJar();
    const res = await h.browse(jar, '/sidebar/', FORGED);
    expect(res.status).toBe(302);
    const authorize = new URL(res.headers.get('location')!, app.url);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${app.url}/sidebar/oauth/callback`);
    // Not over https as far as this server can tell: the cookie is not marked Secure on a client's say-so.
    expect(jar.lastSet.get('wo_sidebar_oauth')).not.toMatch(/;\s*secure/i);
  });

  it('X-Forwarded-Host: evil.example does not make the bot sign evil.example pages, nor change the url it signs', async () => {
    const jar = await h.signIn();
    for (const url of ['https://evil.example/sidebar/phish', 'http://evil.example/sidebar/phish']) {
      const bad = await h.jssdk(jar, url, FORGED);
      expect(bad.status, url).toBe(400);
      expect(bad.body.error.code).toBe('invalid_url');
      expect(bad.body.error.message).toMatch(/^只能为本站侧边栏页面签名/);
    }
    const page = `${app.url}/sidebar/`;
    const ok = await h.jssdk(jar, page, FORGED);
    expect(ok.status).toBe(200);
    // The signature is over this server's own page: WeCom (the sandbox) accepts it for that url.
    expect((await api(app, 'POST', '/sandbox/_control/jssdk/verify', { kind: 'config', url: page, ...ok.body.config })).body).toEqual({ ok: true, errcode: 0 });
  });
});

describe.each(testEngines())('behind one trusted proxy with PUBLIC_URL (TRUST_PROXY=1) (%s)', (engine) => {
  const PUBLIC = 'https://ops.example.test';
  let app: TestApp;
  const h = helpers(() => app);
  beforeAll(async () => {
    app = await startTestApp(engine, { env: { TRUST_PROXY: '1', PUBLIC_URL: PUBLIC } });
  });
  afterAll(async () => app?.close());

  it('the redirect_uri is PUBLIC_URL whatever X-Forwarded-Host says; the trusted proxy\'s X-Forwarded-Proto marks cookies Secure', async () => {
    const jar = new CookieJar();
    const res = await h.browse(jar, '/sidebar/', FORGED);
    const authorize = new URL(res.headers.get('location')!, app.url);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${PUBLIC}/sidebar/oauth/callback`);
    expect(jar.lastSet.get('wo_sidebar_oauth')).toMatch(/;\s*secure/i);
  });

  it('signs only PUBLIC_URL pages: evil.example (even as X-Forwarded-Host) and the listen URL get 400', async () => {
    const jar = await h.signIn();
    for (const url of ['https://evil.example/sidebar/phish', `${app.url}/sidebar/`]) {
      const bad = await h.jssdk(jar, url, FORGED);
      expect(bad.status, url).toBe(400);
      expect(bad.body.error.code).toBe('invalid_url');
    }
    expect((await h.jssdk(jar, `${PUBLIC}/sidebar/?externalUserId=x`, FORGED)).status).toBe(200);
  });
});
