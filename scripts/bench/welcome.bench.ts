import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/databases.js';
import { spawnServer, type ChildServer } from '../../test/helpers/child-server.js';
import type { DbEngine } from '../../src/persistence/data-source.js';
import { sealCallback } from '../../src/wecom/crypto.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';
import { TEST_SANDBOX_KEYS } from '../../test/helpers/callbacks.js';
import { json } from '../../test/helpers/json-fetch.js';
import { botEnv } from './bot-env.js';

const ADMIN = `bench-admin-${randomBytes(8).toString('hex')}`;


async function until<T>(fn: () => Promise<T | null>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One burst: `n` customers add staff through the channel at once; ms from each add to its welcome at WeCom. */
async function burst(sandboxUrl: string, way: { userid: string; state: string }, n: number, tag: string): Promise<number[]> {
  const adds = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const t0 = Date.now();
      const r = await json<{ welcomeCode: string; callback: { status: string } }>(`${sandboxUrl}/_control/customers/add`, { body: { ...way, name: `${tag}${i}` } });
      if (r.callback.status !== 'delivered') throw new Error(`callback not delivered: ${JSON.stringify(r.callback)}`);
      return { t0, code: r.welcomeCode };
    }),
  );
  const at = await until(async () => {
    const { items } = await json<{ items: { at: number; errcode: number; params: Record<string, unknown> }[] }>(`${sandboxUrl}/_control/calls?api=externalcontact/send_welcome_msg`);
    const seen = new Map(items.filter((c) => c.errcode === 0).map((c) => [String(c.params.welcome_code), c.at]));
    return adds.every((a) => seen.has(a.code)) ? seen : null;
  }, 20_000, 'every welcome');
  return adds.map((a) => at.get(a.code)! - a.t0).sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)];

/** An edit event for a customer WeCom does not know: its handler reads the customer back, so it costs a WeCom call. */
function ordinaryEvent(ext: string): { path: string; body: string } {
  const xml =
    `<xml><ToUserName><![CDATA[${SANDBOX_CORP.corpId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
    `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event>` +
    `<ChangeType><![CDATA[edit_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[${ext}]]></ExternalUserID></xml>`;
  const s = sealCallback({ token: TEST_SANDBOX_KEYS.token, encodingAesKey: TEST_SANDBOX_KEYS.encodingAesKey, receiveId: SANDBOX_CORP.corpId }, xml);
  return { path: `/wecom/callback?${new URLSearchParams(s.query)}`, body: s.body };
}

/**
 * `npm run bench -- welcome`: the welcome's latency target (docs/reliability.md §Figures to report), measured like
 * production: the sandbox (playing WeCom) and the bot run as separate processes, so WeCom's own work is not billed to
 * the bot. `BENCH_WELCOME_BURST` customers (default 50) add staff through one channel code at once; for each, the time
 * from the add to WeCom receiving its send_welcome_msg (callback → inbox → worker → externalcontact/get → welcome).
 * Repeated `BENCH_WELCOME_ROUNDS` times (default 5) after a warm-up, on SQLite and on MySQL. Target: p99 < 1 s.
 */
export async function runWelcomeBench(): Promise<Record<string, unknown>[]> {
  const n = Number(process.env.BENCH_WELCOME_BURST ?? 50);
  const rounds = Number(process.env.BENCH_WELCOME_ROUNDS ?? 5);
  const engines = (process.env.BENCH_ENGINES?.split(',') ?? ['sqlite', 'mysql']) as DbEngine[];
  const rows: Record<string, unknown>[] = [];
  for (const engine of engines) {
    let sandbox: ChildServer | undefined;
    let bot: ChildServer | undefined;
    let db: TestDatabase | undefined;
    try {
      sandbox = await spawnServer('scripts/bench/sandbox-server.ts', { LOG_LEVEL: 'silent' });
      db = await createTestDatabase(engine, { mysqlUrl: process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test', prefix: 'wecom_ops_bench' });
      bot = await spawnServer('scripts/bench/ingress-server.ts', botEnv(db.url, sandbox.url, ADMIN));
      await json(`${sandbox.url}/_control/config`, { body: { callbackUrl: `${bot.url}/wecom/callback` } });
      const userid = 'zhangsan'; // a member of the seeded demo corp
      const channel = await json<{ id: string; state: string }>(`${bot.url}/api/v1/channels`, {
        token: ADMIN,
        body: { name: '压测渠道', staff: [userid], tags: ['压测'], welcome: { text: '{{name}}您好，我是{{staff}}，欢迎关注！' } },
      });
      const way = { userid, state: channel.state };
      await burst(sandbox.url, way, 20, 'warm'); // JIT, pools, tokens
      const all: number[] = [];
      const roundP99: number[] = [];
      for (let r = 0; r < rounds; r++) {
        await json(`${sandbox.url}/_control/calls`, { method: 'DELETE' });
        const l = await burst(sandbox.url, way, n, `r${r}-`);
        roundP99.push(pct(l, 0.99));
        all.push(...l);
        await new Promise((res) => setTimeout(res, 1000));
      }
      all.sort((a, b) => a - b);
      rows.push({ engine, burst: n, rounds, p50Ms: pct(all, 0.5), p99Ms: pct(all, 0.99), maxMs: all[all.length - 1], roundP99Ms: roundP99.join('/'), targetP99Ms: 1000 });

      // Behind a backlog (docs/reliability.md §Figures to report: welcome latency behind 1,000 queued events must stay
      // < 20 s): ordinary events are stored first, then the burst arrives; the inbox's priority lane should let the
      // adds jump the queue.
      const backlog = Number(process.env.BENCH_WELCOME_BACKLOG ?? 1000);
      if (backlog > 0) {
        const events = Array.from({ length: backlog }, (_, i) => ordinaryEvent(`wmBacklog${i}`));
        for (let i = 0; i < events.length; i += 50) {
          await Promise.all(events.slice(i, i + 50).map((e) => fetch(`${bot!.url}${e.path}`, { method: 'POST', body: e.body }).then((r) => r.text())));
        }
        await json(`${sandbox.url}/_control/calls`, { method: 'DELETE' });
        const behind = await burst(sandbox.url, way, n, 'backlog-');
        rows.push({ engine, burst: n, rounds: 1, backlog, p50Ms: pct(behind, 0.5), p99Ms: pct(behind, 0.99), maxMs: behind[behind.length - 1], targetP99Ms: 20_000 });
      }
    } finally {
      await bot?.kill('SIGTERM').catch(() => undefined);
      await sandbox?.kill('SIGTERM').catch(() => undefined);
      await db?.drop().catch(() => undefined);
    }
  }
  return rows;
}
