import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { CookieJar } from '../helpers/cookie-jar.js';
import { FixedClock } from '../../src/shared/clock.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';
import { usersCommand } from '../../src/cli/users.cli.js';
import type { WecomSandbox } from '../../src/wecom/sandbox/sandbox.js';

const HOUR = 60 * 60 * 1000;

/** What a CLI run printed. */
function sink(): NodeJS.WritableStream & { text: string } {
  const s = { text: '', write: (chunk: string) => ((s.text += chunk), true) };
  return s as unknown as NodeJS.WritableStream & { text: string };
}

describe.each(testEngines())('operator console: WeCom sign-in, roles, audit log, Idempotency-Key (%s)', (engine) => {
  let app: TestApp;
  let sandbox: WecomSandbox;
  const clock = new FixedClock('2026-06-01T02:00:00Z');

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock, sandbox: { callbackRetryDelaysMs: [100, 100, 100] } }, env: { ADMIN_USERIDS: 'sunqi' } });
    sandbox = app.container.sandbox!;
    await app.container.archive.fullSync.run();
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

  /** What the console's script does: JSON, with the session's CSRF token on writes. */
  async function call(jar: CookieJar, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await browse(jar, path, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  /** /console/login → the sandbox's QR stand-in → pick `userid` → the callback; returns the callback's answer. */
  async function signIn(userid: string, jar = new CookieJar()): Promise<{ jar: CookieJar; done: Response }> {
    const start = await browse(jar, '/console/login');
    expect(start.status).toBe(302);
    const login = new URL(start.headers.get('location')!, app.url);
    login.searchParams.set('userid', userid);
    const picked = await browse(jar, login.toString());
    expect(picked.status).toBe(302);
    const done = await browse(jar, picked.headers.get('location')!);
    return { jar, done };
  }

  async function signedIn(userid: string): Promise<{ jar: CookieJar; csrf: string }> {
    const { jar, done } = await signIn(userid);
    expect(done.status).toBe(302);
    const me = await call(jar, 'GET', '/api/v1/me');
    expect(me.status).toBe(200);
    return { jar, csrf: me.body.csrfToken };
  }

  it('signs a member in through the web login stand-in: state bound to the browser, cookie flags, /api/v1/me', async () => {
    // No role yet: the refusal page, in zh-CN, says what to do.
    const refused = await signIn('zhangsan');
    expect(refused.done.status).toBe(403);
    const page = await refused.done.text();
    expect(page).toContain('还没有运营控制台的权限');
    expect(page).toContain('wecom-ops users grant zhangsan');
    expect(refused.jar.values.has('wo_console')).toBe(false);

    // The first admin comes from the CLI.
    const out = sink();
    expect(await usersCommand('grant', ['zhangsan', 'operator'], app.container.console.roles, app.container.console.audit, out)).toBe(0);
    expect(out.text).toContain('zhangsan → operator');

    const jar = new CookieJar();
    const start = await browse(jar, '/console/login?next=/console/customers');
    expect(start.status).toBe(302);
    const login = new URL(start.headers.get('location')!, app.url);
    expect(login.pathname).toBe('/sandbox/wwlogin/sso/login');
    const state = login.searchParams.get('state')!;
    expect(Object.fromEntries(login.searchParams)).toEqual({
      login_type: 'CorpApp',
      appid: SANDBOX_CORP.corpId,
      agentid: String(SANDBOX_CORP.agentId),
      redirect_uri: `${app.url}/console/auth/callback`,
      state,
      lang: 'zh',
    });
    expect(state).toMatch(/^[a-zA-Z0-9]{1,128}$/);
    const binding = jar.lastSet.get('wo_console_login')!;
    expect(binding).toMatch(/path=\/console\/auth/i);
    expect(binding).toMatch(/httponly/i);
    expect(binding).toMatch(/samesite=lax/i);

    // The stand-in offers the sandbox's members; picking one goes back with a code and the same state.
    const picker = await browse(jar, login.toString());
    expect(picker.status).toBe(200);
    expect(await picker.text()).toContain('张三');
    login.searchParams.set('userid', 'zhangsan');
    const picked = await browse(jar, login.toString());
    const callback = new URL(picked.headers.get('location')!);
    expect(`${callback.origin}${callback.pathname}`).toBe(`${app.url}/console/auth/callback`);
    expect(callback.searchParams.get('state')).toBe(state);

    // Another browser (no binding cookie) cannot finish this sign-in (login CSRF).
    const stranger = await browse(new CookieJar(), callback.toString());
    expect(stranger.status).toBe(400);

    const done = await browse(jar, callback.toString());
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toBe('/console/customers');
    const cookie = jar.lastSet.get('wo_console')!;
    expect(cookie).toMatch(/path=\/;/i);
    expect(cookie).toMatch(/httponly/i);
    expect(cookie).toMatch(/samesite=lax/i);
    expect(cookie).not.toMatch(/secure/i);
    expect(jar.values.has('wo_console_login')).toBe(false);

    const me = await call(jar, 'GET', '/api/v1/me');
    expect(me.body).toEqual({ userid: 'zhangsan', name: '张三', role: 'operator', csrfToken: expect.stringMatching(/^[\w-]{20,}$/), via: 'console' });
    // Bearer tokens work as before, with no CSRF token.
    expect((await api(app, 'GET', '/api/v1/me')).body).toMatchObject({ role: 'admin', csrfToken: null, via: 'token' });
    expect((await call(new CookieJar(), 'GET', '/api/v1/me')).status).toBe(401);
  });

  it('the stand-in refuses what WeCom refuses; a cancelled sign-in and a foreign next= land safely', async () => {
    const base = { login_type: 'CorpApp', appid: SANDBOX_CORP.corpId, agentid: String(SANDBOX_CORP.agentId), redirect_uri: `${app.url}/console/auth/callback`, state: 'abc123' };
    const page = (q: Record<string, string>) => fetch(`${app.url}/sandbox/wwlogin/sso/login?${new URLSearchParams(q).toString()}`, { redirect: 'manual' });
    expect((await page(base)).status).toBe(200);
    expect((await page({ ...base, login_type: 'ServiceApp' })).status).toBe(400);
    expect((await page({ ...base, agentid: '999' })).status).toBe(400);
    expect((await page({ ...base, redirect_uri: 'https://evil.example/console/auth/callback', userid: 'zhangsan' })).status).toBe(400);
    expect((await page({ ...base, redirect_uri: `${app.url}/sidebar/oauth/callback`, userid: 'zhangsan' })).status).toBe(400);

    // WeCom comes back with state only when the member cancels.
    const jar = new CookieJar();
    const start = await browse(jar, '/console/login');
    const state = new URL(start.headers.get('location')!, app.url).searchParams.get('state')!;
    const cancelled = await browse(jar, `/console/auth/callback?state=${state}`);
    expect(cancelled.status).toBe(400);
    expect(await cancelled.text()).toContain('重新扫码登录');

    // next= may only name a console page.
    await app.container.console.roles.set('zhaoliu', 'operator', 'test', { knownOnly: false });
    const evil = new CookieJar();
    const s2 = await browse(evil, '/console/login?next=//evil.example/x');
    const login = new URL(s2.headers.get('location')!, app.url);
    login.searchParams.set('userid', 'zhaoliu');
    const picked = await browse(evil, login.toString());
    const done = await browse(evil, picked.headers.get('location')!);
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toBe('/console/');
  });

  it('refuses writes without the session CSRF token, and accepts them with it', async () => {
    const { jar, csrf } = await signedIn('zhangsan');
    const reply = { category: '售前', title: '问候', text: '您好，{{name}}' };
    const missing = await call(jar, 'POST', '/api/v1/quick-replies', reply);
    expect(missing.status).toBe(403);
    expect(missing.body.error.code).toBe('csrf_check_failed');
    expect((await call(jar, 'POST', '/api/v1/quick-replies', reply, { 'x-csrf-token': 'wrong' })).status).toBe(403);
    const crossSite = await call(jar, 'POST', '/api/v1/quick-replies', reply, { 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const ok = await call(jar, 'POST', '/api/v1/quick-replies', reply, { 'x-csrf-token': csrf });
    expect(ok.status).toBe(201);
    // Operators cannot do what only admins may.
    expect((await call(jar, 'PUT', '/api/v1/users/lisi/role', { role: 'staff' }, { 'x-csrf-token': csrf })).status).toBe(403);
  });

  it('ends a session after 8 idle hours, sliding with use; logout ends it at once', async () => {
    const { jar, csrf } = await signedIn('zhangsan');
    clock.advance(7 * HOUR);
    expect((await call(jar, 'GET', '/api/v1/me')).status).toBe(200);
    clock.advance(7 * HOUR);
    expect((await call(jar, 'GET', '/api/v1/me')).status).toBe(200);
    clock.advance(8 * HOUR + 1000);
    const idle = await call(jar, 'GET', '/api/v1/me');
    expect(idle.status).toBe(401);
    expect(idle.body.error.message).toContain('8 小时');
    expect(jar.values.has('wo_console')).toBe(false);

    const again = await signedIn('zhangsan');
    expect((await call(again.jar, 'POST', '/api/v1/session/logout', undefined, { 'x-csrf-token': again.csrf })).status).toBe(204);
    expect(again.jar.values.has('wo_console')).toBe(false);
    // The old cookie value no longer works anywhere.
    const replayed = new CookieJar();
    replayed.values.set('wo_console', jar.values.get('wo_console') ?? 'x');
    expect((await call(replayed, 'GET', '/api/v1/me')).status).toBe(401);
    void csrf;
  });

  it('roles: admins grant through the API, ADMIN_USERIDS is fixed, a staff session sees only its own customers', async () => {
    // sunqi is an admin through ADMIN_USERIDS.
    const admin = await signedIn('sunqi');
    expect((await call(admin.jar, 'GET', '/api/v1/me')).body.role).toBe('admin');
    const fixed = await call(admin.jar, 'PUT', '/api/v1/users/sunqi/role', { role: 'staff' }, { 'x-csrf-token': admin.csrf });
    expect(fixed.status).toBe(409);
    expect(fixed.body.error.code).toBe('role_from_config');
    expect((await call(admin.jar, 'PUT', '/api/v1/users/nobody/role', { role: 'staff' }, { 'x-csrf-token': admin.csrf })).status).toBe(404);
    // Members WeCom knows but the archive has not seen (no 客户联系): granted after user/get finds them.
    sandbox.store.staff.set('zhouba', { userid: 'zhouba', name: '周八' });
    sandbox.store.staff.set('wujiu', { userid: 'wujiu', name: '吴九', isOutsideVisibleRange: true });
    try {
      expect((await call(admin.jar, 'PUT', '/api/v1/users/zhouba/role', { role: 'operator' }, { 'x-csrf-token': admin.csrf })).body).toMatchObject({ role: 'operator' });
      const hidden = await call(admin.jar, 'PUT', '/api/v1/users/wujiu/role', { role: 'operator' }, { 'x-csrf-token': admin.csrf });
      expect(hidden.status).toBe(409);
      expect(hidden.body.error.code).toBe('outside_visible_range');
    } finally {
      sandbox.store.staff.delete('zhouba');
      sandbox.store.staff.delete('wujiu');
    }
    const granted = await call(admin.jar, 'PUT', '/api/v1/users/lisi/role', { role: 'staff' }, { 'x-csrf-token': admin.csrf });
    expect(granted.status).toBe(200);
    expect(granted.body).toMatchObject({ userid: 'lisi', role: 'staff', before: null });

    const users = await api(app, 'GET', '/api/v1/users?pageSize=50');
    const byId = new Map(users.body.items.map((u: { userid: string }) => [u.userid, u]));
    expect(byId.get('sunqi')).toMatchObject({ role: 'admin', roleSource: 'config', name: '孙七' });
    expect(byId.get('lisi')).toMatchObject({ role: 'staff', roleSource: 'granted', grantedBy: 'member:sunqi' });
    expect(byId.get('wangwu')).toMatchObject({ role: null });

    const lisi = await signedIn('lisi');
    const list = await call(lisi.jar, 'GET', '/api/v1/customers?pageSize=500');
    expect(list.status).toBe(200);
    const theirs = new Set(sandbox.store.relationsOfUser('lisi').filter((r) => !r.isDeletedByCustomer).map((r) => r.externalUserId));
    expect(list.body.items.length).toBeGreaterThan(0);
    for (const c of list.body.items) expect(theirs.has(c.externalUserId)).toBe(true);
    const notTheirs = [...sandbox.store.customers.keys()].find((id) => !sandbox.store.findRelation('lisi', id))!;
    expect((await call(lisi.jar, 'GET', `/api/v1/customers/${notTheirs}`)).status).toBe(404);
    // Operator-only pages are refused by the API.
    expect((await call(lisi.jar, 'GET', '/api/v1/audit-log')).status).toBe(403);
    expect((await call(lisi.jar, 'GET', '/api/v1/channels')).status).toBe(403);

    // Taking the role away ends the member's sessions at once.
    const out = sink();
    expect(await usersCommand('revoke', ['lisi'], app.container.console.roles, app.container.console.audit, out)).toBe(0);
    expect((await call(lisi.jar, 'GET', '/api/v1/me')).status).toBe(401);
  });

  it('refuses members outside the app’s visible range, on the QR page and at the callback', async () => {
    sandbox.setStaffVisibility({ userid: 'wangwu', visible: false });
    try {
      await app.container.console.roles.set('wangwu', 'operator', 'test', { knownOnly: false });
      const jar = new CookieJar();
      const start = await browse(jar, '/console/login');
      const login = new URL(start.headers.get('location')!, app.url);
      login.searchParams.set('userid', 'wangwu');
      const page = await browse(jar, login.toString());
      expect(page.status).toBe(403);
      expect(await page.text()).toContain('不在该应用的可见范围内');
      // A code obtained another way is refused by the bot too.
      const code = sandbox.issueOauthCode('wangwu');
      const done = await browse(jar, `/console/auth/callback?code=${code}&state=${login.searchParams.get('state')}`);
      expect(done.status).toBe(403);
      expect(await done.text()).toContain('可见范围');
    } finally {
      sandbox.setStaffVisibility({ userid: 'wangwu', visible: true });
    }
  });

  it('Idempotency-Key: a retry returns the first answer and creates nothing; another body under the key is refused', async () => {
    const { jar, csrf } = await signedIn('zhangsan');
    const body = { category: '售后', title: '退换货', text: '七天无理由退换' };
    const headers = { 'x-csrf-token': csrf, 'idempotency-key': 'b6d1c0de-0000-4000-8000-000000000001' };
    const first = await call(jar, 'POST', '/api/v1/quick-replies', body, headers);
    expect(first.status).toBe(201);
    const again = await call(jar, 'POST', '/api/v1/quick-replies', body, headers);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const all = await api(app, 'GET', '/api/v1/quick-replies?pageSize=500');
    expect(all.body.items.filter((r: { title: string }) => r.title === '退换货')).toHaveLength(1);
    const other = await call(jar, 'POST', '/api/v1/quick-replies', { ...body, text: '十五天' }, headers);
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    // Keys are per principal: the admin token's same key is a new request.
    const admin = await fetch(`${app.url}/api/v1/quick-replies`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json', 'idempotency-key': headers['idempotency-key'] },
      body: JSON.stringify({ ...body, title: '退换货（管理员）' }),
    });
    expect(admin.status).toBe(201);
    // One audit row for the create, none for the replay.
    const rows = await api(app, 'GET', `/api/v1/audit-log?action=quick-replies.create&target=${first.body.id}`);
    expect(rows.body.total).toBe(1);

    // Remembered for 24 hours: after that the key is new again.
    const post = (key: string, title: string) =>
      fetch(`${app.url}/api/v1/quick-replies`, {
        method: 'POST',
        headers: { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ ...body, title }),
      });
    const day1 = await post('day-key', '次日');
    expect((await post('day-key', '次日')).headers.get('idempotent-replayed')).toBe('true');
    clock.advance(24 * HOUR + 1000);
    const day2 = await post('day-key', '次日');
    expect(day2.status).toBe(201);
    expect(day2.headers.get('idempotent-replayed')).toBeNull();
    expect(((await day2.json()) as { id: string }).id).not.toBe(((await day1.json()) as { id: string }).id);
    expect((await post('bad key with spaces', '坏')).status).toBe(400);
  });

  it('收回访问 ends a member’s console sessions as it ends their sidebar ones; 标记离职 keeps them out', async () => {
    await app.container.console.roles.set('zhaoliu', 'operator', 'test', { knownOnly: false });
    const before = await signedIn('zhaoliu');
    expect((await api(app, 'POST', '/api/v1/staff/zhaoliu/revoke-access', { resigned: false })).status).toBe(200);
    clock.advance(1000);
    expect((await call(before.jar, 'GET', '/api/v1/me')).status).toBe(401);
    // A new sign-in after the revocation works.
    const after = await signedIn('zhaoliu');
    expect((await api(app, 'POST', '/api/v1/staff/zhaoliu/revoke-access', { resigned: true })).status).toBe(200);
    clock.advance(1000);
    expect((await call(after.jar, 'GET', '/api/v1/me')).status).toBe(401);
    const refused = await signIn('zhaoliu');
    expect(refused.done.status).toBe(403);
    expect(await refused.done.text()).toContain('已离职');
  });

  it('records the sidebar’s writes too (source sidebar)', async () => {
    const own = sandbox.store.relationsOfUser('wangwu').find((r) => !r.isDeletedByCustomer)!.externalUserId;
    const session = app.container.sidebar.sessions.issue('wangwu').token;
    const res = await fetch(`${app.url}/sidebar/api/customers/${own}/notes`, {
      method: 'POST',
      headers: { cookie: `wo_sidebar=${session}`, 'x-requested-with': 'XMLHttpRequest', 'content-type': 'application/json' },
      body: JSON.stringify({ text: '侧边栏跟进' }),
    });
    expect(res.status).toBe(201);
    const rows = await api(app, 'GET', `/api/v1/audit-log?actor=wangwu&target=${own}`);
    expect(rows.body.items[0]).toMatchObject({ source: 'sidebar', actor: { kind: 'member', id: 'wangwu', role: 'staff' }, action: 'customers.notes', request: { text: '侧边栏跟进' } });
  });

  it('records writes in the audit log with before/after, and an erasure redacts the customer from it', async () => {
    const { jar, csrf } = await signedIn('zhangsan');
    const rules = await api(app, 'GET', '/api/v1/care-rules');
    const rule = rules.body.items[0];
    const patched = await call(jar, 'PATCH', `/api/v1/care-rules/${rule.id}`, { enabled: !rule.enabled }, { 'x-csrf-token': csrf });
    expect(patched.status).toBe(200);

    const log = await api(app, 'GET', `/api/v1/audit-log?action=care-rules.update&target=${rule.id}`);
    expect(log.status).toBe(200);
    expect(log.body.items[0]).toMatchObject({
      actor: { kind: 'member', id: 'zhangsan', name: '张三', role: 'operator' },
      source: 'console',
      ip: expect.stringContaining('127.0.0.1'),
      method: 'PATCH',
      route: '/api/v1/care-rules/:id',
      action: 'care-rules.update',
      targetId: rule.id,
      status: 200,
      request: { enabled: !rule.enabled },
      before: { enabled: rule.enabled },
      after: { enabled: !rule.enabled },
      redacted: false,
    });
    // The CLI's grants are there too, and role changes carry before/after.
    const grants = await api(app, 'GET', '/api/v1/audit-log?action=users.role');
    expect(grants.body.items.map((r: { source: string; targetId: string }) => `${r.source}:${r.targetId}`)).toEqual(expect.arrayContaining(['cli:zhangsan', 'console:lisi', 'cli:lisi']));
    const apiGrant = grants.body.items.find((r: { source: string }) => r.source === 'console');
    expect(apiGrant).toMatchObject({ actor: { id: 'sunqi', role: 'admin' }, before: null, after: { role: 'staff', source: 'granted' } });

    // A customer's data in the log, then their erasure.
    const customer = sandbox.store.relationsOfUser('zhangsan').find((r) => !r.isDeletedByCustomer)!.externalUserId;
    const edit = await call(jar, 'PATCH', `/api/v1/customers/${customer}`, { phone: '13812345678', note: '喜欢红色' }, { 'x-csrf-token': csrf });
    expect(edit.status).toBe(200);
    const before = await api(app, 'GET', `/api/v1/audit-log?target=${customer}`);
    expect(before.body.items[0]).toMatchObject({ action: 'customers.update', request: { phone: '13812345678' }, after: null });

    const erased = await api(app, 'POST', `/api/v1/customers/${customer}/erase`);
    expect(erased.status).toBe(200);
    expect(erased.body.counts.audit_log).toBeGreaterThanOrEqual(1);
    expect((await api(app, 'GET', `/api/v1/audit-log?target=${customer}`)).body.total).toBe(0);
    const stub = `erased:${erased.body.subjectHash}`;
    const after = await api(app, 'GET', `/api/v1/audit-log?target=${encodeURIComponent(stub)}&pageSize=100`);
    const byAction = new Map(after.body.items.map((r: { action: string }) => [r.action, r]));
    // Who, when and what kind of action stay; the data goes.
    expect(byAction.get('customers.update')).toMatchObject({ actor: { id: 'zhangsan' }, source: 'console', request: null, before: null, after: null, redacted: true });
    expect(byAction.get('customers.erase')).toMatchObject({ actor: { kind: 'admin_token' }, targetId: stub });
    const everything = JSON.stringify((await api(app, 'GET', '/api/v1/audit-log?pageSize=500')).body);
    expect(everything).not.toContain(customer);
    expect(everything).not.toContain('13812345678');
  });

  it('filters by actor, action prefix and time, and keeps rows for AUDIT_RETENTION_DAYS', async () => {
    const mine = await api(app, 'GET', '/api/v1/audit-log?actor=zhangsan&action=quick-replies.');
    expect(mine.body.total).toBeGreaterThanOrEqual(2);
    for (const r of mine.body.items) expect(r.action.startsWith('quick-replies.')).toBe(true);
    const future = new Date(clock.now().getTime() + HOUR).toISOString();
    expect((await api(app, 'GET', `/api/v1/audit-log?from=${future}`)).body.total).toBe(0);
    expect((await api(app, 'GET', '/api/v1/audit-log?from=nonsense')).status).toBe(400);

    const total = (await api(app, 'GET', '/api/v1/audit-log')).body.total as number;
    clock.advance(181 * 24 * HOUR);
    const run = await app.container.scheduling.scheduler.runNow('retention', { isDryRun: false });
    expect(run.counts!.auditLogDeleted).toBe(total);
    expect((await api(app, 'GET', '/api/v1/audit-log')).body.total).toBe(0);
  });
});

