import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TEST_DATA_KEY } from '../helpers/app.js';

// Real processes (tsx start-up, migrations) take seconds each.
vi.setConfig({ testTimeout: 120_000 });

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

/**
 * One-shot commands build only what they use: against a real corp (no sandbox), `job run care` never loads Koa, the
 * routers or the sandbox. The child process records every module it resolves (test/helpers/record-modules.mjs).
 * Expected errors print their message and exit non-zero, without a stack trace.
 */
describe('one-shot CLI commands', () => {
  let dir: string;
  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: `sqlite:${join(dir, 'bot.db')}`,
    DATA_KEY: TEST_DATA_KEY,
    // A real corp's credentials: the sandbox stays off. Nothing here calls WeCom (no customer is due).
    WECOM_CORP_ID: 'ww0123456789abcdef',
    WECOM_SECRET: 'a-real-looking-secret',
    WECOM_TOKEN: 'callbackToken123',
    WECOM_ENCODING_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
    WECOM_AGENT_ID: '1000002',
    WECOM_API_BASE: 'http://127.0.0.1:9',
    PUBLIC_URL: 'https://ops.example.com',
    ...extra,
  });
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    run(process.execPath, ['--import', './test/helpers/record-modules.mjs', 'bin/wecom-ops.js', ...args], { cwd: root, env: env(extra) });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cli-lean-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('job run care never loads the Koa app, the routers or the sandbox', async () => {
    const record = join(dir, 'modules-care.txt');
    const { stdout } = await cli(['job', 'run', 'care', '--at', '2026-07-01T09:00:00+08:00'], { RECORD_MODULES: record });
    expect(stdout).toMatch(/care/);
    const loaded = readFileSync(record, 'utf8').split('\n').filter(Boolean);
    // The record is real: the command's own modules are in it.
    expect(loaded.some((u) => u.endsWith('/src/container.ts'))).toBe(true);
    expect(loaded.some((u) => u.endsWith('/src/jobs/care.job.ts'))).toBe(true);
    const forbidden = loaded.filter(
      (u) => /\/node_modules\/(koa|@koa\/router)\//.test(u) || /\/src\/(app|main)\.ts$/.test(u) || u.includes('/src/http/') || u.includes('/src/wecom/sandbox/'),
    );
    expect(forbidden).toEqual([]);
  });

  it('an unknown job prints its message and exits 2, without a stack trace', async () => {
    const err = await cli(['job', 'run', 'no-such-job']).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    const { stderr } = err as { stderr: string };
    expect(stderr).toContain('unknown job: no-such-job');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('an unknown event prints its message and exits non-zero, without a stack trace', async () => {
    const err = (await cli(['events', 'replay', '987654']).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBeGreaterThan(0);
    expect(err.stderr).toMatch(/987654|not found|未找到|没有/);
    expect(err.stderr).not.toMatch(/\n\s+at /);
  });

  it('a bad role prints its message and exits non-zero, without a stack trace', async () => {
    for (const args of [['token', 'create', '--role', 'superuser'], ['serve', '--role', 'everything']]) {
      const err = (await cli(args).catch((e: unknown) => e)) as { code: number; stderr: string };
      expect(err.code).toBeGreaterThan(0);
      expect(err.stderr).toMatch(/role/i);
      expect(err.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
