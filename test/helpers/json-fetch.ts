/**
 * A JSON request for tests and benches: GET without a body, POST with one unless `method` says otherwise, a bearer
 * token when given. Throws with the status and body on anything but 2xx.
 */
export async function json<T = any>(url: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url} → ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}
