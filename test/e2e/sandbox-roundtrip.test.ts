import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from '../helpers/app.js';

// Real processes (tsx start-up, migrations) take seconds each; on a loaded 2-core CI machine 30 s is too tight.
vi.setConfig({ testTimeout: 120_000 });

const root = resolve(import.meta.dirname, '../..');

/**
 * The real server process (`wecom-ops serve`) with no WeCom credentials: it runs the built-in sandbox. A simulated
 * customer add travels sandbox → encrypted callback → inbox → handler → an API call back to the sandbox.
 */
describe('sandbox round trip through a real server process', () => {
  let proc: ChildProcess;
  let dir: string;
  let url: string;
  const adminToken = 'e2e-admin-token-0123456789';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wecom-ops-e2e-'));
    const port = 38000 + Math.floor(Math.random() * 2000);
    url = `http://127.0.0.1:${port}`;
    proc = spawn(process.execPath, [join(root, 'bin/wecom-ops.js'), 'serve'], {
      cwd: root,
      env: { ...process.env, NODE_ENV: 'test', PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: `sqlite:${dir}/db.sqlite`, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d) => (out += String(d)));
    proc.stderr!.on('data', (d) => (out += String(d)));
    await waitFor(async () => fetch(`${url}/readyz`).then((r) => r.ok, () => false), 20000, `server ready (${out})`);
    // The banner (printed once the demo channel exists) carries a curl with that channel's state.
    await waitFor(() => out.includes('/sandbox/_control/customers/add'), 20000, `the sandbox banner (${out})`);
    demoState = /"state":"(ch_[\w-]+)"/.exec(out)![1];
  });
  let demoState: string;

  afterAll(async () => {
    if (proc.exitCode === null) {
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('a customer adding staff reaches the bot as a callback, and the bot reads the customer back from WeCom', async () => {
    const res = await fetch(`${url}/sandbox/_control/customers/add`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userid: 'zhangsan', state: demoState, name: '测试客户' }),
    });
    expect(res.status).toBe(200);
    const added = (await res.json()) as { externalUserId: string; callback: { status: string; lastHttpStatus: number } };
    // The sandbox delivered an encrypted, signed callback and the bot acknowledged it with 200.
    expect(added.callback).toMatchObject({ status: 'delivered', lastHttpStatus: 200 });

    // The bot stored it in the inbox and processed it.
    await waitFor(async () => {
      const r = await fetch(`${url}/api/v1/events?status=done`, { headers: { authorization: `Bearer ${adminToken}` } });
      const body = (await r.json()) as { items: { kind: string }[] };
      return body.items.some((e) => e.kind === 'event/change_external_contact/add_external_contact');
    }, 10000, 'the add event to be processed');

    // …and its handler called WeCom (the sandbox) back for that customer.
    const calls = (await (await fetch(`${url}/sandbox/_control/calls?api=externalcontact/get`)).json()) as { items: { params: Record<string, string> }[] };
    expect(calls.items.some((c) => c.params.external_userid === added.externalUserId)).toBe(true);

    // The demo channel's welcome went out, rendered, and its tags are on the customer.
    const welcome = (await (await fetch(`${url}/sandbox/_control/calls?api=externalcontact/send_welcome_msg`)).json()) as { items: { params: { text?: { content: string } } }[] };
    expect(welcome.items.map((c) => c.params.text?.content)).toContain('测试客户您好，我是张三，欢迎添加！有任何问题随时找我。');
    const archive = await waitFor(async () => {
      const r = await fetch(`${url}/api/v1/customers/${added.externalUserId}`, { headers: { authorization: `Bearer ${adminToken}` } });
      const body = (await r.json()) as { tags?: { name: string }[] };
      return body.tags?.some((t) => t.name === '演示渠道') ? body : null;
    }, 10000, 'the channel tags');
    expect(archive!.tags!.map((t) => t.name)).toEqual(expect.arrayContaining(['演示渠道', '普通']));
  });
});
