import { timingSafeEqual, createHash } from 'node:crypto';
import type Koa from 'koa';
import type { Context, Middleware, Next } from 'koa';
import type Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { ApiTokenService, Principal, Role } from '../domain/auth/api-token.service.js';
import type { AuthThrottle } from '../domain/auth/auth-throttle.js';
import type { StaffSessionService } from '../domain/auth/staff-session.service.js';
import type { StaffAccessService } from '../domain/auth/staff-access.service.js';
import type { ConsoleSessionService } from '../domain/auth/console-session.service.js';
import type { AuditLogService } from '../domain/audit/audit-log.service.js';
import type { IdempotencyService } from '../domain/audit/idempotency.service.js';
import { ForbiddenError, TooManyRequestsError, UnauthorizedError } from '../shared/errors.js';
import { SESSION_COOKIE, cookieOptions } from './middleware/sidebar-session.js';
import { CONSOLE_COOKIE, consoleCookie } from './middleware/console-session.js';
import { auditWrite, withIdempotency } from './write-guards.js';

/**
 * Access policies (docs/security.md §Access policies). Every route declares, where it is defined, who may call it
 * and what data it answers with; `allow(policy)` is both that declaration and its enforcement, and it is the
 * first middleware of the route, so it runs for exactly the route that matched. Nothing is enforced by path
 * prefix: a prefix middleware is skipped by any spelling the router still matches (`/api/v1/Transfers` once reached
 * the transfer route with a staff token). createApp refuses to start with a route that has no policy, with a
 * router-level `use`, or with a router that matches paths case-insensitively.
 */

/** Whose customers a route's answer may contain. */
export type Scope =
  /** Customer data limited to the customers the caller follows when the caller is staff (operators see all). */
  | 'own'
  /** Customer data of anyone: only roles that may see every customer are allowed on such a route. */
  | 'all'
  /** No customer data (settings, the tag library, quick-reply templates, health). */
  | 'none';

export type AccessPolicy =
  /**
   * Anyone: pages that hold no data, health, and the sign-in flow (which proves identity itself); or a page opened by
   * a customer's signed link, which shows that one customer's own data to whoever holds the link (scope `holder`).
   */
  | { kind: 'public'; scope: 'none' | 'holder'; why: string }
  /**
   * WeCom's own callbacks: authenticated by their signature inside the handler
   * (docs/wecom-protocol.md §Callback encryption and signatures).
   */
  | { kind: 'wecom-signature'; scope: 'none' }
  /**
   * `Authorization: Bearer <API token>`, or the console's session cookie (with `X-CSRF-Token` on writes), of one of
   * `roles` (docs/security.md §Console sign-in and roles).
   */
  | { kind: 'token'; roles: readonly Role[]; scope: Scope }
  /** The sidebar's session cookie: the member acts as themself (staff), never a bearer token. */
  | { kind: 'session'; scope: 'own' }
  /** `/metrics`: `Authorization: Bearer <METRICS_TOKEN>` when that is set, open otherwise. */
  | { kind: 'metrics'; scope: 'none' };

const POLICY = Symbol('accessPolicy');
type PolicyMiddleware = Middleware & { [POLICY]: AccessPolicy };

/** Staff, operators and admins. */
export const ANY_ROLE: readonly Role[] = ['staff', 'operator', 'admin'];
/** Operators and admins. */
export const OPERATORS: readonly Role[] = ['operator', 'admin'];
/** Admins only. */
export const ADMINS: readonly Role[] = ['admin'];

/** Policy constructors, so route files read as a table: `router.get('/', allow(api(OPERATORS, 'all')), …)`. */
export const api = (roles: readonly Role[], scope: Scope): AccessPolicy => {
  if (scope === 'all' && roles.includes('staff')) throw new Error('a route whose answer has every customer cannot admit staff');
  return { kind: 'token', roles, scope };
};
export const sidebarSession: AccessPolicy = { kind: 'session', scope: 'own' };
export const publicRoute = (why: string): AccessPolicy => ({ kind: 'public', scope: 'none', why });
/** A public page whose signed link is the credential: it shows the one customer the link names, to its holder. */
export const signedLinkRoute = (why: string): AccessPolicy => ({ kind: 'public', scope: 'holder', why });
export const wecomSigned: AccessPolicy = { kind: 'wecom-signature', scope: 'none' };
export const metricsPolicy: AccessPolicy = { kind: 'metrics', scope: 'none' };

/** What enforcement needs, installed once per app by createApp. */
export interface AccessGate {
  tokens: ApiTokenService;
  throttle?: Pick<AuthThrottle, 'failed'>;
  /** Present when the sidebar is wired. */
  sessions?: StaffSessionService;
  access?: Pick<StaffAccessService, 'checkSession'>;
  metricsToken?: string;
  /** The console's sessions (企业微信扫码登录); without it only bearer tokens reach the API. */
  console?: Pick<ConsoleSessionService, 'check'>;
  /** Whether the console cookie is Secure (PUBLIC_URL is https). */
  consoleSecure?: boolean;
  /** Every write is recorded here (docs/security.md §Audit log). */
  audit?: Pick<AuditLogService, 'record'>;
  /** `Idempotency-Key` on POST (docs/security.md §Idempotency keys). */
  idempotency?: Pick<IdempotencyService, 'begin'>;
}

