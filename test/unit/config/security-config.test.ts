import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';

/**
 * The public origin and the sandbox's exposure, as configuration: docs/security.md §Proxies and the public origin,
 * §Sandbox exposure.
 */
const configDir = resolve(import.meta.dirname, '../../../config');
const KEY = Buffer.alloc(32, 5).toString('base64');
const REAL = { WECOM_CORP_ID: 'ww0123456789abcdef', WECOM_SECRET: 's', WECOM_TOKEN: 'T', WECOM_ENCODING_AES_KEY: 'A'.repeat(43) };
const load = (env: Record<string, string>) => loadConfig({ configDir, env: { NODE_ENV: 'test', DATABASE_URL: 'sqlite::memory:', DATA_KEY: KEY, ...env } });

describe('security-relevant configuration', () => {
  it('requires PUBLIC_URL with real WeCom credentials, saying what to set (zh first)', () => {
    const err = (() => {
      try {
        load(REAL);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const problem = (err as ConfigError).problems.find((p) => p.startsWith('publicUrl (PUBLIC_URL)'));
    expect(problem).toMatch(/必须设置 PUBLIC_URL.*PUBLIC_URL=https:\/\/ops\.example\.com/);
    expect(load({ ...REAL, PUBLIC_URL: 'https://ops.example.com' }).publicUrl).toBe('https://ops.example.com');
  });

  it('does not require PUBLIC_URL in sandbox mode', () => {
    expect(load({}).publicUrl).toBeUndefined();
  });

  it('TRUST_PROXY defaults to 0 and takes a hop count', () => {
    expect(load({}).trustProxy).toBe(0);
    expect(load({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(() => load({ TRUST_PROXY: '-1' })).toThrow(/TRUST_PROXY/);
    expect(() => load({ TRUST_PROXY: 'yes' })).toThrow(/TRUST_PROXY/);
  });

  it('listens on 127.0.0.1 in sandbox mode unless HOST is set; 0.0.0.0 with real credentials', () => {
    expect(load({})).toMatchObject({ host: '127.0.0.1', hostIsSandboxDefault: true });
    expect(load({ SANDBOX: 'false' })).toMatchObject({ host: '127.0.0.1', hostIsSandboxDefault: true });
    expect(load({ HOST: '0.0.0.0' })).toMatchObject({ host: '0.0.0.0', hostIsSandboxDefault: false });
    expect(load({ ...REAL, PUBLIC_URL: 'https://ops.example.com' })).toMatchObject({ host: '0.0.0.0', hostIsSandboxDefault: false });
  });

  it('sandbox callback keys: one pair per data directory (0600), kept on reload; WECOM_TOKEN/WECOM_ENCODING_AES_KEY override', () => {
    const a = mkdtempSync(join(tmpdir(), 'cfg-keys-a-'));
    const b = mkdtempSync(join(tmpdir(), 'cfg-keys-b-'));
    const at = (dir: string, env: Record<string, string> = {}) => load({ DATABASE_URL: `sqlite:${dir}/db.sqlite`, ...env }).wecom;
    const first = at(a);
    expect(first.token).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(first.encodingAesKey).toMatch(/^[A-Za-z0-9]{43}$/);
    expect(statSync(join(a, 'sandbox-keys.json')).mode & 0o077).toBe(0);
    expect(JSON.parse(readFileSync(join(a, 'sandbox-keys.json'), 'utf8'))).toEqual({ token: first.token, encodingAesKey: first.encodingAesKey });
    expect(at(a)).toMatchObject({ token: first.token, encodingAesKey: first.encodingAesKey });
    const other = at(b);
    expect(other.token).not.toBe(first.token);
    expect(other.encodingAesKey).not.toBe(first.encodingAesKey);
    expect(at(a, { WECOM_TOKEN: 'KnownToken', WECOM_ENCODING_AES_KEY: 'B'.repeat(43) })).toMatchObject({ token: 'KnownToken', encodingAesKey: 'B'.repeat(43) });
    // Not the constants every copy of the source knows.
    expect(first.token).not.toBe('SandboxCallbackToken01');
  });

  it('processes starting at once in a fresh data directory all end up with the same sandbox keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-keys-race-'));
    const root = resolve(import.meta.dirname, '../../..');
    const script = `import { ensureSandboxKeys } from ${JSON.stringify(join(root, 'src/config/load.ts'))}; process.stdout.write(JSON.stringify(ensureSandboxKeys(${JSON.stringify(`sqlite:${dir}/db.sqlite`)})));`;
    const outs = await Promise.all(
      Array.from({ length: 4 }, () => promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root }).then((r) => r.stdout)),
    );
    expect(new Set(outs).size).toBe(1);
    expect(JSON.parse(outs[0])).toEqual(JSON.parse(readFileSync(join(dir, 'sandbox-keys.json'), 'utf8')));
  }, 60_000);
});
