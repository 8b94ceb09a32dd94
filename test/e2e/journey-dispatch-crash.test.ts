import { describe, expect, it, vi } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { testEngines } from '../helpers/databases.js';
import { serveProcess, useServeFixture } from '../helpers/serve-process.js';
import { TEST_ADMIN_TOKEN, api } from '../helpers/app.js';
import { insertArchiveCustomers, insertMemberships, putSandboxCustomers } from '../helpers/journey-corp.js';
import { createDataSource } from '../../src/persistence/data-source.js';
import { addDays, localDate } from '../../src/shared/dates.js';

// Real processes over 10,000 members: planning and dispatch take seconds each, more on a loaded 2-core machine.
vi.setConfig({ testTimeout: 300_000 });

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
/** The number; JOURNEY_CRASH_CUSTOMERS shrinks it for a quick local loop. */
const N = Number(process.env.JOURNEY_CRASH_CUSTOMERS ?? 10_000);
const STAFF = ['zhangsan', 'lisi', 'wangwu', 'zhaoliu', 'sunqi'] as const;
const WELCOME = '欢迎加入会员旅程，有问题随时找我';
const GUIDE = '这是会员使用指南，请查收';

/**
 * 客户旅程 once per step on real processes (docs/journeys.md §Once per step): 10,000 customers in a two-step journey
 * (two mass-send messages, the second the next day at 10:00: the ledger's daily cap would skip a second one the same day). `wecom-ops job run journeys` is SIGKILLed the instant
 * WeCom (the sandbox) accepted its second mass task, before the ledger recorded it; the next run, ten minutes later,
 * finishes the dispatch. For step 2 an instance is SIGKILLed between planning its first page's messages and recording
 * their step runs, then two instances run the tick at once; a run after the claims went stale takes the dead
 * instance's over. Counted at the end: one step
 * run and one ledger row per member and step, and in WeCom's recorded mass tasks every customer once per message.
 */
