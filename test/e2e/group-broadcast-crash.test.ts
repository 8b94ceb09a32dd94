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
import { externalChatEventXml } from '../../src/wecom/sandbox/callback-xml.js';

// Real processes (tsx start-up, migrations) take seconds each; on a loaded 2-core machine 30 s is too tight.
vi.setConfig({ testTimeout: 180_000 });

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

/**
 * 客户群群发 on real processes: `serve` with its sandbox holds three owners' groups (zhangsan, lisi, wangwu); an operator
 * creates a group broadcast to them; `wecom-ops job run group-broadcasts` is SIGKILLed the instant WeCom accepted the
 * second owner's task, before the ledger recorded it; the next run (a restart) finds that task in
 * get_groupmsg_list_v2 and submits only the third. WeCom holds exactly 3 tasks, one per owner, before and after.
 */
describe.each(testEngines())('group broadcast crash between submit and record on %s', (engine) => {
  let db: TestDatabase;
  let server: ChildServer;
  const env = () => ({ DATABASE_URL: db.url, DATA_KEY: TEST_DATA_KEY, ADMIN_TOKEN: TEST_ADMIN_TOKEN, PROBE_LOG: '/dev/null' });
  const cli = (...args: string[]) =>
    run(process.execPath, [resolve(root, 'bin/wecom-ops.js'), ...args], { cwd: root, env: { ...process.env, NODE_ENV: 'test', ...env(), WECOM_API_BASE: `${server.url}/sandbox` } });
  const control = async (path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/sandbox/_control/${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    return res.json() as Promise<any>;
  };
  const groupTasks = async () =>
    ((await control('calls?api=externalcontact/add_msg_template')) as { items: { params: Record<string, unknown> }[] }).items.filter((c) => c.params.chat_type === 'group');

  beforeAll(async () => {
    db = await createMigratedTestDatabase(engine);
    server = await spawnServer('test/helpers/probe-server.ts', env());
  });
  afterAll(async () => {
    await server?.kill('SIGTERM');
    await db?.drop();
  });

  it("3 owners' groups: exactly 3 tasks, also after a SIGKILL between submit and record and a restart", async () => {
    await control('seed', {});
    const { corpId } = await control('config');
    const groups = ((await control('groups')) as { items: { chatId: string; owner: string }[] }).items;
    expect(new Set(groups.map((g) => g.owner))).toEqual(new Set(['zhangsan', 'lisi', 'wangwu']));
    // The demo corp's groups, announced to the bot as WeCom would (change_external_chat create): it reads each back.
    const nowS = Math.floor(Date.now() / 1000);
    for (const g of groups) await control('callbacks', { xml: externalChatEventXml({ corpId, createTime: nowS, chatId: g.chatId, changeType: 'create' }) });
    const filter = { chatIds: groups.map((g) => g.chatId) };
    await waitFor(async () => (await api(server, 'POST', '/api/v1/group-broadcasts/preview', { filter })).body.groups === 3, 20000, 'groups archived');
    expect((await api(server, 'POST', '/api/v1/group-broadcasts/preview', { filter })).body).toMatchObject({ groups: 3, tasks: 3 });

    // Sent at 10:00 on a day well ahead, so the server's own every-2-minutes run (real time) leaves it alone.
    const day = addDays(localDate(new Date(), 'Asia/Shanghai'), 12);
    const created = await api(server, 'POST', '/api/v1/group-broadcasts', { name: '断电测试', filter, message: { text: `断电测试 ${day}`, attachments: [] }, sendAt: `${day}T10:00:00+08:00` });
    expect(created.status).toBe(201);
    const id: string = created.body.id;

    // WeCom (the sandbox) lives on the same day as the job's clock, as the real one would.
    await control('clock', { at: `${day}T09:59:30+08:00` });
    const crash = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'test/helpers/crash-after-submit.ts'), 'group-broadcasts', '--at', `${day}T10:00:00+08:00`], {
      cwd: root,
      env: { ...process.env, NODE_ENV: 'test', ...env(), WECOM_API_BASE: `${server.url}/sandbox`, CRASH_AFTER_CALLS: '2' },
      stdio: 'ignore',
    });
    const [code, signal] = await once(crash, 'exit');
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await groupTasks()).toHaveLength(2);
    let view = (await api(server, 'GET', `/api/v1/group-broadcasts/${id}`)).body;
    expect(view.rows).toMatchObject({ submitted: 1, submitting: 1, planned: 1 });

    // Restart: the next run, minutes later, adopts the task WeCom holds and submits only the third owner's.
    const after = await cli('job', 'run', 'group-broadcasts', '--at', `${day}T10:10:00+08:00`);
    expect(after.stdout).toContain('group-broadcasts: done');
    expect(await groupTasks()).toHaveLength(3);
    view = (await api(server, 'GET', `/api/v1/group-broadcasts/${id}`)).body;
    expect(view.rows).toMatchObject({ submitted: 3, submitting: 0, planned: 0 });
    expect(view.ownerProgress.map((o: { userid: string; waitingTasks: number }) => [o.userid, o.waitingTasks])).toEqual([['lisi', 1], ['wangwu', 1], ['zhangsan', 1]]);
    // One task per owner, each with exactly that owner's group.
    const tasks = await groupTasks();
    expect(tasks.map((t) => t.params.sender).sort()).toEqual(['lisi', 'wangwu', 'zhangsan']);
    for (const t of tasks) expect(t.params.chat_id_list).toEqual([groups.find((g) => g.owner === t.params.sender)!.chatId]);

    // Another run later still adds nothing.
    await cli('job', 'run', 'group-broadcasts', '--at', `${day}T10:20:00+08:00`);
    expect(await groupTasks()).toHaveLength(3);
    await control('clock', {});
  });
});
