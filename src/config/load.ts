import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { configSchema, crossFieldProblems, type AppConfig } from './schema.js';
import { SANDBOX_CORP, randomSandboxKeys, type SandboxCallbackKeys } from '../wecom/sandbox-identity.js';

/** Thrown when configuration is invalid; `problems` lists every one of them. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Which environment variable feeds which config path. */
const ENV_MAP: Record<string, string> = {
  PORT: 'port',
  HOST: 'host',
  TRUST_PROXY: 'trustProxy',
  DATABASE_URL: 'databaseUrl',
  DB_SKIP_MIGRATIONS: 'dbSkipMigrations',
  DB_STATEMENT_TIMEOUT_MS: 'dbStatementTimeoutMs',
  API_STATEMENT_TIMEOUT_MS: 'apiStatementTimeoutMs',
  APP_TIMEZONE: 'appTimezone',
  LOG_LEVEL: 'logLevel',
  LOG_PRETTY: 'logPretty',
  DATA_KEY: 'dataKey',
  DATA_KEY_READ_ONLY: 'dataKeyReadOnly',
  AUTH_MAX_FAILURES: 'auth.maxFailures',
  SEARCH_MAX_PER_MINUTE: 'search.maxPerMinute',
  SEARCH_MAX_PER_DAY: 'search.maxPerDay',
  STAFF_MAY_CREATE_TAGS: 'staffMayCreateTags',
  ADMIN_TOKEN: 'adminToken',
  ADMIN_USERIDS: 'console.adminUserids',
  AUDIT_RETENTION_DAYS: 'audit.retentionDays',
  METRICS_TOKEN: 'metricsToken',
  PUBLIC_URL: 'publicUrl',
  REDIS_URL: 'redisUrl',
  SERVE_ROLE: 'serveRole',
  HANDLER_THREAD: 'handlerThread',
  LOYALTY_POINTS_PER_YUAN: 'loyalty.pointsPerYuan',
  LOYALTY_BIRTHDAY_MULTIPLIER: 'loyalty.birthdayMultiplier',
  LOYALTY_EXPIRY_YEARS: 'loyalty.expiryYears',
  LOYALTY_TIER_BASIS: 'loyalty.tierBasis',
  LOYALTY_SPEND_WINDOW_DAYS: 'loyalty.spendWindowDays',
  LOYALTY_TIERS: 'loyalty.tiers',
  LOYALTY_DOWNGRADE_GRACE_DAYS: 'loyalty.downgradeGraceDays',
  LOYALTY_LINK_TTL_DAYS: 'loyalty.linkTtlDays',
  LOYALTY_PAGE_PER_MINUTE_ADDRESS: 'loyalty.pagePerMinutePerAddress',
  LOYALTY_PAGE_PER_MINUTE_TOKEN: 'loyalty.pagePerMinutePerToken',
  LOYALTY_UPGRADE_MESSAGE: 'loyalty.upgradeMessage',
  FEEDBACK_FIRST_CONTACT_HOURS: 'feedback.firstContactHours',
  CHURN_RISK_THRESHOLD: 'churn.threshold',
  CONTENT_STORAGE: 'content.storage',
  CONTENT_DIR: 'content.dir',
  CONTENT_MAX_BYTES: 'content.maxBytes',
  CONTENT_MINIPROGRAM_APPIDS: 'content.miniprogramAppIds',
  CONTENT_S3_BUCKET: 'content.s3.bucket',
  CONTENT_S3_REGION: 'content.s3.region',
  CONTENT_S3_ENDPOINT: 'content.s3.endpoint',
  CONTENT_S3_ACCESS_KEY_ID: 'content.s3.accessKeyId',
  CONTENT_S3_SECRET_ACCESS_KEY: 'content.s3.secretAccessKey',
  CONTENT_S3_FORCE_PATH_STYLE: 'content.s3.forcePathStyle',
  CONTENT_S3_PREFIX: 'content.s3.prefix',
  FEEDBACK_ESCALATE_TO: 'feedback.escalateTo',
  WECOM_CORP_ID: 'wecom.corpId',
  WECOM_AGENT_ID: 'wecom.agentId',
  WECOM_SECRET: 'wecom.secret',
  WECOM_KF_SECRET: 'wecom.kfSecret',
  WECOM_TOKEN: 'wecom.token',
  WECOM_ENCODING_AES_KEY: 'wecom.encodingAesKey',
  WECOM_NEXT_TOKEN: 'wecom.nextToken',
  WECOM_NEXT_ENCODING_AES_KEY: 'wecom.nextEncodingAesKey',
  WECOM_API_BASE: 'wecom.apiBase',
  WECOM_REPLAY_WINDOW_SECONDS: 'wecom.replayWindowSeconds',
  INBOX_WORKERS: 'inbox.workers',
  INBOX_POLL_INTERVAL_MS: 'inbox.pollIntervalMs',
  INBOX_WORKER_POLL_INTERVAL_MS: 'inbox.workerPollIntervalMs',
  INBOX_LEASE_MS: 'inbox.leaseMs',
  INBOX_URGENT_LEASE_MS: 'inbox.urgentLeaseMs',
  INBOX_MAX_ATTEMPTS: 'inbox.maxAttempts',
  INBOX_BACKOFF_BASE_MS: 'inbox.backoffBaseMs',
  INBOX_BACKOFF_MAX_MS: 'inbox.backoffMaxMs',
  INBOX_STORE_TIMEOUT_MS: 'inbox.storeTimeoutMs',
  SANDBOX: 'sandbox.enabled',
  SANDBOX_PORT: 'sandbox.port',
  SANDBOX_SEED: 'sandbox.seed',
  SANDBOX_CALLBACK_URL: 'sandbox.callbackUrl',
};

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(target: Json, source: Json): Json {
  for (const [k, v] of Object.entries(source)) {
    target[k] = isObject(v) && isObject(target[k]) ? merge({ ...(target[k] as Json) }, v) : v;
  }
  return target;
}

