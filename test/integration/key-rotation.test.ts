import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api, TEST_DATA_KEY, testConfig } from '../helpers/app.js';
import { createTestDatabase, testEngines, type TestDatabase } from '../helpers/databases.js';
import { buildContainer, type Container } from '../../src/container.js';
import { createApp } from '../../src/app.js';
import { silentLogger } from '../../src/shared/logger.js';
import { keyIdOf } from '../../src/shared/field-cipher.js';

vi.setConfig({ testTimeout: 60_000 });

const A = TEST_DATA_KEY;
const B = Buffer.alloc(32, 8).toString('base64');
const C = Buffer.alloc(32, 9).toString('base64');

interface Running {
  c: Container;
  url: string;
  close(): Promise<void>;
}

/** An edit callback for a customer, as WeCom sends it (re-reads the profile; an erased customer must stay out). */
function editEvent(ext: string, createTime: number) {
  return { ToUserName: 'ww-sandbox', FromUserName: 'sys', CreateTime: String(createTime), MsgType: 'event', Event: 'change_external_contact', ChangeType: 'edit_external_contact', UserID: 'zhangsan', ExternalUserID: ext };
}

/**
 * DATA_KEY rotation end to end (docs/reliability.md §Personal data at rest, §Reliability tests, test 23): data written
 * under key A, instances restarted with B as DATA_KEY and A read-only, `keys rotate` run while callbacks arrive and the
 * archive is read, then A retired.
 */
