import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, field, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';
import { GIF, png } from '../fixtures/content.js';

vi.setConfig({ testTimeout: 120_000 });

interface Row { id: string; title: string; useCount: number; mediaStatus: string }

/**
 * 素材库 in a real browser, signed in as 张三 (admin): the library with the quick replies migrated into it, a search
 * for a two-character word, an image uploaded through the form (its thumbnail and upload status, the preview), a GIF
 * refused next to the file field with WeCom's rule, and the most-used order. Screenshots content-* under
 * test-results/console/.
 */
describe.skipIf(!CHROMIUM)('素材库 page: upload, search, preview and use counts in a real browser', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;
  let admin: BrowserContext | undefined;
  const signedIn = async (): Promise<BrowserContext> => (admin ??= await h.signIn('张三'));
  const titles = (page: Page) => page.locator('[data-test="content-rows"] [data-test="content-title"]').allInnerTexts();

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
    const make = (body: object) => api<Row>(app, 'POST', '/api/v1/content', body);
    await make({ kind: 'text', group: '促销话术', title: '双十一优惠券', text: '{{name}}您好，双十一全场满300减50。', tags: ['大促'] });
    await make({ kind: 'text', group: '会员', title: '会员日提醒', text: '每月8号会员日，积分翻倍。', tags: ['优惠'] });
    await make({ kind: 'link', group: '促销话术', title: '春季新品', text: '新款到店', url: 'https://shop.example.com/new' });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('lists the library with the migrated quick replies and finds a two-character word', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/content`);
    await expect.poll(async () => (await titles(page)).length).toBeGreaterThanOrEqual(8);
    // The seeded quick replies are library items now, in their 话术分组.
    expect(await titles(page)).toContain('初次问候');
    expect(await page.locator('[data-test="content-quota"]').innerText()).toMatch(/^今日图片上传 0 \/ 1000 张，本月 0 \/ 3000 张/);
    await h.shot(page, 'content-01-library');
    await field(page, 'content-q').fill('优惠');
    await page.click('[data-test="content-search"]');
    await expect.poll(async () => (await titles(page)).sort()).toEqual(['会员日提醒', '双十一优惠券']);
    await h.shot(page, 'content-02-search');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('uploads an image through the form, shows its thumbnail and preview, and refuses a GIF next to the file field', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/content`);
    await expect.poll(async () => (await titles(page)).length).toBeGreaterThan(0);
    await page.click('[data-test="content-new"]');
    const dialog = page.locator('[data-test="content-dialog"]');
    await dialog.locator('[data-test="content-form-kind"] label', { hasText: '图片' }).click();
    await field(page, 'content-form-title').fill('门店海报');
    // The wrong type first: WeCom's rule, next to the file.
    await page.setInputFiles('[data-test="content-form-file"]', { name: '动图.gif', mimeType: 'image/gif', buffer: GIF });
    await page.click('[data-test="content-save"]');
    const fileError = dialog.locator('.el-form-item', { has: page.locator('[data-test="content-form-file"]') }).locator('.el-form-item__error');
    await expect.poll(() => fileError.innerText()).toBe('图片仅支持 JPG 或 PNG 格式（企业微信附件规则），该文件是 image/gif');
    await h.shot(page, 'content-03-refused-gif');
    await page.setInputFiles('[data-test="content-form-file"]', { name: '海报.png', mimeType: 'image/png', buffer: png(320, 240) });
    await page.click('[data-test="content-save"]');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    const items = (await api<{ items: Row[] }>(app, 'GET', `/api/v1/content?q=${encodeURIComponent('海报')}`)).body.items;
    expect(items.map((i) => [i.title, i.mediaStatus])).toEqual([['门店海报', '已上传企业微信']]);
    const thumb = page.locator(`[data-test="thumb-${items[0].id}"] img`);
    await expect.poll(() => thumb.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(320);
    const row = page.locator('[data-test="content-rows"] .el-table__row', { hasText: '门店海报' });
    expect(await row.locator('[data-test="content-media"]').innerText()).toBe('已上传企业微信');
    await h.shot(page, 'content-04-uploaded');
    await thumb.click();
    await expect.poll(() => page.locator('.el-image-viewer__wrapper').isVisible()).toBe(true);
    await h.shot(page, 'content-05-preview');
    await page.keyboard.press('Escape');
    await page.close();
    // The one refusal above is the only failed request.
    expect(h.problems.filter((p) => !p.endsWith('400 POST /api/v1/content'))).toEqual([]);
    expect(h.problems.filter((p) => p.endsWith('400 POST /api/v1/content'))).toHaveLength(1);
    h.problems.length = 0;
  });

  it('sorts by use and shows each item’s count', async () => {
    const { items } = (await api<{ items: Row[] }>(app, 'GET', `/api/v1/content?q=${encodeURIComponent('会员日')}`)).body;
    await app.container.content.service.recordUses([items[0].id], 2);
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/content`);
    await expect.poll(async () => (await titles(page)).length).toBeGreaterThan(0);
    await page.locator('[data-test="content-order"] label', { hasText: '使用最多' }).click();
    await expect.poll(async () => (await titles(page))[0]).toBe('会员日提醒');
    expect(await page.locator('[data-test="content-rows"] [data-test="content-uses"]').first().innerText()).toBe('2');
    await h.shot(page, 'content-06-most-used');
    await page.close();
    expect(h.problems).toEqual([]);
  });
});
