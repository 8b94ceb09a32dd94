import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { SANDBOX_CORP } from '../../../src/wecom/sandbox-identity.js';

const configDir = resolve(import.meta.dirname, '../../../config');

describe(loadConfig.name, () => {
  it('uses the embedded database and the sandbox when no WeCom credentials are set, generating DATA_KEY into ./data/', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const c = loadConfig({ configDir, env: { NODE_ENV: 'test', DATABASE_URL: `sqlite:${dir}/db.sqlite` } });
    expect(c.sandboxEnabled).toBe(true);
    expect(c.wecomCorpId).toBe(SANDBOX_CORP.corpId);
    expect(c.wecom.apiBase).toBe(`http://127.0.0.1:${c.port}/sandbox`);
    expect(Buffer.from(c.dataKey!, 'base64')).toHaveLength(32);
    expect(existsSync(join(dir, 'data-key'))).toBe(true);
    // Stable across restarts: the same key is read back.
    expect(loadConfig({ configDir, env: { NODE_ENV: 'test', DATABASE_URL: `sqlite:${dir}/db.sqlite` } }).dataKey).toBe(readFileSync(join(dir, 'data-key'), 'utf8').trim());
    expect(c.appTimezone).toBe('Asia/Shanghai');
  });

  it('never aims the sandbox identity at the real WeCom, even with the in-process sandbox off', () => {
    const c = loadConfig({ configDir, env: { NODE_ENV: 'test', DATABASE_URL: 'sqlite::memory:', SANDBOX: 'false', DATA_KEY: Buffer.alloc(32).toString('base64') } });
    expect(c.sandboxEnabled).toBe(false);
    expect(c.wecom.apiBase).toBe(`http://127.0.0.1:${c.sandbox.port}`);
  });

  it('records where each value set explicitly came from: the last file or variable that set it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-sources-'));
    copyFileSync(join(configDir, 'default.json'), join(dir, 'default.json'));
    writeFileSync(join(dir, 'local.json'), JSON.stringify({ audit: { retentionDays: 30 }, wecom: { limits: { 'externalcontact/get': { perMinute: 2500, concurrency: 5 } } } }));
    const c = loadConfig({ configDir: dir, env: { NODE_ENV: 'production', DATABASE_URL: 'sqlite::memory:', DATA_KEY: Buffer.alloc(32).toString('base64'), AUDIT_RETENTION_DAYS: '60' } });
    expect(c.audit.retentionDays).toBe(60);
    expect(c.sources).toMatchObject({
      'audit.retentionDays': 'env:AUDIT_RETENTION_DAYS',
      appTimezone: 'file:config/default.json',
      'wecom.limits.externalcontact/get.perMinute': 'file:config/local.json',
      databaseUrl: 'env:DATABASE_URL',
    });
    expect(c.sources).not.toHaveProperty('search.maxPerDay');
  });

  it('takes per-API WeCom rate limits from config/local.json and refuses nonsense ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-limits-'));
    copyFileSync(join(configDir, 'default.json'), join(dir, 'default.json'));
    const env = { NODE_ENV: 'production', DATABASE_URL: 'sqlite::memory:', DATA_KEY: Buffer.alloc(32).toString('base64') };
    writeFileSync(join(dir, 'local.json'), JSON.stringify({ wecom: { limits: { 'externalcontact/get': { perMinute: 2500, perHour: 37500, concurrency: 5 } } } }));
    expect(loadConfig({ configDir: dir, env }).wecom.limits).toEqual({ 'externalcontact/get': { perMinute: 2500, perHour: 37500, concurrency: 5 } });
    writeFileSync(join(dir, 'local.json'), JSON.stringify({ wecom: { limits: { 'externalcontact/get': { perMinute: -1, concurrency: 5 } } } }));
    expect(() => loadConfig({ configDir: dir, env })).toThrow(/wecom\.limits/);
  });

  it('reads DATA_KEY_READ_ONLY as a comma-separated list of keys and names a malformed one', () => {
    const env = { NODE_ENV: 'test', DATABASE_URL: 'sqlite::memory:', DATA_KEY: Buffer.alloc(32, 1).toString('base64') };
    const a = Buffer.alloc(32, 2).toString('base64');
    const b = Buffer.alloc(32, 3).toString('base64');
    expect(loadConfig({ configDir, env }).dataKeyReadOnly).toEqual([]);
    expect(loadConfig({ configDir, env: { ...env, DATA_KEY_READ_ONLY: ` ${a}, ${b} ` } }).dataKeyReadOnly).toEqual([a, b]);
    expect(() => loadConfig({ configDir, env: { ...env, DATA_KEY_READ_ONLY: `${a},short` } })).toThrow(/DATA_KEY_READ_ONLY/);
  });

  it('lists every problem at once', () => {
    try {
      loadConfig({
        configDir,
        env: {
          NODE_ENV: 'test',
          PORT: 'eighty',
          DATABASE_URL: 'mysql://root@127.0.0.1/db',
          APP_TIMEZONE: 'Mars/Olympus',
          WECOM_CORP_ID: 'ww123',
          WECOM_ENCODING_AES_KEY: 'short',
          WECOM_NEXT_TOKEN: 'NewToken',
          LOG_LEVEL: 'loud',
        },
      });
      expect.unreachable('config should be invalid');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = (err as ConfigError).problems.join('\n');
      for (const needle of ['PORT', 'APP_TIMEZONE', 'LOG_LEVEL', 'WECOM_ENCODING_AES_KEY', 'DATA_KEY is required with MySQL', 'wecom.secret', 'wecom.token', 'WECOM_NEXT_ENCODING_AES_KEY']) {
        expect(text).toContain(needle);
      }
    }
  });

  it('environment variables override config files', () => {
    const c = loadConfig({ configDir, env: { NODE_ENV: 'test', DATABASE_URL: 'sqlite::memory:', PORT: '4321', INBOX_WORKERS: '0', DATA_KEY: Buffer.alloc(32).toString('base64') } });
    expect(c.port).toBe(4321);
    expect(c.inbox.workers).toBe(0);
  });

  it('the CLI exits non-zero and prints every problem', async () => {
    const root = resolve(configDir, '..');
    const err = await promisify(execFile)(process.execPath, [join(root, 'bin/wecom-ops.js'), 'migrate'], {
      cwd: root,
      env: { ...process.env, NODE_ENV: 'test', PORT: 'x', APP_TIMEZONE: 'Nowhere/City' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(78);
    expect((err as { stderr: string }).stderr).toContain('PORT');
    expect((err as { stderr: string }).stderr).toContain('APP_TIMEZONE');
  });

  it('refuses bad FEEDBACK_* values in zh-CN, naming the variable (docs/feedback.md §SLA and escalation)', () => {
    const base = { NODE_ENV: 'test', DATABASE_URL: 'sqlite::memory:' };
    const problems = (env: Record<string, string>): string => {
      try {
        loadConfig({ configDir, env: { ...base, ...env } });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems.join('\n');
      }
      return '';
    };
    expect(problems({ FEEDBACK_FIRST_CONTACT_HOURS: '一天' })).toContain('FEEDBACK_FIRST_CONTACT_HOURS): 须为小时数，如 24');
    expect(problems({ FEEDBACK_FIRST_CONTACT_HOURS: '0.1' })).toContain('至少 0.25 小时（15 分钟）');
    expect(problems({ FEEDBACK_FIRST_CONTACT_HOURS: '1000' })).toContain('至多 720 小时（30 天）');
    expect(problems({ FEEDBACK_ESCALATE_TO: 'sunqi,王五' })).toMatch(/FEEDBACK_ESCALATE_TO\): 须为企业微信成员账号/);
    const c = loadConfig({ configDir, env: { ...base, FEEDBACK_FIRST_CONTACT_HOURS: '8', FEEDBACK_ESCALATE_TO: ' sunqi , wangwu ' } });
    expect(c.feedback).toEqual({ firstContactHours: 8, escalateTo: ['sunqi', 'wangwu'] });
  });

  it('reads CHURN_RISK_THRESHOLD (docs/churn.md §Levels) with zh-CN errors', () => {
    const base = { NODE_ENV: 'test', DATABASE_URL: 'sqlite::memory:' };
    const problems = (env: Record<string, string>): string => {
      try {
        loadConfig({ configDir, env: { ...base, ...env } });
      } catch (err) {
        return (err as ConfigError).problems.join('\n');
      }
      return '';
    };
    expect(loadConfig({ configDir, env: base }).churn).toEqual({ threshold: 60 });
    expect(loadConfig({ configDir, env: { ...base, CHURN_RISK_THRESHOLD: '70' } }).churn).toEqual({ threshold: 70 });
    expect(problems({ CHURN_RISK_THRESHOLD: '高' })).toContain('CHURN_RISK_THRESHOLD): 须为 1–100 的分数');
    expect(problems({ CHURN_RISK_THRESHOLD: '0' })).toContain('至少 1 分');
    expect(problems({ CHURN_RISK_THRESHOLD: '101' })).toContain('至多 100 分');
  });
});
