import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { FullSyncService } from '../../src/domain/customers/full-sync.service.js';
import { silentLogger } from '../../src/shared/logger.js';
import type { WecomGateway } from '../../src/wecom/client/gateway.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';

// 20,000 is the size; SYNC_CUSTOMERS shrinks it for a quick local loop.
const N = Number(process.env.SYNC_CUSTOMERS ?? 20_000);

describe.each(testEngines())('full sync (%s)', (engine) => {
  let app: ArchiveApp;

  beforeAll(async () => {
    app = await startArchiveApp(engine, { startServices: false, seed: false });
    app.sandbox.reset();
    app.sandbox.seedLarge(N);
  }, 120_000);
  afterAll(async () => app?.close());

  const counts = async () => {
    const db = app.container.db;
    const [{ n: customers }] = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM customers');
    const byStatus = await app.archive.repos.relations.countByStatus();
    return { customers: Number(customers), active: byStatus.active ?? 0, deletedByStaff: byStatus.deleted_by_staff ?? 0 };
  };

  /** A gateway that "crashes" (throws) on the given batch/get_by_user call, as a killed process would stop. */
  function crashingAt(call: number): WecomGateway {
    let n = 0;
    return new Proxy(app.wecom, {
      get(target, prop, receiver) {
        if (prop === 'batchGetByUser') {
          return async (input: Parameters<WecomGateway['batchGetByUser']>[0]) => {
            if (++n === call) throw new Error('simulated crash');
            return target.batchGetByUser(input);
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }

  it(`syncs ${N} customers into an empty database, resuming after a crash mid-run, with the right counts`, async () => {
    const c = app.container;
    const a = app.archive;
    const crashing = new FullSyncService(c.db, a.repos.syncRuns, app.archive.staff, a.repos.customers, a.repos.relations, a.archive, a.library, crashingAt(Math.ceil(N / 200)), c.clock, silentLogger);
    const t0 = Date.now();
    await expect(crashing.run()).rejects.toThrow('simulated crash');
    const partial = await counts();
    expect(partial.customers).toBeGreaterThan(0);
    expect(partial.customers).toBeLessThan(N);

    const lines: string[] = [];
    const report = await a.fullSync.run((p) => lines.push(`${p.pairs}`));
    const ms = Date.now() - t0;
    expect(report.resumed).toBe(true);
    const relations = app.sandbox.store.allRelations().length;
    expect(await counts()).toEqual({ customers: app.sandbox.store.customers.size, active: relations, deletedByStaff: 0 });
    expect(report.vanished).toBe(0);
    expect(lines.length).toBeGreaterThan(0);
    process.stdout.write(`[sync] ${N} customers (${relations} relations) synced in ${ms} ms incl. one crash + resume (${engine})\n`);
  }, 600_000);

  it('a re-sync heals 100 relations deleted and 100 customers added behind the bot’s back', async () => {
    const store = app.sandbox.store;
    const gone = store.allRelations().slice(0, 100);
    for (const r of gone) store.removeRelation(r.userid, r.externalUserId);
    app.sandbox.seedLarge(100);
    const t0 = Date.now();
    const report = await app.archive.fullSync.run();
    const ms = Date.now() - t0;
    expect(report.resumed).toBe(false);
    expect(report.vanished).toBe(100);
    const now = await counts();
    expect(now).toEqual({ customers: store.customers.size, active: store.allRelations().length, deletedByStaff: 100 });
    const rel = await app.archive.repos.relations.listForCustomer(gone[0].externalUserId);
    expect(rel.find((r) => r.userid === gone[0].userid)?.status).toBe('deleted_by_staff');
    process.stdout.write(`[sync] re-sync healing 100 deleted relations + 100 new customers in ${ms} ms (${engine})\n`);
  }, 600_000);
});
