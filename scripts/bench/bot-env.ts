import { randomBytes } from 'node:crypto';

/**
 * The environment of a bench's bot process: production mode, silent, its own database and DATA_KEY, talking to the
 * sandbox process as it would to WeCom, with the inbox workers at their default unless BENCH_INBOX_WORKERS says.
 */
export function botEnv(databaseUrl: string, wecomApiBase: string, adminToken: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    DATA_KEY: randomBytes(32).toString('base64'),
    ADMIN_TOKEN: adminToken,
    SANDBOX: 'false',
    WECOM_API_BASE: wecomApiBase,
    PUBLIC_URL: 'http://127.0.0.1',
    ...(process.env.BENCH_INBOX_WORKERS ? { INBOX_WORKERS: process.env.BENCH_INBOX_WORKERS } : {}),
  };
}
