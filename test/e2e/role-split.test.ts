import { describe, expect, it, vi } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { contactEventXml, postCallback } from '../helpers/callbacks.js';
import { waitFor } from '../helpers/app.js';
import { serveProcess, useServeFixture, type ServeProcess } from '../helpers/serve-process.js';
import { json } from '../helpers/json-fetch.js';

// Real processes (tsx start-up, migrations) take seconds each; on a loaded 2-core machine 30 s is too tight.
vi.setConfig({ testTimeout: 120_000 });

const ADMIN = 'role-split-admin-token-0123456789';

type Serve = ServeProcess;
const serve = (role: 'ingress' | 'worker', env: Record<string, string>): Promise<Serve> => serveProcess(['--role', role], env);

describe.each(testEngines())('serve --role ingress + --role worker as separate processes on %s', (engine) => {
  const fx = useServeFixture(engine);
  const procs = fx.procs;
  const statuses = fx.statuses;

  it('handles a surge exactly once in effect when the worker is SIGKILLed mid-surge and replaced', async () => {
    const sandbox = fx.sandbox;
    const env = {
      ...fx.env(ADMIN),
      // A killed worker's leases must lapse well inside a welcome_code's 20 s (docs/inbox.md §Roles).
      INBOX_LEASE_MS: '3000',
    };
    // Both start at once on a fresh database: one runs the migrations, the other waits for them.
    const [ingress, worker1] = await Promise.all([serve('ingress', env), serve('worker', env)]);
    procs.push(ingress, worker1);

    // The worker's port has its health and metrics, and nothing else.
    expect((await fetch(`${worker1.url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${worker1.url}/metrics`)).text()).toContain('wecom_inbox_backlog{lane="urgent"}');
    expect((await fetch(`${worker1.url}/api/v1/channels`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(404);
    expect((await postCallback(worker1.url, contactEventXml('edit_external_contact'))).status).toBe(404);

    await json(`${sandbox.url}/_control/config`, { body: { callbackUrl: `${ingress.url}/wecom/callback` } });
    const channel = await json<{ state: string }>(`${ingress.url}/api/v1/channels`, {
      token: ADMIN,
      body: { name: '直播涌入', staff: ['zhangsan'], welcome: { text: '{{name}}您好，欢迎来到直播间！' } },
    });
    // WeCom answers every call 30 ms late, so the kill lands while handlers are in flight.
    await json(`${sandbox.url}/_control/faults`, { body: { latencyMs: 30 } });

    // The surge: customer adds (each sent by WeCom as a signed callback, with a welcome_code) and, for each, an edit
    // callback signed here, both to the ingress process. The worker is killed a third of the way in and replaced.
    const batches = 18;
    const perBatch = 8;
    const adds: { externalUserId: string; welcomeCode: string }[] = [];
    const acks: number[] = [];
    let worker2: Promise<Serve> | null = null;
    let backlogged: any = null;
    for (let b = 0; b < batches; b++) {
      const batch = await Promise.all(
        Array.from({ length: perBatch }, async (_, j) => {
          const a = await json<{ externalUserId: string; welcomeCode: string; callback: { lastHttpStatus: number } }>(`${sandbox.url}/_control/customers/add`, {
            body: { userid: 'zhangsan', state: channel.state, name: `观众${b}-${j}` },
          });
          acks.push(a.callback.lastHttpStatus);
          acks.push((await postCallback(ingress.url, contactEventXml('edit_external_contact', { externalUserId: a.externalUserId }))).status);
          return a;
        }),
      );
      adds.push(...batch);
      if (b === 5) {
        await worker1.kill('SIGKILL');
        worker2 = serve('worker', env);
      }
      if (b === 8) {
        // No worker yet (or one just starting): the backlog shows, and the ingress stays ready.
        const res = await fetch(`${ingress.url}/readyz`);
        expect(res.status).toBe(200);
        backlogged = ((await res.json()) as { inbox: unknown }).inbox;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    const replacement = await worker2!;
    procs.push(replacement);
    expect(acks.filter((s) => s !== 200)).toEqual([]);
    expect(backlogged.urgent.count + backlogged.ordinary.count + backlogged.waiting).toBeGreaterThan(0);

    const total = 2 * adds.length;
    await waitFor(async () => (await statuses()).done === total, 40_000, `all ${total} events done (${JSON.stringify(await statuses())})`);
    expect(await statuses()).toEqual({ done: total });

    // Exactly once in effect: WeCom accepted one welcome per add, never two (a re-run after the kill finds the code
    // used and does not count).
    const calls = await json<{ items: { errcode: number; params: Record<string, unknown> }[] }>(`${sandbox.url}/_control/calls?api=externalcontact/send_welcome_msg`);
    const sent = new Map<string, number>();
    for (const c of calls.items) if (c.errcode === 0) sent.set(String(c.params.welcome_code), (sent.get(String(c.params.welcome_code)) ?? 0) + 1);
    expect(adds.filter((a) => sent.get(a.welcomeCode) !== 1).map((a) => [a.externalUserId, sent.get(a.welcomeCode) ?? 0])).toEqual([]);
    expect(sent.size).toBe(adds.length);
    const retried: { n: number | string }[] = await fx.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM inbox_events WHERE attempts > 1');
    // What the kill interrupted (events claimed twice, welcomes refused as already used), for the log.
    console.info(`[role-split ${engine}] ${total} events; claimed again after the kill: ${Number(retried[0].n)}; welcome calls refused: ${calls.items.filter((c) => c.errcode !== 0).length}; backlog seen: ${JSON.stringify(backlogged)}`);

    // The timeline holds each handled event once, and never two welcomes for one customer.
    const perEvent = await fx.query<{ source_id: string; n: number | string }>(
      "SELECT source_id, COUNT(*) AS n FROM timeline_entries WHERE source = 'inbox' GROUP BY source_id HAVING COUNT(*) > 1",
    );
    expect(perEvent).toEqual([]);
    const welcomes = await fx.query<{ external_user_id: string; n: number | string }>(
      "SELECT external_user_id, COUNT(*) AS n FROM timeline_entries WHERE source = 'welcome' GROUP BY external_user_id HAVING COUNT(*) > 1",
    );
    expect(welcomes).toEqual([]);

    // The handlers ran in the workers, never in the ingress process.
    const processedSample = /^inbox_events_processed_total\{/m;
    expect(await (await fetch(`${ingress.url}/metrics`)).text()).not.toMatch(processedSample);
    expect(await (await fetch(`${replacement.url}/metrics`)).text()).toMatch(processedSample);

    // Drained: the ingress and the worker report the same empty queue.
    for (const p of [ingress, replacement]) {
      const ready = (await json<{ inbox: { urgent: { count: number }; waiting: number; drainSecondsEstimate: number } }>(`${p.url}/readyz`)).inbox;
      expect(ready.urgent.count + ready.waiting).toBe(0);
      expect(ready.drainSecondsEstimate).toBe(0);
    }
  });
});
