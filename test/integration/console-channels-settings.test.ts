import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { TEST_ADMIN_TOKEN, TEST_DATA_KEY, api, waitFor } from '../helpers/app.js';
import { localDate } from '../../src/shared/dates.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';

// Secrets set in the environment: the settings answer must contain none of them.
const METRICS_TOKEN = 'metrics-secret-token-9f8e7d6c5b';

describe.each(testEngines())('channel codes, settings and staff audit through the API (%s)', (engine) => {
  let app: ArchiveApp;

  beforeAll(async () => {
    app = await startArchiveApp(engine, { env: { METRICS_TOKEN, AUDIT_RETENTION_DAYS: '90', LOYALTY_POINTS_PER_YUAN: '2', FEEDBACK_FIRST_CONTACT_HOURS: '8' } });
  });
  afterAll(async () => app?.close());

  const welcomeCalls = () => app.sandbox.calls('externalcontact/send_welcome_msg').filter((c) => c.errcode === 0);

  it('creates a channel code whose welcome carries an image and a link, and sends them to a customer who scans it', async () => {
    const attachments = [
      { kind: 'image', picUrl: 'https://example.com/poster.png' },
      { kind: 'link', title: '新品手册', url: 'https://example.com/book', desc: '春季新品' },
    ];
    const created = await api(app, 'POST', '/api/v1/channels', { name: '附件渠道', staff: ['lisi'], tags: [], welcome: { text: '{{name}}您好', attachments } });
    expect(created.status).toBe(201);
    expect(created.body.welcome.attachments).toEqual(attachments);
    // The sandbox's QR image, on the address the bot reaches it at (under its /sandbox mount).
    expect(created.body.qrCode).toBe(`${app.url}/sandbox/qr/${created.body.configId}.png`);
    const way = [...app.sandbox.store.contactWays.values()].find((w) => w.state === created.body.state)!;
    const added = await app.sandbox.addCustomer({ configId: way.configId, name: '王五' });
    const sent = (await waitFor(() => app.sandbox.store.welcomeSent.find((w) => w.welcomeCode === added.welcomeCode), 5000, 'welcome'))!;
    expect(sent.attachments).toEqual([
      { msgtype: 'image', image: { pic_url: 'https://example.com/poster.png' } },
      { msgtype: 'link', link: { title: '新品手册', url: 'https://example.com/book', desc: '春季新品' } },
    ]);
    expect(welcomeCalls().length).toBeGreaterThan(0);

    // Adds, deletions and net per day: every day of the range, the add on today's Shanghai date.
    const today = localDate(new Date(), 'Asia/Shanghai');
    const daily = (await waitFor(async () => {
      const r = await api(app, 'GET', `/api/v1/channels/${created.body.id}/daily`);
      return r.body.days?.at(-1)?.adds === 1 ? r : null;
    }, 5000, 'the add counted'))!;
    expect(daily.body.days).toHaveLength(30);
    expect(daily.body.to).toBe(today);
    expect(daily.body.days.at(-1)).toEqual({ day: today, adds: 1, deletes: 0, net: 1 });
    expect(daily.body.days.slice(0, -1).every((d: { adds: number; deletes: number }) => d.adds === 0 && d.deletes === 0)).toBe(true);

    await app.sandbox.customerDeletesStaff({ userid: 'lisi', externalUserId: added.externalUserId });
    const after = (await waitFor(async () => {
      const r = await api(app, 'GET', `/api/v1/channels/${created.body.id}/daily?from=${today}&to=${today}`);
      return r.body.days?.[0]?.deletes === 1 ? r : null;
    }, 5000, 'the deletion counted'))!;
    expect(after.body.days).toEqual([{ day: today, adds: 1, deletes: 1, net: 0 }]);
  });

  it('answers 400 next to the field: an attachment that needs a media id, a link without a URL, a welcome over 4000 bytes, a bad date', async () => {
    const base = { name: '坏渠道', staff: ['lisi'] };
    const mini = await api(app, 'POST', '/api/v1/channels', { ...base, welcome: { text: 'hi', attachments: [{ kind: 'miniprogram', title: 't', appId: 'wx1234567890abcdef', page: 'p', picMediaId: 'm' }] } });
    expect(mini.status).toBe(400);
    expect(mini.body.error.details.fields['welcome.attachments.0']).toContain('media_id 3 天后失效');
    const link = await api(app, 'POST', '/api/v1/channels', { ...base, welcome: { text: 'hi', attachments: [{ kind: 'link', title: '手册', url: 'ftp://x' }] } });
    expect(link.body.error.details.fields).toEqual({ 'welcome.attachments.0.url': '链接地址须以 http:// 或 https:// 开头' });
    const long = await api(app, 'POST', '/api/v1/channels', { ...base, welcome: { text: '欢'.repeat(1334) } });
    expect(long.status).toBe(400);
    expect(long.body.error.details.fields).toEqual({ 'welcome.text': expect.stringContaining('4000 字节') });
    const ghost = await api(app, 'POST', '/api/v1/channels', { ...base, staff: ['ghost'] });
    expect(ghost.status).toBe(400);
    expect(Object.keys(ghost.body.error.details.fields)).toEqual(['staff']);
    const [{ n }] = await app.container.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM channels WHERE name = '坏渠道'");
    expect(Number(n)).toBe(0);
    const list = await api(app, 'GET', '/api/v1/channels');
    const id = list.body.items[0].id as string;
    expect((await api(app, 'GET', `/api/v1/channels/${id}/daily?from=2026-02-30`)).body.error.details.fields).toEqual({ from: '日期格式应为 YYYY-MM-DD' });
    expect((await api(app, 'GET', `/api/v1/channels/${id}/daily?from=2026-03-02&to=2026-03-01`)).status).toBe(400);
  });

  it('a PATCH leaves the tags it does not mention, and the audit row has before and after', async () => {
    const created = await api(app, 'POST', '/api/v1/channels', { name: '改名前', staff: ['lisi'], tags: ['渠道/改名测试'] });
    const patched = await api(app, 'PATCH', `/api/v1/channels/${created.body.id}`, { name: '改名后' });
    expect(patched.body).toMatchObject({ name: '改名后', tags: ['渠道/改名测试'] });
    const log = await api(app, 'GET', `/api/v1/audit-log?action=channels.update&target=${created.body.id}`);
    expect(log.body.items[0]).toMatchObject({ before: { name: '改名前' }, after: { name: '改名后' } });
  });

  it('GET /api/v1/settings: each setting with its source, and no secret anywhere', async () => {
    const res = await api(app, 'GET', '/api/v1/settings');
    expect(res.status).toBe(200);
    const all = Object.values(res.body).flat() as { key: string; value: unknown; source: Record<string, string>; isEditable: boolean }[];
    const byKey = Object.fromEntries(all.map((s) => [s.key, s]));
    expect(byKey.quietHours).toMatchObject({ value: { start: '21:00', end: '09:00' }, source: { kind: 'file', file: 'config/care-rules.json', key: 'settings.quietHours' }, isEditable: false });
    expect(byKey['audit.retentionDays']).toMatchObject({ value: 90, source: { kind: 'env', name: 'AUDIT_RETENTION_DAYS' } });
    expect(byKey['search.maxPerDay']).toMatchObject({ value: 600, source: { kind: 'default', env: 'SEARCH_MAX_PER_DAY' } });
    expect(byKey['job:care']).toMatchObject({ value: { schedule: expect.any(String) }, source: { key: 'settings.careTime' } });
    expect(byKey['wecom:gettoken']).toMatchObject({ value: { perMinute: 10 }, source: { kind: 'default', file: 'config/local.json', key: 'wecom.limits' } });
    expect(byKey.staffMessages).toMatchObject({ value: { perMinute: 15, perHour: 500 }, source: { kind: 'builtin' } });
    // 积分与会员: every LOYALTY_* variable, set or not, with the variable that sets it.
    expect(res.body.loyalty.map((s: { key: string }) => s.key)).toHaveLength(11);
    expect(byKey['loyalty.pointsPerYuan']).toMatchObject({ value: 2, source: { kind: 'env', name: 'LOYALTY_POINTS_PER_YUAN' } });
    expect(byKey['loyalty.tiers']).toMatchObject({ value: expect.arrayContaining([expect.objectContaining({ name: '金卡', threshold: 5000 })]), source: { kind: 'default', env: 'LOYALTY_TIERS' } });
    expect(byKey['loyalty.expiryYears']).toMatchObject({ value: 1, source: { kind: 'default', env: 'LOYALTY_EXPIRY_YEARS' } });
    // 客户反馈: the SLA with its variable; the escalation list, which falls back to ADMIN_USERIDS when none is set.
    expect(res.body.feedback.map((s: { key: string }) => s.key)).toEqual(['feedback.firstContactHours', 'feedback.escalateTo']);
    expect(byKey['feedback.firstContactHours']).toMatchObject({ value: 8, source: { kind: 'env', name: 'FEEDBACK_FIRST_CONTACT_HOURS' } });
    expect(byKey['feedback.escalateTo']).toMatchObject({
      value: { userids: app.container.config.console.adminUserids, fromAdmins: true },
      source: { kind: 'default', env: 'FEEDBACK_ESCALATE_TO' },
    });
    expect(all.every((s) => s.isEditable === false)).toBe(true);
    const text = JSON.stringify(res.body);
    for (const secret of [TEST_ADMIN_TOKEN, TEST_DATA_KEY, METRICS_TOKEN, app.container.config.wecom.secret!, app.container.config.wecom.encodingAesKey!, app.container.config.wecom.token!]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/sqlite:|mysql:\/\//);
  });

  it('a staff rename and a revoke-access are audited with before and after', async () => {
    const renamed = await api(app, 'PATCH', '/api/v1/staff/lisi', { name: '李四（门店）' });
    expect(renamed.status).toBe(200);
    const rename = await api(app, 'GET', '/api/v1/audit-log?action=staff.update&target=lisi');
    expect(rename.body.items[0]).toMatchObject({ before: { userid: 'lisi', name: '李四' }, after: { userid: 'lisi', name: '李四（门店）', nameSource: 'manual' } });
    const revoked = await api(app, 'POST', '/api/v1/staff/lisi/revoke-access', { resigned: false });
    expect(revoked.status).toBe(200);
    const revoke = await api(app, 'GET', '/api/v1/audit-log?action=staff.revoke-access&target=lisi');
    expect(revoke.body.items[0]).toMatchObject({ before: { userid: 'lisi', accessRevokedAt: null }, after: { userid: 'lisi', accessRevokedAt: expect.any(String) } });
  });
});
