import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredRoutes, renderAccessTable, type AccessPolicy, type RouteEntry } from '../../src/http/access.js';
import type { Container } from '../../src/container.js';
import { TEST_ADMIN_TOKEN } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';

/**
 * The access matrix (docs/security.md §Access policies). It reads every route the app actually
 * registered, with the policy the route declares, and tries each with no credentials, each role's API token, a
 * metrics token, a sidebar session cookie and a staff member's console session (cookie and CSRF token), spelled as written, upper-cased, mixed-case, with a trailing slash, with
 * `%2F` and with `//`. The declared outcome is derived from the policy alone, so a route added without a policy, or a
 * middleware that stops enforcing one, fails here.
 *
 * Odd spellings: a trailing slash is the same route with the same policy (the routers are not strict); another case,
 * `%2F` and `//` match no route and get 404, whatever the credentials.
 */

const METRICS_TOKEN = 'matrix-metrics-token-0123456789';
type Cred = 'none' | 'staff' | 'operator' | 'admin' | 'metrics' | 'cookie' | 'console';
const CREDS: Cred[] = ['none', 'staff', 'operator', 'admin', 'metrics', 'cookie', 'console'];
type Spelling = 'as written' | 'upper-case' | 'mixed-case' | 'trailing slash' | '%2F' | '//';
const SPELLINGS: Spelling[] = ['as written', 'upper-case', 'mixed-case', 'trailing slash', '%2F', '//'];
/** A write never touches a real row: its path names nobody and its body is not a valid request. */
const NOBODY = 'matrix-nobody';

/** What a policy promises for a credential: an exact status, or 'admitted' (past the gate: not 401/403, not 5xx). */
function declared(policy: AccessPolicy, cred: Cred): number | 'admitted' {
  switch (policy.kind) {
    case 'public':
    case 'wecom-signature':
      return 'admitted';
    case 'metrics':
      return cred === 'metrics' ? 'admitted' : 401;
    case 'session':
      return cred === 'cookie' ? 'admitted' : 401;
    case 'token':
      if (cred === 'none' || cred === 'cookie' || cred === 'metrics') return 401;
      // A console session acts with its member's role (zhangsan: staff), like that role's token.
      return policy.roles.includes(cred === 'console' ? 'staff' : cred) ? 'admitted' : 403;
  }
}

function spell(path: string, how: Spelling): string {
  const second = path.indexOf('/', 1);
  switch (how) {
    case 'as written':
      return path;
    case 'upper-case':
      return path.toUpperCase();
    case 'mixed-case':
      // The first letter of the first segment: /Api/v1/…, /Sidebar/…, /Healthz.
      return path.replace(/^\/([a-z])/, (_m, c: string) => `/${c.toUpperCase()}`);
    case 'trailing slash':
      return `${path}/`;
    case '%2F':
      return second > 0 ? `${path.slice(0, second)}%2F${path.slice(second + 1)}` : `${path}%2Fx`;
    case '//':
      return second > 0 ? `${path.slice(0, second)}/${path.slice(second)}` : `/${path}`;
  }
}

