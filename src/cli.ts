import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from './config/load.js';
import type { AppConfig } from './config/schema.js';
import { createLogger, type Logger } from './shared/logger.js';
import { buildContainer, type BuildOptions, type Container } from './container.js';
import { AppError } from './shared/errors.js';
import type { Role } from './domain/auth/api-token.service.js';
import type { InboxStatus } from './domain/inbox/inbox.types.js';
import { ensureDemoChannel } from './domain/channels/demo-channel.js';
import { SANDBOX_CORP } from './wecom/sandbox-identity.js';

const USAGE = `用法 / usage: wecom-ops <command>

  serve [--role all|ingress|worker]       HTTP server, inbox workers, delivery, scheduler (what npm start runs);
                                          ingress: callbacks + API only; worker: handlers + jobs only (SERVE_ROLE)
  migrate                                 apply pending migrations, then exit
  events list [--status failed] [--limit N]
  events replay <id>                      retry one callback event now
  token create --role admin|operator|staff [--userid U] [--name N]
  sync                                    full reconcile from WeCom (staff, customers, relations, tags); resumable
  sandbox [--port P]                      run the WeCom sandbox on its own port
  job list                                each job with its schedule, next run and last run
  job run <name> [--at ISO] [--dry-run]   run a job now as if the clock said --at
  orders import <file.csv|file.json> [--json]  import orders (idempotent by order number)
  customers erase <externalUserId> [--yes]  erase one customer's personal data (PIPL art. 47)
  keys new | status | rotate [--batch N]  DATA_KEY: a new key, what each key holds, re-seal under DATA_KEY
  users list | grant <userid> admin|operator|staff | revoke <userid>   console roles of WeCom members
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function config(): AppConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`配置无效 / ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

