import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api, waitFor } from '../helpers/app.js';
import { CHROMIUM, SHOTS, field, pickContent, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';
import { decodeQrPng } from '../helpers/qr.js';
import { addDays, localDate } from '../../src/shared/dates.js';

vi.setConfig({ testTimeout: 120_000 });

type ChannelAnswer = { id: string; name: string; state: string; qrCode: string; configId: string; welcome: { text: string; attachments: unknown[] } };
type Setting = { key: string; value: unknown; source: { kind: string; name?: string; file?: string; key?: string; env?: string } };

/**
 * 渠道活码, 客户继承 and 系统设置 in a real browser, signed in as 张三 (admin): a channel code made with a welcome, a link
 * and an image, its variable preview, its QR image (a real PNG the sandbox serves, read back as a QR code), a customer
 * added through the link inside it, and the daily chart counting that add; the server's 400 next to its field; the
 * customers of a member who left handed to another with the confirmation saying what happens, and the transfers'
 * statuses in words; the settings page against GET /api/v1/settings; the writes in 操作日志. Screenshots ch-*, tr-*,
 * set-* under test-results/console/.
 */
describe.skipIf(!CHROMIUM)('渠道活码, 客户继承 and 系统设置 pages in a real browser', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;
  let admin: BrowserContext | undefined;
  const signedIn = async (): Promise<BrowserContext> => {
    if (!admin) {
      admin = await h.signIn('张三');
      await admin.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.url });
    }
    return admin;
  };
  const control = (path: string, body: unknown) =>
    fetch(`${app.url}/sandbox/_control/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, unknown>>);
  let channel: ChannelAnswer;

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  const shot = (page: Page, name: string) => h.shot(page, name);

  it('creates a channel code with a welcome, a link and an image, and previews the welcome for a sample customer', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/channels`);
    await expect.poll(() => page.locator('.el-pagination__total').innerText()).toMatch(/\d/);
    await page.click('[data-test="new-channel"]');
    // Client-side rules first: nothing is sent without a name and a member.
    await page.click('[data-test="channel-save"]');
    await expect.poll(() => page.locator('[data-test="channel-form"]').innerText()).toContain('请填写渠道名称');
    await field(page, 'channel-name').fill('春季海报');
    await page.locator('[data-test="channel-staff"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '李四' }).click();
    await page.keyboard.press('Escape');
    await field(page, 'channel-welcome').fill('{{name}}您好，我是{{staff}}，春季新品请看手册');
    // The variable preview: the sample customer's name and the receiving member's.
    await expect.poll(() => page.locator('[data-test="preview-text"]').innerText()).toBe('张三您好，我是李四，春季新品请看手册');
    await field(page, 'preview-name').fill('王小明');
    await expect.poll(() => page.locator('[data-test="preview-text"]').innerText()).toBe('王小明您好，我是李四，春季新品请看手册');

    await page.click('[data-test="add-link"]');
    await page.click('[data-test="channel-save"]');
    await expect.poll(() => page.locator('[data-test="channel-attachments"]').innerText()).toContain('请填写链接标题');
    await field(page, 'attachment-title').fill('春季新品手册');
    await field(page, 'attachment-url').fill('https://example.com/spring');
    await field(page, 'attachment-desc').fill('30 款新品一览');
    await page.click('[data-test="add-image"]');
    await field(page, 'attachment-pic-url').fill('https://example.com/poster.png');
    await expect.poll(() => page.locator('[data-test="preview-link"]').innerText()).toContain('春季新品手册');
    await shot(page, 'ch-01-form-preview');

    const sent = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/channels');
    await page.click('[data-test="channel-save"]');
    expect((await sent).headers()['idempotency-key']).toMatch(/^[0-9a-f]{32}$/);
    const row = page.locator('[data-test="channels"] .el-table__row', { hasText: '春季海报' });
    await expect.poll(() => row.count()).toBe(1);
    const listed = (await api<{ items: ChannelAnswer[] }>(app, 'GET', '/api/v1/channels?pageSize=100')).body.items;
    channel = listed.find((c) => c.name === '春季海报')!;
    expect(channel.welcome).toEqual({
      text: '{{name}}您好，我是{{staff}}，春季新品请看手册',
      attachments: [
        { kind: 'link', title: '春季新品手册', url: 'https://example.com/spring', desc: '30 款新品一览' },
        { kind: 'image', picUrl: 'https://example.com/poster.png' },
      ],
    });
    expect(await row.innerText()).toContain('2 个附件');
    await shot(page, 'ch-02-list');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('shows the server’s 400 next to its field: WeCom refusing the chosen member', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/channels`);
    await page.click('[data-test="new-channel"]');
    await field(page, 'channel-name').fill('被拒的活码');
    await page.locator('[data-test="channel-staff"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '王五' }).click();
    await page.keyboard.press('Escape');
    // WeCom answers 40003 for a member who cannot take customers (docs/wecom-protocol.md §Error codes).
    await control('faults', { api: 'externalcontact/add_contact_way', errcode: 40003, count: 1 });
    await page.click('[data-test="channel-save"]');
    const staffItem = page.locator('[data-test="channel-form"] .el-form-item', { has: page.locator('[data-test="channel-staff"]') });
    await expect.poll(() => staffItem.locator('.el-form-item__error').innerText()).toContain('企业微信拒绝了所选员工');
    expect(await page.locator('[data-test="channel-error"]').count()).toBe(0);
    await shot(page, 'ch-03-server-400');
    await page.keyboard.press('Escape');
    await page.close();
    // The refused create wrote nothing.
    expect((await api<{ items: ChannelAnswer[] }>(app, 'GET', '/api/v1/channels?pageSize=100')).body.items.some((c) => c.name === '被拒的活码')).toBe(false);
    // The refusal was the point: exactly that one request, nothing else.
    expect(h.problems).toEqual(['/console/channels: 400 POST /api/v1/channels']);
    h.problems.length = 0;
  });

  it('shows the QR code large: a real PNG whose link adds a customer through the code, and the chart counts the add', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/channels`);
    const row = page.locator('[data-test="channels"] .el-table__row', { hasText: '春季海报' });
    await row.locator('[data-test="channel-qr"]').click();
    const big = page.locator('[data-test="qr-large"]');
    await expect.poll(() => big.evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(100);
    // Served by the sandbox on this machine, so the harness's 1×1 stand-in for WeCom's image hosts never answers it.
    expect(channel.qrCode).toBe(`${app.url}/sandbox/qr/${channel.configId}.png`);
    await shot(page, 'ch-04-qr');

    const download = page.waitForEvent('download');
    await page.click('[data-test="qr-download"]');
    const file = await download;
    expect(file.suggestedFilename()).toBe('春季海报.png');
    const qr = decodeQrPng(readFileSync((await file.path())!));
    expect(qr.width).toBeGreaterThan(100);
    expect(qr.text).toBe(`${app.url}/sandbox/qr/${channel.configId}`);
    await page.click('[data-test="qr-copy"]');
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText())).toBe(channel.qrCode);

    // A customer scans: the link opens the sandbox's add page, whose form adds 李四 through this code.
    const scan = await (await signedIn()).newPage();
    await scan.goto(qr.text!);
    expect(await scan.locator('body').innerText()).toContain('添加 李四');
    await scan.fill('input[name="name"]', '扫码的客户');
    await scan.click('button[type="submit"]');
    await expect.poll(() => scan.locator('body').innerText()).toContain('已添加');
    await shot(scan, 'ch-05-scan-page');
    await scan.close();
    const welcome = (await waitFor(() => app.sandbox.store.welcomeSent.find((w) => w.userid === 'lisi' && (w.attachments?.length ?? 0) === 2), 10_000, 'the welcome with its attachments'))!;
    expect(JSON.stringify(welcome.text)).toContain('扫码的客户您好，我是李四');

    await page.locator('[data-test="qr-dialog"]').locator('xpath=ancestor::div[contains(@class,"el-dialog")]').locator('.el-dialog__headerbtn').click();
    await row.locator('[data-test="channel-stats"]').click();
    await expect.poll(() => page.locator('[data-test="channel-daily"]').isVisible()).toBe(true);
    const today = localDate(new Date(), 'Asia/Shanghai');
    await waitFor(async () => (await api<{ days: { adds: number }[] }>(app, 'GET', `/api/v1/channels/${channel.id}/daily`)).body.days.at(-1)?.adds === 1, 10_000, 'the add counted');
    // The drawer read its figures before or after the add; ask again through the range picker's shortcut.
    await page.locator('[data-test="stats-range"] input').first().click();
    await page.locator('.el-picker-panel__shortcut:visible', { hasText: '最近 7 天' }).click();
    await expect.poll(() => page.locator('[data-test="total-adds"]').innerText()).toBe('1');
    const daily = (await api<{ from: string; to: string; days: { day: string; adds: number; deletes: number; net: number }[] }>(app, 'GET', `/api/v1/channels/${channel.id}/daily?to=${today}&from=${addDays(today, -6)}`)).body;
    expect(daily.days).toHaveLength(7);
    expect(await page.locator('[data-test="total-net"]').innerText()).toBe(String(daily.days.reduce((s, d) => s + d.net, 0)));
    await expect.poll(() => page.locator('[data-test="channel-daily"] canvas').count()).toBeGreaterThan(0);
    await shot(page, 'ch-06-daily-chart');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('hands the customers of a member who left to another, saying what will happen, and shows the transfers in words', async () => {
    await control('staff/resign', { userid: 'wangwu' });
    const unassigned = (await api<{ items: { handover: string; externalUserId: string; customerName: string | null }[]; total: number }>(app, 'GET', '/api/v1/transfers/unassigned?pageSize=100')).body;
    expect(unassigned.total).toBeGreaterThan(1);
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/transfers`);
    const table = page.locator('[data-test="tr-unassigned"]');
    // The page reads WeCom's whole list of unassigned customers (README §客户继承) before it answers.
    await expect.poll(() => page.locator('.el-tabs__item.is-active').innerText(), { timeout: 15_000 }).toContain(`离职待分配（${unassigned.total}）`);
    await expect.poll(() => table.locator('.el-table__body .el-table__row').count(), { timeout: 15_000 }).toBe(Math.min(20, unassigned.total));
    expect(await table.innerText()).toContain('王五');
    await shot(page, 'tr-01-unassigned');

    const rows = table.locator('.el-table__body .el-table__row');
    const picked = [await rows.nth(0).innerText(), await rows.nth(1).innerText()];
    await rows.nth(0).locator('.el-checkbox').click();
    await rows.nth(1).locator('.el-checkbox').click();
    await page.locator('[data-test="tr-takeover"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '李四' }).click();
    await page.click('[data-test="tr-hand-over"]');
    const box = page.locator('.el-message-box');
    await expect.poll(() => box.innerText()).toContain('将把 2 位客户（原跟进：王五，已离职）转给 李四');
    expect(await box.innerText()).toContain('24 小时后完成接替');
    await shot(page, 'tr-02-confirm');
    const sent = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/transfers');
    await box.getByRole('button', { name: '分配' }).click();
    expect((await sent).postDataJSON()).toMatchObject({ kind: 'resigned', handover: 'wangwu', takeover: 'lisi' });

    await page.getByRole('tab', { name: '转接记录' }).click();
    const records = page.locator('[data-test="tr-records"]');
    await expect.poll(() => records.locator('.el-table__body .el-table__row').count(), { timeout: 10_000 }).toBe(2);
    const api1 = (await api<{ items: { status: string; customerName: string }[] }>(app, 'GET', '/api/v1/transfers')).body.items;
    expect(api1.map((t) => t.status)).toEqual(['waiting', 'waiting']);
    for (const t of api1) expect(picked.some((p) => p.includes(t.customerName))).toBe(true);
    expect(await records.innerText()).toContain('等待接替（24 小时内）');
    expect(await records.innerText()).toContain('离职继承');
    expect(await records.innerText()).not.toMatch(/\b(waiting|resigned|done)\b/);

    // WeCom completes the takeover (the sandbox without waiting 24 h); the callbacks settle both.
    await control('transfers/complete', {});
    await waitFor(async () => (await api<{ items: { status: string }[] }>(app, 'GET', '/api/v1/transfers')).body.items.every((t) => t.status === 'done'), 10_000, 'the transfers done');
    await page.locator('#pane-records').getByRole('button', { name: '刷新' }).click();
    await expect.poll(() => records.locator('[data-test="tr-status"]').allInnerTexts(), { timeout: 10_000 }).toEqual(['已接替', '已接替']);
    await shot(page, 'tr-03-records');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('shows every setting of GET /api/v1/settings with its value and where it comes from', async () => {
    const settings = (await api<Record<string, Setting[]>>(app, 'GET', '/api/v1/settings')).body;
    const all = Object.values(settings).flat();
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/settings`);
    await expect.poll(() => page.locator('[data-test="set-value"]').count()).toBe(all.length);
    const valueOf = (key: string) => page.locator(`[data-test="set-value"][data-key="${key}"]`).innerText();
    const sourceOf = (key: string) => page.locator(`[data-test="set-source"][data-key="${key}"]`).innerText();
    const quiet = all.find((s) => s.key === 'quietHours')!.value as { start: string; end: string };
    expect(await valueOf('quietHours')).toBe(`${quiet.start} 至次日 ${quiet.end}`);
    expect(await sourceOf('quietHours')).toBe('配置文件 config/care-rules.json → settings.quietHours');
    expect(await valueOf('audit.retentionDays')).toBe(`保留 ${all.find((s) => s.key === 'audit.retentionDays')!.value} 天`);
    expect(await sourceOf('audit.retentionDays')).toBe('默认值（可用环境变量 AUDIT_RETENTION_DAYS 设置）');
    expect(await sourceOf('appTimezone')).toMatch(/^(配置文件 config\/default\.json → appTimezone|环境变量 APP_TIMEZONE)$/);
    expect(await valueOf('job:care')).toMatch(/^每天 \d\d:\d\d（/);
    expect(await sourceOf('wecom:gettoken')).toBe('默认值（可在 config/local.json 的 wecom.limits 设置）');
    expect(await sourceOf('staffMessages')).toBe('内置（不可配置）');
    // 客户反馈: the SLA in words, the escalation list by name (ADMIN_USERIDS here: FEEDBACK_ESCALATE_TO is unset), help under each.
    expect(await valueOf('feedback.firstContactHours')).toBe('24 小时（1 天）');
    expect(await sourceOf('feedback.firstContactHours')).toBe('默认值（可用环境变量 FEEDBACK_FIRST_CONTACT_HOURS 设置）');
    await expect.poll(() => valueOf('feedback.escalateTo')).toBe('未单独设置，通知管理员：张三');
    const feedback = page.locator('[data-test="set-feedback"]');
    expect(await feedback.innerText()).toContain('未设置时使用管理员（ADMIN_USERIDS）');
    expect(await feedback.locator('[data-test="set-help"]').count()).toBe(2);
    await feedback.screenshot({ path: resolve(SHOTS, 'set-02-feedback.png') });
    const text = await page.locator('[data-test="settings"]').innerText();
    expect(text).not.toMatch(/\b(days_of_month|latest|earliest|builtin|env|file|fromAdmins|userids)\b/);
    await shot(page, 'set-01-settings');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('finds the channel code and the hand-over in 操作日志', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/audit-log`);
    const table = page.locator('[data-test="audit"]');
    await expect.poll(() => table.innerText(), { timeout: 10_000 }).toContain('客户继承 · 新建');
    expect(await table.locator('.el-table__row', { hasText: '渠道活码 · 新建' }).innerText()).toMatch(/张三[\s\S]*成员[\s\S]*控制台/);
    const rows = (await api<{ items: { action: string; request: Record<string, unknown> }[] }>(app, 'GET', '/api/v1/audit-log?action=transfers.')).body.items;
    expect(rows[0]).toMatchObject({ action: 'transfers.create', request: { kind: 'resigned', handover: 'wangwu', takeover: 'lisi' } });
    await shot(page, 'ch-07-audit');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('sends 素材库 items with a channel welcome through 「从素材库选择」', async () => {
    const menu = (await api<{ id: string }>(app, 'POST', '/api/v1/content', { kind: 'link', title: '门店新品菜单', url: 'https://example.com/menu' })).body.id;
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/channels`);
    await expect.poll(() => page.locator('.el-pagination__total').innerText()).toMatch(/\d/);
    await page.click('[data-test="new-channel"]');
    await field(page, 'channel-name').fill('门店菜单码');
    await page.locator('[data-test="channel-staff"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '李四' }).click();
    await page.keyboard.press('Escape');
    await field(page, 'channel-welcome').fill('{{name}}您好，新品菜单请查收');
    await pickContent(page, { query: '新品菜单', title: '门店新品菜单', picked: ['链接：门店新品菜单'] });
    await shot(page, 'ch-09-content-picked');
    await page.click('[data-test="channel-save"]');
    const row = page.locator('[data-test="channels"] .el-table__row', { hasText: '门店菜单码' });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.innerText()).toContain('1 个素材');
    const listed = (await api<{ items: ChannelAnswer[] }>(app, 'GET', '/api/v1/channels?pageSize=100')).body.items;
    expect(listed.find((c) => c.name === '门店菜单码')?.welcome).toMatchObject({ text: '{{name}}您好，新品菜单请查收', contentIds: [menu] });
    await page.close();
    expect(h.problems).toEqual([]);
  });
});
