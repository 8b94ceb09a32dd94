/**
 * One app instance calling one WeCom API as hard as its limits let it, for the shared-limit test
 * (test/e2e/rate-limits-shared.test.ts): the production container (config, database pool, migrations) and a
 * WecomClient counted in that database (or in Redis with REDIS_URL), as src/container.ts builds it, but with a short
 * window so the test is quick.
 *
 * Prints `READY -` once built, waits for `GO <epoch ms> <duration ms>` on stdin, calls RATE_API with RATE_WORKERS
 * callers until the time is up, and prints `RESULT {"ok":…,"failed":…,"errcodes":{…}}`.
 */
import { createInterface } from 'node:readline';
import { loadConfig } from '../../src/config/load.js';
import { buildContainer } from '../../src/container.js';
import { WecomRateRepository } from '../../src/persistence/repositories/wecom-rate.repository.js';
import { WecomApiError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/logger.js';
import { WecomClient } from '../../src/wecom/client/wecom.client.js';
import { RedisRateLeaseStore } from '../../src/wecom/client/redis-rate-store.js';

const windowMs = Number(process.env.RATE_WINDOW_MS);
const limit = Number(process.env.RATE_LIMIT);
const workers = Number(process.env.RATE_WORKERS ?? 8);

const config = loadConfig();
const c = await buildContainer(config, silentLogger);
const redis = config.redisUrl ? new RedisRateLeaseStore(config.redisUrl, process.env.RATE_REDIS_PREFIX!) : null;
const client = new WecomClient({
  apiBase: config.wecom.apiBase,
  corpId: config.wecomCorpId,
  secret: config.wecom.secret!,
  logger: silentLogger,
  rateStore: redis ?? new WecomRateRepository(c.db),
  rateWindowMs: windowMs,
  rateGuardMs: Number(process.env.RATE_GUARD_MS ?? 20),
  blockMs45009: windowMs,
  retry: { maxAttempts: 1 },
  limits: { 'externalcontact/get_follow_user_list': { perMinute: limit, concurrency: workers } },
});
// The token first, outside the measured windows.
await client.getJsapiTicket().catch(() => undefined);
process.stdout.write('READY -\n');

const line = await new Promise<string>((resolve) => createInterface({ input: process.stdin }).once('line', resolve));
const [, startAt, durationMs] = line.split(' ').map(Number);
await new Promise((r) => setTimeout(r, Math.max(0, startAt - Date.now())));
const until = startAt + durationMs;
let ok = 0;
let failed = 0;
const errcodes: Record<string, number> = {};
await Promise.all(
  Array.from({ length: workers }, async () => {
    while (Date.now() < until) {
      try {
        await client.getFollowUserList();
        ok++;
      } catch (err) {
        failed++;
        const key = err instanceof WecomApiError ? String(err.errcode) : 'transport';
        errcodes[key] = (errcodes[key] ?? 0) + 1;
      }
    }
  }),
);
process.stdout.write(`RESULT ${JSON.stringify({ ok, failed, errcodes })}\n`);
client.close();
await redis?.close();
await c.close();
process.exit(0);