describe.each(testEngines())('operator console behind https (PUBLIC_URL) (%s)', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(engine, { env: { PUBLIC_URL: 'https://ops.example.test', ADMIN_USERIDS: 'zhangsan' } });
    await app.container.archive.fullSync.run();
  });
  afterAll(async () => app?.close());

  it('marks the console cookies Secure when PUBLIC_URL is https, even over a plain-http hop', async () => {
    const jar = new CookieJar();
    const local = (u: string) => u.replace('https://ops.example.test', app.url);
    const go = async (u: string) => {
      const res = await fetch(local(u.startsWith('http') ? u : `${app.url}${u}`), { headers: jar.values.size ? { cookie: jar.header() } : {}, redirect: 'manual' });
      jar.take(res);
      return res;
    };
    const start = await go('/console/login');
    const login = new URL(start.headers.get('location')!, app.url);
    expect(login.searchParams.get('redirect_uri')).toBe('https://ops.example.test/console/auth/callback');
    expect(jar.lastSet.get('wo_console_login')).toMatch(/;\s*secure/i);
    login.searchParams.set('userid', 'zhangsan');
    const picked = await go(login.toString());
    expect(picked.status).toBe(302);
    const done = await go(picked.headers.get('location')!);
    expect(done.status).toBe(302);
    const cookie = jar.lastSet.get('wo_console')!;
    expect(cookie).toMatch(/;\s*secure/i);
    expect(cookie).toMatch(/httponly/i);
    expect(cookie).toMatch(/samesite=lax/i);
  });
});
