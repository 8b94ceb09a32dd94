import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** `/metrics` behind METRICS_TOKEN when it is set, open as before when it is not. */
describe('METRICS_TOKEN (sqlite)', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  const get = (token?: string) => fetch(`${app!.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('keeps /metrics open on the listen address when no token is configured', async () => {
    app = await startTestApp('sqlite');
    const res = await get();
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('wecom_callback_received_total');
  });

  it('answers 401 without the token or with a wrong one, and the Prometheus text with it', async () => {
    const token = 'scrape-secret-0123456789abcdef';
    app = await startTestApp('sqlite', { env: { METRICS_TOKEN: token } });
    const none = await get();
    expect(none.status).toBe(401);
    expect(await none.text()).not.toContain('wecom_callback_received_total');
    expect((await get('scrape-secret-0123456789abcdeX')).status).toBe(401);
    // An admin API token is not a metrics token.
    expect((await get('test-admin-token-0123456789')).status).toBe(401);
    const ok = await get(token);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('wecom_callback_received_total');
  });

  it('refuses a METRICS_TOKEN shorter than 16 characters at start', async () => {
    await expect(startTestApp('sqlite', { env: { METRICS_TOKEN: 'short' } })).rejects.toThrow(/metricsToken|METRICS_TOKEN/);
  });
});
