import type { Context } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { RateWindow } from './rate-window.js';
import { MAX_OPAQUE_TOKEN_LENGTH } from '../shared/opaque-link.js';

/** No script, no external asset; inline styles only. `formAction` is `'self'` for a page that posts its form. */
function pageCsp(formAction: "'none'" | "'self'"): string {
  return `default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action ${formAction}; frame-ancestors 'none'`;
}

/**
 * What every public signed page (/p, /s) does before it reads anything
 * (docs/loyalty.md §Rate limits, docs/surveys.md §Rate limits): answers uncached, unindexed, referring nowhere, under a strict CSP; then one request counted per client
 * address (loose: many phones share a carrier address; the address as docs/security.md §Proxies and the public origin
 * says) and per token, the address first, so made-up tokens from one place are limited like real ones.
 */
export class PublicPageGuard {
  private readonly byAddress: RateWindow;
  private readonly byToken: RateWindow;
  private readonly csp: string;

  constructor(opts: { perMinutePerAddress: number; perMinutePerToken: number; now: () => number; formAction?: "'none'" | "'self'" }) {
    this.byAddress = new RateWindow(opts.perMinutePerAddress, opts.now);
    this.byToken = new RateWindow(opts.perMinutePerToken, opts.now);
    this.csp = pageCsp(opts.formAction ?? "'none'");
  }

  /** Set the page headers and count the request; false after answering 429 with `limitedPage`. */
  admit(ctx: Context, token: string, limitedPage: string): boolean {
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', this.csp);
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Robots-Tag', 'noindex, nofollow');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'text/html; charset=utf-8';
    const wait = this.byAddress.hit(ctx.ip) || this.byToken.hit(token.slice(0, MAX_OPAQUE_TOKEN_LENGTH + 1));
    if (wait <= 0) return true;
    ctx.status = 429;
    ctx.set('Retry-After', String(wait));
    ctx.body = limitedPage;
    return false;
  }
}

/** A signed page's form body: a survey of 10 questions with 500 characters each is about 15 KB urlencoded, so 32 KB leaves room and no more. */
export const formBody = bodyParser({ enableTypes: ['form'], formLimit: '32kb', encoding: 'utf-8' });

/** The posted form as plain strings (a repeated or nested field keeps its first string). */
export function formOf(ctx: Context): Record<string, string> {
  const raw = (ctx.request as { body?: unknown }).body;
  const out: Record<string, string> = {};
  if (!raw || typeof raw !== 'object') return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v) && typeof v[0] === 'string') out[k] = v[0];
  }
  return out;
}