/** A container for one-shot commands: no HTTP routes (Koa is never loaded), no background services. */
async function withContainer<T>(cfg: AppConfig, log: Logger, fn: (c: Container) => Promise<T>, opts: BuildOptions = { http: false }): Promise<T> {
  const c = await buildContainer(cfg, log, opts);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/**
 * Dispatch `wecom-ops <command>`. An error meant for the operator (an unknown job or event, a bad role: an AppError
 * whose message may be shown) prints its message and exits 2, without a stack trace.
 */
export async function main(argv: string[]): Promise<void> {
  try {
    await dispatch(argv);
  } catch (err) {
    if (err instanceof AppError && err.expose) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function dispatch(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command === 'keys' && sub === 'new') {
    // Needs no configuration: the first step of a rotation, or of a new MySQL install.
    process.stdout.write(`${randomBytes(32).toString('base64')}\n`);
    return;
  }
  if (command === 'serve') {
    // --role wins over SERVE_ROLE; validated with the rest of the configuration (docs/inbox.md §Roles).
    let role: string | undefined;
    try {
      role = parseArgs({ args: argv.slice(1), options: { role: { type: 'string' } }, strict: true }).values.role;
    } catch (err) {
      fail(`serve 参数无效 / invalid serve arguments: ${(err as Error).message}\n\n${USAGE}`);
    }
    if (role !== undefined) process.env.SERVE_ROLE = role;
  }
  const cfg = config();
  const log = createLogger({ level: cfg.logLevel, pretty: cfg.logPretty });

  switch (command) {
    case 'serve': {
      const { startServer } = await import('./main.js');
      const running = await startServer(cfg, log);
      const c = running.container;
      log.info({ url: running.url, role: cfg.serveRole, database: cfg.databaseUrl.replace(/\/\/[^@]*@/, '//***@'), sandbox: cfg.sandboxEnabled }, 'wecom-ops listening');
      if (cfg.sandboxEnabled) {
        const { archive } = c;
        const demo = await ensureDemoChannel(archive.channels, archive.repos.channels).catch((err) => {
          log.warn({ err: (err as Error).message }, 'could not create the demo channel');
          return null;
        });
        printSandboxBanner(running.url, demo?.state ?? 'demo', cfg.hostIsSandboxDefault);
        // First start against the sandbox: pull its demo corp (5 staff, 200 customers) into the archive.
        const [{ n }] = await c.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM follow_relations');
        if (Number(n) === 0) {
          void archive.fullSync.run().then(
            (r) => log.info({ customers: r.customers, pairs: r.pairs, ms: r.ms }, 'sandbox corp synced into the archive'),
            (err) => log.warn({ err: (err as Error).message }, 'initial sandbox sync failed; run wecom-ops sync'),
          );
        }
      }
      let signals = 0;
      const shutdown = (signal: string) => {
        if (++signals > 1) process.exit(1);
        log.info({ signal }, 'shutting down');
        running.stop().then(
          () => process.exit(0),
          (err) => {
            log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      return;
    }
    case 'migrate': {
      await withContainer({ ...cfg, dbSkipMigrations: false }, log, async () => undefined);
      process.stdout.write('migrations applied\n');
      return;
    }
    case 'events': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { status: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
        allowPositionals: true,
      });
      await withContainer({ ...cfg, logLevel: 'warn' }, log, async (c) => {
        if (sub === 'list') {
          const { items, total } = await c.inbox.list({
            status: values.status as InboxStatus | undefined,
            page: 1,
            pageSize: Number(values.limit ?? 50),
          });
          if (values.json) return void process.stdout.write(`${JSON.stringify({ items, total })}\n`);
          process.stdout.write(`共 ${total} 条 / ${total} events\n`);
          for (const e of items) {
            process.stdout.write(
              `${e.id}\t${e.receivedAt.toISOString()}\t${e.status}\t${e.attempts}\t${e.kind}${e.error ? `\t${e.error.slice(0, 120)}` : ''}\n`,
            );
          }
        } else if (sub === 'replay') {
          const id = Number(positionals[0]);
          if (!Number.isInteger(id) || id <= 0) fail('usage: wecom-ops events replay <id>');
          const before = await c.inbox.replay(id);
          const ran = await c.inboxProcessor.drain();
          const after = await c.repos.inbox.findSummary(id);
          process.stdout.write(`事件 ${id}: ${before.status} → ${after?.status} (ran ${ran})${after?.error ? `\n${after.error}` : ''}\n`);
          if (after?.status === 'failed' || after?.status === 'pending') process.exitCode = 1;
        } else fail(USAGE);
      });
      return;
    }
    case 'sync': {
      // With the built-in sandbox the client talks HTTP to it, so this run serves it on a loopback port: the one
      // one-shot command that builds the HTTP side.
      await withContainer({ ...cfg, logLevel: 'warn' }, log, async (c) => {
        const { archive } = c;
        let server: import('node:http').Server | null = null;
        if (c.sandbox) {
          const { createServer } = await import('node:http');
          const { createApp } = await import('./app.js');
          server = createServer(createApp(c).callback());
          await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
          const { port } = server.address() as import('node:net').AddressInfo;
          for (const f of c.onListen) f(`http://127.0.0.1:${port}`);
        }
        try {
          const expected = Object.values(await archive.repos.relations.countByStatus()).reduce((a, b) => a + b, 0);
          const report = await archive.fullSync.run((p) => {
            const rate = p.pairs / Math.max(p.elapsedMs / 1000, 0.001);
            const total = Math.max(expected, p.pairs);
            const eta = total > p.pairs && rate > 0 ? `${Math.ceil((total - p.pairs) / rate)}s` : '—';
            if (p.groups) {
              const gRate = p.groups.fetched / Math.max(p.groups.elapsedMs / 1000, 0.001);
              process.stdout.write(`\r同步客户群 / syncing groups: ${p.groups.fetched} groups read · ${gRate.toFixed(0)}/s   `);
              return;
            }
            process.stdout.write(`\r同步中 / syncing: ${p.pairs} pairs · ${rate.toFixed(0)}/s · staff chunk ${p.chunk}/${p.chunks} · ETA ${eta}   `);
          });
          process.stdout.write(
            `\n完成 / done: run ${report.runId}${report.resumed ? ' (resumed)' : ''} · ${report.pairs} pairs · ${report.customers} customers · ` +
              `${report.vanished} vanished relations marked · staff names ${report.staff.named}/${report.staff.listed}` +
              `${report.staff.unavailable.length ? ` (not readable in WeCom: ${report.staff.unavailable.join(', ')})` : ''} · ` +
              `tags ${report.tags.tags} (${report.tags.markedDeleted} deleted, ${report.tags.created} created) · ` +
              `groups ${report.chats.listed} (${report.chats.joined} joins, ${report.chats.left} leaves, ${report.chats.dismissed} dismissed, ${report.chats.ms} ms) · ${report.ms} ms\n`,
          );
        } finally {
          server?.close();
        }
      }, { http: cfg.sandboxEnabled });
      return;
    }
    case 'token': {
      if (sub !== 'create') fail(USAGE);
      const { values } = parseArgs({
        args: rest,
        options: { role: { type: 'string' }, userid: { type: 'string' }, name: { type: 'string' } },
      });
      await withContainer({ ...cfg, logLevel: 'warn' }, log, async (c) => {
        const t = await c.tokens.create({ role: values.role as Role, userid: values.userid, name: values.name });
        await c.console.audit.recordCli('tokens.create', t.id, { request: { role: t.role, userid: values.userid ?? null, name: values.name ?? null } });
        process.stdout.write(`${t.token}\n`);
        process.stderr.write(`已创建 ${t.role} 令牌（只显示这一次）/ created ${t.role} token ${t.id}; only its hash is stored\n`);
      });
      return;
    }
    case 'job': {
      const { jobCommand } = await import('./cli/job.cli.js');
      await withContainer({ ...cfg, logLevel: 'warn' }, log, async (c) => {
        process.exitCode = await jobCommand(sub, rest, { scheduler: c.scheduling.scheduler, tz: cfg.appTimezone }, process.stdout);
      });
      return;
    }
    case 'orders': {
      const { ordersCommand } = await import('./cli/orders.cli.js');
      // The report goes to stdout; logs go to stderr so `--json` output stays parseable.
      const quiet = createLogger({ level: cfg.logLevel === 'silent' ? 'silent' : 'warn', destination: process.stderr });
      await withContainer(cfg, quiet, async (c) => {
        process.exitCode = await ordersCommand(sub, rest, c.archive.orders, process.stdout, process.stderr);
      });
      return;
    }
    case 'keys': {
      const { keysCommand } = await import('./cli/keys.cli.js');
      await withContainer({ ...cfg, logLevel: cfg.logLevel === 'silent' ? 'silent' : 'warn' }, log, async (c) => {
        process.exitCode = await keysCommand(sub, rest, c.keys.keys, c.cipher, process.stdout);
      });
      return;
    }
    case 'customers': {
      const { customersCommand } = await import('./cli/customers.cli.js');
      await withContainer({ ...cfg, logLevel: 'warn' }, log, async (c) => {
        process.exitCode = await customersCommand(sub, rest, c.privacy.erasure, process.stdout, c.console.audit);
      });
      return;
    }
    case 'users': {
      const { usersCommand } = await import('./cli/users.cli.js');
      await withContainer({ ...cfg, logLevel: 'warn' }, log, async (c) => {
        process.exitCode = await usersCommand(sub, rest, c.console.roles, c.console.audit, process.stdout);
      });
      return;
    }
    case 'sandbox': {
      const { values } = parseArgs({ args: [sub, ...rest].filter(Boolean) as string[], options: { port: { type: 'string' } } });
      const { startSandboxServer } = await import('./wecom/sandbox/server.js');
      const port = Number(values.port ?? cfg.sandbox.port);
      const s = await startSandboxServer({
        port,
        host: cfg.host,
        callbackUrl: cfg.sandbox.callbackUrl ?? `http://127.0.0.1:${cfg.port}/wecom/callback`,
        // The bot started from the same data directory (or with the same WECOM_TOKEN/WECOM_ENCODING_AES_KEY) has
        // the same callback keys (config/load.ts ensureSandboxKeys).
        corp: { ...SANDBOX_CORP, token: cfg.wecom.token!, encodingAesKey: cfg.wecom.encodingAesKey! },
        siteOrigin: cfg.publicUrl,
        logger: log,
      });
      process.stdout.write(`WeCom sandbox: ${s.url}  (WECOM_API_BASE=${s.url}, callbacks → ${cfg.sandbox.callbackUrl ?? `http://127.0.0.1:${cfg.port}/wecom/callback`})\n`);
      return;
    }
    default:
      fail(`unknown command: ${command}\n\n${USAGE}`);
  }
}

function printSandboxBanner(url: string, demoState: string, loopbackOnly: boolean): void {
  process.stdout.write(
    [
      '',
      '  wecom-ops 已启动（内置企业微信沙箱模式）/ running against the built-in WeCom sandbox',
      ...(loopbackOnly ? ['  仅本机可访问（127.0.0.1）；对外提供请设置 HOST / this machine only (127.0.0.1); set HOST to listen elsewhere'] : []),
      '  沙箱控制接口 /sandbox/_control 只接受本机连接 / the sandbox controls answer this machine only',
      `  控制台 Console:   ${url}/console/  (企业微信扫码登录，沙箱里选一位成员 / sign in by picking a sandbox member;`,
      '                   先授予角色 first give them a role: npx wecom-ops users grant zhangsan admin)',
      `  管理 API Admin API: ${url}/api/v1/`,
      `  健康检查 Health:  ${url}/readyz`,
      `  沙箱 Sandbox:     ${url}/sandbox/_control/calls`,
      `  员工侧边栏 Sidebar: ${url}/sidebar/?externalUserId=…  (沙箱登录页里选一位员工 / pick a staff member on the sandbox sign-in page)`,
      '',
      '  试一试 Try it: a demo customer scans the 演示渠道 channel code of 张三 (zhangsan):',
      `  curl -s -X POST ${url}/sandbox/_control/customers/add -H 'content-type: application/json' -d '{"userid":"zhangsan","state":"${demoState}","name":"李小姐"}'`,
      `  then look at the customer: curl -s -H "Authorization: Bearer $TOKEN" ${url}/api/v1/customers   (TOKEN from: npx wecom-ops token create --role admin)`,
      `  then: curl -s ${url}/sandbox/_control/callbacks   (the encrypted callback WeCom would send)`,
      '',
    ].join('\n') + '\n',
  );
}

const isEntry = process.argv[1] && /cli\.(ts|js)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
