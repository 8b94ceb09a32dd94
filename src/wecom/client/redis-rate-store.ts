import { Redis } from 'ioredis';
import type { LeaseResult, RateLeaseStore, RateWindow } from './shared-rate-gate.js';

/**
 * KEYS: the windows' counters, then the API's block. ARGV: want, then each window's limit, then each counter's TTL (ms).
 * Grants min(want, what every window has left) to all windows at once and returns { granted, blocked_until }. A Lua
 * script runs atomically in Redis, so concurrent leases from any number of instances never oversell a window.
 */
const LEASE = `
local n = #KEYS - 1
local grant = tonumber(ARGV[1])
for i = 1, n do
  local left = tonumber(ARGV[1 + i]) - tonumber(redis.call('GET', KEYS[i]) or '0')
  if left < grant then grant = left end
end
if grant < 0 then grant = 0 end
if grant > 0 then
  for i = 1, n do
    redis.call('INCRBY', KEYS[i], grant)
    redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[1 + n + i]))
  end
end
return { grant, redis.call('GET', KEYS[n + 1]) or '0' }
`;

/** KEYS: the block. ARGV: until, TTL (ms). A later block wins; an earlier one changes nothing. */
const BLOCK = `
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
end
return 1
`;

/** Counters outlive their window by this much, then Redis drops them itself. */
const KEEP_MS = 60_000;

/**
 * The shared WeCom rate-limit counters in Redis, used instead of the database when REDIS_URL is set
 * (docs/rate-limits.md §Redis). Keys are named by corp and API, so every app of the corp that shares this Redis
 * also shares the budget, as WeCom counts it; the `{…}` hash tag keeps one API's keys in one cluster slot.
 */
export class RedisRateLeaseStore implements RateLeaseStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    // One retry per command: a lease that fails is retried by the gate (calls wait meanwhile), not queued here forever.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
    // Connection errors surface as failed leases (logged by the client); without a listener ioredis would print them.
    this.redis.on('error', () => undefined);
  }

  private key(api: string, rest: string): string {
    return `${this.prefix}:{${api}}:${rest}`;
  }

  async lease(api: string, windows: readonly RateWindow[], want: number, now: number): Promise<LeaseResult> {
    const keys = [...windows.map((w) => this.key(api, `${w.spanMs}:${w.start}`)), this.key(api, 'block')];
    const args = [want, ...windows.map((w) => w.limit), ...windows.map((w) => Math.max(1, w.start + w.spanMs - now + KEEP_MS))];
    const [granted, blocked] = (await this.redis.eval(LEASE, keys.length, ...keys, ...args)) as [number, string];
    return { granted: Number(granted), blockedUntil: Number(blocked) };
  }

  async block(api: string, until: number, now: number): Promise<void> {
    await this.redis.eval(BLOCK, 1, this.key(api, 'block'), until, Math.max(1, until - now + KEEP_MS));
  }

  async blockedUntil(api: string): Promise<number> {
    return Number((await this.redis.get(this.key(api, 'block'))) ?? 0);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
