import { z } from 'zod';

const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every setting of the app. Defaults live in config/default.json; this schema is the authority on types. */
export const configSchema = z
  .object({
    env: z.string().default('development'),
    port: int(0, 65535),
    /**
     * Listen address. Unset: 0.0.0.0 with real WeCom credentials, 127.0.0.1 in sandbox mode, whose controls and
     * public demo identity must not face the network (docs/security.md §Sandbox exposure).
     */
    host: z.string().min(1).optional(),
    /**
     * How many reverse proxies in front of the bot append to X-Forwarded-For. 0 (default): X-Forwarded-* are ignored
     * and the client address is the socket's. N: the address the Nth-nearest proxy appended is the client's, and
     * X-Forwarded-Proto/-Host are honoured (docs/security.md §Proxies and the public origin).
     */
    trustProxy: int(0, 10).default(0),
    databaseUrl: z
      .string()
      .regex(/^(sqlite:|mysql:\/\/)/, 'must start with sqlite: or mysql://'),
    dbSkipMigrations: bool.default(false),
    /**
     * MySQL: a statement that has not answered by then fails and its connection is dropped, so a database that
     * stops answering (a partition) stalls workers and jobs for this long rather than until TCP gives up. 0 turns
     * it off. Migrations are not bounded.
     */
    dbStatementTimeoutMs: int(0, 3_600_000).default(60_000),
    /**
     * Deadline of one API read (customer lists, audience counts and previews): MariaDB `SET STATEMENT
     * max_statement_time`, MySQL `MAX_EXECUTION_TIME`, and on SQLite the off-thread reader gives up and starts
     * afresh. Past it the request gets 503 查询超时 (docs/security.md §Audience queries). 0 turns it off.
     */
    apiStatementTimeoutMs: int(0, 600_000).default(5_000),
    appTimezone: z.string().refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'not an IANA time zone'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    logPretty: bool.default(false),
    dataKey: z
      .string()
      .optional()
      .refine((k) => k === undefined || Buffer.from(k, 'base64').length === 32, 'must be base64 of 32 bytes'),
    /**
     * Keys accepted for reading but never for writing (comma-separated in DATA_KEY_READ_ONLY): the key being retired
     * while `wecom-ops keys rotate` re-seals everything under DATA_KEY, or the next key while instances are rolled
     * over to read it before it becomes DATA_KEY (README: 密钥轮换).
     */
    dataKeyReadOnly: z.preprocess(
      (v) => (typeof v === 'string' ? v.split(',').map((k) => k.trim()).filter(Boolean) : v),
      z.array(z.string().refine((k) => Buffer.from(k, 'base64').length === 32, 'each must be base64 of 32 bytes')).default([]),
    ),
    /** Wrong API tokens allowed per client address and window before 429 (docs/reliability.md §Access control). */
    auth: z
      .object({ maxFailures: int(1, 100_000).default(20), windowMs: int(1000, 86_400_000).default(600_000) })
      .prefault({}),
    /**
     * Customer searches with `q` per principal (API token, sidebar session, ADMIN_TOKEN), counted in the database
     * across instances; over either budget the answer is 429 (docs/security.md §Phone search). 0 turns the daily
     * budget off.
     */
    search: z
      .object({ maxPerMinute: int(1, 100_000).default(30), maxPerDay: int(0, 10_000_000).default(600) })
      .prefault({}),
    /** Staff may name tags that do not exist yet, which creates them as company-wide corp tags (docs/security.md §Staff tags). */
    staffMayCreateTags: bool.default(false),
    adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
    /**
     * The operator console (docs/security.md §Console sign-in and roles): WeCom members who are admins whatever the
     * roles table says (ADMIN_USERIDS, comma-separated), so the first admin can sign in before anyone grants roles.
     */
    console: z
      .object({
        adminUserids: z.preprocess(
          (v) => (typeof v === 'string' ? v.split(',').map((u) => u.trim()).filter(Boolean) : v),
          z.array(z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'each must be a WeCom userid')).default([]),
        ),
      })
      .prefault({}),
    /** The audit log (docs/security.md §Audit log): rows older than `retentionDays` go in the `retention` job; 0 keeps them. */
    audit: z.object({ retentionDays: int(0, 36_500).default(180) }).prefault({}),
    /** When set, `/metrics` needs `Authorization: Bearer <METRICS_TOKEN>` (docs/security.md §Access policies). */
    metricsToken: z.string().min(16, 'must be at least 16 characters').optional(),
    publicUrl: z.string().url().optional(),
    /** Optional Redis (`redis://host:6379`) for the WeCom rate-limit counters; the app's database otherwise (docs/rate-limits.md §Redis). */
    redisUrl: z.string().url().optional(),
    /**
     * What `serve` runs (docs/inbox.md §Roles): `all` (default) everything in one process; `ingress` callbacks, the API
     * and the pages, no background work; `worker` the inbox handlers, the scheduler and the dispatcher, with only
     * /healthz, /readyz and /metrics on its port. `wecom-ops serve --role` overrides it.
     */
    serveRole: z
      .enum(['all', 'ingress', 'worker'], { message: '角色只能是 all、ingress 或 worker / must be all, ingress or worker' })
      .default('all'),
    /**
     * Where role `all` runs its handlers, scheduler and dispatcher (docs/inbox.md §Handler thread): `on`, in a worker
     * thread of the same process, so the acknowledgement path has the main thread's event loop to itself; `off`
     * (default), on the main thread; `auto`, `on` unless the database is in memory or the built-in sandbox plays
     * WeCom, neither of which a second thread can share. Off by default: under the surge bench the thread did not
     * beat one thread on MySQL (slower welcomes and drain), as that section says.
     */
    handlerThread: z
      .enum(['auto', 'on', 'off'], { message: '只能是 auto、on 或 off / must be auto, on or off' })
      .default('off'),
    /**
     * 积分与会员 (docs/loyalty.md): how orders earn points, when points expire, the tiers and their thresholds, the
     * customer's signed "我的积分" link and its rate limits.
     */
    loyalty: z
      .object({
        /** Points per yuan of an imported order (rounded down per order); 0 earns nothing. */
        pointsPerYuan: z.coerce.number().min(0).max(1000).default(1),
        /** Points of an order placed in the customer's birthday month are multiplied by this. */
        birthdayMultiplier: z.coerce.number().min(1).max(10).default(2),
        /** Points earned in year Y expire at the end of year Y + N (local time); 0: never. */
        expiryYears: int(0, 10).default(1),
        /** What a tier is measured by: the points balance, or the spend (yuan) within `spendWindowDays`. */
        tierBasis: z.enum(['points', 'spend'], { message: '只能是 points 或 spend / must be points or spend' }).default('points'),
        spendWindowDays: int(1, 3650).default(365),
        /** Tiers from the lowest (threshold 0) up: JSON in LOYALTY_TIERS. */
        tiers: z.preprocess(
          (v) => {
            if (typeof v !== 'string') return v;
            try {
              return JSON.parse(v) as unknown;
            } catch {
              return v;
            }
          },
          z
            .array(z.object({ name: z.string().trim().min(1).max(32), threshold: z.number().int().min(0).max(1_000_000_000), benefits: z.string().max(500).default('') }))
            .min(1)
            .max(10)
            .refine((t) => t[0].threshold === 0, '第一个等级的门槛必须是 0 / the first tier must have threshold 0')
            .refine((t) => t.every((x, i) => i === 0 || x.threshold > t[i - 1].threshold), '门槛必须逐级递增 / thresholds must increase')
            .refine((t) => new Set(t.map((x) => x.name)).size === t.length, '等级名称不能重复 / tier names must be unique')
            .default([
              { name: '普通', threshold: 0, benefits: '积分累计与兑换' },
              { name: '银卡', threshold: 1000, benefits: '会员价 98 折，生日双倍积分' },
              { name: '金卡', threshold: 5000, benefits: '会员价 95 折，专属客服，优先发货' },
              { name: '钻石', threshold: 20000, benefits: '会员价 9 折，专属客服一对一，新品优先体验' },
            ]),
        ),
        /** A customer below their tier's threshold keeps the tier this many days before moving down. */
        downgradeGraceDays: int(0, 3650).default(30),
        /** How long a "我的积分" link works. */
        linkTtlDays: int(1, 365).default(30),
        /** Requests per minute to the "我的积分" page per client address and per link, before 429. */
        pagePerMinutePerAddress: int(1, 1_000_000).default(600),
        pagePerMinutePerToken: int(1, 100_000).default(60),
        /** The congratulation an upgrade queues ({{name}}, {{tier}}, {{benefits}}, {{staff}}); its sender is the owner. */
        upgradeMessage: z.string().min(1).max(1000).default('{{name}}您好，恭喜您升级为{{tier}}会员！会员权益：{{benefits}}。感谢您一直以来的支持。'),
      })
      .prefault({}),
    /**
     * 客户反馈处理 (docs/feedback.md): the first-contact SLA of a feedback ticket and who hears when it is missed.
     */
    feedback: z
      .object({
        /** Hours from a ticket's opening by which its owner must have contacted the customer (docs/feedback.md §SLA and escalation). */
        firstContactHours: z.coerce
          .number({ message: '须为小时数，如 24 / must be a number of hours such as 24' })
          .min(0.25, '至少 0.25 小时（15 分钟）/ at least 0.25 h')
          .max(720, '至多 720 小时（30 天）/ at most 720 h')
          .default(24),
        /** WeCom userids told when a ticket misses its SLA (comma-separated); empty: ADMIN_USERIDS. */
        escalateTo: z.preprocess(
          (v) => (typeof v === 'string' ? v.split(',').map((u) => u.trim()).filter(Boolean) : v),
          z
            .array(z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, '须为企业微信成员账号（userid：字母、数字或 _ . @ -，至多 64 个字符），多个用英文逗号分隔 / each must be a WeCom userid'))
            .max(50, '至多 50 人 / at most 50 userids')
            .default([]),
        ),
      })
      .prefault({}),
    /** 素材库 (docs/content.md §Storage): where files are kept and which mini-programs the corp has linked. */
    content: z
      .object({
        /** `local` (a folder, the default) or `s3` (an S3-compatible bucket, for several instances). */
        storage: z.enum(['local', 's3'], { message: '只能是 local 或 s3 / must be local or s3' }).default('local'),
        /** The folder of `local` storage; empty: `content/` in the data directory. */
        dir: z.string().optional(),
        /** The largest file kept, in bytes (WeCom's own limits per kind apply too: docs/content.md §Limits). */
        maxBytes: int(1024, 20 * 1024 * 1024).default(20 * 1024 * 1024),
        /** AppIDs of the mini-programs linked to the corp (comma-separated); WeCom has no API that lists them. */
        miniprogramAppIds: z.preprocess(
          (v) => (typeof v === 'string' ? v.split(',').map((u) => u.trim()).filter(Boolean) : v),
          z.array(z.string().regex(/^wx[0-9a-fA-F]{16}$/, '须为小程序 AppID（wx 加 16 位字母数字），多个用英文逗号分隔 / each must be a mini-program AppID')).max(100).default([]),
        ),
        s3: z
          .object({
            bucket: z.string().default(''),
            region: z.string().default('us-east-1'),
            /** The service's URL (MinIO, Ceph…); empty for AWS S3 itself. */
            endpoint: z.string().default(''),
            accessKeyId: z.string().default(''),
            secretAccessKey: z.string().default(''),
            forcePathStyle: bool.default(true),
            prefix: z.string().default(''),
          })
          .prefault({}),
      })
      .prefault({}),
    /** 流失预警 (docs/churn.md). */
    churn: z
      .object({
        /** The churn-risk score (0–100) at which a customer is 高风险 (docs/churn.md §Levels). */
        threshold: z.coerce
          .number({ message: '须为 1–100 的分数 / must be a score from 1 to 100' })
          .int('须为整数 / must be a whole number')
          .min(1, '至少 1 分 / at least 1')
          .max(100, '至多 100 分 / at most 100')
          .default(60),
      })
      .prefault({}),
    wecom: z.object({
      corpId: z.string().min(1).optional(),
      agentId: z.coerce.number().int().positive().optional(),
      secret: z.string().min(1).optional(),
      kfSecret: z.string().min(1).optional(),
      token: z.string().min(1).max(32).optional(),
      encodingAesKey: z
        .string()
        .regex(/^[A-Za-z0-9]{43}$/, 'must be 43 characters of [A-Za-z0-9]')
        .optional(),
      /**
       * The new callback Token/EncodingAESKey, accepted alongside the current pair while the app's 接收消息 settings
       * are changed in the admin console (WeCom verifies the new pair before saving it,
       * docs/wecom-protocol.md §URL verification).
       */
      nextToken: z.string().min(1).max(32).optional(),
      nextEncodingAesKey: z
        .string()
        .regex(/^[A-Za-z0-9]{43}$/, 'must be 43 characters of [A-Za-z0-9]')
        .optional(),
      apiBase: z.string().url(),
      /**
       * Callbacks whose timestamp is further than this from now are rejected as replays
       * (docs/reliability.md §Replay window).
       */
      replayWindowSeconds: int(0, 86400),
      /**
       * Per-API overrides of the client's rate limits (api-policy.ts), e.g. `{ "externalcontact/get": { "perMinute":
       * 6000, "perHour": 90000, "concurrency": 5 } }`. perMinute and perHour are for the whole corp, counted across every
       * instance (docs/rate-limits.md); concurrency is per instance.
       */
      limits: z
        .record(
          z.string(),
          z.object({
            perMinute: z.number().int().positive(),
            concurrency: z.number().int().positive(),
            burst: z.number().int().positive().optional(),
            perHour: z.number().int().positive().optional(),
            hourlyBurst: z.number().int().positive().optional(),
          }),
        )
        .optional(),
    }),
    inbox: z.object({
      /**
       * Concurrent handler slots per process; 0 turns the workers off (ingress only). A handler mostly waits on
       * WeCom (an add makes three calls), so slots are cheap; the default 16 keeps a burst of adds through a popular
       * channel code well inside the welcome_code's 20 s (docs/wecom-protocol.md §Welcome messages). Per-API caps still
       * bound WeCom calls.
       */
      workers: int(0, 64),
      pollIntervalMs: int(10, 60000),
      /**
       * The poll interval of a `worker`-role process instead of pollIntervalMs: callbacks are stored by another
       * process, whose commits cannot wake this one, so the poll is what bounds add → welcome latency. A claim reads
       * only ready rows, so an empty poll is one indexed read (docs/inbox.md §Roles).
       */
      workerPollIntervalMs: int(10, 60000).default(50),
      leaseMs: int(1000, 3600000),
      /**
       * The lease of an event claimed from the priority lane (at most leaseMs). Short, so that a crashed worker's adds
       * come back while their welcome_code (20 s) still works; a handler that runs longer renews its lease as it goes
       * (docs/inbox.md §Deadline first).
       */
      urgentLeaseMs: int(1000, 3600000).default(10000),
      maxAttempts: int(1, 100),
      backoffBaseMs: int(1, 3600000),
      backoffMaxMs: int(1, 86400000),
      claimBatch: int(1, 500),
      /**
       * How long a callback may wait for its durable commit before the bot answers 503. WeCom gives up on a reply
       * after 5 s and retries (docs/wecom-protocol.md §Acknowledging callbacks); a 503 inside that window says "not
       * stored" honestly, and the retry is deduplicated if the slow commit landed after all.
       */
      storeTimeoutMs: int(100, 4500),
    }),
    alerts: z
      .object({
        /** WeCom userids that get churn alerts (删人提醒) by app message, besides the staff member concerned. */
        adminUserids: z.array(z.string().min(1).max(64)).default([]),
      })
      .default({ adminUserids: [] }),
    sandbox: z.object({
      /** Run the WeCom sandbox in-process under /sandbox. Defaults to on when no WECOM_CORP_ID is set. */
      enabled: bool.optional(),
      port: int(0, 65535),
      seed: bool.default(true),
      /** Where the standalone sandbox (`wecom-ops sandbox`) posts callbacks. */
      callbackUrl: z.string().url().optional(),
    }),
  });