describe.each(testEngines())('DATA_KEY rotation on %s', (engine) => {
  let db: TestDatabase;
  const phones = { old: '13800138001', fresh: '13900139002' };
  let withOldPhone: string;
  let withFreshPhone: string;
  let erased: string;
  let withRemarkMobiles: { ext: string; mobiles: string[] };

  /** Start the bot on the shared test database with the given keys (workers running). */
  async function boot(env: Record<string, string>): Promise<Running> {
    const config = testConfig(db.url, { inbox: { pollIntervalMs: 100 } }, env);
    const c = await buildContainer(config, silentLogger, { registry: new Registry() });
    const server: Server = createServer(createApp(c).callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const f of c.onListen) f(url);
    for (const s of c.services) await s.start();
    return {
      c,
      url,
      close: async () => {
        for (const s of [...c.services].reverse()) await s.stop().catch(() => undefined);
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await c.close();
      },
    };
  }
  const archiveOf = (c: Container) => c.archive;
  const search = async (r: Running, q: string) => (await api<{ items: { externalUserId: string }[] }>(r, 'GET', `/api/v1/customers?q=${q}`)).body.items.map((i) => i.externalUserId);

  beforeAll(async () => {
    db = await createTestDatabase(engine);
    // Under A: the archive from a full sync, a phone, an erased customer and stored callbacks.
    const r = await boot({ DATA_KEY: A });
    try {
      await archiveOf(r.c).fullSync.run();
      const ids = [...r.c.sandbox!.store.customers.keys()];
      [withOldPhone, withFreshPhone, erased] = ids;
      expect((await api(r, 'PATCH', `/api/v1/customers/${withOldPhone}`, { phone: phones.old })).status).toBe(200);
      expect((await api(r, 'POST', `/api/v1/customers/${erased}/erase`)).status).toBe(200);
      const rel = [...r.c.sandbox!.store.relationsOfUser('zhangsan'), ...r.c.sandbox!.store.relationsOfUser('lisi')].find((x) => x.remarkMobiles.length > 0 && x.externalUserId !== erased)!;
      withRemarkMobiles = { ext: rel.externalUserId, mobiles: rel.remarkMobiles };
      for (let i = 0; i < 10; i++) await r.c.sandbox!.addCustomer({ userid: 'zhangsan' });
      await r.c.inboxProcessor.drain();
    } finally {
      await r.close();
    }
  }, 120_000);
  afterAll(() => db?.drop());

  it('with B as DATA_KEY and A read-only, everything written under A reads, and phone search finds both keys', async () => {
    const r = await boot({ DATA_KEY: B, DATA_KEY_READ_ONLY: A });
    try {
      expect((await api(r, 'GET', `/api/v1/customers/${withOldPhone}`)).body.phone).toBe(phones.old);
      expect((await api(r, 'PATCH', `/api/v1/customers/${withFreshPhone}`, { phone: phones.fresh })).status).toBe(200);
      expect(await search(r, phones.old)).toEqual([withOldPhone]);
      expect(await search(r, phones.fresh)).toEqual([withFreshPhone]);
      const status = await r.c.keys.keys.status();
      const phone = status.find((s) => s.table === 'customers')!;
      expect(phone.byKey).toEqual({ [keyIdOf(A)]: 1, [keyIdOf(B)]: 1 });
      expect(phone.remaining).toBe(1);
    } finally {
      await r.close();
    }
  });

  it('keys rotate re-seals everything under B while callbacks arrive and the archive is read, without one failed read', async () => {
    const r = await boot({ DATA_KEY: B, DATA_KEY_READ_ONLY: A });
    try {
      const keys = r.c.keys.keys;
      expect((await keys.status()).reduce((n, s) => n + s.remaining, 0)).toBeGreaterThan(10);
      let rotating = true;
      const reads: number[] = [];
      const reader = (async () => {
        while (rotating) {
          reads.push((await api(r, 'GET', `/api/v1/customers/${withOldPhone}`)).status);
          reads.push((await api(r, 'GET', `/api/v1/customers/${withRemarkMobiles.ext}`)).status);
        }
      })();
      const callbacks = Promise.all(Array.from({ length: 30 }, () => r.c.sandbox!.addCustomer({ userid: 'lisi' })));
      const results = await keys.rotate({ batch: 7 });
      await callbacks;
      rotating = false;
      await reader;

      expect(results.every((p) => p.unreadable === 0)).toBe(true);
      expect(results.reduce((n, p) => n + p.rotated, 0)).toBeGreaterThan(10);
      expect(reads.length).toBeGreaterThan(0);
      expect(new Set(reads)).toEqual(new Set([200]));
      for (const s of await keys.status()) {
        expect(s.remaining, `${s.table}.${s.column}`).toBe(0);
        expect(Object.keys(s.byKey).every((k) => k === keyIdOf(B)), `${s.table}.${s.column}`).toBe(true);
      }
      // Every callback stored before, during and after the rotation is processed; none is parked.
      await r.c.inboxProcessor.drain();
      const byStatus = await r.c.db.query<{ status: string; n: number | string }>('SELECT status, COUNT(*) AS n FROM inbox_events GROUP BY status');
      expect(byStatus.map((s) => s.status).sort()).not.toContain('failed');
      // A second run finds nothing to do.
      expect((await keys.rotate()).reduce((n, p) => n + p.rotated, 0)).toBe(0);
    } finally {
      await r.close();
    }
  });

  it('after A is retired: the archive, phone search, remark mobiles and the erasure all hold under B alone', async () => {
    const r = await boot({ DATA_KEY: B });
    try {
      expect((await api(r, 'GET', `/api/v1/customers/${withOldPhone}`)).body.phone).toBe(phones.old);
      expect(await search(r, phones.old)).toEqual([withOldPhone]);
      expect(await search(r, phones.fresh)).toEqual([withFreshPhone]);
      const archive = await api<{ followUsers: { remarkMobiles: string[] }[] }>(r, 'GET', `/api/v1/customers/${withRemarkMobiles.ext}`);
      expect(archive.status).toBe(200);
      expect(archive.body.followUsers.flatMap((x) => x.remarkMobiles)).toEqual(expect.arrayContaining(withRemarkMobiles.mobiles));
      // Erased under A, still recognised: an edit callback and a full sync do not bring the customer back.
      await r.c.inbox.accept(editEvent(erased, Math.floor(Date.now() / 1000)));
      await r.c.inboxProcessor.drain();
      await archiveOf(r.c).fullSync.run();
      expect((await api(r, 'GET', `/api/v1/customers/${erased}`)).status).toBe(404);
    } finally {
      await r.close();
    }
  });

  it('refuses to start under a key that does not open the database, naming DATA_KEY', async () => {
    await expect(boot({ DATA_KEY: C })).rejects.toThrow(/DATA_KEY does not match this database/);
    // The retired key too: nothing is under it any more, and the erasure key was re-sealed under B.
    await expect(boot({ DATA_KEY: A })).rejects.toThrow(/DATA_KEY does not match this database/);
  });
});
