import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config/load.js';

const configDir = resolve(import.meta.dirname, '../../../config');
const base = { NODE_ENV: 'test', DATABASE_URL: 'sqlite::memory:', DATA_KEY: Buffer.alloc(32).toString('base64') };

/** docs/inbox.md §Roles. */
describe('SERVE_ROLE', () => {
  it('defaults to all, with the worker poll at 50 ms', () => {
    const c = loadConfig({ configDir, env: base });
    expect(c.serveRole).toBe('all');
    expect(c.inbox.workerPollIntervalMs).toBe(50);
  });

  it('takes ingress or worker, and INBOX_WORKER_POLL_INTERVAL_MS', () => {
    const env = { ...base, SANDBOX: 'false', WECOM_API_BASE: 'http://127.0.0.1:3100' };
    expect(loadConfig({ configDir, env: { ...env, SERVE_ROLE: 'ingress' } }).serveRole).toBe('ingress');
    const w = loadConfig({ configDir, env: { ...env, SERVE_ROLE: 'worker', INBOX_WORKER_POLL_INTERVAL_MS: '20' } });
    expect(w.serveRole).toBe('worker');
    expect(w.inbox.workerPollIntervalMs).toBe(20);
  });

  it('refuses an unknown role, zh-CN first', () => {
    expect(() => loadConfig({ configDir, env: { ...base, SERVE_ROLE: 'both' } })).toThrow(/serveRole \(SERVE_ROLE\): 角色只能是 all、ingress 或 worker/);
  });

  it('refuses a split role with the in-process sandbox, which lives in one process', () => {
    let err: unknown;
    try {
      loadConfig({ configDir, env: { ...base, SERVE_ROLE: 'worker' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems[0]).toMatch(/^serveRole \(SERVE_ROLE \/ --role worker\): 内置沙箱只能在单进程/);
    expect((err as ConfigError).problems[0]).toContain('SANDBOX=false');
  });
});
