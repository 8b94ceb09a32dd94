import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { createDataSource } from '../../src/persistence/data-source.js';
import { Db } from '../../src/persistence/db.js';
import { AuthFailureRepository } from '../../src/persistence/repositories/auth-failure.repository.js';
import { AuthThrottle } from '../../src/domain/auth/auth-throttle.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';

/**
 * A client guessing API tokens (docs/reliability.md §Access control, §Reliability tests, test 20): 401s, then 429 with
 * Retry-After, on every instance. Behind one load balancer (TRUST_PROXY=1): the address it appended is the client's
 * (docs/security.md §Proxies and the public origin).
 */
describe.each(testEngines())('failed API authentications behind one trusted proxy (TRUST_PROXY=1) on %s', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(engine, { overrides: { auth: { maxFailures: 5, windowMs: 600_000 } }, env: { TRUST_PROXY: '1' } });
  });
  afterAll(() => app?.close());

  /** A request as it arrives from the load balancer, which appended the client's address to X-Forwarded-For. */
  const call = (token: string, forwardedFor: string) => fetch(`${app.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': forwardedFor } });

  it('answers 401 five times, then 429 with Retry-After; the client cannot dodge it by writing its own X-Forwarded-For', async () => {
    for (let i = 0; i < 5; i++) expect((await call(`wo_guess_${i}`, '203.0.113.7')).status).toBe(401);
    const refused = await call('wo_guess_5', 'spoofed-by-client, 203.0.113.7');
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(600);
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'too_many_attempts', message: expect.stringContaining('请') });
    expect((await call('wo_guess_6', '198.51.100.1, 203.0.113.7')).status).toBe(429);
    // Another client is not affected, and a valid token from the refused address still works: only failures count.
    expect((await call('wo_guess_7', '198.51.100.2')).status).toBe(401);
    expect((await call(TEST_ADMIN_TOKEN, '203.0.113.7')).status).toBe(200);
  });

  it.runIf(engine === 'mysql')('counts failures on every instance together', async () => {
    const ds = createDataSource({ databaseUrl: app.config.databaseUrl });
    await ds.initialize();
    try {
      const other = new AuthThrottle(new AuthFailureRepository(new Db(ds)), systemClock, silentLogger, { maxFailures: 5, windowMs: 600_000 });
      for (let i = 0; i < 3; i++) expect((await call(`wo_other_${i}`, '192.0.2.9')).status).toBe(401);
      expect(await other.failed('192.0.2.9')).toBeNull();
      expect(await other.failed('192.0.2.9')).toBeNull();
      expect((await call('wo_other_x', '192.0.2.9')).status).toBe(429);
    } finally {
      await ds.destroy();
    }
  });
});

/**
 * With the default TRUST_PROXY=0 nothing in X-Forwarded-For counts. A client that writes a
 * new address into it on every request is still one client (its socket's address): it neither dodges the throttle
 * nor adds a throttle row per request.
 */
describe.each(testEngines())('failed API authentications with no trusted proxy (TRUST_PROXY=0, the default) on %s', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(engine, { overrides: { auth: { maxFailures: 5, windowMs: 600_000 } } });
  });
  afterAll(() => app?.close());

  it('a forged X-Forwarded-For per request does not dodge the throttle, and adds no row per forged address', async () => {
    expect(app.config.trustProxy).toBe(0);
    const forged = (i: number) => ({ authorization: `Bearer wo_forged_${i}`, 'x-forwarded-for': `198.51.100.${i + 1}` });
    for (let i = 0; i < 5; i++) expect((await fetch(`${app.url}/api/v1/events`, { headers: forged(i) })).status).toBe(401);
    const refused = await fetch(`${app.url}/api/v1/events`, { headers: forged(5) });
    expect(refused.status).toBe(429);
    // Counted against the socket's address only: one subject, whatever the header said.
    const rows = await app.container.db.query<{ subject: string }>('SELECT DISTINCT subject FROM auth_failures');
    expect(rows).toHaveLength(1);
    expect(rows[0].subject).toContain('127.0.0.1');
  });
});
