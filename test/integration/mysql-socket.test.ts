import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContainer, type Container } from '../../src/container.js';
import { createDataSource, mysqlSocketOf } from '../../src/persistence/data-source.js';
import { createApp } from '../../src/app.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createTestDatabase, noteMysqlSkipped, type TestDatabase } from '../helpers/databases.js';
import { testConfig, waitFor } from '../helpers/app.js';
import { postCallback, SANDBOX_CREDS } from '../helpers/callbacks.js';

noteMysqlSkipped();

describe('DATABASE_URL ?socket=', () => {
  it('takes the parameter out of the URL and keeps the rest', () => {
    expect(mysqlSocketOf('mysql://wecom:pw@localhost:3306/wecom_ops?socket=%2Frun%2Fmysqld%2Fmysqld.sock')).toEqual({
      url: 'mysql://wecom:pw@localhost:3306/wecom_ops',
      socketPath: '/run/mysqld/mysqld.sock',
    });
    expect(mysqlSocketOf('mysql://wecom@localhost/wecom_ops?socket=/run/mysqld/mysqld.sock')).toEqual({
      url: 'mysql://wecom@localhost/wecom_ops',
      socketPath: '/run/mysqld/mysqld.sock',
    });
    expect(mysqlSocketOf('mysql://root@127.0.0.1:3306/test')).toEqual({ url: 'mysql://root@127.0.0.1:3306/test' });
  });

  it('refuses a socket that is not an absolute path, saying what it wants', () => {
    expect(() => mysqlSocketOf('mysql://root@localhost/db?socket=mysqld.sock')).toThrow(/absolute path/);
  });
});

const xml = (ext: string) =>
  `<xml><ToUserName><![CDATA[${SANDBOX_CREDS.receiveId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
  `<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wecom_ops_probe]]></Event>` +
  `<ExternalUserID><![CDATA[${ext}]]></ExternalUserID></xml>`;

/**
 * MySQL on the same host through its Unix socket (docs/reliability.md §MySQL on the same host): the bot migrates,
 * stores a callback and answers over it, and its connections are socket connections, not TCP. A server on another
 * machine has no socket here; the test then says so and passes nothing off as checked.
 */
describe.skipIf(!process.env.TEST_MYSQL_URL)('MySQL through its Unix socket', () => {
  let db: TestDatabase;
  let socketPath = '';
  let container: Container | undefined;
  let server: Server | undefined;
  let url: string;

  beforeAll(async () => {
    db = await createTestDatabase('mysql');
    const probe = createDataSource({ databaseUrl: db.url });
    await probe.initialize();
    try {
      socketPath = String(((await probe.query('SELECT @@socket AS s')) as { s: string }[])[0].s);
    } finally {
      await probe.destroy();
    }
    if (!existsSync(socketPath)) return;
    const viaSocket = `${db.url}?socket=${encodeURIComponent(socketPath)}`;
    container = await buildContainer(testConfig(viaSocket, { inbox: { workers: 0 } }), silentLogger, { registry: new Registry() });
    server = createServer(createApp(container).callback());
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await container?.close().catch(() => undefined);
    await db?.drop();
  });

  it('migrates, stores a callback and reads it back, every connection a socket one', async (ctx) => {
    if (!container) {
      ctx.skip(`the MySQL server's socket ${socketPath} is not on this machine (a remote server)`);
      return;
    }
    expect((await postCallback(url, xml('wmViaSocket'))).status).toBe(200);
    const stored = await waitFor(
      async () => (Number((await container!.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM inbox_events WHERE subject_key = 'customer:wmViaSocket'"))[0].n) === 1 ? true : null),
      5000,
      'the callback to be stored',
    );
    expect(stored).toBe(true);
    // A socket connection shows its host as `localhost`; a TCP one as `address:port`.
    const [me] = await container.db.query<{ host: string }>('SELECT HOST AS host FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()');
    expect(me.host).toBe('localhost');
  });
});
