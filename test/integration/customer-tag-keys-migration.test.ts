import { describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { testEngines } from '../helpers/databases.js';
import { useMigratedWithout } from '../helpers/migrated-without.js';
import { CustomerTagKeys1795000000065 } from '../../migrations/0065-customer-tag-keys.js';
import { migrations } from '../../migrations/index.js';
import { compileAudience } from '../../src/domain/audiences/audience.compiler.js';
import { parseAudience } from '../../src/domain/audiences/index.js';
import type { DbEngine } from '../../src/persistence/data-source.js';

/**
 * Migration 0065 (docs/audiences.md §Binary keys for the intersection) on a database that already holds tag links:
 * the keys exist for the old links and every new one, and the MySQL count shapes, which read them, count the same
 * customers as the plain statement; down and up again.
 */
describe.each(testEngines())('migration 0065 customer tag keys (%s)', (engine) => {
  const mig = useMigratedWithout(engine, [CustomerTagKeys1795000000065]);
  const tagIds = new Map([
    ['A', ['tA']],
    ['B', ['tB']],
  ]);

  const ids = async (ds: DataSource, audience: string, shape: 'count' | 'plain'): Promise<number> => {
    const w = compileAudience(parseAudience(audience), { engine: engine as DbEngine, today: '2026-12-07', timezone: 'Asia/Shanghai', tagIds });
    const from = shape === 'count' && w.count ? `${w.count.from} WHERE ${w.count.where}` : `customers c WHERE ${w.sql}`;
    const [{ n }] = (await ds.query(`SELECT COUNT(*) AS n FROM ${from}`, shape === 'count' && w.count ? w.count.params : w.params)) as { n: number | string }[];
    return Number(n);
  };

  it('keys the links already stored and those written after, and the count shapes agree with the plain statement', async () => {
    expect(migrations).toContain(CustomerTagKeys1795000000065);
    const ds = mig.ds;
    await ds.query("INSERT INTO tag_groups (id, name, sort_order, source, updated_at) VALUES ('g1', '组', 0, 'wecom', 0)");
    await ds.query("INSERT INTO tags (id, group_id, name, sort_order, source, updated_at) VALUES ('tA', 'g1', 'A', 0, 'wecom', 0), ('tB', 'g1', 'B', 0, 'wecom', 0)");
    // WeCom's ids are ASCII; one customer here is not, to show the binary keys take any id.
    const customers = ['wmK001', 'wmK002', 'wmK003', 'wmK004', 'wm客户5'];
    for (const [i, ext] of customers.entries()) {
      await ds.query("INSERT INTO customers (external_user_id, name, type, gender, activity, created_at, updated_at) VALUES (?, ?, 1, 0, 'active', 0, 0)", [ext, `客户${i}`]);
    }
    const link = (ext: string, tag: string, userid: string) =>
      ds.query("INSERT INTO customer_tags (external_user_id, tag_id, userid, source, created_at) VALUES (?, ?, ?, 'wecom', 0)", [ext, tag, userid]);
    // Before the migration: K001 has both tags (A on two relations), K002 only A, K003 only B, 客户5 both.
    await link('wmK001', 'tA', 'zhangsan');
    await link('wmK001', 'tA', 'lisi');
    await link('wmK001', 'tB', 'zhangsan');
    await link('wmK002', 'tA', 'zhangsan');
    await link('wmK003', 'tB', 'zhangsan');
    await link('wm客户5', 'tA', 'zhangsan');
    await link('wm客户5', 'tB', 'lisi');

    const runner = ds.createQueryRunner();
    try {
      await new CustomerTagKeys1795000000065().up(runner);
      // After it: K004 gets both tags, K002 gets B.
      await link('wmK004', 'tA', 'zhangsan');
      await link('wmK004', 'tB', 'zhangsan');
      await link('wmK002', 'tB', 'lisi');

      const both = ['wmK001', 'wmK002', 'wmK004', 'wm客户5'].length;
      const either = customers.length;
      if (engine === 'mysql') {
        // Every link has its keys, the bytes of its ids, whether written before the migration or after.
        const [{ keyed, total }] = (await ds.query(
          'SELECT SUM(tag_key = CAST(tag_id AS BINARY) AND customer_key = CAST(external_user_id AS BINARY)) AS keyed, COUNT(*) AS total FROM customer_tags',
        )) as { keyed: number | string; total: number | string }[];
        expect(Number(keyed)).toBe(10);
        expect(Number(total)).toBe(10);
        // The intersection reads the keys' index, and the customers are found through their own index.
        const w = compileAudience(parseAudience('tag:A AND tag:B'), { engine: 'mysql', today: '2026-12-07', timezone: 'Asia/Shanghai', tagIds });
        const plan = (await ds.query(`EXPLAIN SELECT COUNT(*) FROM ${w.count!.from} WHERE ${w.count!.where}`, w.count!.params)) as { table: string; key: string | null }[];
        expect(plan.filter((r) => r.table === 't0' || r.table === 't1').map((r) => r.key)).toEqual(['ix_customer_tags_keys', 'ix_customer_tags_keys']);
        expect(plan.find((r) => r.table === 'c')?.key).toBe('ix_customers_audience_orders');
      }
      for (const [audience, expected] of [
        ['tag:A AND tag:B', both],
        ['tag:A OR tag:B', either],
        ['tag:A AND tag:B AND NOT activity:churned', both],
      ] as const) {
        expect(await ids(ds, audience, 'count')).toBe(expected);
        expect(await ids(ds, audience, 'plain')).toBe(expected);
      }

      await new CustomerTagKeys1795000000065().down(runner);
      if (engine === 'mysql') {
        const cols = (await ds.query("SELECT column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'customer_tags' AND column_name LIKE '%\\_key'")) as { c: string }[];
        expect(cols).toEqual([]);
      }
      // Nothing is lost going down, and up again keys every link.
      expect(await ids(ds, 'tag:A AND tag:B', 'plain')).toBe(both);
      await new CustomerTagKeys1795000000065().up(runner);
      expect(await ids(ds, 'tag:A AND tag:B', 'count')).toBe(both);
      expect(await ids(ds, 'tag:A OR tag:B', 'count')).toBe(either);
    } finally {
      await runner.release();
    }
  });
});
