import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/load.js';
import { buildContainer } from '../../src/container.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import type { DbEngine } from '../../src/persistence/data-source.js';
import type { NewInboxEvent } from '../../src/domain/inbox/inbox.types.js';

/**
 * `npm run bench -- claim`: what claiming the next due event costs as the backlog grows
 * (docs/inbox.md §Claims that stay flat). For each backlog (100, then 100,000 events; all on one customer, or each on
 * its own), the median time of a claim of up to 16 events followed by finishing what it took, over BENCH_CLAIM_ROUNDS
 * (200) rounds, on both engines. Target: the 100,000 figure within 2× of the 100 one, in each shape.
 */

function events(n: number, oneSubject: boolean, tag: string): NewInboxEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const ext = oneSubject ? `wm${tag}` : `wm${tag}${i}`;
    return {
      dedupeKey: `${tag}-${i}-${randomBytes(4).toString('hex')}`,
      kind: 'event/change_external_contact/edit_external_contact',
      subjectKey: `customer:${ext}`,
      fields: { MsgType: 'event', Event: 'change_external_contact', ChangeType: 'edit_external_contact', ExternalUserID: ext, Seq: String(i) },
      createTimeMs: null,
    };
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function runClaimBench(): Promise<Record<string, unknown>[]> {
  const engines = (process.env.BENCH_ENGINES?.split(',') ?? ['sqlite', 'mysql']) as DbEngine[];
  const rounds = Number(process.env.BENCH_CLAIM_ROUNDS ?? 200);
  const rows: Record<string, unknown>[] = [];
  for (const engine of engines) {
    for (const oneSubject of [true, false]) {
      const figures: Record<number, number> = {};
      for (const backlog of [100, 100_000]) {
        const db = await createTestDatabase(engine, { mysqlUrl: process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test', prefix: 'wecom_ops_bench' });
        const config = loadConfig({ env: { NODE_ENV: 'production', DATABASE_URL: db.url, DATA_KEY: randomBytes(32).toString('base64'), SANDBOX: 'false', WECOM_API_BASE: 'http://127.0.0.1:9', PUBLIC_URL: 'http://127.0.0.1', INBOX_WORKERS: '0' } });
        const c = await buildContainer(config, silentLogger, { registry: new Registry() });
        try {
          const repo = c.repos.inbox;
          const all = events(backlog, oneSubject, oneSubject ? 'busy' : 'many');
          for (let i = 0; i < all.length; i += 500) await repo.insertBatch(all.slice(i, i + 500), Date.now());
          const times: number[] = [];
          for (let r = 0; r < rounds; r++) {
            const t0 = performance.now();
            const claims = await repo.claim(16, Date.now(), 60_000);
            for (const cl of claims) await repo.finish(cl, 'done', Date.now());
            times.push(performance.now() - t0);
            if (claims.length === 0) throw new Error('nothing was claimable');
            // Keep the backlog at its size (outside the timing): as many new events as were handled.
            await repo.insertBatch(events(claims.length, oneSubject, oneSubject ? 'busy' : `r${r}x`), Date.now());
          }
          figures[backlog] = Math.round(median(times) * 100) / 100;
        } finally {
          await c.close();
          await db.drop();
        }
      }
      rows.push({
        engine,
        shape: oneSubject ? 'one subject' : 'one subject each',
        rounds,
        claimAndFinishMsAt100: figures[100],
        claimAndFinishMsAt100k: figures[100_000],
        ratio: Math.round((figures[100_000] / figures[100]) * 100) / 100,
        target: 'ratio ≤ 2',
      });
    }
  }
  return rows;
}
