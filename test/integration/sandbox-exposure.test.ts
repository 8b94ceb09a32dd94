import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';

/**
 * The sandbox's controls answer only connections from this machine, judged by the TCP peer
 * alone; the sign-in stand-in sends codes only to this site. docs/security.md §Sandbox exposure.
 *
 * This machine's network is loopback only, so a "remote" peer is simulated by overriding the accepted socket's
 * remoteAddress; everything else is a real HTTP round trip through the whole app. TRUST_PROXY=1 on purpose: then
 * Koa's ctx.ip believes `X-Forwarded-For: 127.0.0.1`, and the controls must still refuse.
 */
describe.each(testEngines())('sandbox controls and sign-in stand-in on %s', (engine) => {
  let app: TestApp;
  /** The peer address the server sees for new connections; undefined = the real one (127.0.0.1). */
  let fakePeer: string | undefined;

  beforeAll(async () => {
    app = await startTestApp(engine, { env: { TRUST_PROXY: '1' } });
    app.server.prependListener('connection', (socket: Socket) => {
      if (fakePeer) Object.defineProperty(socket, 'remoteAddress', { value: fakePeer, configurable: true });
    });
  });
  afterAll(() => app?.close());

  /** A fresh connection each time (no keep-alive reuse), so the peer address applies. */
  const call = (path: string, init: { method?: string; json?: unknown; headers?: Record<string, string> } = {}) =>
    fetch(`${app.url}${path}`, {
      method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
      headers: { connection: 'close', ...(init.json === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
      redirect: 'manual',
    });

  it('refuses a non-loopback peer with 403 even when X-Forwarded-For says 127.0.0.1, before doing anything', async () => {
    const before = app.container.sandbox!.store.customers.size;
    fakePeer = '203.0.113.9';
    try {
      for (const [path, json] of [
        ['/sandbox/_control/summary', undefined],
        ['/sandbox/_control/oauth/code', { userid: 'zhangsan' }],
        ['/sandbox/_control/customers/add', { userid: 'zhangsan', name: '不该出现' }],
      ] as const) {
        const res = await call(path, { json, headers: { 'x-forwarded-for': '127.0.0.1' } });
        expect(res.status, path).toBe(403);
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('sandbox_control_loopback_only');
        expect(body.error.message).toMatch(/^沙箱控制接口只接受本机/);
      }
      // IPv4-mapped non-loopback is not loopback either.
      fakePeer = '::ffff:192.0.2.1';
      expect((await call('/sandbox/_control/summary', { headers: { 'x-forwarded-for': '127.0.0.1' } })).status).toBe(403);
    } finally {
      fakePeer = undefined;
    }
    expect(app.container.sandbox!.store.customers.size).toBe(before);
  });

  it('answers the same requests from loopback (::ffff:127.x too), X-Forwarded-For or not', async () => {
    expect((await call('/sandbox/_control/summary')).status).toBe(200);
    expect((await call('/sandbox/_control/summary', { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(200);
    fakePeer = '::ffff:127.0.0.1';
    try {
      const res = await call('/sandbox/_control/oauth/code', { json: { userid: 'zhangsan' } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { code: string }).code).toBeTruthy();
    } finally {
      fakePeer = undefined;
    }
  });

  it('serves the sandbox only with the exact case of its paths', async () => {
    for (const path of ['/sandbox/_CONTROL/summary', '/SANDBOX/_control/summary', '/sandbox/_Control/oauth/code']) {
      const res = await call(path, path.endsWith('code') ? { json: { userid: 'zhangsan' } } : {});
      expect(res.status, path).toBe(404);
      expect(JSON.stringify(await res.json().catch(() => ({})))).not.toContain('"code":"');
    }
  });

  it('the sign-in stand-in redirects only to this site\'s /sidebar/oauth/callback', async () => {
    const authorize = (redirectUri: string) =>
      `/sandbox/connect/oauth2/authorize?${new URLSearchParams({
        appid: SANDBOX_CORP.corpId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: 'snsapi_base',
        state: 'abc',
        agentid: String(SANDBOX_CORP.agentId),
        userid: 'zhangsan',
      })}`;
    for (const foreign of ['https://evil.example/sidebar/oauth/callback', `${app.url}/console/`, `${app.url.replace('127.0.0.1', 'localhost')}/sidebar/oauth/callback`]) {
      const res = await call(authorize(foreign));
      expect(res.status, foreign).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('redirect_uri 只能是本站的侧边栏登录回调');
    }
    const ok = await call(authorize(`${app.url}/sidebar/oauth/callback`));
    expect(ok.status).toBe(302);
    const back = new URL(ok.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(`${app.url}/sidebar/oauth/callback`);
    expect(back.searchParams.get('code')).toBeTruthy();
  });
});