describe.each(testEngines())('access matrix over every registered route (%s)', (engine) => {
  let app: ArchiveApp;
  let routes: RouteEntry[];
  const tokens: Record<'staff' | 'operator' | 'admin', string> = { staff: '', operator: '', admin: TEST_ADMIN_TOKEN };
  let cookie = '';
  /** zhangsan's console session (role staff): the cookie, and the row that backs it (re-inserted after a logout). */
  const consoleSession = { cookie: '', csrf: '', restore: async () => {} };
  let mine: { id: string; name: string };
  let theirs: { id: string; name: string };
  let cases = 0;

  beforeAll(async () => {
    // Every wrong bearer counts against 127.0.0.1; the matrix sends hundreds on purpose.
    app = await startArchiveApp(engine, { startServices: false, env: { METRICS_TOKEN, AUTH_MAX_FAILURES: '100000' } });
    await app.archive.fullSync.run();
    routes = registeredRoutes(app.koa);
    tokens.staff = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    tokens.operator = (await app.container.tokens.create({ role: 'operator' })).token;
    cookie = `wo_sidebar=${app.container.http!.sidebarAuth.sessions.issue('zhangsan').token}`;
    await app.container.console.roles.set('zhangsan', 'staff', 'matrix', { knownOnly: false });
    const consoleToken = `wc_${randomBytes(32).toString('base64url')}`;
    consoleSession.cookie = `wo_console=${consoleToken}`;
    consoleSession.csrf = randomBytes(24).toString('base64url');
    consoleSession.restore = async () => {
      const repo = app.container.repos.consoleSessions;
      const id = createHash('sha256').update(consoleToken).digest('hex');
      if (await repo.find(id)) return;
      const now = app.container.clock.now();
      await repo.insert({ id, userid: 'zhangsan', name: '张三', csrfToken: consoleSession.csrf, createdAt: now, lastSeenAt: now, ip: '127.0.0.1' });
    };
    await consoleSession.restore();
    // Two staff members with known customers: one followed by zhangsan only, one by lisi only.
    const only = async (userid: string) => {
      const rows = await app.container.db.query<{ id: string; name: string }>(
        `SELECT c.external_user_id AS id, c.name AS name FROM customers c
          WHERE EXISTS (SELECT 1 FROM follow_relations r WHERE r.external_user_id = c.external_user_id AND r.userid = ? AND r.status = 'active')
            AND NOT EXISTS (SELECT 1 FROM follow_relations r WHERE r.external_user_id = c.external_user_id AND r.userid <> ? AND r.status = 'active')
          ORDER BY c.external_user_id`,
        [userid, userid],
      );
      expect(rows.length).toBeGreaterThan(0);
      return rows[0];
    };
    mine = await only('zhangsan');
    theirs = await only('lisi');
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  async function send(method: string, path: string, cred: Cred) {
    const headers: Record<string, string> = {};
    if (cred === 'cookie') {
      headers.cookie = cookie;
      headers['x-requested-with'] = 'XMLHttpRequest';
    } else if (cred === 'console') {
      // POST /api/v1/session/logout ends the session: bring it back before each request.
      await consoleSession.restore();
      headers.cookie = consoleSession.cookie;
      headers['x-csrf-token'] = consoleSession.csrf;
    } else if (cred === 'metrics') headers.authorization = `Bearer ${METRICS_TOKEN}`;
    else if (cred !== 'none') headers.authorization = `Bearer ${tokens[cred]}`;
    const write = method !== 'GET';
    if (write) headers['content-type'] = 'application/json';
    const res = await fetch(`${app.url}${path}`, { method, headers, redirect: 'manual', body: write ? JSON.stringify({ matrixProbe: true }) : undefined });
    cases++;
    return { status: res.status, text: await res.text() };
  }

  /** A concrete path for a route: reads name zhangsan's customer (or lisi's, for the scope check), writes name nobody. */
  function fill(route: RouteEntry, customer: string): string {
    return route.path
      .replace(':externalUserId', route.method === 'GET' ? customer : NOBODY)
      .replace(':userid', NOBODY)
      .replace(':id', NOBODY);
  }

  /** What an admitted answer may show this credential (docs/security.md §Access policies, scopes). */
  function checkScope(route: RouteEntry, cred: Cred, text: string, where: string) {
    if (route.policy.scope === 'none' || cred === 'staff' || cred === 'cookie' || cred === 'console') {
      expect(text, `${where}: another member's customer leaked`).not.toContain(theirs.id);
      expect(text, `${where}: another member's customer leaked`).not.toContain(theirs.name);
    }
    if (route.policy.scope === 'none') expect(text, `${where}: a route without customer data answered with a customer`).not.toContain(mine.id);
  }

  it('refuses to build an app with a route that declares no policy, router-level middleware or case-insensitive matching', async () => {
    const Router = (await import('@koa/router')).default;
    const { routeTable, allow, api, ANY_ROLE } = await import('../../src/http/access.js');
    const bare = new Router({ sensitive: true });
    bare.get('/api/v1/forgotten', (ctx) => (ctx.body = 'x'));
    expect(() => routeTable([bare])).toThrow(/declares no access policy/);
    const loose = new Router();
    loose.get('/api/v1/x', allow(api(ANY_ROLE, 'own')), (ctx) => (ctx.body = 'x'));
    expect(() => routeTable([loose])).toThrow(/case-sensitively/);
    const prefixed = new Router({ sensitive: true });
    prefixed.use(async (_ctx, next) => next());
    expect(() => routeTable([prefixed])).toThrow(/router-level middleware/);
    expect(() => api(ANY_ROLE, 'all')).toThrow(/cannot admit staff/);
  });

  it('gives every route, credential and spelling its declared outcome, and staff only their own customers', async () => {
    expect(routes.length).toBeGreaterThan(40);
    const failures: string[] = [];
    const registered = new Set(routes.map((r) => `${r.method} ${r.path}`));
    for (const route of routes) {
      for (const how of SPELLINGS) {
        const path = spell(fill(route, mine.id), how);
        // '/console' + '/' is the page route itself, not an odd spelling of the redirect.
        if (how === 'trailing slash' && registered.has(`${route.method} ${spell(route.path, how)}`)) continue;
        const canonical = how === 'as written' || how === 'trailing slash';
        for (const cred of CREDS) {
          const where = `${cred} ${route.method} ${path} (${how})`;
          const { status, text } = await send(route.method, path, cred);
          const want = canonical ? declared(route.policy, cred) : 404;
          const ok = want === 'admitted' ? status !== 401 && status !== 403 && status < 500 : status === want;
          if (!ok) failures.push(`${where}: got ${status}, declared ${want} ${text.slice(0, 120)}`);
          else if (canonical && want === 'admitted') checkScope(route, cred, text, where);
        }
      }
      // Staff asking for another member's customer: 404, as if it did not exist; operators and admins see it.
      if (route.method === 'GET' && route.path.includes(':externalUserId')) {
        const path = fill(route, theirs.id);
        for (const cred of CREDS) {
          if (declared(route.policy, cred) !== 'admitted') continue;
          const { status, text } = await send('GET', path, cred);
          const staffLike = cred === 'staff' || cred === 'cookie' || cred === 'console';
          if (staffLike ? status !== 404 : status !== 200) failures.push(`${cred} GET ${path} (another member's customer): got ${status} ${text.slice(0, 120)}`);
          if (staffLike) checkScope(route, cred, text, `${cred} GET ${path}`);
        }
      }
    }
    expect(failures).toEqual([]);
    // Reported in the README's security section.
    console.log(`access matrix (${engine}): ${routes.length} routes, ${cases} cases`);
  }, 300_000);

  it('lists exactly these routes and policies in SECURITY.md', () => {
    const doc = readFileSync(new URL('../../SECURITY.md', import.meta.url), 'utf8');
    const table = /<!-- access-table:start -->\n([\s\S]*?)<!-- access-table:end -->/.exec(doc)?.[1];
    expect(table, 'SECURITY.md has no generated access table; run npm run security:table').toBeDefined();
    expect(table).toBe(renderAccessTable(routes));
  });

  it('staff see only their own customers in the list, and a customer they do not follow is not found', async () => {
    const list = await send('GET', '/api/v1/customers?pageSize=100', 'staff');
    expect(list.status).toBe(200);
    const ids = (JSON.parse(list.text) as { items: { externalUserId: string }[] }).items.map((i) => i.externalUserId);
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(theirs.id);
    const all = await send('GET', '/api/v1/customers?pageSize=100', 'operator');
    expect((JSON.parse(all.text) as { total: number }).total).toBeGreaterThan(ids.length);
  });

  it('upper-case paths that used to skip the operator check are 404 for staff, and the canonical path is 403', async () => {
    const c = app.container as Container;
    expect(c).toBeDefined();
    for (const path of ['/api/v1/Transfers', '/api/v1/Deliveries', '/api/v1/EVENTS', '/api/v1/Transfers/unassigned', '/api/v1/Channels', '/api/v1/Care-rules', '/api/v1/Tag-rules']) {
      expect((await send('GET', path, 'staff')).status, path).toBe(404);
    }
    expect((await send('POST', '/api/v1/Transfers', 'staff')).status).toBe(404);
    expect((await send('GET', '/api/v1/transfers', 'staff')).status).toBe(403);
    expect((await send('GET', '/sidebar/API/jssdk-config?url=x', 'none')).status).toBe(404);
    expect((await send('GET', '/sidebar/API/me', 'none')).status).toBe(404);
    expect((await send('GET', '/sidebar/api/jssdk-config?url=x', 'none')).status).toBe(401);
  });
});