/**
 * Rules across fields, checked on the raw input so they are reported together with type errors (zod skips
 * refinements once a field fails).
 */
export function crossFieldProblems(raw: { databaseUrl?: unknown; dataKey?: unknown; publicUrl?: unknown; wecom?: Record<string, unknown> }): string[] {
  const problems: string[] = [];
  if (raw.wecom?.corpId) {
    for (const [key, env] of [['secret', 'WECOM_SECRET'], ['token', 'WECOM_TOKEN'], ['encodingAesKey', 'WECOM_ENCODING_AES_KEY']] as const) {
      if (!raw.wecom[key]) problems.push(`wecom.${key} (${env}): required when WECOM_CORP_ID is set`);
    }
    // The sidebar's origin (JS-SDK signatures, OAuth redirect_uri) must never come from a request's Host or
    // X-Forwarded-Host (docs/security.md §Proxies and the public origin).
    if (!raw.publicUrl) {
      problems.push(
        'publicUrl (PUBLIC_URL): 使用真实企业微信凭据（已设置 WECOM_CORP_ID）时必须设置 PUBLIC_URL，即员工浏览器访问本服务的地址，如 PUBLIC_URL=https://ops.example.com（须是应用的可信域名）' +
          ' / required when WECOM_CORP_ID is set: the address staff browsers use to reach this server, e.g. PUBLIC_URL=https://ops.example.com (a trusted domain of the app)',
      );
    }
  }
  if (Boolean(raw.wecom?.nextToken) !== Boolean(raw.wecom?.nextEncodingAesKey)) {
    problems.push('wecom.nextToken (WECOM_NEXT_TOKEN) and wecom.nextEncodingAesKey (WECOM_NEXT_ENCODING_AES_KEY): set both or neither');
  }
  if (typeof raw.databaseUrl === 'string' && raw.databaseUrl.startsWith('mysql://') && !raw.dataKey) {
    problems.push('dataKey (DATA_KEY): DATA_KEY is required with MySQL');
  }
  return problems;
}

/** The validated, frozen configuration passed through constructors. */
export type AppConfig = z.infer<typeof configSchema> & {
  sandboxEnabled: boolean;
  wecomCorpId: string;
  /** The listen address actually used (HOST, or the default for the mode). */
  host: string;
  /** True when HOST was not set and sandbox mode chose 127.0.0.1 (said at start). */
  hostIsSandboxDefault: boolean;
  /**
   * Where each value set explicitly came from, by config path (`audit.retentionDays`): `env:AUDIT_RETENTION_DAYS` or
   * `file:config/default.json`; a path absent here has its schema default. Config built in tests has none.
   */
  sources?: Readonly<Record<string, string>>;
};