function setPath(obj: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(cur[k])) cur[k] = {};
    cur = cur[k] as Json;
  }
  cur[keys[keys.length - 1]] = value;
}

/** Every leaf path of a config object (an array or a scalar is a leaf), for `AppConfig.sources`. */
function leafPaths(obj: Json, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) => (isObject(v) && Object.keys(v).length > 0 ? leafPaths(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

function readJson(file: string, problems: string[]): Json {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Json;
  } catch (err) {
    problems.push(`${file}: ${(err as Error).message}`);
    return {};
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  configDir?: string;
  /** Extra values merged last, for tests. */
  overrides?: Json;
}

/**
 * Load config from config/default.json, config/<NODE_ENV>.json, config/local.json and the environment,
 * lowest precedence first, then validate it. Throws ConfigError listing every problem.
 */
export function loadConfig(options: LoadOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const dir = options.configDir ?? resolve(process.cwd(), 'config');
  const nodeEnv = env.NODE_ENV ?? 'development';
  const problems: string[] = [];
  let raw: Json = { env: nodeEnv };
  // Later sources win, so a path's entry is overwritten by each source that sets it (shown by the settings page).
  const sources: Record<string, string> = {};
  for (const file of ['default.json', `${nodeEnv}.json`, 'local.json']) {
    const json = readJson(join(dir, file), problems);
    for (const path of leafPaths(json)) sources[path] = `file:config/${file}`;
    raw = merge(raw, json);
  }
  for (const [name, path] of Object.entries(ENV_MAP)) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      setPath(raw, path, value);
      for (const p of Object.keys(sources)) if (p.startsWith(`${path}.`)) delete sources[p];
      sources[path] = `env:${name}`;
    }
  }
  if (options.overrides) raw = merge(raw, options.overrides);

  problems.push(...crossFieldProblems(raw as Parameters<typeof crossFieldProblems>[0]));
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.join('.');
      // `dataKeyReadOnly.1` is the second key of DATA_KEY_READ_ONLY.
      const envName = Object.entries(ENV_MAP).find(([, p]) => p === path || path.startsWith(`${p}.`))?.[0];
      problems.push(`${path || '(root)'}${envName ? ` (${envName})` : ''}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);

  const c = parsed.data;
  const sandboxEnabled = c.sandbox.enabled ?? !c.wecom.corpId;
  if (sandboxEnabled && c.serveRole !== 'all') {
    // The in-process sandbox lives in one process: a worker elsewhere could not reach the customers it made up.
    throw new ConfigError([
      `serveRole (SERVE_ROLE / --role ${c.serveRole}): 内置沙箱只能在单进程（--role all）中运行；拆分角色时请设置 SANDBOX=false，并用 WECOM_API_BASE 指向真实企业微信或独立沙箱（wecom-ops sandbox）` +
        ` / the built-in sandbox runs only with --role all; to split roles set SANDBOX=false and point WECOM_API_BASE at WeCom or a standalone sandbox (wecom-ops sandbox)`,
    ]);
  }
  if (c.handlerThread === 'on' && (sandboxEnabled || isMemoryDatabase(c.databaseUrl))) {
    // A second thread has its own memory: it could not see an in-memory database or the sandbox's customers.
    throw new ConfigError([
      `handlerThread (HANDLER_THREAD=on): 内存数据库（sqlite::memory:）和内置沙箱只能在一个线程中使用；请设置 HANDLER_THREAD=auto 或 off` +
        ` / an in-memory database and the built-in sandbox live in one thread; set HANDLER_THREAD=auto or off (docs/inbox.md §Handler thread)`,
    ]);
  }
  // Sandbox mode (no real corp, or the in-process sandbox) listens on loopback unless HOST says otherwise:
  // its controls and demo identity must not face the network (docs/security.md §Sandbox exposure).
  const sandboxMode = sandboxEnabled || !c.wecom.corpId;
  const host = c.host ?? (sandboxMode ? '127.0.0.1' : '0.0.0.0');
  const hostIsSandboxDefault = c.host === undefined && sandboxMode;
  const wecom = { ...c.wecom };
  if (!wecom.corpId) {
    // No real corp: play against the built-in sandbox with its fixed demo identity, and callback keys of this data
    // directory unless WECOM_TOKEN/WECOM_ENCODING_AES_KEY are given (tests, the bench).
    wecom.corpId = SANDBOX_CORP.corpId;
    wecom.agentId ??= SANDBOX_CORP.agentId;
    wecom.secret ??= SANDBOX_CORP.secret;
    if (!wecom.token || !wecom.encodingAesKey) {
      const keys = ensureSandboxKeys(c.databaseUrl);
      wecom.token ??= keys.token;
      wecom.encodingAesKey ??= keys.encodingAesKey;
    }
    // The sandbox identity only works against a sandbox: in-process under /sandbox, or else the standalone one
    // (`wecom-ops sandbox`). Never aim it at the real qyapi.weixin.qq.com.
    if (!env.WECOM_API_BASE) {
      wecom.apiBase = sandboxEnabled ? `http://127.0.0.1:${c.port}/sandbox` : `http://127.0.0.1:${c.sandbox.port}`;
    }
  }
  let dataKey = c.dataKey;
  if (!dataKey && c.databaseUrl.startsWith('sqlite:')) dataKey = ensureLocalDataKey(c.databaseUrl);
  return Object.freeze({ ...c, host, hostIsSandboxDefault, wecom, dataKey, sandboxEnabled, wecomCorpId: wecom.corpId, sources: Object.freeze(sources) });
}

