// The dashboard's first number (客户总数), asked beside GET /api/v1/me instead of after it: the audience count is a
// POST, which needs the CSRF token /me hands out, so it could only start once /me had answered; the customer list's
// total (`GET /api/v1/customers?audience=all&pageSize=1`, the same count under the same scope) needs none. README
// §运营控制台 (Budget) has the figures.
import { adopt, call, type Page } from './api';
import { takeEarly } from './early';

let early: Promise<number> | null = null;

/** Start the count now (before the session is known); a 401 (signed out) is left to the session check to handle. */
export function prefetchTotal(): void {
  if (early) return;
  // first-screen.ts asks it before the app has loaded when the console opens on the dashboard (lib/early.ts).
  const asked = takeEarly('total');
  early = (asked ? adopt<Page<unknown>>(asked, { quiet401: true }) : call<Page<unknown>>('GET', '/api/v1/customers?audience=all&page=1&pageSize=1', undefined, { quiet401: true })).then(
    (r) => r.total,
  );
  // Nobody may take it (signed out: the sign-in page shows instead); that is not an error.
  early.catch(() => undefined);
}

/** The prefetched count, once (a later visit to the page asks afresh), or null when none was started. */
export function takeTotal(): Promise<number> | null {
  const p = early;
  early = null;
  return p;
}
