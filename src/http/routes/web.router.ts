import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { allow, publicRoute } from '../access.js';
import { CONSOLE_COOKIE } from '../middleware/console-session.js';

/** Where `npm run build:console` (run by `npm ci` through `prepare`) writes the console: never committed. */
export const CONSOLE_DIST = resolve(import.meta.dirname, '../../../dist/console');

const PAGE_POLICY = publicRoute('the console’s files hold no data; the app calls the API with the signed-in member’s session or token');

/**
 * Paths under /console/ that the server answers itself (the WeCom sign-in and its callback): the page fallback
 * passes them on to the router that owns them, whichever order the routers are mounted in.
 */
const SERVER_PATHS = /^\/console\/(login|logout|auth)(\/|$)/;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

// Built files only ever come from Vite, with script and style files of their own; Element Plus sets inline style
// attributes, and channel QR codes are images on WeCom's https hosts. The page's one inline script (the first screen's)
// is allowed by its hash, and no other (pageCsp).
const csp = (scriptSrc: string) =>
  `default-src 'self'; script-src ${scriptSrc}; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'`;
const CSP = csp("'self'");

/**
 * The page's policy: its inline scripts allowed by their SHA-256 (the build inlines the first screen's script so the
 * first number waits for no file, docs/architecture.md §Operator console), every other script only from this server.
 */
const pageCsp = (() => {
  let last: { html: string; policy: string } | undefined;
  return (html: string): string => {
    if (last?.html === html) return last.policy;
    const hashes = [...html.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!, 'utf8').digest('base64')}'`);
    last = { html, policy: csp(["'self'", ...hashes].join(' ')) };
    return last.policy;
  };
})();

/** What a production install without the dev dependencies shows when nobody built the console beforehand. */
const NOT_BUILT = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>wecom-ops 运营控制台</title>
<style>body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;color:#1f2329;max-width:640px;margin:80px auto;padding:0 20px;line-height:1.7}
code{background:#f2f3f5;padding:1px 6px;border-radius:3px}</style></head>
<body><h1>控制台尚未构建</h1>
<p>这台服务器上没有构建好的运营控制台（<code>dist/console/</code>）。通常 <code>npm ci</code> 会自动构建；
只安装生产依赖（<code>npm ci --omit=dev</code>）时不会构建。</p>
<p>请在装有开发依赖的机器上运行 <code>npm ci</code>（或 <code>npm run build:console</code>），再把 <code>dist/console/</code> 一同部署。
API（<code>/api/v1/</code>）与回调不受影响。</p>
<p lang="en">The operator console has not been built on this server. Run <code>npm run build:console</code> with the dev dependencies installed, and deploy <code>dist/console/</code> with the app.</p>
</body></html>`;

/**
 * The dashboard's first number, which the console's first script (src/web/console/first-screen.ts) asks the moment it
 * runs: named in the dashboard page's headers when the request carries a console session, the browser asks it as soon
 * as they arrive, beside the page's code files, and hands that answer to the script's fetch (same address, no extra
 * headers).
 * docs/architecture.md §Operator console
 */
const DASHBOARD_FIRST = '</api/v1/customers?audience=all&page=1&pageSize=1>; rel=preload; as=fetch; crossorigin';

function setPageHeaders(ctx: Context): void {
  // The console acts with the member's session: never let another origin frame it (clickjacking).
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Content-Security-Policy', CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'same-origin');
}

/**
 * `/console/`: the operator console, a Vue app built by Vite into `dist/console/`
 * (docs/architecture.md §Operator console). Hashed assets are cached for a year; every other path under /console/ is
 * the app's index.html (no-store, so a new build is picked up at once), which routes in the browser (history mode).
 * Without a build, a zh-CN page says so instead of a blank one.
 */
export function webRouter(opts: { dir?: string } = {}): Router {
  const dir = opts.dir ?? CONSOLE_DIST;
  const assets = join(dir, 'assets');
  // strict: '/console' and '/console/' are different routes, so the redirect does not loop.
  const router = new Router({ strict: true, sensitive: true });

  async function page(ctx: Context, next: Next): Promise<void> {
    // `//` spells no page of the app: like every other odd spelling of a route, it gets the router's 404
    // (docs/security.md §Access policies).
    if (SERVER_PATHS.test(ctx.path) || ctx.path.includes('//')) return next();
    setPageHeaders(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'text/html; charset=utf-8';
    // Read per request (a few KB): a rebuild while the server runs is served at once.
    const html = await readFile(join(dir, 'index.html'), 'utf8').catch(() => null);
    if (html === null) {
      ctx.status = 503;
      ctx.body = NOT_BUILT;
      return;
    }
    // The dashboard's address only: any other page would not use the answer. And only with a console session: the
    // browser asks a preload with cookies and nothing else, so a member signed in with a pasted API token (kept in
    // the page, sent as a header) would get a 401 nobody reads while the first screen asks again with the token.
    if (ctx.path === '/console/' && ctx.cookies.get(CONSOLE_COOKIE)) ctx.set('Link', DASHBOARD_FIRST);
    ctx.set('Content-Security-Policy', pageCsp(html));
    ctx.body = html;
  }

  router.get('/console', allow(PAGE_POLICY), (ctx) => ctx.redirect('/console/'));
  router.get('/console/assets/:file', allow(PAGE_POLICY), async (ctx) => {
    const file = String(ctx.params.file);
    // One flat folder of Vite's hashed names: no slashes, no dot-files, nothing outside it.
    const type = TYPES[extname(file)];
    if (!/^[\w-][\w.-]*$/.test(file) || !type) return;
    const path = join(assets, file);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) return;
    setPageHeaders(ctx);
    // Vite puts a content hash in every asset name, so a name always means the same bytes.
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.type = type;
    ctx.length = info.size;
    ctx.body = createReadStream(path);
  });
  router.get('/console/', allow(PAGE_POLICY), page);
  router.get('/console/*path', allow(PAGE_POLICY), page);
  return router;
}
