import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { testEngines, type TestDatabase } from '../helpers/databases.js';
import { createMigratedTestDatabase } from '../helpers/migrated-template.js';
import { TEST_DATA_KEY } from '../helpers/app.js';
import { createDataSource } from '../../src/persistence/data-source.js';
import { MAX_IMPORT_ROWS } from '../../src/domain/orders/order.service.js';

// Real processes (tsx start-up, migrations) take seconds each; on a loaded 2-core CI machine 30 s is too tight.
vi.setConfig({ testTimeout: 120_000 });

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

describe.each(testEngines())('wecom-ops orders import on %s', (engine) => {
  let db: TestDatabase;
  let dir: string;
  const env = () => ({ ...process.env, NODE_ENV: 'test', DATABASE_URL: db.url, DATA_KEY: TEST_DATA_KEY, SANDBOX: 'false' });
  const cli = (...args: string[]) => run(process.execPath, [resolve(root, 'bin/wecom-ops.js'), ...args], { cwd: root, env: env() });
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  beforeAll(async () => {
    db = await createMigratedTestDatabase(engine);
    dir = mkdtempSync(join(tmpdir(), 'wecom-ops-orders-'));
    await cli('migrate');
    const ds = createDataSource({ databaseUrl: db.url });
    await ds.initialize();
    for (const ext of ['wmCliA', 'wmCliB']) {
      await ds.query("INSERT INTO customers (external_user_id, name, type, gender, activity, created_at, updated_at) VALUES (?, ?, 1, 0, 'active', 0, 0)", [ext, ext]);
    }
    await ds.destroy();
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it('imports a CSV, prints the summary, and a second run changes nothing', async () => {
    const csv = file('orders.csv', '\uFEFF订单号,客户ID,金额,下单时间\r\nC-1,wmCliA,199.90,2026-03-01 10:00\r\nC-2,wmCliB,"1,000",2026-03-02T10:00:00+08:00\r\n');
    const first = await cli('orders', 'import', csv);
    expect(first.stdout).toContain('新增 imported 2 · 更新 updated 0 · 未变 unchanged 0 · 失败 failed 0');
    const again = await cli('orders', 'import', csv, '--json');
    expect(JSON.parse(again.stdout)).toEqual({ imported: 0, updated: 0, unchanged: 2, failed: 0, errors: [] });

    const ds = createDataSource({ databaseUrl: db.url });
    await ds.initialize();
    const rows: { order_no: string; amount_cents: number | string; ordered_at: number | string }[] = await ds.query('SELECT order_no, amount_cents, ordered_at FROM orders ORDER BY order_no');
    await ds.destroy();
    expect(rows.map((r) => [r.order_no, Number(r.amount_cents), new Date(Number(r.ordered_at)).toISOString()])).toEqual([
      ['C-1', 19990, '2026-03-01T02:00:00.000Z'],
      ['C-2', 100000, '2026-03-02T02:00:00.000Z'],
    ]);
  });

  it('imports JSON; bad rows are listed by line and exit 1 while the good ones are imported', async () => {
    const json = file(
      'orders.json',
      JSON.stringify({
        orders: [
          { orderNo: 'C-1', externalUserId: 'wmCliA', amount: 299.9, orderedAt: '2026-03-01 10:00' },
          { orderNo: 'C-3', externalUserId: 'wmNobody', amount: 1, orderedAt: '2026-03-01 10:00' },
          { orderNo: 'C-4', externalUserId: 'wmCliB', amount: '5', orderedAt: '2026-03-03 11:00' },
        ],
      }),
    );
    const failed = await cli('orders', 'import', json).then(
      () => null,
      (err: { code: number; stdout: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toContain('新增 imported 1 · 更新 updated 1 · 未变 unchanged 0 · 失败 failed 1');
    expect(failed?.stdout).toContain('第 2 行 line 2 [unknown_customer]');
  });

  it('refuses a CSV over the row limit whole (exit 2, the limit named, nothing imported), as the API does', async () => {
    const header = 'orderNo,externalUserId,amount,orderedAt\n';
    const rows = Array.from({ length: MAX_IMPORT_ROWS + 1 }, (_, i) => `BIG-${i},wmCliA,1,2026-03-01 10:00\n`).join('');
    const big = file('too-many.csv', header + rows);
    await expect(cli('orders', 'import', big)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining(`一次最多导入 ${MAX_IMPORT_ROWS} 行订单`) });
    const ds = createDataSource({ databaseUrl: db.url });
    await ds.initialize();
    const [{ n }] = (await ds.query("SELECT COUNT(*) AS n FROM orders WHERE order_no LIKE 'BIG-%'")) as { n: number | string }[];
    await ds.destroy();
    expect(Number(n)).toBe(0);
  });

  it('exits 2 on bad usage, a missing file or a CSV without the required header', async () => {
    await expect(cli('orders', 'import')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('orders import <file.csv|file.json>') });
    await expect(cli('orders', 'import', join(dir, 'missing.csv'))).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('missing.csv') });
    const bad = file('bad.csv', 'orderNo,amount\nX,1\n');
    await expect(cli('orders', 'import', bad)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('externalUserId') });
  });
});