/** The data directory: the SQLite file's directory, else ./data (MySQL, `sqlite::memory:`). */
export function dataDirOf(databaseUrl: string): string {
  if (!databaseUrl.startsWith('sqlite:')) return resolve('data');
  const dbPath = databaseUrl.slice('sqlite:'.length);
  return dbPath === ':memory:' || dbPath === '' ? resolve('data') : dirname(resolve(dbPath));
}

/**
 * The sandbox's callback Token and EncodingAESKey, generated once per data directory into `sandbox-keys.json`
 * (mode 0600) and kept across restarts, so the in-process sandbox, a standalone `wecom-ops sandbox` started from the
 * same directory and the bot agree, while nobody else knows them (docs/security.md §Sandbox exposure).
 */
export function ensureSandboxKeys(databaseUrl: string): SandboxCallbackKeys {
  // An in-memory database has no data directory and lives as long as the process: so do its keys.
  if (databaseUrl === 'sqlite::memory:' || databaseUrl === 'sqlite:') return randomSandboxKeys();
  const dir = dataDirOf(databaseUrl);
  const file = join(dir, 'sandbox-keys.json');
  if (existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<SandboxCallbackKeys>;
    if (typeof parsed.token === 'string' && /^[A-Za-z0-9]{43}$/.test(parsed.encodingAesKey ?? '')) return parsed as SandboxCallbackKeys;
    throw new ConfigError([`${file}: 沙箱回调密钥文件已损坏，删除后重启会重新生成 / corrupt sandbox callback keys; delete it to generate new ones`]);
  }
  mkdirSync(dir, { recursive: true });
  const keys = randomSandboxKeys();
  // Written whole to a private file, then linked into place: link() fails if the name exists, so of two processes
  // starting at once one wins and the other reads the winner's complete file, never a half-written one.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(keys)}\n`, { mode: 0o600 });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return ensureSandboxKeys(databaseUrl);
    throw err;
  } finally {
    unlinkSync(tmp);
  }
  return keys;
}

/** With the embedded database, generate DATA_KEY once into ./data/ next to it (contract: "generated into ./data/"). */
function ensureLocalDataKey(databaseUrl: string): string {
  const dir = dataDirOf(databaseUrl);
  const file = join(dir, 'data-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/** True for an SQLite database that lives in this process's memory only. */
export function isMemoryDatabase(databaseUrl: string): boolean {
  return databaseUrl === 'sqlite::memory:' || databaseUrl === 'sqlite:' || databaseUrl.startsWith('sqlite::memory:');
}
