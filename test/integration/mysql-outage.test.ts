import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContainer, type Container } from '../../src/container.js';
import { createDataSource } from '../../src/persistence/data-source.js';
import { createApp } from '../../src/app.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createTestDatabase, noteMysqlSkipped, type TestDatabase } from '../helpers/databases.js';
import { TEST_ADMIN_TOKEN, testConfig, waitFor } from '../helpers/app.js';
import { postCallback, SANDBOX_CREDS } from '../helpers/callbacks.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

noteMysqlSkipped();

const xml = (ext: string) =>
  `<xml><ToUserName><![CDATA[${SANDBOX_CREDS.receiveId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
  `<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wecom_ops_probe]]></Event>` +
  `<ExternalUserID><![CDATA[${ext}]]></ExternalUserID></xml>`;

/**
 * The database stops answering (a partition: the socket stays open, nothing comes back). The callback must get a 503
 * inside WeCom's 5 s, never a 200, and once the database answers again the retried event is stored exactly once
 * (docs/reliability.md §Reliability tests, test 6). Every other statement (API, workers, jobs) gives up after
 * DB_STATEMENT_TIMEOUT_MS and its connection is replaced, so the instance recovers by itself.
 */
describe.skipIf(!process.env.TEST_MYSQL_URL)('while MySQL stops answering', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let container: Container;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    db = await createTestDatabase('mysql');
    const direct = new URL(db.url);
    proxy = await startTcpProxy(direct.hostname, Number(direct.port || 3306));
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    container = await buildContainer(testConfig(viaProxy.toString(), { inbox: { workers: 0, storeTimeoutMs: 1500 }, dbStatementTimeoutMs: 2000 }), silentLogger, { registry: new Registry() });
    server = createServer(createApp(container).callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    // Cut the proxied sockets first: a connection whose reply was lost in the black hole would keep the pool's end()
    // waiting forever.
    await proxy?.close();
    await container?.close().catch(() => undefined);
    await db?.drop();
  });

  it('answers 503 within the deadline while the database is unreachable, then stores the retry exactly once', async () => {
    expect((await postCallback(url, xml('wmBefore'))).status).toBe(200);

    proxy.blackhole();
    const started = Date.now();
    const during = await postCallback(url, xml('wmDuring'));
    const tookMs = Date.now() - started;
    expect(during.status).toBe(503);
    // Under WeCom's 5 s: the configured 1.5 s deadline plus scheduling slack.
    expect(tookMs).toBeLessThan(4500);

    proxy.restore();
    // WeCom retries the same event; the stuck statement times out and its connection is dropped, so a retry lands.
    const retried = await waitFor(async () => ((await postCallback(url, xml('wmDuring'))).status === 200 ? true : null), 20_000, 'a retry to be stored');
    expect(retried).toBe(true);
    expect((await postCallback(url, xml('wmDuring'))).status).toBe(200);

    // Counted over a direct connection, not through the proxy.
    const ds = createDataSource({ databaseUrl: db.url });
    await ds.initialize();
    try {
      const rows: { subject_key: string; n: number | string }[] = await ds.query('SELECT subject_key, COUNT(*) AS n FROM inbox_events GROUP BY subject_key ORDER BY subject_key');
      expect(rows.map((r) => [r.subject_key, Number(r.n)])).toEqual([
        ['customer:wmBefore', 1],
        ['customer:wmDuring', 1],
      ]);
    } finally {
      await ds.destroy();
    }
  });

  it('bounds every other statement too: the admin API and /readyz fail fast instead of hanging, then recover', async () => {
    const events = () => fetch(`${url}/api/v1/events?limit=5`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect((await events()).status).toBe(200);
    // Open several pooled connections, so the statements below go out on established (and then black-holed)
    // connections, as a busy instance's would, rather than waiting on a fresh connection's handshake.
    await Promise.all(Array.from({ length: 8 }, () => container.db.query('SELECT SLEEP(0.1) AS s')));

    proxy.blackhole();
    try {
      // /readyz answers 503 within its own 2 s, so a load balancer takes the instance out rather than timing out.
      let started = Date.now();
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(4000);

      // Without a statement deadline this request would wait for TCP to give up (~15 min on a real partition; for
      // ever here, since the proxy drops the reply). Now its statement fails after 2 s.
      started = Date.now();
      const during = await events();
      expect(during.status).toBeGreaterThanOrEqual(500);
      expect(Date.now() - started).toBeLessThan(6000);
      // The worker-side path (a repository query on the pool) gives up the same way.
      started = Date.now();
      await expect(container.db.query('SELECT COUNT(*) AS n FROM inbox_events')).rejects.toThrow(/timeout/i);
      expect(Date.now() - started).toBeLessThan(6000);
    } finally {
      proxy.restore();
    }

    // The timed-out connections were dropped, not returned to the pool: fresh ones serve the next requests.
    const after = await waitFor(async () => ((await events()).status === 200 ? true : null), 20_000, 'the API to answer again');
    expect(after).toBe(true);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });
});
