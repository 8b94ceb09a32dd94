import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { createTestDatabase, testEngines, type TestDatabase } from '../helpers/databases.js';
import { spawnServer } from '../helpers/child-server.js';
import { TEST_DATA_KEY, waitFor } from '../helpers/app.js';
import { postCallback, SANDBOX_CREDS } from '../helpers/callbacks.js';
import { createDataSource } from '../../src/persistence/data-source.js';

// Real processes (tsx start-up, migrations) take seconds each; on a loaded 2-core CI machine 30 s is too tight.
vi.setConfig({ testTimeout: 120_000 });

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

describe.each(testEngines())('wecom-ops CLI on %s', (engine) => {
  let db: TestDatabase;
  const env = () => ({ ...process.env, NODE_ENV: 'test', DATABASE_URL: db.url, DATA_KEY: TEST_DATA_KEY, SANDBOX: 'false' });
  const cli = (...args: string[]) => run(process.execPath, [resolve(root, 'bin/wecom-ops.js'), ...args], { cwd: root, env: env() });
  const cliWith = (extra: Record<string, string>, ...args: string[]) =>
    run(process.execPath, [resolve(root, 'bin/wecom-ops.js'), ...args], { cwd: root, env: { ...env(), ...extra } });

  beforeAll(async () => {
    db = await createTestDatabase(engine);
  });
  afterAll(() => db.drop());

  it('migrate applies migrations and exits 0', async () => {
    const { stdout } = await cli('migrate');
    expect(stdout).toContain('migrations applied');
  });

  it('token create prints a token that the API accepts; only its hash is stored', async () => {
    const { stdout } = await cli('token', 'create', '--role', 'operator');
    const token = stdout.trim();
    expect(token).toMatch(/^wo_[\w-]{40,}$/);
    const ds = createDataSource({ databaseUrl: db.url });
    await ds.initialize();
    const rows: { token_hash: string; role: string }[] = await ds.query('SELECT token_hash, role FROM api_tokens');
    await ds.destroy();
    expect(rows.some((r) => r.role === 'operator')).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(token);

    const server = await spawnServer('test/helpers/probe-server.ts', { DATABASE_URL: db.url, DATA_KEY: TEST_DATA_KEY, SANDBOX: 'false', PROBE_LOG: '/dev/null' });
    try {
      const ok = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      const bad = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: 'Bearer wo_forged' } });
      expect(bad.status).toBe(401);
    } finally {
      await server.kill('SIGTERM');
    }
  });

  it('users grant, list and revoke give WeCom members console roles; they and token create are in the audit log', async () => {
    const token = await cli('token', 'create', '--role', 'operator', '--name', 'audit-probe');
    expect(token.stderr).toContain('created operator token');
    const granted = await cli('users', 'grant', 'zhangsan', 'admin');
    expect(granted.stdout).toContain('zhangsan → admin');
    const listed = await cli('users', 'list');
    expect(listed.stdout).toMatch(/zhangsan\t.*admin（管理员）/);
    // A role that does not exist: one line, exit 2, no stack.
    await expect(cli('users', 'grant', 'lisi', 'boss')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^角色必须是 admin、operator、staff 之一[^\n]*\n$/) });
    // The last admin stays (docs/security.md §Console sign-in and roles).
    await expect(cli('users', 'revoke', 'zhangsan')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('唯一的管理员') });
    await cli('users', 'grant', 'lisi', 'admin');
    expect((await cli('users', 'revoke', 'zhangsan')).stdout).toContain('已收回');
    const ds = createDataSource({ databaseUrl: db.url });
    await ds.initialize();
    const rows: { source: string; action: string; target_id: string }[] = await ds.query("SELECT source, action, target_id FROM audit_log WHERE source = 'cli' ORDER BY id");
    await ds.destroy();
    expect(rows.map((r) => r.action)).toContain('tokens.create');
    expect(rows.map((r) => `${r.action} ${r.target_id}`)).toEqual(expect.arrayContaining(['users.role zhangsan', 'users.role lisi']));
    expect(rows.filter((r) => r.action === 'users.role')).toHaveLength(3);
  });

  it('token create refuses a staff token without --userid', async () => {
    await expect(cli('token', 'create', '--role', 'staff')).rejects.toMatchObject({ stderr: expect.stringContaining('userid') });
  });

  it('events list --status failed shows parked events and events replay retries one', async () => {
    // A server whose probe handler does not exist for this kind → the event is ignored; force a failure instead by
    // storing an event and marking it failed as the processor would after N attempts.
    const server = await spawnServer('test/helpers/probe-server.ts', {
      DATABASE_URL: db.url,
      DATA_KEY: TEST_DATA_KEY,
      SANDBOX: 'false',
      INBOX_WORKERS: '0',
      PROBE_LOG: '/dev/null',
    });
    const xml =
      `<xml><ToUserName><![CDATA[${SANDBOX_CREDS.receiveId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
      `<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wecom_ops_probe]]></Event>` +
      `<ExternalUserID><![CDATA[wmCli01]]></ExternalUserID></xml>`;
    expect((await postCallback(server.url, xml)).status).toBe(200);
    await server.kill('SIGTERM');
    const ds = createDataSource({ databaseUrl: db.url });
    await ds.initialize();
    await ds.query("UPDATE inbox_events SET status = 'failed', attempts = 6, error = 'Error: WeCom said -1' WHERE kind = 'event/wecom_ops_probe'");
    const [{ id }] = await ds.query("SELECT id FROM inbox_events WHERE kind = 'event/wecom_ops_probe'");
    await ds.destroy();

    const list = await cli('events', 'list', '--status', 'failed');
    expect(list.stdout).toContain('event/wecom_ops_probe');
    expect(list.stdout).toContain('WeCom said -1');

    // The CLI has no probe handler registered, so the replayed event runs and is marked ignored: it left `failed`.
    const replay = await cli('events', 'replay', String(id));
    expect(replay.stdout).toContain(`事件 ${id}: pending → ignored`);
    const after = await cli('events', 'list', '--status', 'failed');
    expect(after.stdout).not.toContain('event/wecom_ops_probe');
  });

  it('serve stops gracefully on SIGTERM', async () => {
    const server = await spawnServer('test/helpers/probe-server.ts', { DATABASE_URL: db.url, DATA_KEY: TEST_DATA_KEY, SANDBOX: 'false', PROBE_LOG: '/dev/null' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await server.kill('SIGTERM');
    expect(server.proc.exitCode).toBe(0);
    await waitFor(async () => fetch(`${server.url}/healthz`).then(() => false, () => true), 2000, 'the port to close');
  });

  it('keys new, status and rotate move a database to a new DATA_KEY; the old key alone then refuses to start', async () => {
    const { stdout: fresh } = await cli('keys', 'new');
    const next = fresh.trim();
    expect(Buffer.from(next, 'base64')).toHaveLength(32);
    const rotating = { DATA_KEY: next, DATA_KEY_READ_ONLY: TEST_DATA_KEY };
    // Under the test key: the erasure key (created at the first start) and whatever earlier tests stored.
    expect((await cli('keys', 'status')).stdout).toContain('everything is under DATA_KEY');
    const before = await cliWith(rotating, 'keys', 'status');
    expect(before.stdout).toContain('secrets.value_enc');
    expect(before.stdout).toMatch(/待轮换 \/ not yet under DATA_KEY: [1-9]/);
    const rotated = await cliWith(rotating, 'keys', 'rotate', '--batch', '2');
    expect(rotated.stdout).toContain('完成 / done');
    expect(rotated.stdout).toMatch(/secrets\.value_enc: 1 re-sealed/);
    const after = await cliWith({ DATA_KEY: next }, 'keys', 'status');
    expect(after.stdout).toContain('everything is under DATA_KEY');
    await expect(cli('keys', 'status')).rejects.toMatchObject({ stderr: expect.stringContaining('DATA_KEY does not match this database') });
    await expect(cliWith(rotating, 'keys', 'rotate', '--batch', '0')).rejects.toMatchObject({ code: 2 });
  });
});