describe.each(testEngines())('journey steps once per customer, dispatch included, under SIGKILL and two instances on %s', (engine) => {
  const f = useServeFixture(engine);
  const env = () => ({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...f.env(TEST_ADMIN_TOKEN) });
  const jobRun = (at: Date, job = 'journeys') => run(process.execPath, [resolve(root, 'bin/wecom-ops.js'), 'job', 'run', job, '--at', at.toISOString()], { cwd: root, env: env(), maxBuffer: 1 << 24 });
  /**
   * A restart as the server's scheduler would run it: the journeys' tick, then `delivery-results`, which submits the
   * ledger rows still due and reconciles batches a crash left `submitting` (docs/reliability.md §Sending without an idempotency key).
   */
  const restart = async (at: Date) => {
    await jobRun(at);
    await jobRun(at, 'delivery-results');
  };
  /** `job run journeys` that SIGKILLs itself after WeCom accepted its n-th add_msg_template. */
  const crashingRun = (at: Date, afterCalls: number): ChildProcess =>
    spawn(process.execPath, ['--import', 'tsx', resolve(root, 'test/helpers/crash-after-submit.ts'), 'journeys', '--at', at.toISOString()], {
      cwd: root,
      env: { ...env(), CRASH_AFTER_CALLS: String(afterCalls) },
      stdio: 'ignore',
    });
  /**
   * Every (customer, text) in the mass tasks WeCom (the sandbox) holds, with how many times. Calls WeCom refused (a
   * token another process's refresh replaced answers 42001 and is retried once) made no task, so they are not sends.
   */
  const sends = () => {
    const n = new Map<string, number>();
    for (const t of f.sandbox.sandbox.store.massTasks.values()) {
      const text = (t.text as { content: string }).content;
      for (const r of t.recipients) n.set(`${r.externalUserId}|${text}`, (n.get(`${r.externalUserId}|${text}`) ?? 0) + 1);
    }
    return n;
  };
  const counted = async (sql: string) => Number((await f.query<{ n: number | string }>(sql))[0].n);

  it('10,000 members: every step once per customer after a SIGKILL in dispatch, a SIGKILL between plan and record, and two instances', async () => {
    const t0 = Date.now();
    const serve = await serveProcess([], f.env(TEST_ADMIN_TOKEN));
    f.procs.push(serve);
    // A day well ahead, so the server's own every-minute tick (real time) finds nothing due.
    const day = addDays(localDate(new Date(), 'Asia/Shanghai'), 12);
    const at = (hhmm: string, later = 0) => new Date(`${addDays(day, later)}T${hhmm}:00+08:00`);

    const created = await api(serve, 'POST', '/api/v1/journeys', {
      name: '万人旅程',
      definition: {
        trigger: { kind: 'manual' },
        steps: [
          { kind: 'message', title: '欢迎', delay: { kind: 'after', minutes: 0 }, text: WELCOME },
          { kind: 'message', title: '指南', delay: { kind: 'at', days: 1, time: '10:00' }, text: GUIDE },
        ],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const journeyId: string = created.body.id;
    expect((await api(serve, 'POST', `/api/v1/journeys/${journeyId}/status`, { status: 'active' })).status).toBe(200);

    // The customers on both sides and their memberships, due at 09:59 (bulk rows: the tick is what is tested).
    putSandboxCustomers(f.sandbox.sandbox.store, N, STAFF, Math.floor(at('09:00').getTime() / 1000));
    const ds = createDataSource({ databaseUrl: f.db.url });
    await ds.initialize();
    try {
      const q = (sql: string, params?: unknown[]) => ds.query(sql, params);
      await insertArchiveCustomers(q, N, STAFF, at('09:00').getTime() - 86_400_000);
      await insertMemberships(q, { journeyId, from: 0, to: N, staff: STAFF, enteredAtMs: at('09:55').getTime(), dueAtMs: at('09:59').getTime() });
    } finally {
      await ds.destroy();
    }
    const seeded = Date.now();

    // Step 1: SIGKILL right after WeCom accepted the second owner's task, before the ledger recorded its msgid.
    f.sandbox.sandbox.setClock(at('10:00'));
    const crash = crashingRun(at('10:00'), 2);
    const [code, signal] = await once(crash, 'exit');
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(f.sandbox.sandbox.store.massTasks.size).toBe(2);
    // The tick plans every page before it dispatches: every member's step 1 is recorded, none left claimed.
    expect(await counted(`SELECT COUNT(*) AS n FROM journey_step_runs WHERE journey_id = '${journeyId}' AND step_index = 0 AND status = 'waiting'`)).toBe(N);

    // The restart, ten minutes on: the submitting batch is found in WeCom, the rest is submitted once.
    f.sandbox.sandbox.setClock(at('10:10'));
    await restart(at('10:10'));
    let s = sends();
    expect([...s.entries()].filter(([k]) => k.endsWith(`|${WELCOME}`)).length).toBe(N);
    expect([...s.values()].every((n) => n === 1)).toBe(true);
    const afterStep1 = Date.now();

    // Step 2, due the next day at 10:00. One instance is SIGKILLed right after planning its first page's messages,
    // before it recorded those steps' runs; then two instances tick at once (a catch-up overlapping the next minute).
    f.sandbox.sandbox.setClock(at('10:01', 1));
    const a = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'test/helpers/crash-in-journey-step.ts'), 'journeys', '--at', at('10:01', 1).toISOString()], {
      cwd: root,
      env: { ...env(), CRASH_AFTER_PLANS: '1' },
      stdio: 'ignore',
    });
    expect(await once(a, 'exit')).toEqual([null, 'SIGKILL']);
    const leftClaimed = await counted(`SELECT COUNT(*) AS n FROM journey_step_runs WHERE journey_id = '${journeyId}' AND step_index = 1 AND status = 'claimed'`);
    expect(leftClaimed).toBeGreaterThan(0);
    await Promise.all([jobRun(at('10:02', 1)), jobRun(at('10:03', 1))]);
    const instances = await counted(`SELECT COUNT(DISTINCT claimed_by) AS n FROM journey_step_runs WHERE journey_id = '${journeyId}' AND step_index = 1`);
    // The dead instance's claims wait 5 minutes (docs/journeys.md §Once per step); the run at 10:15 takes them over.
    f.sandbox.sandbox.setClock(at('10:15', 1));
    await restart(at('10:15', 1));

    // Counted: one run and one ledger row per member and step, every member completed, WeCom asked once each.
    const runs = await f.query<{ step_index: number | string; status: string; n: number | string }>(
      `SELECT step_index, status, COUNT(*) AS n FROM journey_step_runs WHERE journey_id = '${journeyId}' GROUP BY step_index, status`,
    );
    expect(runs.map((r) => [Number(r.step_index), r.status, Number(r.n)]).sort()).toEqual([
      [0, 'waiting', N],
      [1, 'waiting', N],
    ]);
    expect(await counted(`SELECT COUNT(DISTINCT membership_id) AS n FROM journey_step_runs WHERE journey_id = '${journeyId}'`)).toBe(N);
    const ledger = await f.query<{ status: string; n: number | string }>(`SELECT status, COUNT(*) AS n FROM deliveries WHERE source = 'journey:${journeyId}' GROUP BY status`);
    expect(Object.fromEntries(ledger.map((r) => [r.status, Number(r.n)]))).toEqual({ submitted: 2 * N });
    expect(await counted(`SELECT COUNT(DISTINCT occasion) AS n FROM deliveries WHERE source = 'journey:${journeyId}'`)).toBe(2 * N);
    expect(await counted(`SELECT COUNT(*) AS n FROM journey_memberships WHERE journey_id = '${journeyId}' AND status = 'completed' AND current_step = 2`)).toBe(N);
    s = sends();
    expect(s.size).toBe(2 * N);
    expect([...s.entries()].filter(([k]) => k.endsWith(`|${GUIDE}`)).length).toBe(N);
    expect([...s.values()].every((n) => n === 1)).toBe(true);
    // The dead instance's page was taken over, once each.
    const takenOver = await counted(`SELECT COUNT(*) AS n FROM journey_step_runs WHERE journey_id = '${journeyId}' AND attempts > 1`);
    expect(takenOver).toBe(leftClaimed);
    expect(await counted(`SELECT COUNT(*) AS n FROM journey_step_runs WHERE journey_id = '${journeyId}' AND attempts > 2`)).toBe(0);
    const refused = f.sandbox.sandbox.calls('externalcontact/add_msg_template').length - f.sandbox.sandbox.store.massTasks.size;
    process.stdout.write(`[journey-dispatch-crash] ${engine}: ${N} members, ${refused} calls refused by WeCom and retried, ${takenOver} claims taken over, step 2 claimed by ${instances} instances, seeded in ${seeded - t0} ms, step 1 (crash + restart) ${afterStep1 - seeded} ms, step 2 (two instances, one killed, takeover) ${Date.now() - afterStep1} ms\n`);
  });
});