const gates = new WeakMap<Koa, AccessGate>();

/** Give an app its gate (createApp). */
export function installGate(app: Koa, gate: AccessGate): void {
  gates.set(app, gate);
}

// Bodies are parsed after the caller is known, so an anonymous client cannot make the server read a megabyte.
// JSON only: order imports stream their CSV themselves (they are larger than any JSON request).
const apiBody = bodyParser({ enableTypes: ['json'], jsonLimit: '1mb', encoding: 'utf-8' });
const sidebarBody = bodyParser({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' });
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function gateOf(ctx: Context): AccessGate {
  const gate = gates.get(ctx.app);
  if (!gate) throw new Error('no access gate installed on this app (createApp installs it)');
  return gate;
}

async function bearerPrincipal(ctx: Context, gate: AccessGate): Promise<Principal> {
  const match = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
  if (!match) throw new UnauthorizedError();
  const principal = await gate.tokens.authenticate(match[1]);
  if (principal) return principal;
  // A wrong token counts against the client's address; past its allowance the answer is 429. Which address that is:
  // docs/security.md §Proxies and the public origin.
  const retryAfter = await gate.throttle?.failed(ctx.ip);
  if (retryAfter) {
    ctx.set('Retry-After', String(retryAfter));
    throw new TooManyRequestsError(`API 令牌错误次数过多，请 ${Math.ceil(retryAfter / 60)} 分钟后再试 / too many failed attempts`, retryAfter);
  }
  throw new UnauthorizedError('API 令牌无效或已吊销');
}

async function sessionPrincipal(ctx: Context, gate: AccessGate): Promise<Principal> {
  const session = gate.sessions?.read(ctx.cookies.get(SESSION_COOKIE));
  if (!session) throw new UnauthorizedError('侧边栏登录已失效，请重新打开侧边栏');
  // A revoked or resigned member's session ends on its next request, on every instance (StaffAccessService).
  const refusal = await gate.access?.checkSession(session.userid, session.issuedAt.getTime());
  if (refusal) {
    ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(ctx, '/sidebar', undefined));
    throw new UnauthorizedError(refusal === 'resigned' ? '该成员已离职，侧边栏不可用' : '侧边栏访问已被管理员收回，请重新打开侧边栏登录');
  }
  return { tokenId: null, role: 'staff', userid: session.userid, via: 'sidebar' };
}

const CONSOLE_ENDED: Record<string, string> = {
  none: '控制台登录已失效，请重新扫码登录',
  idle: '控制台已超过 8 小时无操作，请重新扫码登录',
  no_role: '您的控制台权限已被收回，如有疑问请联系管理员',
  revoked: '您的访问权限已被管理员收回，请重新扫码登录',
  resigned: '该成员已离职，无法使用运营控制台',
};

/**
 * The member behind the console's cookie (docs/security.md §Console sign-in and roles). A write must carry the
 * session's CSRF token in `X-CSRF-Token` (GET /api/v1/me hands it to the page): a cross-site page can make the browser
 * send the cookie, but cannot read the token.
 */
async function consolePrincipal(ctx: Context, gate: AccessGate, cookie: string): Promise<Principal> {
  const check = await gate.console!.check(cookie);
  if (!check.ok) {
    ctx.cookies.set(CONSOLE_COOKIE, null, consoleCookie(ctx, gate.consoleSecure === true, '/', undefined));
    throw new UnauthorizedError(CONSOLE_ENDED[check.reason]);
  }
  const id = check.identity;
  if (!SAFE_METHODS.has(ctx.method)) {
    const given = ctx.get('x-csrf-token');
    if (!given || !sameSecret(given, id.csrfToken)) throw new ForbiddenError('缺少或错误的 X-CSRF-Token 请求头（CSRF 防护），请刷新页面后重试', 'csrf_check_failed');
    const site = ctx.get('sec-fetch-site');
    if (site && site !== 'same-origin') throw new ForbiddenError('不接受跨站请求（CSRF 防护）', 'csrf_check_failed');
  }
  ctx.state.console = id;
  return { tokenId: null, role: id.role, userid: id.userid, name: id.name, via: 'console' };
}

/**
 * CSRF defence for cookie-authenticated writes, on top of SameSite=Lax: a write must carry
 * `X-Requested-With: XMLHttpRequest`, which a cross-origin page cannot add without a CORS preflight this server never
 * grants; browsers that send Sec-Fetch-Site must also report the request as same-origin.
 */
function checkSameOriginWrite(ctx: Context): void {
  if (SAFE_METHODS.has(ctx.method)) return;
  if (ctx.get('x-requested-with') !== 'XMLHttpRequest') throw new ForbiddenError('缺少 X-Requested-With 请求头（CSRF 防护）', 'csrf_check_failed');
  const site = ctx.get('sec-fetch-site');
  if (site && site !== 'same-origin') throw new ForbiddenError('不接受跨站请求（CSRF 防护）', 'csrf_check_failed');
}

function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison is constant-time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Enforce one policy: the only place where a request's credentials are checked against a route. */
async function enforce(policy: AccessPolicy, ctx: Context, next: Next): Promise<void> {
  switch (policy.kind) {
    case 'public':
    case 'wecom-signature':
      return next();
    case 'metrics': {
      const token = gateOf(ctx).metricsToken;
      if (token) {
        const match = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
        if (!match || !sameSecret(match[1], token)) throw new UnauthorizedError('需要 METRICS_TOKEN / metrics token required');
      }
      return next();
    }
    case 'token': {
      const gate = gateOf(ctx);
      // A bearer token wins: scripts keep working whatever cookies the client holds.
      const cookie = gate.console && !ctx.get('authorization') ? ctx.cookies.get(CONSOLE_COOKIE) : undefined;
      const principal = cookie ? await consolePrincipal(ctx, gate, cookie) : await bearerPrincipal(ctx, gate);
      if (!policy.roles.includes(principal.role)) throw new ForbiddenError();
      ctx.state.principal = principal;
      return apiBody(ctx, () => (SAFE_METHODS.has(ctx.method) ? next() : withIdempotency(ctx, gate.idempotency, principal, () => auditWrite(ctx, gate.audit, principal, next))));
    }
    case 'session': {
      const gate = gateOf(ctx);
      const principal = await sessionPrincipal(ctx, gate);
      ctx.state.principal = principal;
      checkSameOriginWrite(ctx);
      return sidebarBody(ctx, () => (SAFE_METHODS.has(ctx.method) ? next() : auditWrite(ctx, gate.audit, principal, next)));
    }
  }
}

/** The declaration and enforcement of a route's policy: put it first in the route's middleware. */
export function allow(policy: AccessPolicy): Middleware {
  const mw = ((ctx: Context, next: Next) => enforce(policy, ctx, next)) as PolicyMiddleware;
  mw[POLICY] = policy;
  return mw;
}

/** One registered route and its declared policy. */
export interface RouteEntry {
  method: string;
  path: string;
  policy: AccessPolicy;
}

/** The routes of `routers` with their policies; throws on any route or router that breaks the rules above. */
export function routeTable(routers: Router[]): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const router of routers) {
    for (const layer of router.stack) {
      const where = `${layer.methods.join(',') || 'USE'} ${layer.path}`;
      if (layer.methods.length === 0) throw new Error(`${where}: router-level middleware is not allowed; declare an access policy on each route (docs/security.md §Access policies)`);
      if (layer.opts.sensitive !== true) throw new Error(`${where}: the router must match paths case-sensitively (new Router({ sensitive: true }))`);
      const policy = (layer.stack[0] as Partial<PolicyMiddleware> | undefined)?.[POLICY];
      if (!policy) throw new Error(`${where}: the route declares no access policy; start it with allow(…) (docs/security.md §Access policies)`);
      for (const method of layer.methods) if (method !== 'HEAD') out.push({ method, path: String(layer.path), policy });
    }
  }
  return out;
}

