// Who is signed in: the WeCom QR sign-in's cookie session (`GET /api/v1/me`), or, as the advanced option for
// scripts and tests, a pasted API token. Operator-only pages and menu entries are hidden from staff; the API
// refuses them anyway.
import { reactive } from 'vue';
import { ApiError, adopt, call, post, setCsrfToken, tokenStore } from './api';
import { takeEarly } from './early';
import type { Me, Role } from './types';

export const session = reactive<{ me: Me | null; checked: boolean; via: 'cookie' | 'token' | null }>({ me: null, checked: false, via: null });

export const isOperator = (): boolean => session.me?.role === 'admin' || session.me?.role === 'operator';
export const isAdmin = (): boolean => session.me?.role === 'admin';

/** The role a token has, found from what it may read, where the server has no /api/v1/me to say it. */
async function probeTokenRole(): Promise<Role> {
  try {
    await call('GET', '/api/v1/events?pageSize=1', undefined, { quiet401: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return 'staff';
    throw e;
  }
  // Only admins may retry an event; an operator's attempt at an unknown id is refused before it is looked up.
  try {
    await call('POST', '/api/v1/events/0/replay', {}, { quiet401: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return 'operator';
  }
  return 'admin';
}

export async function loadSession(): Promise<Me | null> {
  const token = tokenStore.get();
  try {
    // Asked by first-screen.ts before the app loaded, when the console opened on the dashboard (lib/early.ts).
    const early = takeEarly('me');
    const me = early ? await adopt<Me>(early, { quiet401: true }) : await call<Me>('GET', '/api/v1/me', undefined, { quiet401: true });
    session.me = me;
    session.via = me.via === 'token' || (!me.via && token) ? 'token' : 'cookie';
    setCsrfToken(me.csrfToken ?? null);
  } catch (e) {
    session.me = null;
    const status = e instanceof ApiError ? e.status : -1;
    // 401: signed out. 404: a server without the console sign-in; a token may still work there.
    if (status !== 401 && status !== 404) throw e;
    if (token) {
      try {
        const role = await probeTokenRole();
        session.me = { userid: null, name: 'API 令牌', role };
        session.via = 'token';
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) throw err;
        // The token is wrong or revoked: forget it, and sign in again.
        tokenStore.set('');
      }
    }
  } finally {
    session.checked = true;
  }
  return session.me;
}

export async function signInWithToken(token: string): Promise<Me | null> {
  tokenStore.set(token.trim());
  const me = await loadSession();
  if (!me) throw new ApiError(401, 'unauthorized', 'API 令牌无效或已吊销');
  return me;
}

export async function signOut(): Promise<void> {
  if (session.via === 'cookie') await post('/api/v1/session/logout').catch(() => undefined);
  tokenStore.set('');
  setCsrfToken(null);
  session.me = null;
  session.via = null;
}
