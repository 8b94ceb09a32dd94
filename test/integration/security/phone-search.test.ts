import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../../helpers/databases.js';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../helpers/app.js';
import { buildCustomer } from '../../factories/customers.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { principalKey } from '../../../src/domain/customers/search-budget.js';

const MINE = { externalUserId: 'wmPhoneMine', phone: '13812345678' };
const THEIRS = { externalUserId: 'wmPhoneTheirs', phone: '13987654321' };

/** Ten seconds into a minute, so 200 searches never straddle a minute boundary. */
const START = '2026-03-10T02:00:10.000Z';

/**
 * A staff member saw 138****5678 and found the hidden digits by searching `q=138123?5678`
 * 200 times in 1.3 s. Now a phone matches only by its whole number, a staff member's search covers only customers
 * they follow, and every principal has a search budget (30 a minute, 600 a day by default). docs/security.md
 * §Phone search.
 */
describe.each(testEngines())('phone search and the search budget (%s)', (engine) => {
  let app: TestApp;
  let clock: FixedClock;
  const staffToken = async () => (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
  const search = async (q: string, token: string) => {
    const res = await fetch(`${app.url}/api/v1/customers?q=${encodeURIComponent(q)}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any };
  };
  const found = (r: { body: { items?: { externalUserId: string }[] } }) => (r.body.items ?? []).map((i) => i.externalUserId);

  beforeAll(async () => {
    clock = new FixedClock(START);
    app = await startTestApp(engine, { build: { clock } });
    await buildCustomer(app.container, { externalUserId: MINE.externalUserId, name: '王先生', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: THEIRS.externalUserId, name: '李女士', owners: ['lisi'] });
    for (const c of [MINE, THEIRS]) expect((await api(app, 'PATCH', `/api/v1/customers/${c.externalUserId}`, { phone: c.phone })).status).toBe(200);
  });
  afterAll(async () => app?.close());

  it('matches a staff member\'s search only by a whole number, and only among customers they follow', async () => {
    clock.set(START);
    const token = await staffToken();
    // The archive shows the staff member a mask; the parts they can see never match as a phone.
    expect((await api(app, 'GET', `/api/v1/customers/${MINE.externalUserId}`, undefined, token)).body.phone).toBe('138****5678');
    for (const partial of ['138', '1381234', '5678', '12345678', '138****5678', '138123?5678', '1381234567']) {
      const r = await search(partial, token);
      expect(r.status, partial).toBe(200);
      expect(found(r), partial).toEqual([]);
    }
    expect(found(await search(MINE.phone, token))).toEqual([MINE.externalUserId]);
    expect(found(await search('+86 138-1234-5678', token))).toEqual([MINE.externalUserId]);
    // The whole number of a customer someone else follows finds nothing.
    expect(found(await search(THEIRS.phone, token))).toEqual([]);
    // Operators and admins: whole numbers, every customer.
    expect(found(await search(THEIRS.phone, TEST_ADMIN_TOKEN))).toEqual([THEIRS.externalUserId]);
    expect(found(await search('1398765', TEST_ADMIN_TOKEN))).toEqual([]);
  });

  it('stops guessing the hidden digits: the 31st search in a minute gets 429 with Retry-After, and none of 200 guesses finds the number', async () => {
    clock.set(START);
    const token = await staffToken();
    const statuses: number[] = [];
    let hit: string | null = null;
    let refusal: Awaited<ReturnType<typeof search>> | null = null;
    // Try the hidden middle digits in order, as the reviewer did; the right ones (1234) come after the first 30.
    for (let guess = 0; guess < 200; guess++) {
      const q = `138${String(guess + 1100).padStart(4, '0')}5678`;
      const r = await search(q, token);
      statuses.push(r.status);
      if (r.status === 200 && found(r).includes(MINE.externalUserId)) hit = q;
      if (r.status === 429) refusal ??= r;
    }
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(30).every((s) => s === 429)).toBe(true);
    expect(hit).toBeNull();
    expect(refusal!.body.error.code).toBe('search_rate_limited');
    expect(refusal!.body.error.message).toContain('搜索过于频繁：每分钟最多 30 次');
    expect(Number(refusal!.retryAfter)).toBe(50);

    // Another principal (another token, ADMIN_TOKEN) has a budget of its own; a list without q costs nothing.
    expect((await search(MINE.phone, await staffToken())).status).toBe(200);
    expect((await search(MINE.phone, TEST_ADMIN_TOKEN)).status).toBe(200);
    expect((await api(app, 'GET', '/api/v1/customers', undefined, token)).status).toBe(200);

    // The next minute the budget is back.
    clock.advance(50_000);
    expect(found(await search(MINE.phone, token))).toEqual([MINE.externalUserId]);
  });

  it('keys budgets by API token id, sidebar userid, or ADMIN_TOKEN', () => {
    expect(principalKey({ tokenId: 'tok1', role: 'staff', userid: 'zhangsan' })).toBe('token:tok1');
    expect(principalKey({ tokenId: null, role: 'staff', userid: 'zhangsan' })).toBe('sidebar:zhangsan');
    expect(principalKey({ tokenId: null, role: 'admin', userid: null })).toBe('admin-token');
  });
});

describe.each(testEngines())('the daily search budget (%s)', (engine) => {
  let app: TestApp;
  let clock: FixedClock;
  beforeAll(async () => {
    clock = new FixedClock(START);
    app = await startTestApp(engine, { build: { clock }, env: { SEARCH_MAX_PER_MINUTE: '5', SEARCH_MAX_PER_DAY: '8' } });
  });
  afterAll(async () => app?.close());

  it('refuses past SEARCH_MAX_PER_DAY until the next (UTC) day, whatever the minute', async () => {
    const token = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    const search = async () => {
      const res = await fetch(`${app.url}/api/v1/customers?q=13800000000`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, retryAfter: Number(res.headers.get('retry-after')), body: (await res.json()) as any };
    };
    const minute1 = [];
    for (let i = 0; i < 6; i++) minute1.push((await search()).status);
    expect(minute1).toEqual([200, 200, 200, 200, 200, 429]);
    clock.advance(60_000);
    const minute2 = [];
    for (let i = 0; i < 4; i++) minute2.push(await search());
    expect(minute2.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(minute2[3].body.error.message).toContain('每天最多 8 次');
    // 02:01:10 UTC: the day ends in 21 h 58 min 50 s.
    expect(minute2[3].retryAfter).toBe(22 * 3600 - 70);
    clock.advance(60_000);
    expect((await search()).status).toBe(429);
    clock.set('2026-03-11T00:00:01.000Z');
    expect((await search()).status).toBe(200);
  });
});
