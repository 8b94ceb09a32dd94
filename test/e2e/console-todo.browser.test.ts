import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';

vi.setConfig({ testTimeout: 120_000 });

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

/**
 * 待办完成 (docs/todo.md §Completion): an operator opens the page from the menu and sees, per member, the staff tasks
 * due in the last 7 days done on time, done late, skipped and overdue, as GET /api/v1/todo/completion answers them; a
 * staff member has no such menu entry and is sent to the dashboard. Screenshot todo-01-completion under
 * test-results/console/.
 */
describe.skipIf(!CHROMIUM)('待办完成 in the console', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
    const t = app.container.todo.tasks;
    const now = Date.now();
    const hour = 3_600_000;
    const make = async (ref: string, userid: string, dueAt: number) => (await t.create({ source: 'journey', sourceRef: ref, userid, externalUserId: null, title: '问候', text: '', attachments: [], dueAt: new Date(dueAt) })).task.id;
    const zs = { role: 'staff' as const, userid: 'zhangsan' };
    const ls = { role: 'staff' as const, userid: 'lisi' };
    // 张三: one done on time, one done late, one skipped, one overdue.
    await t.done(await make('c1', 'zhangsan', now + 60_000), zs);
    await t.done(await make('c2', 'zhangsan', now - 30 * hour), zs);
    await t.skip(await make('c3', 'zhangsan', now - 2 * hour), '客户出差', zs);
    await make('c4', 'zhangsan', now - 50 * hour);
    // 李四: two overdue, one done on time.
    await make('c5', 'lisi', now - 3 * hour);
    await make('c6', 'lisi', now - 4 * hour);
    await t.done(await make('c7', 'lisi', now + 60_000), ls);
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('shows each member done, late, skipped and overdue for the range, as the API answers', async () => {
    const page = await (await h.signIn('张三')).newPage();
    await page.goto(`${app.url}/console/`);
    await page.click('.el-menu-item:has-text("待办完成")');
    await poll(() => new URL(page.url()).pathname).toBe('/console/todo');
    const table = page.locator('[data-test="todo-completion"]');
    await poll(() => table.locator('.el-table__body tr').count()).toBe(2);
    const rows = await table.locator('.el-table__body tr').allInnerTexts();
    const zhang = rows.find((r) => r.includes('张三'))!;
    const li = rows.find((r) => r.includes('李四'))!;
    // 成员, 任务, 已完成 (on time), 迟完成, 跳过, 逾期未完成, 未到期, 完成率
    expect(zhang.replace(/\s+/g, ' ').trim()).toBe('张三（zhangsan） 4 1 1 1 1 0 50%');
    expect(li.replace(/\s+/g, ' ').trim()).toBe('李四（lisi） 3 1 0 0 2 0 33.3%');
    // 完成率 as a bar: done (on time or late) of all.
    const bars = await table.locator('.el-table__body tr .el-progress').evaluateAll((els) => els.map((e) => e.getAttribute('aria-valuenow')));
    expect(bars.sort()).toEqual(['33.3', '50']);
    const r = await api<{ items: { userid: string; total: number; done: number; late: number; skipped: number; overdue: number }[] }>(app, 'GET', `/api/v1/todo/completion?from=${new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai' }).format(new Date(Date.now() - 6 * 86_400_000))}&to=${new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai' }).format(new Date())}`);
    expect(r.body.items.find((x) => x.userid === 'zhangsan')).toMatchObject({ total: 4, done: 2, late: 1, skipped: 1, overdue: 1 });
    expect(await page.locator('[data-test="todo-summary"]').innerText()).toMatch(/任务\s*7[\s\S]*已完成\s*3[\s\S]*其中迟完成\s*1[\s\S]*逾期未完成\s*3/);
    const text = await page.locator('.el-card').first().innerText();
    expect(text).not.toMatch(/\b(done|late|overdue|skipped|journey)\b/);
    await h.shot(page, 'todo-01-completion');
    expect(h.problems).toEqual([]);
    await page.close();
  });

  it('is not offered to staff', async () => {
    expect((await api(app, 'PUT', '/api/v1/users/lisi/role', { role: 'staff' })).status).toBe(200);
    const page = await (await h.signIn('李四')).newPage();
    await page.goto(`${app.url}/console/todo`);
    await poll(() => new URL(page.url()).pathname).toBe('/console/');
    expect(await page.locator('.el-menu-item:has-text("待办完成")').count()).toBe(0);
    await page.close();
  });
});
