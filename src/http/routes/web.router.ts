import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Router from '@koa/router';
import { allow, publicRoute } from '../access.js';

const CONSOLE_HTML = resolve(import.meta.dirname, '../../web/console/index.html');

/**
 * `/console/`: the operator console, one static page that calls only `/api/*` with the operator's token.
 * Read once at start; it has no server-side state.
 */
export function webRouter(): Router {
  const html = readFileSync(CONSOLE_HTML, 'utf8');
  // strict: '/console' and '/console/' are different routes, so the redirect does not loop.
  const router = new Router({ strict: true, sensitive: true });
  router.get('/console', allow(publicRoute('the console page holds no data; it calls the API with the operator’s token')), (ctx) => ctx.redirect('/console/'));
  router.get('/console/', allow(publicRoute('the console page holds no data; it calls the API with the operator’s token')), (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    // The page holds an API token in localStorage: never let another origin frame it.
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Content-Security-Policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' https: data:");
    ctx.set('Cache-Control', 'no-store');
    ctx.body = html;
  });
  return router;
}
