import { describe, expect, it, vi } from 'vitest';
import { once } from 'node:events';
import { testEngines } from '../helpers/databases.js';
import { contactEventXml, postCallback } from '../helpers/callbacks.js';
import { TEST_DATA_KEY, waitFor } from '../helpers/app.js';
import { serveProcess, useServeFixture } from '../helpers/serve-process.js';
import { json } from '../helpers/json-fetch.js';

// A real process (tsx start-up, migrations, a second thread that loads the same sources) takes seconds.
vi.setConfig({ testTimeout: 120_000 });

const ADMIN = 'handler-thread-admin-token-0123456789';

/**
 * `serve` with role all and HANDLER_THREAD=auto against a database file or MySQL and WeCom elsewhere: its handlers
 * run in a worker thread of the process (docs/inbox.md §Handler thread). What a user sees must be what one thread gave: every add welcomed
 * once, every event done, the metrics of the handlers on the process's /metrics, and a clean stop.
 */
describe.each(testEngines())('serve (role all) with its handlers in a thread on %s', (engine) => {
  const fx = useServeFixture(engine);
  const env = () => ({ ...fx.env(ADMIN), HANDLER_THREAD: 'auto', LOG_LEVEL: 'info' });
  const statuses = fx.statuses;

  it('handles adds and edits in the thread, reports its metrics and readiness, and stops cleanly on SIGTERM', async () => {
    const sandbox = fx.sandbox;
    const bot = await serveProcess([], env());
    fx.procs.push(bot);
    // The start-up line says where the handlers run.
    expect(bot.output()).toMatch(/"handlerThread":true/);
    // /healthz answers once the port listens; /readyz says when the thread's services run.
    await waitFor(async () => (await json<{ checks: Record<string, string> }>(`${bot.url}/readyz`)).checks.handlerThread === 'ok', 30_000, 'handler thread ok');
    expect((await json<{ status: string }>(`${bot.url}/readyz`)).status).toBe('ready');

    await json(`${sandbox.url}/_control/config`, { body: { callbackUrl: `${bot.url}/wecom/callback` } });
    const channel = await json<{ state: string }>(`${bot.url}/api/v1/channels`, {
      token: ADMIN,
      body: { name: '线程渠道', staff: ['zhangsan'], welcome: { text: '{{name}}您好，欢迎！' } },
    });
    await json(`${sandbox.url}/_control/faults`, { body: { latencyMs: 20 } });
    const adds: { externalUserId: string; welcomeCode: string }[] = [];
    const acks: number[] = [];
    for (let b = 0; b < 6; b++) {
      const batch = await Promise.all(
        Array.from({ length: 8 }, async (_, j) => {
          const a = await json<{ externalUserId: string; welcomeCode: string; callback: { lastHttpStatus: number } }>(`${sandbox.url}/_control/customers/add`, {
            body: { userid: 'zhangsan', state: channel.state, name: `线程${b}-${j}` },
          });
          acks.push(a.callback.lastHttpStatus);
          acks.push((await postCallback(bot.url, contactEventXml('edit_external_contact', { externalUserId: a.externalUserId }))).status);
          return a;
        }),
      );
      adds.push(...batch);
    }
    expect(acks.filter((s) => s !== 200)).toEqual([]);
    const total = 2 * adds.length;
    await waitFor(async () => (await statuses()).done === total, 40_000, `all ${total} events done (${JSON.stringify(await statuses())})`);
    expect(await statuses()).toEqual({ done: total });

    // One accepted welcome per add, and each customer in the archive with its channel.
    const calls = await json<{ items: { errcode: number; params: Record<string, unknown> }[] }>(`${sandbox.url}/_control/calls?api=externalcontact/send_welcome_msg`);
    const accepted = calls.items.filter((c) => c.errcode === 0).map((c) => String(c.params.welcome_code));
    expect(accepted.sort()).toEqual(adds.map((a) => a.welcomeCode).sort());
    const customer = await json<{ externalUserId: string }>(`${bot.url}/api/v1/customers/${adds[0].externalUserId}`, { token: ADMIN });
    expect(customer.externalUserId).toBe(adds[0].externalUserId);

    // The handlers' counters come from the thread; the process's own figures are there once, not once per thread.
    const metrics = await (await fetch(`${bot.url}/metrics`)).text();
    const processed = [...metrics.matchAll(/^inbox_events_processed_total\{[^}]*outcome="done"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(processed).toBe(total);
    expect(metrics.match(/^process_resident_memory_bytes /gm)?.length ?? 0).toBeLessThanOrEqual(1);

    // SIGTERM: the thread's services stop, the database closes, the process exits 0 and leaves nothing running.
    const exited = once(bot.proc, 'exit');
    bot.proc.kill('SIGTERM');
    const [code] = (await Promise.race([exited, new Promise((_, rej) => setTimeout(() => rej(new Error(`no exit after SIGTERM: ${bot.output()}`)), 30_000))])) as [number];
    expect(code).toBe(0);
    expect(await statuses()).toEqual({ done: total });
  });

  it('keeps the handlers on the main thread by default', async () => {
    const bot = await serveProcess([], { ...fx.env(ADMIN), LOG_LEVEL: 'info' });
    fx.procs.push(bot);
    expect(bot.output()).toMatch(/"handlerThread":false/);
    const ready = await json<{ checks: Record<string, string> }>(`${bot.url}/readyz`);
    expect(ready.checks.handlerThread).toBeUndefined();
  });

  it('refuses HANDLER_THREAD=on with the built-in sandbox, which lives in one thread', async () => {
    const err = await serveProcess([], { DATABASE_URL: fx.db.url, DATA_KEY: TEST_DATA_KEY, HANDLER_THREAD: 'on', SANDBOX: 'true' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/HANDLER_THREAD=on/);
  });
});