const appRoutes = new WeakMap<Koa, RouteEntry[]>();

/** Remember an app's route table (createApp), for the access-matrix test and SECURITY.md. */
export function recordRoutes(app: Koa, routes: RouteEntry[]): void {
  appRoutes.set(app, routes);
}

/** The routes an app registered, with their policies. */
export function registeredRoutes(app: Koa): RouteEntry[] {
  const r = appRoutes.get(app);
  if (!r) throw new Error('no routes recorded for this app');
  return r;
}

const WHO: Record<Role, string> = { staff: '员工 staff', operator: '运营 operator', admin: '管理员 admin' };
const SCOPE: Record<AccessPolicy['scope'], string> = {
  own: '员工只见自己跟进的客户 / staff: own customers only',
  all: '全部客户 / every customer',
  none: '无客户数据 / no customer data',
  holder: '仅链接所属客户本人的数据 / only the data of the customer the signed link names',
};

function who(p: AccessPolicy): string {
  switch (p.kind) {
    case 'public':
      return '任何人 anyone';
    case 'wecom-signature':
      return '企业微信（验签）WeCom, signed';
    case 'metrics':
      return 'METRICS_TOKEN（未设置时任何人）';
    case 'session':
      return '侧边栏会话 sidebar session (staff)';
    case 'token':
      return `API 令牌或控制台登录 token or console: ${p.roles.map((r) => WHO[r]).join(', ')}`;
  }
}

/**
 * The policy table as Markdown, one row per route, for SECURITY.md (between its access-table markers). The
 * access-matrix test checks the file against this, so the document cannot drift from the code.
 */
export function renderAccessTable(routes: RouteEntry[]): string {
  const rows = [...routes]
    .sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method))
    .map((r) => `| ${r.method} | \`${r.path}\` | ${who(r.policy)} | ${SCOPE[r.policy.scope]} |`);
  return ['| 方法 Method | 路径 Path | 谁可以调用 Who | 数据范围 Data scope |', '|---|---|---|---|', ...rows, ''].join('\n');
}
