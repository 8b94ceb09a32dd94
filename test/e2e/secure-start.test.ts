import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { contactEventXml, postCallback, SANDBOX_CREDS, TEST_SANDBOX_KEYS } from '../helpers/callbacks.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';

/**
 * The start-up half of the public origin, sandbox exposure and files at rest, on real `wecom-ops serve` processes:
 * - real WeCom credentials without PUBLIC_URL stop the start with exit code 78
 *   (docs/security.md §Proxies and the public origin);
 * - sandbox mode binds 127.0.0.1 unless HOST is set, and says so; its callback keys are this data directory's
 *   (docs/security.md §Sandbox exposure);
 * - the SQLite files are 0600, and looser ones are tightened at start (docs/security.md §Files at rest).
 */
vi.setConfig({ testTimeout: 120_000 });

const root = resolve(import.meta.dirname, '../..');
const bin = resolve(root, 'bin/wecom-ops.js');
const dirs: string[] = [];
/** Every server started, stopped at the end even when an assertion failed before its own stop. */
const servers: Served[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'wo-secure-'));
  dirs.push(d);
  return d;
}

/**
 * The environment of a plain install: no HOST, no WECOM_* keys (unlike test/helpers: they pin known keys), nothing
 * inherited from the test runner's environment that the app reads.
 */
function installEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: '0', DATABASE_URL: `sqlite:${join(dir, 'wecom-ops.sqlite')}`, SANDBOX_SEED: 'false', ...extra };
}

interface Served {
  proc: ChildProcess;
  url: string;
  port: number;
  out: () => string;
  stop(): Promise<void>;
}

