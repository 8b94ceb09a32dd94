import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { testEngines, type TestDatabase } from '../helpers/databases.js';
import { createMigratedTestDatabase } from '../helpers/migrated-template.js';
import { spawnServer, type ChildServer } from '../helpers/child-server.js';
import { TEST_ADMIN_TOKEN, TEST_DATA_KEY, api, waitFor } from '../helpers/app.js';
import { addDays, localDate } from '../../src/shared/dates.js';

// Real processes (tsx start-up, migrations) take seconds each; on a loaded 2-core CI machine 30 s is too tight.
vi.setConfig({ testTimeout: 120_000 });

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

/**
 * The whole path on real processes: `serve` with its built-in sandbox; a customer adds a staff member (callback →
 * archive); an operator sets the birthday over the API; `wecom-ops job run care --at <that day 10:00>` creates the
 * owner's mass-send task; the sandbox confirms it as the staff member would; `job run delivery-results` reads the
 * result; the ledger API shows the message sent.
 */
describe.each(testEngines())('birthday care end to end on %s', (engine) => {
  let db: TestDatabase;
  let server: ChildServer;
  const env = () => ({ DATABASE_URL: db.url, DATA_KEY: TEST_DATA_KEY, ADMIN_TOKEN: TEST_ADMIN_TOKEN, PROBE_LOG: '/dev/null' });
  const cli = (...args: string[]) =>
    run(process.execPath, [resolve(root, 'bin/wecom-ops.js'), ...args], {
      cwd: root,
      env: { ...process.env, NODE_ENV: 'test', ...env(), WECOM_API_BASE: `${server.url}/sandbox` },
    });
  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}/sandbox/_control/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    return res.json() as Promise<any>;
  };

  beforeAll(async () => {
    db = await createMigratedTestDatabase(engine);
    server = await spawnServer('test/helpers/probe-server.ts', env());
  });
  afterAll(async () => {
    await server?.kill('SIGTERM');
    await db?.drop();
  });

  it('a birthday customer gets a mass-send task for their owner, confirmed in the sandbox and shown sent in the ledger', async () => {
    // A day well away from today, so the server's own catch-up run (for today) cannot touch it.
    const day = addDays(localDate(new Date(), 'Asia/Shanghai'), 10);
    const [, month, dom] = day.split('-').map(Number);
    const added = await control('customers/add', { userid: 'zhangsan', name: '寿星' });
    const id: string = added.externalUserId;
    await waitFor(async () => (await api(server, 'GET', `/api/v1/customers/${id}`)).status === 200, 10000, 'customer archived');
    const patched = await api(server, 'PATCH', `/api/v1/customers/${id}`, { birthday: { calendar: 'solar', month, day: dom } });
    expect(patched.status).toBe(200);

    const care = await cli('job', 'run', 'care', '--at', `${day}T10:00:00+08:00`);
    expect(care.stdout).toContain('care: done');
    let ledger = await api(server, 'GET', `/api/v1/deliveries?customer=${id}`);
    expect(ledger.body.items).toHaveLength(1);
    expect(ledger.body.items[0]).toMatchObject({ status: 'submitted', sender: 'zhangsan', occasion: `birthday:${day.slice(0, 4)}` });
    const msgId: string = ledger.body.items[0].msgId;

    const tasks = await (await fetch(`${server.url}/sandbox/_control/calls?api=externalcontact/add_msg_template`)).json() as { items: { params: Record<string, unknown> }[] };
    expect(tasks.items.filter((c) => (c.params.external_userid as string[]).includes(id))).toHaveLength(1);

    expect(await control('groupmsg/confirm', { msgid: msgId, userid: 'zhangsan' })).toMatchObject({ sent: 1 });
    const results = await cli('job', 'run', 'delivery-results', '--at', `${day}T10:20:00+08:00`);
    expect(results.stdout).toContain('delivery-results: done');
    ledger = await api(server, 'GET', `/api/v1/deliveries?customer=${id}`);
    expect(ledger.body.items[0]).toMatchObject({ status: 'sent', msgId });
    expect(ledger.body.items[0].sentAt).toBeTruthy();

    // The same occasion again by hand: recorded as already run, nothing new is sent.
    const again = await cli('job', 'run', 'care', '--at', `${day}T11:00:00+08:00`);
    expect(again.stdout).toContain('already ran');
    const list = await cli('job', 'list');
    expect(list.stdout).toMatch(/care\t0 9 \* \* \*\t.*\tdone/);
  });

  it('two processes running the same 09:00 care occasion at once create one task', async () => {
    const day = addDays(localDate(new Date(), 'Asia/Shanghai'), 20);
    const [, month, dom] = day.split('-').map(Number);
    const added = await control('customers/add', { userid: 'zhangsan', name: '双实例' });
    const id: string = added.externalUserId;
    await waitFor(async () => (await api(server, 'GET', `/api/v1/customers/${id}`)).status === 200, 10000, 'customer archived');
    expect((await api(server, 'PATCH', `/api/v1/customers/${id}`, { birthday: { calendar: 'solar', month, day: dom } })).status).toBe(200);

    const [a, b] = await Promise.all([
      cli('job', 'run', 'care', '--at', `${day}T09:00:00+08:00`),
      cli('job', 'run', 'care', '--at', `${day}T09:00:00+08:00`),
    ]);
    // Exactly one of them ran the occasion; the other saw the durable claim.
    expect([a.stdout, b.stdout].filter((o) => o.includes('care: done'))).toHaveLength(1);
    expect([a.stdout, b.stdout].filter((o) => o.includes('already ran'))).toHaveLength(1);
    const tasks = (await (await fetch(`${server.url}/sandbox/_control/calls?api=externalcontact/add_msg_template`)).json()) as { items: { params: Record<string, unknown> }[] };
    expect(tasks.items.filter((c) => (c.params.external_userid as string[]).includes(id))).toHaveLength(1);
  });

  it('a process SIGKILLed after WeCom accepted the task but before the ledger recorded it sends nothing twice', async () => {
    const day = addDays(localDate(new Date(), 'Asia/Shanghai'), 30);
    const [, month, dom] = day.split('-').map(Number);
    const added = await control('customers/add', { userid: 'zhangsan', name: '断电测试' });
    const id: string = added.externalUserId;
    await waitFor(async () => (await api(server, 'GET', `/api/v1/customers/${id}`)).status === 200, 10000, 'customer archived');
    expect((await api(server, 'PATCH', `/api/v1/customers/${id}`, { birthday: { calendar: 'solar', month, day: dom } })).status).toBe(200);
    const tasksFor = async () =>
      ((await (await fetch(`${server.url}/sandbox/_control/calls?api=externalcontact/add_msg_template`)).json()) as { items: { params: Record<string, unknown> }[] }).items.filter((c) =>
        (c.params.external_userid as string[]).includes(id),
      );

    // WeCom (the sandbox) lives on the same day as the job's clock, as the real one would.
    await control('clock', { at: `${day}T09:59:00+08:00` });
    const crash = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'test/helpers/crash-after-submit.ts'), 'care', '--at', `${day}T10:00:00+08:00`], {
      cwd: root,
      env: { ...process.env, NODE_ENV: 'test', ...env(), WECOM_API_BASE: `${server.url}/sandbox` },
      stdio: 'ignore',
    });
    const [code, signal] = await once(crash, 'exit');
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await tasksFor()).toHaveLength(1);
    let ledger = await api(server, 'GET', `/api/v1/deliveries?customer=${id}`);
    expect(ledger.body.items).toHaveLength(1);
    expect(ledger.body.items[0].status).toBe('submitting');

    // Restart: the next dispatch (here delivery-results, minutes later) reconciles against get_groupmsg_list_v2.
    const after = await cli('job', 'run', 'delivery-results', '--at', `${day}T10:10:00+08:00`);
    expect(after.stdout).toContain('delivery-results: done');
    ledger = await api(server, 'GET', `/api/v1/deliveries?customer=${id}`);
    expect(ledger.body.items[0].status).toBe('submitted');
    expect(ledger.body.items[0].msgId).toBeTruthy();
    // And a care re-run for the day adds nothing either.
    const rerun = await cli('job', 'run', 'care', '--at', `${day}T11:00:00+08:00`);
    expect(rerun.stdout).toContain('already ran');
    expect(await tasksFor()).toHaveLength(1);
    await control('clock', {});
  });
});
