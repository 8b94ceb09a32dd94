import { describe, expect, it, vi } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { serveProcess, useServeFixture } from '../helpers/serve-process.js';

// Real processes (tsx start-up, migrations) take seconds each; on a loaded 2-core machine 30 s is too tight.
vi.setConfig({ testTimeout: 180_000 });

const ADMIN = 'loyalty-concurrency-admin-0123456789';
const CUSTOMER = 'wmPointsRace';

/**
 * docs/loyalty.md §Balance: two `serve` processes on one database (one SQLite file, one MySQL schema) credit and
 * redeem one customer's points at once, each request sent to either, some requests sent to both. The balance is never
 * negative, equals the ledger's sum, every order is credited once and every request id recorded once.
 */
describe.each(testEngines())('the points ledger under two instances on one %s database', (engine) => {
  const fx = useServeFixture(engine);

  it('never goes negative and never counts twice', async () => {
    const env = { ...fx.env(ADMIN), LOYALTY_POINTS_PER_YUAN: '1', LOG_LEVEL: 'error' };
    const [a, b] = await Promise.all([serveProcess(['--role', 'ingress'], env), serveProcess(['--role', 'ingress'], env)]);
    fx.procs.push(a, b);
    const now = Date.now();
    await fx.query(`INSERT INTO customers (external_user_id, name, type, gender, created_at, updated_at) VALUES ('${CUSTOMER}', '并发客户', 1, 0, ${now}, ${now})`);

    const post = async (base: string, path: string, body: unknown) => {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as { balance?: number; replayed?: boolean; error?: { code: string; message: string } } };
    };
    const statuses: number[] = [];
    const refusals = new Set<string>();
    let credited = 0;
    for (let round = 0; round < 3; round++) {
      // Ten orders of 40 yuan: each import sent to both instances at once.
      const orders = Array.from({ length: 10 }, (_, i) => ({ orderNo: `RACE-${round}-${i}`, externalUserId: CUSTOMER, amount: 40, orderedAt: '2026-06-01 10:00' }));
      credited += 400;
      const work: Promise<unknown>[] = [];
      for (const base of [a.url, b.url]) work.push(post(base, '/api/v1/orders/import', { orders }).then((r) => expect(r.status).toBe(200)));
      // Thirty redemptions of 30 points, alternating instances; every fifth request id is sent to both.
      for (let i = 0; i < 30; i++) {
        const body = { points: 30, note: '并发兑换', requestId: `race-${engine}-${round}-${i}`, confirm: true };
        const bases = i % 5 === 0 ? [a.url, b.url] : [i % 2 === 0 ? a.url : b.url];
        for (const base of bases) {
          work.push(
            post(base, `/api/v1/customers/${CUSTOMER}/loyalty/redeem`, body).then((r) => {
              statuses.push(r.status);
              if (r.status === 409) refusals.add(r.body.error?.message ?? '');
              if (r.status < 300) expect(r.body.balance).toBeGreaterThanOrEqual(0);
            }),
          );
        }
      }
      // A manual gift of 10, its request sent to both instances.
      for (const base of [a.url, b.url]) work.push(post(base, `/api/v1/customers/${CUSTOMER}/loyalty/adjust`, { points: 10, note: '补偿', requestId: `gift-${engine}-${round}` }));
      credited += 10;
      await Promise.all(work);
    }

    const entries = await fx.query<{ kind: string; reference: string; points: number | string }>(`SELECT kind, reference, points FROM loyalty_points WHERE external_user_id = '${CUSTOMER}'`);
    const [account] = await fx.query<{ balance: number | string }>(`SELECT balance FROM loyalty_accounts WHERE external_user_id = '${CUSTOMER}'`);
    const sum = entries.reduce((s, e) => s + Number(e.points), 0);
    const redeemed = entries.filter((e) => e.kind === 'redeem');
    // Every order and gift once, every request id at most once.
    expect(entries.filter((e) => e.kind === 'earn').length).toBe(30);
    expect(entries.filter((e) => e.kind === 'adjust').length).toBe(3);
    expect(new Set(entries.map((e) => e.reference)).size).toBe(entries.length);
    expect(Number(account.balance)).toBe(sum);
    expect(sum).toBe(credited - 30 * redeemed.length);
    expect(sum).toBeGreaterThanOrEqual(0);
    // Some were refused (90 × 30 asked for, 1,230 credited), with the zh-CN reason; all others went through.
    expect(statuses.filter((s) => s === 201).length).toBe(redeemed.length);
    expect(statuses.every((s) => s === 200 || s === 201 || s === 409)).toBe(true);
    expect(statuses.filter((s) => s === 409).length).toBeGreaterThan(0);
    for (const m of refusals) expect(m).toMatch(/^积分不足：当前可用 \d+ 积分，本次需要 30 积分，未扣减$/);
    console.log(`loyalty race (${engine}): ${statuses.length} redemptions, ${redeemed.length} recorded, ${statuses.filter((s) => s === 409).length} refused, balance ${sum}`);
  });
});
