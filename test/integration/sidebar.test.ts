import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api, TEST_DATA_KEY, waitFor } from '../helpers/app.js';
import { postCallback } from '../helpers/callbacks.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';
import type { SidebarModule } from '../../src/container.js';
import { DEFAULT_QUICK_REPLIES_FILE } from '../../src/config/files.js';
import { StaffSessionService } from '../../src/domain/auth/staff-session.service.js';
import { FixedClock } from '../../src/shared/clock.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';
import { CookieJar } from '../helpers/cookie-jar.js';


describe.each(testEngines())('staff sidebar (聊天工具栏) over HTTP with the sandbox (%s)', (engine) => {
  let app: ArchiveApp;
  let sidebar: SidebarModule;
  /** A customer zhangsan follows, and one he does not. */
  let mine: { externalUserId: string; name: string };
  let notMine: string;

  beforeAll(async () => {
    app = await startArchiveApp(engine);
    await app.archive.fullSync.run();
    sidebar = app.container.sidebar;
    const own = app.sandbox.store.relationsOfUser('zhangsan').find((r) => !r.isDeletedByCustomer)!;
    mine = { externalUserId: own.externalUserId, name: app.sandbox.store.customers.get(own.externalUserId)!.name };
    notMine = [...app.sandbox.store.customers.keys()].find((id) => !app.sandbox.store.findRelation('zhangsan', id))!;
    expect(notMine).toBeDefined();
  });
  afterAll(async () => app?.close());

  /** A browser request: no redirects followed, cookies from and into the jar. */
  async function browse(jar: CookieJar, path: string, init: RequestInit = {}): Promise<Response> {
    const url = path.startsWith('http') ? path : `${app.url}${path}`;
    const headers = new Headers(init.headers);
    if (jar.values.size > 0) headers.set('cookie', jar.header());
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    jar.take(res);
    return res;
  }

  /** What the page's script does: JSON with the CSRF header on writes. */
  async function sidebarApi(jar: CookieJar, method: string, path: string, body?: unknown, headers: Record<string, string> = { 'x-requested-with': 'XMLHttpRequest' }) {
    const res = await browse(jar, path, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** Open /sidebar/ without a session: the redirect to the (sandbox) OAuth page and the state it carries. */
  async function startSignIn(jar: CookieJar, query = '') {
    const res = await browse(jar, `/sidebar/${query}`);
    expect(res.status).toBe(302);
    const authorize = new URL(res.headers.get('location')!, app.url);
    return { res, authorize, state: authorize.searchParams.get('state')! };
  }

  /** The sandbox page as a member picks themselves: back to the callback with a code. */
  async function authorizeAs(jar: CookieJar, authorize: URL, who: Record<string, string>) {
    const u = new URL(authorize);
    u.hash = '';
    for (const [k, v] of Object.entries(who)) u.searchParams.set(k, v);
    const res = await browse(jar, u.toString());
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location')!);
  }

  async function signIn(userid: string, query = ''): Promise<CookieJar> {
    const jar = new CookieJar();
    const { authorize } = await startSignIn(jar, query);
    const callback = await authorizeAs(jar, authorize, { userid });
    const done = await browse(jar, callback.toString());
    expect(done.status).toBe(302);
    expect(jar.values.has('wo_sidebar')).toBe(true);
    return jar;
  }

  it('signs a staff member in through OAuth (sandbox stand-in) and shows the archive of their own customers only', async () => {
    const jar = new CookieJar();
    const { authorize, state, res } = await startSignIn(jar, `?externalUserId=${mine.externalUserId}`);
    expect(authorize.pathname).toBe('/sandbox/connect/oauth2/authorize');
    expect(authorize.hash).toBe('#wechat_redirect');
    expect(Object.fromEntries(authorize.searchParams)).toEqual({
      appid: SANDBOX_CORP.corpId,
      redirect_uri: `${app.url}/sidebar/oauth/callback`,
      response_type: 'code',
      scope: 'snsapi_base',
      state,
      agentid: String(SANDBOX_CORP.agentId),
    });
    expect(state).toMatch(/^[a-zA-Z0-9]{1,128}$/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const binding = jar.lastSet.get('wo_sidebar_oauth')!;
    expect(binding).toMatch(/path=\/sidebar\/oauth/i);
    expect(binding).toMatch(/httponly/i);
    expect(binding).toMatch(/samesite=lax/i);
    expect(binding).not.toMatch(/secure/i);

    // The stand-in page offers the sandbox's members.
    const picker = await browse(jar, authorize.toString());
    expect(picker.status).toBe(200);
    expect(await picker.text()).toContain('张三');

    const callback = await authorizeAs(jar, authorize, { userid: 'zhangsan' });
    expect(`${callback.origin}${callback.pathname}`).toBe(`${app.url}/sidebar/oauth/callback`);
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('code')).toBeTruthy();

    const done = await browse(jar, callback.toString());
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toBe(`/sidebar/?externalUserId=${mine.externalUserId}`);
    const session = jar.lastSet.get('wo_sidebar')!;
    expect(session).toMatch(/path=\/sidebar;/i);
    expect(session).toMatch(/httponly/i);
    expect(session).toMatch(/samesite=lax/i);
    // Koa writes Max-Age as Expires: 8 hours from now.
    const expires = Date.parse(/expires=([^;]+)/i.exec(session)![1]);
    expect(Math.abs(expires - (Date.now() + 8 * 3600_000))).toBeLessThan(60_000);
    expect(session).not.toMatch(/secure/i);
    expect(jar.values.has('wo_sidebar_oauth')).toBe(false);
    // WeCom was asked once, with the code the page carried.
    expect(app.sandbox.calls('auth/getuserinfo').at(-1)).toMatchObject({ errcode: 0, params: { code: callback.searchParams.get('code') } });

    const page = await browse(jar, `/sidebar/?externalUserId=${mine.externalUserId}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).toContain('lang="zh-CN"');
    expect(html).toContain('/sidebar/assets/wecom.js?v=2.4.4');
    expect(html).toMatch(/\/sidebar\/assets\/sidebar\.js\?v=[0-9a-f]{12}/);

    expect((await sidebarApi(jar, 'GET', '/sidebar/api/me')).body).toEqual({ userid: 'zhangsan', name: '张三' });
    const archive = await sidebarApi(jar, 'GET', `/sidebar/api/customers/${mine.externalUserId}`);
    expect(archive.status).toBe(200);
    expect(archive.body).toMatchObject({ externalUserId: mine.externalUserId, name: mine.name });
    expect(archive.body.followUsers.map((f: { userid: string }) => f.userid)).toContain('zhangsan');
    for (const key of ['tags', 'activity', 'birthday', 'channel', 'timeline', 'notes']) expect(archive.body, key).toHaveProperty(key);
    const other = await sidebarApi(jar, 'GET', `/sidebar/api/customers/${notMine}`);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('customer_not_found');
  });

  it('ignores X-Forwarded-Proto without a trusted proxy (TRUST_PROXY=0); behind one it marks cookies Secure (public-origin.test.ts)', async () => {
    const jar = new CookieJar();
    const res = await browse(jar, '/sidebar/', { headers: { 'x-forwarded-proto': 'https' } });
    expect(res.status).toBe(302);
    expect(jar.lastSet.get('wo_sidebar_oauth')).not.toMatch(/;\s*secure/i);
    const authorize = new URL(res.headers.get('location')!, app.url);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${app.url}/sidebar/oauth/callback`);
  });

  it('answers 401 for a missing, tampered, forged or expired session, and does not take bearer tokens', async () => {
    const good = await signIn('zhangsan');
    const token = good.values.get('wo_sidebar')!;
    const withSession = (value: string) => {
      const jar = new CookieJar();
      jar.values.set('wo_sidebar', value);
      return jar;
    };
    const [v, body, mac] = token.split('.');
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    const tampered = `${v}.${Buffer.from(JSON.stringify({ ...payload, sub: 'lisi' })).toString('base64url')}.${mac}`;
    const forged = new StaffSessionService(Buffer.alloc(32, 3).toString('base64'), app.wecom, app.container.clock).issue('zhangsan').token;
    const nineHoursAgo = new FixedClock(new Date(Date.now() - 9 * 3600_000));
    const expired = new StaffSessionService(TEST_DATA_KEY, app.wecom, nineHoursAgo).issue('zhangsan').token;
    const sameKeyFresh = new StaffSessionService(TEST_DATA_KEY, app.wecom, app.container.clock).issue('zhangsan').token;

    expect((await sidebarApi(new CookieJar(), 'GET', '/sidebar/api/me')).status).toBe(401);
    for (const [label, value] of [['tampered', tampered], ['forged', forged], ['expired', expired], ['garbage', 'v1.abc.def']]) {
      const r = await sidebarApi(withSession(value), 'GET', `/sidebar/api/customers/${mine.externalUserId}`);
      expect(r.status, label).toBe(401);
      expect(r.body.error.code, label).toBe('unauthorized');
    }
    // A token minted under DATA_KEY is what the server itself issues.
    expect((await sidebarApi(withSession(sameKeyFresh), 'GET', '/sidebar/api/me')).status).toBe(200);

    const bearer = await fetch(`${app.url}/sidebar/api/me`, { headers: { authorization: `Bearer ${(await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token}` } });
    expect(bearer.status).toBe(401);
    // …and the session cookie is no API token either.
    const cookieOnAdminApi = await fetch(`${app.url}/api/v1/customers/${mine.externalUserId}`, { headers: { cookie: `wo_sidebar=${token}` } });
    expect(cookieOnAdminApi.status).toBe(401);

    // The page itself starts a fresh sign-in and drops the dead cookie.
    const jar = withSession(expired);
    const page = await browse(jar, '/sidebar/');
    expect(page.status).toBe(302);
    expect(jar.values.has('wo_sidebar')).toBe(false);
  });

  it('an OAuth code works once: replaying it fails (40029) and sets no session', async () => {
    const jar = new CookieJar();
    const first = await startSignIn(jar);
    const callback = await authorizeAs(jar, first.authorize, { userid: 'zhangsan' });
    expect((await browse(jar, callback.toString())).status).toBe(302);

    const attacker = new CookieJar();
    const second = await startSignIn(attacker);
    const replay = new URL(callback);
    replay.searchParams.set('state', second.state);
    const res = await browse(attacker, replay.toString());
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('登录码已使用或已过期');
    expect(attacker.values.has('wo_sidebar')).toBe(false);
    expect(app.sandbox.calls('auth/getuserinfo').at(-1)?.errcode).toBe(40029);
  });

  it('a state that does not match this browser’s sign-in fails before the code is spent', async () => {
    const victim = new CookieJar();
    const attacker = new CookieJar();
    const mineStart = await startSignIn(attacker);
    await startSignIn(victim);
    // The attacker's own code and state, finished in the victim's browser (login CSRF).
    const callback = await authorizeAs(attacker, mineStart.authorize, { userid: 'lisi' });
    const calls = app.sandbox.calls('auth/getuserinfo').length;
    const res = await browse(victim, callback.toString());
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('登录状态无效或已过期');
    expect(victim.values.has('wo_sidebar')).toBe(false);
    // No cookie at all is no better.
    expect((await browse(new CookieJar(), callback.toString())).status).toBe(400);
    expect(app.sandbox.calls('auth/getuserinfo').length).toBe(calls);
    // The code was not spent: its own browser still signs in with it.
    expect((await browse(attacker, callback.toString())).status).toBe(302);
    expect(attacker.values.has('wo_sidebar')).toBe(true);
  });

  it('refuses a non-member with a zh-CN page and no session', async () => {
    const jar = new CookieJar();
    const { authorize } = await startSignIn(jar);
    const callback = await authorizeAs(jar, authorize, { external: '1' });
    const res = await browse(jar, callback.toString());
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('仅供本企业成员使用');
    expect(jar.values.has('wo_sidebar')).toBe(false);
  });

  it('signs the page for the JS-SDK with the corp ticket (config) and the app ticket (agentConfig), checked by the sandbox', async () => {
    const jar = await signIn('zhangsan');
    const pageUrl = `${app.url}/sidebar/?externalUserId=${mine.externalUserId}`;
    const r = await sidebarApi(jar, 'GET', `/sidebar/api/jssdk-config?url=${encodeURIComponent(`${pageUrl}#/notes`)}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      corpId: SANDBOX_CORP.corpId,
      agentId: SANDBOX_CORP.agentId,
      config: { timestamp: expect.any(Number), nonceStr: expect.stringMatching(/^[A-Za-z0-9]{16}$/), signature: expect.stringMatching(/^[0-9a-f]{40}$/) },
      agentConfig: { timestamp: expect.any(Number), nonceStr: expect.stringMatching(/^[A-Za-z0-9]{16}$/), signature: expect.stringMatching(/^[0-9a-f]{40}$/) },
    });
    const verify = async (kind: string, sig: { timestamp: number; nonceStr: string; signature: string }) =>
      (await api(app, 'POST', '/sandbox/_control/jssdk/verify', { kind, url: pageUrl, ...sig })).body;
    expect(await verify('config', r.body.config)).toEqual({ ok: true, errcode: 0 });
    expect(await verify('agentConfig', r.body.agentConfig)).toEqual({ ok: true, errcode: 0 });
    // Crossed, each fails as WeCom would (40093): the two tickets differ (docs/wecom-protocol.md §JS-SDK registration).
    expect(await verify('agentConfig', r.body.config)).toEqual({ ok: false, errcode: 40093 });
    expect(await verify('config', r.body.agentConfig)).toEqual({ ok: false, errcode: 40093 });

    // Independently of the bot's code: sha1 over the documented string with the ticket the sandbox issued.
    const [corpTicket] = [...app.sandbox.store.jsapiTickets.values()].filter((t) => t.kind === 'corp');
    const plain = `jsapi_ticket=${corpTicket.ticket}&noncestr=${r.body.config.nonceStr}&timestamp=${r.body.config.timestamp}&url=${pageUrl}`;
    expect(createHash('sha1').update(plain).digest('hex')).toBe(r.body.config.signature);

    // Tickets are cached: a second page load asks WeCom for nothing.
    const before = app.sandbox.calls().filter((c) => c.api === 'get_jsapi_ticket' || c.api === 'ticket/get').length;
    await sidebarApi(jar, 'GET', `/sidebar/api/jssdk-config?url=${encodeURIComponent(pageUrl)}`);
    expect(app.sandbox.calls().filter((c) => c.api === 'get_jsapi_ticket' || c.api === 'ticket/get').length).toBe(before);

    // Only this site's sidebar pages are signed.
    for (const url of ['https://evil.example.com/sidebar/', `${app.url}/console/`, 'not a url']) {
      const bad = await sidebarApi(jar, 'GET', `/sidebar/api/jssdk-config?url=${encodeURIComponent(url)}`);
      expect(bad.status, url).toBe(400);
      expect(bad.body.error.code, url).toBe('invalid_url');
    }
  });

  it('tag changes from the sidebar reach WeCom (mark_tag) and the archive; writes without the CSRF header are refused', async () => {
    const jar = await signIn('zhangsan');
    const path = `/sidebar/api/customers/${mine.externalUserId}/tags`;
    const vipId = app.sandbox.store.tagGroups.flatMap((g) => g.tags).find((t) => t.name === 'VIP')!.id;
    const relation = () => app.sandbox.store.findRelation('zhangsan', mine.externalUserId)!;
    // Start from a customer without VIP on either side (the demo corp tags some customers VIP).
    expect((await sidebarApi(jar, 'POST', path, { remove: ['VIP'] })).status).toBe(200);
    expect(relation().tagIds).not.toContain(vipId);
    const markTags = () => app.sandbox.calls('externalcontact/mark_tag').length;
    const before = markTags();

    const noHeader = await sidebarApi(jar, 'POST', path, { add: ['客户等级/VIP'] }, {});
    expect(noHeader.status).toBe(403);
    expect(noHeader.body.error.code).toBe('csrf_check_failed');
    const crossSite = await sidebarApi(jar, 'POST', path, { add: ['客户等级/VIP'] }, { 'x-requested-with': 'XMLHttpRequest', 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect(markTags()).toBe(before);
    expect(relation().tagIds).not.toContain(vipId);

    const added = await sidebarApi(jar, 'POST', path, { add: ['客户等级/VIP'] });
    expect(added.status).toBe(200);
    expect(added.body.tags).toEqual(expect.arrayContaining([expect.objectContaining({ id: vipId, name: 'VIP', group: '客户等级' })]));
    expect(relation().tagIds).toContain(vipId);
    // Tags are per (staff, customer) relation in WeCom; the archive's rule tags every active relation
    // (docs/wecom-protocol.md §Tagging a customer).
    expect(app.sandbox.calls('externalcontact/mark_tag').slice(before)).toContainEqual(
      expect.objectContaining({ errcode: 0, params: { userid: 'zhangsan', external_userid: mine.externalUserId, add_tag: [vipId] } }),
    );
    const archived = await sidebarApi(jar, 'GET', `/sidebar/api/customers/${mine.externalUserId}`);
    expect(archived.body.tags.map((t: { id: string }) => t.id)).toContain(vipId);

    const removed = await sidebarApi(jar, 'POST', path, { remove: ['VIP'] });
    expect(removed.status).toBe(200);
    expect(removed.body.tags.map((t: { id: string }) => t.id)).not.toContain(vipId);
    expect(relation().tagIds).not.toContain(vipId);

    expect((await sidebarApi(jar, 'POST', `/sidebar/api/customers/${notMine}/tags`, { add: ['客户等级/VIP'] })).status).toBe(404);
  });

  it('adds and lists follow-up notes as the signed-in staff member', async () => {
    const jar = await signIn('zhangsan');
    const path = `/sidebar/api/customers/${mine.externalUserId}/notes`;
    const created = await sidebarApi(jar, 'POST', path, { text: '客户想了解春季新品，周五回访', dueDate: '2030-03-15' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ externalUserId: mine.externalUserId, text: '客户想了解春季新品，周五回访', dueDate: '2030-03-15', userid: 'zhangsan', doneAt: null });
    const list = await sidebarApi(jar, 'GET', path);
    expect(list.body.items.map((n: { id: string }) => n.id)).toContain(created.body.id);
    const archive = await sidebarApi(jar, 'GET', `/sidebar/api/customers/${mine.externalUserId}`);
    expect(archive.body.notes.map((n: { id: string }) => n.id)).toContain(created.body.id);
    // Staff write as themselves: no userid field here.
    expect((await sidebarApi(jar, 'POST', path, { text: '代写', userid: 'lisi' })).status).toBe(400);
    expect((await sidebarApi(jar, 'POST', path, { text: '无 CSRF 头' }, {})).status).toBe(403);
    expect((await sidebarApi(jar, 'GET', `/sidebar/api/customers/${notMine}/notes`)).status).toBe(404);
  });

  it('lists quick replies rendered for the current customer and staff member ({{name}}, {{staff}})', async () => {
    const created = await api(app, 'POST', '/api/v1/quick-replies', { category: '问候', title: '测试问候', text: '{{name}}您好，我是{{staff}}，有什么可以帮您？', sort: -1 });
    expect(created.status).toBe(201);
    const jar = await signIn('zhangsan');
    const r = await sidebarApi(jar, 'GET', `/sidebar/api/quick-replies?externalUserId=${mine.externalUserId}`);
    expect(r.status).toBe(200);
    const content = `${mine.name}您好，我是张三，有什么可以帮您？`;
    // The same shape as before the library, plus the item's kind and what ww.sendChatMessage takes (docs/content.md §Quick replies).
    expect(r.body.items[0]).toEqual({ id: created.body.id, kind: 'text', category: '问候', title: '测试问候', text: '{{name}}您好，我是{{staff}}，有什么可以帮您？', content, chat: { msgtype: 'text', text: { content } }, sendable: true });
    // The defaults from config/quick-replies.json are there, rendered too.
    const greeting = r.body.items.find((i: { title: string }) => i.title === '初次问候');
    expect(greeting.content).toBe(`${mine.name}您好，我是您的专属顾问张三，很高兴为您服务！有任何问题都可以随时在这里联系我。`);
    expect(r.body.total).toBe(r.body.items.length);
    expect((await sidebarApi(jar, 'GET', `/sidebar/api/quick-replies?externalUserId=${notMine}`)).status).toBe(404);
    await api(app, 'DELETE', `/api/v1/quick-replies/${created.body.id}`);
  });

  it('quick-replies admin API: staff read, operators write, seeded defaults stay deleted', async () => {
    const staff = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    const operator = (await app.container.tokens.create({ role: 'operator' })).token;
    const list = await api(app, 'GET', '/api/v1/quick-replies?pageSize=100', undefined, staff);
    expect(list.status).toBe(200);
    expect(list.body.total).toBeGreaterThanOrEqual(5);
    expect(list.body.items[0]).toEqual({ id: expect.any(String), kind: 'text', category: expect.any(String), title: expect.any(String), text: expect.any(String), sort: expect.any(Number), createdAt: expect.any(String), updatedAt: expect.any(String) });
    expect((await api(app, 'POST', '/api/v1/quick-replies', { title: 't', text: 'x' }, staff)).status).toBe(403);
    expect((await fetch(`${app.url}/api/v1/quick-replies`)).status).toBe(401);

    const created = await api(app, 'POST', '/api/v1/quick-replies', { title: '售后电话', text: '售后热线 400-000-0000', category: '售后' }, operator);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: '售后电话', category: '售后', sort: 0 });
    expect((await api(app, 'PATCH', `/api/v1/quick-replies/${created.body.id}`, { sort: 5 }, staff)).status).toBe(403);
    const patched = await api(app, 'PATCH', `/api/v1/quick-replies/${created.body.id}`, { sort: 5, text: '售后热线：400-000-0001' }, operator);
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ title: '售后电话', sort: 5, text: '售后热线：400-000-0001' });
    expect((await api(app, 'GET', '/api/v1/quick-replies?category=售后', undefined, staff)).body.items.map((i: { id: string }) => i.id)).toContain(created.body.id);
    for (const bad of [{ title: '', text: 'x' }, { title: 't', text: '   ' }, { title: 't', text: 'x', sort: 1.5 }, { title: 't', text: 'x', bogus: 1 }]) {
      expect((await api(app, 'POST', '/api/v1/quick-replies', bad, operator)).status, JSON.stringify(bad)).toBe(400);
    }
    expect((await api(app, 'DELETE', `/api/v1/quick-replies/${created.body.id}`, undefined, staff)).status).toBe(403);
    expect((await api(app, 'DELETE', `/api/v1/quick-replies/${created.body.id}`, undefined, operator)).status).toBe(204);
    expect((await api(app, 'GET', `/api/v1/quick-replies/${created.body.id}`, undefined, staff)).status).toBe(404);
    expect((await api(app, 'PATCH', `/api/v1/quick-replies/${created.body.id}`, { sort: 1 }, operator)).status).toBe(404);

    // Deleting a seeded default is final: seeding again (a restart) does not bring it back.
    const thanks = list.body.items.find((i: { title: string }) => i.title === '感谢');
    expect((await api(app, 'DELETE', `/api/v1/quick-replies/${thanks.id}`, undefined, operator)).status).toBe(204);
    expect(await sidebar.replies.seedDefaults(DEFAULT_QUICK_REPLIES_FILE)).toBe(0);
    const after = await api(app, 'GET', '/api/v1/quick-replies?pageSize=100', undefined, staff);
    expect(after.body.items.some((i: { title: string }) => i.title === '感谢')).toBe(false);
  });

  it('serves the JS-SDK browser build and the page script with a long cache', async () => {
    const wecom = await fetch(`${app.url}/sidebar/assets/wecom.js?v=2.4.4`);
    expect(wecom.status).toBe(200);
    expect(wecom.headers.get('content-type')).toContain('javascript');
    expect(wecom.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await wecom.text()).toContain('getCurExternalContact');
    const script = await (await fetch(`${app.url}/sidebar/assets/sidebar.js`)).text();
    for (const s of ['ww.register', "'getContext', 'getCurExternalContact', 'getCurExternalChat', 'sendChatMessage'", 'getAgentConfigSignature', "msgtype: 'text'", 'X-Requested-With']) expect(script).toContain(s);
    expect((await fetch(`${app.url}/sidebar`, { redirect: 'manual' })).headers.get('location')).toBe('/sidebar/');
  });

  it('通讯录同步 callbacks: a member deleted in WeCom (delete_user) loses the sidebar at once; update_user refreshes the name', async () => {
    const members = (await api(app, 'GET', '/api/v1/staff?pageSize=100')).body.items as { userid: string; nameSource: string | null }[];
    const member = members.find((m) => !['zhangsan', 'lisi'].includes(m.userid) && m.nameSource !== 'manual')!.userid;
    const jar = await signIn(member);
    expect((await sidebarApi(jar, 'GET', '/sidebar/api/me')).status).toBe(200);
    const contactXml = (changeType: string, userid: string, extra = '') =>
      `<xml><ToUserName><![CDATA[${SANDBOX_CORP.corpId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
      `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event>` +
      `<ChangeType>${changeType}</ChangeType><UserID><![CDATA[${userid}]]></UserID>${extra}</xml>`;
    const staffRow = async () => ((await api(app, 'GET', '/api/v1/staff?pageSize=100')).body.items as { userid: string; name: string; status: string }[]).find((m) => m.userid === member)!;

    expect((await postCallback(app.url, contactXml('update_user', member, '<Name><![CDATA[新名字]]></Name>'))).status).toBe(200);
    await waitFor(async () => ((await staffRow()).name === '新名字' ? true : null), 10_000, 'the new name');

    expect((await postCallback(app.url, contactXml('delete_user', member))).status).toBe(200);
    await waitFor(async () => ((await staffRow()).status === 'resigned' ? true : null), 10_000, 'the member to be marked resigned');
    const refused = await sidebarApi(jar, 'GET', '/sidebar/api/me');
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toContain('离职');

    // A member the bot never knew: handled, nothing to revoke, nothing parked as failed.
    expect((await postCallback(app.url, contactXml('delete_user', 'not-a-contact-member'))).status).toBe(200);
    await waitFor(async () => {
      const rows = await app.container.db.query<{ status: string }>("SELECT status FROM inbox_events WHERE kind = 'event/change_contact/delete_user' ORDER BY id");
      return rows.length === 2 && rows.every((r) => r.status === 'done') ? true : null;
    }, 10_000, 'both delete_user events to be done');
  });

  it('收回访问: revoking a member ends their sidebar sessions and staff tokens at once; a member marked resigned cannot sign in again', async () => {
    const jar = await signIn('lisi');
    expect((await sidebarApi(jar, 'GET', '/sidebar/api/me')).status).toBe(200);
    const token = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    expect((await api(app, 'GET', '/api/v1/staff', undefined, token)).status).toBe(200);
    // Staff cannot revoke anyone; an unknown member is a 404.
    expect((await api(app, 'POST', '/api/v1/staff/lisi/revoke-access', {}, token)).status).toBe(403);
    expect((await api(app, 'POST', '/api/v1/staff/nobody-here/revoke-access', {})).body.error.code).toBe('staff_not_found');

    const revoked = await api(app, 'POST', '/api/v1/staff/lisi/revoke-access', {});
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ userid: 'lisi', status: 'active', revokedTokens: 1 });
    expect(revoked.body.accessRevokedAt).not.toBeNull();
    // The old session is refused on its next request, and its cookie cleared; so is the staff token.
    const refused = await sidebarApi(jar, 'GET', '/sidebar/api/me');
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toContain('收回');
    expect(jar.values.has('wo_sidebar')).toBe(false);
    expect((await api(app, 'GET', '/api/v1/staff', undefined, token)).status).toBe(401);

    // Not resigned: signing in again gives a fresh session that works.
    const again = await signIn('lisi');
    expect((await sidebarApi(again, 'GET', '/sidebar/api/me')).body).toMatchObject({ userid: 'lisi' });

    // Resigned (离职): that session ends too, and a new sign-in is refused with a zh-CN page.
    const resigned = await api(app, 'POST', '/api/v1/staff/lisi/revoke-access', { resigned: true });
    expect(resigned.body).toMatchObject({ userid: 'lisi', status: 'resigned' });
    expect((await sidebarApi(again, 'GET', '/sidebar/api/me')).body.error.message).toContain('离职');
    const fresh = new CookieJar();
    const { authorize } = await startSignIn(fresh);
    const callback = await authorizeAs(fresh, authorize, { userid: 'lisi' });
    const page = await browse(fresh, callback.toString());
    expect(page.status).toBe(403);
    expect(await page.text()).toContain('已离职');
    expect(fresh.values.has('wo_sidebar')).toBe(false);
    // The staff list shows it.
    const list = await api(app, 'GET', '/api/v1/staff?pageSize=100');
    expect(list.body.items.find((m: { userid: string }) => m.userid === 'lisi')).toMatchObject({ status: 'resigned' });
  });
});