/** `wecom-ops serve`, until its "wecom-ops listening" log line. */
async function serve(env: NodeJS.ProcessEnv): Promise<Served> {
  const proc = spawn(process.execPath, [bin, 'serve'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    await exited;
  };
  servers.push({ proc, url: '', port: 0, out: () => '', stop });
  let out = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve did not start: ${out}`)), 60_000);
    proc.stdout!.on('data', () => {
      const line = out.split('\n').find((l) => l.includes('"wecom-ops listening"'));
      if (line) {
        clearTimeout(timer);
        ok((JSON.parse(line) as { url: string }).url);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      if (code === null) return;
      fail(new Error(`serve exited with ${code}: ${out}`));
    });
  });
  return {
    proc,
    url,
    port: Number(new URL(url).port),
    out: () => out,
    stop,
  };
}

/** The local address a listening TCP socket on `port` is bound to, from /proc/net/tcp (IPv4), e.g. 127.0.0.1. */
function listenAddress(port: number): string | undefined {
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, , state] = line.trim().split(/\s+/);
    if (!local || state !== '0A') continue; // 0A = LISTEN
    const [hexIp, hexPort] = local.split(':');
    if (parseInt(hexPort, 16) !== port) continue;
    // Little-endian hex of the IPv4 address.
    return [3, 2, 1, 0].map((i) => parseInt(hexIp.slice(i * 2, i * 2 + 2), 16)).join('.');
  }
  return undefined;
}

const mode = (f: string) => statSync(f).mode & 0o777;

describe('wecom-ops serve, started as an operator would', () => {
  it('with real WeCom credentials and no PUBLIC_URL: exit code 78 and a message saying what to set', async () => {
    const dir = dataDir();
    const env = installEnv(dir, {
      WECOM_CORP_ID: 'ww0123456789abcdef',
      WECOM_AGENT_ID: '1000002',
      WECOM_SECRET: 'a-real-looking-secret',
      WECOM_TOKEN: 'RealToken',
      WECOM_ENCODING_AES_KEY: 'A'.repeat(43),
    });
    // killSignal/timeout: a build that starts anyway must not outlive the test.
    const err = await promisify(execFile)(process.execPath, [bin, 'serve'], { cwd: root, env, timeout: 60_000, killSignal: 'SIGKILL' }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((err as { code: number }).code).toBe(78);
    const stderr = (err as { stderr: string }).stderr;
    expect(stderr).toContain('PUBLIC_URL');
    expect(stderr).toContain('必须设置 PUBLIC_URL');
    expect(stderr).toContain('PUBLIC_URL=https://');
  });

  it('sandbox mode: binds 127.0.0.1 when HOST is unset and says so at start', async () => {
    const s = await serve(installEnv(dataDir()));
    try {
      expect(listenAddress(s.port)).toBe('127.0.0.1');
      expect(s.out()).toContain('沙箱模式：只监听本机 127.0.0.1');
      expect(s.out()).toContain('sandbox mode: listening on 127.0.0.1 only');
    } finally {
      await s.stop();
    }
  });

  it('after start the SQLite file, its -wal and -shm (and data-key, sandbox-keys.json) are 0600', async () => {
    const dir = dataDir();
    const s = await serve(installEnv(dir));
    try {
      // Migrations have written, and the connection is open: the WAL and its index exist.
      const db = join(dir, 'wecom-ops.sqlite');
      for (const f of [db, `${db}-wal`, `${db}-shm`, join(dir, 'data-key'), join(dir, 'sandbox-keys.json')]) {
        expect(existsSync(f), f).toBe(true);
        expect(mode(f) & 0o077, f).toBe(0);
      }
    } finally {
      await s.stop();
    }
  });

  it('sandbox mode with HOST set explicitly listens there', async () => {
    const s = await serve(installEnv(dataDir(), { HOST: '0.0.0.0' }));
    try {
      expect(listenAddress(s.port)).toBe('0.0.0.0');
      expect(s.out()).not.toContain('沙箱模式：只监听本机');
    } finally {
      await s.stop();
    }
  });

  it('sandbox callback keys: generated per data directory, kept across restarts, and the public constants no longer sign', async () => {
    const a = dataDir();
    const b = dataDir();
    const first = await serve(installEnv(a));
    const keysA = keysOf(a);
    try {
      // The old public constants (still what the tests pin explicitly) do not sign for a plain install.
      const forged = await postCallback(first.url, contactEventXml('edit_external_contact'), { creds: SANDBOX_CREDS });
      expect(forged.status).toBe(403);
      expect(forged.body).toBe('bad signature');
      expect((await postCallback(first.url, contactEventXml('edit_external_contact'), { creds: { ...keysA, receiveId: SANDBOX_CORP.corpId } })).status).toBe(200);
    } finally {
      await first.stop();
    }
    expect(keysA.token).not.toBe(TEST_SANDBOX_KEYS.token);
    expect(keysA.encodingAesKey).toMatch(/^[A-Za-z0-9]{43}$/);

    // Same directory after a restart: same keys, still accepted.
    const again = await serve(installEnv(a));
    try {
      expect(keysOf(a)).toEqual(keysA);
      expect((await postCallback(again.url, contactEventXml('edit_external_contact', { externalUserId: 'wmAgain' }), { creds: { ...keysA, receiveId: SANDBOX_CORP.corpId } })).status).toBe(200);
    } finally {
      await again.stop();
    }

    // Another directory: other keys, and A's do not sign for it.
    const other = await serve(installEnv(b));
    try {
      expect(keysOf(b).token).not.toBe(keysA.token);
      expect(keysOf(b).encodingAesKey).not.toBe(keysA.encodingAesKey);
      expect((await postCallback(other.url, contactEventXml('edit_external_contact'), { creds: { ...keysA, receiveId: SANDBOX_CORP.corpId } })).status).toBe(403);
    } finally {
      await other.stop();
    }
  });

  it('tightens SQLite files an older version left world-readable, and logs it', async () => {
    const dir = dataDir();
    const db = join(dir, 'wecom-ops.sqlite');
    const first = await serve(installEnv(dir));
    await first.stop();
    for (const f of [db, `${db}-wal`, `${db}-shm`]) if (existsSync(f)) chmodSync(f, 0o644);
    const s = await serve(installEnv(dir));
    try {
      expect(s.out()).toContain('now 0600');
      for (const f of [db, `${db}-wal`, `${db}-shm`]) expect(mode(f) & 0o077, f).toBe(0);
    } finally {
      await s.stop();
    }
  });
});

function keysOf(dir: string): { token: string; encodingAesKey: string } {
  return JSON.parse(readFileSync(join(dir, 'sandbox-keys.json'), 'utf8')) as { token: string; encodingAesKey: string };
}
