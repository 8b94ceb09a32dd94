import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { buildCustomer } from '../factories/customers.js';
import { FixedClock } from '../../src/shared/clock.js';

// docs/loyalty.md §The customer page, §The signed link, §Rate limits: GET /p/<token> shows one customer's points;
// any bad token gets a kind zh-CN page with no data; the page is rate limited per token and per client address.

describe.each(testEngines())('the "我的积分" page (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock('2026-05-10T02:00:00Z');
  const links: Record<string, string> = {};
  let cookie = '';

  /** GET a page as a client at `ip` (TRUST_PROXY=1: the address the proxy appended). */
  const open = async (url: string, ip = '203.0.113.1') => {
    const res = await fetch(url, { headers: { 'x-forwarded-for': ip } });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };
  const noData = (text: string) => {
    expect(text).not.toContain('wmPage');
    expect(text).not.toContain('最近积分记录');
    expect(text).not.toMatch(/\d+ 积分将于/);
  };

  beforeAll(async () => {
    app = await startTestApp(engine, {
      build: { clock },
      env: { TRUST_PROXY: '1', LOYALTY_PAGE_PER_MINUTE_TOKEN: '5', LOYALTY_PAGE_PER_MINUTE_ADDRESS: '12', LOYALTY_LINK_TTL_DAYS: '30' },
    });
    await buildCustomer(app.container, { externalUserId: 'wmPageA', name: '王小明', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmPageB', name: '李小红', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmPageLisi', owners: ['lisi'] });
    await api(app, 'POST', '/api/v1/orders/import', {
      orders: [
        { orderNo: 'P-1', externalUserId: 'wmPageA', amount: 1234, orderedAt: '2026-05-01 10:00' },
        { orderNo: 'P-2', externalUserId: 'wmPageB', amount: 7, orderedAt: '2026-05-01 10:00' },
      ],
    });
    for (const id of ['wmPageA', 'wmPageB']) {
      const res = await api(app, 'POST', `/api/v1/customers/${id}/loyalty/link`);
      expect(res.status).toBe(200);
      links[id] = res.body.url;
    }
    cookie = `wo_sidebar=${app.container.http!.sidebarAuth.sessions.issue('zhangsan').token}`;
  });
  afterAll(() => app?.close());

  it('shows the balance, tier, progress and entries in words, with the PIPL line, and nothing else', async () => {
    const url = links.wmPageA;
    expect(url).toMatch(new RegExp(`^${app.url}/p/p1\\.[A-Za-z0-9_-]{22}\\.[0-9a-z]+\\.[A-Za-z0-9_-]{27}$`));
    // The token carries no personal data in the clear: not the id, not the name.
    expect(url).not.toContain('wmPageA');
    const page = await open(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html; charset=utf-8/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.text).toContain('<html lang="zh-CN">');
    expect(page.text).toContain('1,234');
    expect(page.text).toContain('银卡会员');
    expect(page.text).toContain('订单消费');
    expect(page.text).toContain('个人信息说明');
    expect(page.text).toMatch(/再累计 3,766 积分即可升级为「金卡」/);
    expect(page.text).toContain('1,234 积分将于 2027年12月31日 到期');
    // No raw codes, no other customer, no external asset.
    for (const raw of ['order_birthday', '"earn"', 'redemption', 'wmPageA', 'wmPageB', '李小红', '王小明']) expect(page.text).not.toContain(raw);
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    // The other link shows the other customer's 7 points and not this one's.
    const other = await open(links.wmPageB);
    expect(other.text).toContain('<div class="balance">7</div>');
    expect(other.text).not.toContain('1,234');
  });

  it('answers a malformed, tampered, spliced or expired token with a kind zh-CN page and no data', async () => {
    const token = links.wmPageA.split('/p/')[1];
    const [v, linkA, exp, sig] = token.split('.');
    const [, linkB, , sigB] = links.wmPageB.split('/p/')[1].split('.');
    const flip = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
    const cases: [string, number, string][] = [
      ['abc', 400, '链接不完整'],
      [`${token}x`, 400, '链接不完整'],
      ['x'.repeat(5000), 400, '链接不完整'],
      [encodeURIComponent('<script>alert(1)</script>'), 400, '链接不完整'],
      [`${v}.${linkA}.${exp}.${flip(sig)}`, 403, '链接无效'],
      // Another customer's link id under this token's signature, and the other way round.
      [`${v}.${linkB}.${exp}.${sig}`, 403, '链接无效'],
      [`${v}.${linkA}.${exp}.${sigB}`, 403, '链接无效'],
      // A later expiry with the old signature.
      [`${v}.${linkA}.${(parseInt(exp, 36) + 86_400 * 365).toString(36)}.${sig}`, 403, '链接无效'],
    ];
    let ip = 10;
    for (const [t, status, words] of cases) {
      const res = await open(`${app.url}/p/${t}`, `198.51.100.${ip++}`);
      expect(res.status, t.slice(0, 40)).toBe(status);
      expect(res.text).toContain(words);
      expect(res.text).toContain('<html lang="zh-CN">');
      noData(res.text);
    }
    // Past the link's 30 days: 410, kindly.
    clock.advance(31 * 86_400_000);
    const expired = await open(links.wmPageA, '198.51.100.99');
    expect(expired.status).toBe(410);
    expect(expired.text).toContain('链接已过期');
    noData(expired.text);
    clock.advance(-31 * 86_400_000);
  });

  it('limits requests per token and per client address with a zh-CN 429 page', async () => {
    // A second later, so the link differs from the one the first test opened (same id, later expiry).
    clock.advance(1_000);
    const fresh = (await api(app, 'POST', '/api/v1/customers/wmPageB/loyalty/link')).body.url as string;
    expect(fresh).not.toBe(links.wmPageB);
    // Five a minute per token, from different addresses: the sixth is refused.
    for (let i = 0; i < 5; i++) expect((await open(fresh, `192.0.2.${i + 1}`)).status).toBe(200);
    const limited = await open(fresh, '192.0.2.50');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.text).toContain('访问太频繁');
    noData(limited.text);
    // Twelve a minute per address, whatever the token: made-up tokens count too.
    const carrier = '100.64.0.7';
    for (let i = 0; i < 12; i++) expect((await open(`${app.url}/p/bogus-${i}`, carrier)).status).toBe(400);
    expect((await open(links.wmPageA, carrier)).status).toBe(429);
    // Another address is not held up; a minute later the limits start again.
    expect((await open(links.wmPageA, '100.64.0.8')).status).toBe(200);
    clock.advance(61_000);
    expect((await open(fresh, '192.0.2.51')).status).toBe(200);
    expect((await open(links.wmPageA, carrier)).status).toBe(200);
  });

  it('gives staff the link of their own customers only, through the API and the sidebar', async () => {
    const staff = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    expect((await api(app, 'POST', '/api/v1/customers/wmPageA/loyalty/link', undefined, staff)).status).toBe(200);
    expect((await api(app, 'POST', '/api/v1/customers/wmPageLisi/loyalty/link', undefined, staff)).status).toBe(404);
    const side = async (path: string, method = 'GET', body?: unknown) => {
      const res = await fetch(`${app.url}${path}`, {
        method,
        headers: { cookie, 'x-requested-with': 'XMLHttpRequest', ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const mine = await side('/sidebar/api/customers/wmPageA/loyalty/link', 'POST');
    expect(mine.status).toBe(200);
    // The same customer keeps one link id: the new link opens the same page.
    const linkIdOf = (url: string) => url.split('/p/')[1].split('.')[1];
    expect(linkIdOf(mine.body.url)).toBe(linkIdOf(links.wmPageA));
    expect((await side('/sidebar/api/customers/wmPageLisi/loyalty/link', 'POST')).status).toBe(404);
    const card = await side('/sidebar/api/customers/wmPageA/loyalty');
    expect(card.status).toBe(200);
    expect(card.body).toMatchObject({ balance: 1234, tier: { name: '银卡' } });
    expect((await side('/sidebar/api/customers/wmPageLisi/loyalty')).status).toBe(404);
    // Redemption from the sidebar: confirmed, once.
    const body = { points: 34, note: '兑换礼品', requestId: 'sidebar-redeem-0001', confirm: true };
    expect((await side('/sidebar/api/customers/wmPageA/loyalty/redeem', 'POST', { ...body, confirm: false })).status).toBe(400);
    expect((await side('/sidebar/api/customers/wmPageA/loyalty/redeem', 'POST', body)).body).toMatchObject({ balance: 1200, replayed: false });
    expect((await side('/sidebar/api/customers/wmPageA/loyalty/redeem', 'POST', body)).body).toMatchObject({ balance: 1200, replayed: true });
    const page = await open(links.wmPageA, '203.0.113.77');
    expect(page.text).toContain('积分兑换');
    expect(page.text).toContain('−34');
  });
});
