// The console's only way to the server: fetch to /api/v1 (and /readyz) on the same origin. Everything the console
// shows can also be scripted with a token against the same API.
import type { EarlyAnswer } from './early';

/**
 * An error the API answered with (`{ error: { code, message, details } }`), or a network failure (status 0).
 * `fields` is a 400's `details.fields`: the message for each body field the server refused, by its path.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Record<string, string> = {},
    readonly details: unknown = undefined,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'wecomOpsToken';

/** The advanced sign-in: a pasted API token, kept in this browser only. */
export const tokenStore = {
  get: (): string => localStorage.getItem(TOKEN_KEY) ?? '',
  set: (t: string) => (t ? localStorage.setItem(TOKEN_KEY, t) : localStorage.removeItem(TOKEN_KEY)),
};

let csrfToken: string | null = null;
/** The session's CSRF token from /api/v1/me: sent on every write made with the session cookie. */
export function setCsrfToken(t: string | null): void {
  csrfToken = t;
}

let onUnauthorized: (() => void) | null = null;
/** Called when the API says the session or token is no longer valid (401), so the app can show the sign-in page. */
export function handleUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

const STATUS_TEXT: Record<number, string> = {
  400: '请求有误',
  401: '未登录或登录已过期',
  403: '没有权限执行此操作',
  404: '未找到',
  409: '状态冲突，请刷新后再试',
  429: '请求过于频繁，请稍后再试',
  503: '服务暂不可用，请稍后再试',
};

export interface CallOptions {
  /** Do not route a 401 to the sign-in page (the sign-in check itself). */
  quiet401?: boolean;
  /** Sent as `Idempotency-Key`: the server answers a repeat with the first answer and creates nothing new. */
  idempotencyKey?: string;
}

/** A fresh key for one form's create (random; crypto.randomUUID needs a secure context, getRandomValues does not). */
/**
 * The key for the next submit after `e`: the same one only when no answer came (the server may have created it), a new
 * one once the server has answered, so a corrected form is a new request.
 */
export function keyAfterError(e: unknown, key: string): string {
  return e instanceof ApiError && e.status === 0 ? key : newIdempotencyKey();
}

export function newIdempotencyKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export async function call<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = tokenStore.get();
  if (token) headers.authorization = `Bearer ${token}`;
  // A FormData body (a file upload) sets its own multipart content type with the boundary.
  const isForm = typeof FormData !== 'undefined' && body instanceof FormData;
  if (body !== undefined && !isForm) headers['content-type'] = 'application/json';
  if (method !== 'GET') {
    headers['x-requested-with'] = 'XMLHttpRequest';
    if (csrfToken) headers['x-csrf-token'] = csrfToken;
    if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : isForm ? (body as FormData) : JSON.stringify(body), credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', '无法连接服务器，请检查网络');
  }
  return settle<T>(res.status, await res.json().catch(() => null), opts);
}

/** What call() makes of an answer: its body, or the ApiError it stands for (a 401 leads to sign-in unless quiet401). */
function settle<T>(status: number, body: unknown, opts: CallOptions): T {
  if (status === 0) throw new ApiError(0, 'network', '无法连接服务器，请检查网络');
  const data = body as { error?: { code?: string; message?: string; details?: { fields?: Record<string, string> } } } | null;
  if (status < 200 || status > 299) {
    if (status === 401 && !opts.quiet401) onUnauthorized?.();
    const fields = data?.error?.details?.fields;
    throw new ApiError(
      status,
      data?.error?.code ?? `http_${status}`,
      data?.error?.message ?? STATUS_TEXT[status] ?? `请求失败（HTTP ${status}）`,
      fields && typeof fields === 'object' ? fields : {},
      data?.error?.details,
    );
  }
  return data as T;
}

/** An answer first-screen.ts asked for before the app loaded (lib/early.ts), read as call() reads its own. */
export async function adopt<T>(early: Promise<EarlyAnswer>, opts: CallOptions = {}): Promise<T> {
  const { status, data } = await early;
  return settle<T>(status, data, opts);
}

export const get = <T>(path: string, query?: Record<string, string | number | undefined | null>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return call<T>('GET', s ? `${path}?${s}` : path);
};
export const post = <T>(path: string, body?: unknown, opts?: CallOptions) => call<T>('POST', path, body ?? {}, opts);
export const patch = <T>(path: string, body: unknown) => call<T>('PATCH', path, body);
export const put = <T>(path: string, body: unknown) => call<T>('PUT', path, body);
export const del = <T>(path: string) => call<T>('DELETE', path);

/** A list answer: `{ items, total }`. */
export interface Page<T> {
  items: T[];
  total: number;
}
