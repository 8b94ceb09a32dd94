// The console's first screen, before the app: this small script is inlined in the page after the first screen's
// markup (vite.config.ts; it imports nothing), asks who is signed in and the dashboard's first number at once, and
// paints that number into the page's static first screen (index.html, #first-screen) as soon as it comes; the app then
// takes both answers (lib/early.ts) and replaces the first screen with the same figure in the same place. The app's
// code takes 0.3–1.5 s to load, run and draw; this needs the page and one answer. The why and the figures:
// docs/architecture.md §Operator console
import type { EarlyAnswer, EarlyRequests } from './lib/early';

/**
 * The customer list's total under the member's own scope: the request lib/first-count.ts makes, and the one the server
 * names in the dashboard page's Link header for the browser to ask early (src/http/routes/web.router.ts).
 */
const TOTAL = '/api/v1/customers?audience=all&page=1&pageSize=1';
/** Where lib/api.ts keeps a pasted API token (tokenStore): the app sends it on every request, so these do too. */
const TOKEN_KEY = 'wecomOpsToken';

/**
 * No headers beyond a token's: with a session cookie the browser then hands over the count it already asked for (the
 * page's Link header). With a pasted token the server names no preload, which could not carry the token, and this
 * asks with it (src/http/routes/web.router.ts).
 */
function ask(url: string, headers: Record<string, string>): Promise<EarlyAnswer> {
  return fetch(url, { headers, credentials: 'same-origin' }).then(
    async (res) => ({ status: res.status, data: (await res.json().catch(() => null)) as unknown }),
    () => ({ status: 0, data: null }),
  );
}

/** The number as el-statistic writes it (groups of three with commas), so the app's figure reads the same. */
const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function paint(total: number): void {
  const show = () => {
    // Gone once the app has mounted: the app shows the figure itself then.
    const screen = document.getElementById('first-screen');
    const value = screen?.querySelector('[data-first="total"]');
    if (!screen || !value) return;
    value.textContent = grouped(total);
    screen.classList.add('on');
  };
  // The script comes after the first screen in the page, so it is there already: waiting for DOMContentLoaded would
  // wait for the app's code to have run (deferred scripts run before it fires).
  if (document.getElementById('first-screen') || document.readyState !== 'loading') show();
  else document.addEventListener('DOMContentLoaded', show, { once: true });
}

// The dashboard only: any other address (the sign-in page, a deep link) waits for the app as before.
if (location.pathname === '/console/') {
  const headers: Record<string, string> = {};
  let token = '';
  try {
    token = localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    // Storage refused (a locked-down browser): the cookie session still works.
  }
  if (token) headers.authorization = `Bearer ${token}`;
  const early: EarlyRequests = { me: ask('/api/v1/me', headers), total: ask(TOTAL, headers) };
  window.__woEarly = early;
  // Signed out (401) or refused: nothing is painted, and the app shows the sign-in page.
  void early.total!.then(({ status, data }) => {
    const total = (data as { total?: unknown } | null)?.total;
    if (status === 200 && typeof total === 'number') paint(total);
  });
}
