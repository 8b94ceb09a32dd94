/**
 * WeCom client benchmark: drives calls through WecomClient against the local WeCom stub over loopback.
 *
 * Phase "limited": N calls at a configured limit; reports calls/s and the most calls the *server* saw
 * in any window, next to the limit (the limiter must never exceed it, docs/wecom-protocol.md §API rate limits).
 * Phase "open": the same client with limits far above the load, to show the client's own overhead.
 *
 * The window is shortened from 60 s (BENCH_CLIENT_WINDOW_MS) so a run takes seconds; the bucket
 * arithmetic does not depend on the window length.
 */
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../../src/shared/logger.js';
import { WecomClient } from '../../src/wecom/client/wecom.client.js';
import { WecomStub, maxInWindow } from '../../test/helpers/wecom-stub.js';

const API = 'externalcontact/get_follow_user_list';

/** Run both phases and return one row of figures. */
export async function runClientBench(): Promise<Record<string, number | string>> {
  const calls = Number(process.env.BENCH_CLIENT_CALLS ?? 600);
  const perWindow = Number(process.env.BENCH_CLIENT_LIMIT ?? 200);
  const windowMs = Number(process.env.BENCH_CLIENT_WINDOW_MS ?? 1000);
  const concurrency = Number(process.env.BENCH_CLIENT_CONCURRENCY ?? 10);
  const openCalls = Number(process.env.BENCH_CLIENT_OPEN_CALLS ?? 3000);

  const stub = await WecomStub.start();
  stub.on(API, () => ({ follow_user: ['zhangsan', 'lisi'] }));
  try {
    const limited = new WecomClient({
      apiBase: stub.baseUrl,
      corpId: stub.corpId,
      secret: 'app-secret',
      logger: silentLogger,
      rateWindowMs: windowMs,
      limits: { [API]: { perMinute: perWindow, concurrency } },
    });
    await limited.getFollowUserList(); // token fetched outside the measurement
    const limitedStart = stub.callsTo(API).length;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: calls }, () => limited.getFollowUserList()));
    const limitedMs = performance.now() - t0;
    limited.close();
    const arrivals = stub.callsTo(API).slice(limitedStart).map((c) => c.at);
    const maxSeen = maxInWindow(arrivals, windowMs);

    const open = new WecomClient({
      apiBase: stub.baseUrl,
      corpId: stub.corpId,
      secret: 'app-secret',
      logger: silentLogger,
      limits: { [API]: { perMinute: 10_000_000, concurrency }, gettoken: { perMinute: 10, concurrency: 1 } },
    });
    await open.getFollowUserList();
    const t1 = performance.now();
    await Promise.all(Array.from({ length: openCalls }, () => open.getFollowUserList()));
    const openMs = performance.now() - t1;
    open.close();

    return {
      limited_calls: calls,
      limited_limit_per_window: perWindow,
      limited_window_ms: windowMs,
      limited_concurrency: concurrency,
      limited_elapsed_ms: Math.round(limitedMs),
      limited_calls_per_s: round(calls / (limitedMs / 1000)),
      limited_limit_calls_per_s: round(perWindow / (windowMs / 1000)),
      limited_max_seen_in_window: maxSeen,
      limited_within_limit: maxSeen <= perWindow ? 'yes' : 'no',
      open_calls: openCalls,
      open_elapsed_ms: Math.round(openMs),
      open_calls_per_s: round(openCalls / (openMs / 1000)),
      gettoken_calls: stub.callsTo('gettoken').length,
    };
  } finally {
    await stub.stop();
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${JSON.stringify(await runClientBench())}\n`);
}
