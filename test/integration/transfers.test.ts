import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, inboxIdle, startTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { insertStaff } from '../fixtures/scheduling.js';
import { FixedClock } from '../../src/shared/clock.js';
import { type SchedulingModule } from '../../src/container.js';

interface TimelineItem {
  kind: string;
  summary: string;
  staffUserid: string | null;
  source: string;
  data: Record<string, unknown> | null;
}

const DAY_MS = 24 * 3600 * 1000;

describe.each(testEngines())('customer transfers (客户继承) over HTTP and the sandbox (%s)', (engine) => {
  let app: TestApp;
  let m: SchedulingModule;
  const clock = new FixedClock('2026-04-01T02:00:00Z');

  /** POST a sandbox control, as a tester with curl would. */
  async function control(path: string, body: unknown = {}): Promise<any> {
    const res = await fetch(`${app.url}/sandbox/_control/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status, path).toBe(200);
    return res.json();
  }

  /** Every callback the bot received has been handled. */
  /** A customer adds `userid` in WeChat; the bot archives them from the add_external_contact callback. */
  async function customer(userid: string, name: string): Promise<string> {
    const { externalUserId } = await control('customers/add', { userid, name });
    await inboxIdle(app.container, 10_000);
    const archive = await api(app, 'GET', `/api/v1/customers/${externalUserId}`);
    expect(archive.body.followUsers).toEqual([expect.objectContaining({ userid, status: 'active' })]);
    return externalUserId;
  }

  async function archiveOf(ext: string): Promise<{ followUsers: { userid: string; status: string }[]; activity: string; timeline: TimelineItem[] }> {
    const res = await api(app, 'GET', `/api/v1/customers/${ext}`);
    expect(res.status).toBe(200);
    return res.body;
  }

  const statusOf = (a: { followUsers: { userid: string; status: string }[] }) => Object.fromEntries(a.followUsers.map((f) => [f.userid, f.status]));
  const transferEntries = (a: { timeline: TimelineItem[] }) => a.timeline.filter((e) => e.kind === 'transfer');
  /** Timeline lines written from the transfer's own callbacks (they must not duplicate the transfer entry). */
  const transferCallbackLines = (a: { timeline: TimelineItem[] }, taker: string) =>
    a.timeline.filter((e) => e.kind.endsWith('/del_external_contact') || e.kind.endsWith('/transfer_fail') || (e.kind.endsWith('/add_external_contact') && e.staffUserid === taker));

  async function transfer(body: Record<string, unknown>) {
    return api(app, 'POST', '/api/v1/transfers', body);
  }

  async function waitForStatus(ext: string, status: string): Promise<void> {
    await waitFor(async () => (await api(app, 'GET', `/api/v1/transfers?customer=${ext}&status=${status}`)).body.total > 0, 10_000, `${ext} ${status}`);
    await inboxIdle(app.container, 10_000);
  }

  const transferCalls = (ext: string) =>
    app.container.sandbox!.calls('externalcontact/transfer_customer').filter((c) => (c.params.external_userid as string[]).includes(ext));

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    m = app.container.scheduling;
    for (const [userid, name] of [['zhangsan', '张三'], ['lisi', '李四'], ['wangwu', '王五'], ['zhaoliu', '赵六']]) await insertStaff(app.container.db, userid, name);
    // Only the inbox workers: the scheduler's jobs run when a test says so.
    await app.container.services.find((s) => s.name === 'inbox-workers')!.start();
  });
  afterAll(() => app?.close());

  it('在职继承: the customer waits 24 h, then the taker follows them, the archive and the list say so, and nobody gets a churn alert', async () => {
    const c1 = await customer('zhangsan', '周先生');
    const c2 = await customer('zhangsan', '吴女士');

    const created = await transfer({ kind: 'onjob', handover: 'zhangsan', takeover: 'lisi', customers: [c1, c2], message: '您好，后续由同事李四为您服务' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'onjob', handover: 'zhangsan', takeover: 'lisi', total: 2, byStatus: { waiting: 2 } });
    for (const item of created.body.items) {
      expect(item).toMatchObject({ status: 'waiting', errcode: 0, message: null, alreadyRequested: false, takeoverAt: new Date(clock.now().getTime() + DAY_MS).toISOString() });
    }
    // One WeCom call for both customers, with the message the customer will see
    // (docs/wecom-protocol.md §Customer transfers).
    const calls = app.container.sandbox!.calls('externalcontact/transfer_customer');
    expect(calls).toHaveLength(1);
    expect(calls[0].params).toMatchObject({ handover_userid: 'zhangsan', takeover_userid: 'lisi', external_userid: [c1, c2], transfer_success_msg: '您好，后续由同事李四为您服务' });

    // Nothing changes hands while WeCom waits.
    expect(statusOf(await archiveOf(c1))).toEqual({ zhangsan: 'active' });
    const waiting = await api(app, 'GET', '/api/v1/transfers?handover=zhangsan&takeover=lisi&status=waiting');
    expect(waiting.body.total).toBe(2);
    expect(waiting.body.items.map((i: { customerName: string }) => i.customerName).sort()).toEqual(['吴女士', '周先生']);

    // The customer accepts at once (sandbox control): the taker's add and the handover's DELETE_BY_TRANSFER arrive.
    await control('transfers/complete', { externalUserId: c1 });
    await waitForStatus(c1, 'done');
    const a1 = await archiveOf(c1);
    expect(statusOf(a1)).toEqual({ zhangsan: 'transferred', lisi: 'active' });
    expect(a1.activity).toBe('active');
    expect(transferEntries(a1)).toEqual([
      expect.objectContaining({ summary: '客户已由 张三 继承给 李四（在职继承）', staffUserid: 'lisi', source: 'transfer', data: expect.objectContaining({ status: 'done', handover: 'zhangsan', takeover: 'lisi' }) }),
    ]);
    expect(transferCallbackLines(a1, 'lisi')).toEqual([]);
    expect(app.container.sandbox!.store.appMessages.filter((msg) => JSON.stringify(msg.payload).includes('删人提醒'))).toEqual([]);
    // The taker now sees the customer in their list.
    const lisiCustomers = await api(app, 'GET', `/api/v1/customers?audience=${encodeURIComponent('owner:lisi')}`);
    expect(lisiCustomers.body.items.map((i: { externalUserId: string }) => i.externalUserId)).toContain(c1);

    const done = await api(app, 'GET', '/api/v1/transfers?status=done&handover=zhangsan');
    expect(done.body).toMatchObject({ total: 1, items: [expect.objectContaining({ externalUserId: c1, customerName: '周先生', status: 'done', kind: 'onjob', takeover: 'lisi' })] });
    expect(done.body.items[0].finishedAt).not.toBeNull();

    // The job finds the other one still waiting and records nothing twice.
    clock.advance(60_000);
    const run = await m.scheduler.runNow('transfers');
    expect(run.status).toBe('done');
    expect(run.counts).toMatchObject({ pairs: 1, waiting: 1, done: 0 });
    expect(transferEntries(await archiveOf(c1))).toHaveLength(1);
  });

  it('the transfers job completes a takeover after the sandbox 24 h, and late callbacks add no second timeline line', async () => {
    const [t] = (await api(app, 'GET', '/api/v1/transfers?status=waiting&handover=zhangsan')).body.items;
    const c2 = t.externalUserId as string;
    // Callbacks are held back (recorded by the sandbox, not delivered) so the job alone learns of the takeover.
    await control('config', { callbackUrl: null });
    clock.advance(DAY_MS);
    const run = await m.scheduler.runNow('transfers');
    expect(run.counts).toMatchObject({ pairs: 1, done: 1, waiting: 0 });
    const a2 = await archiveOf(c2);
    expect(statusOf(a2)).toEqual({ zhangsan: 'transferred', lisi: 'active' });
    expect(transferEntries(a2).map((e) => e.summary)).toEqual(['客户已由 张三 继承给 李四（在职继承）']);

    // WeCom's callbacks arrive late: they settle nothing again and write no line of their own.
    await control('config', { callbackUrl: `${app.url}/wecom/callback` });
    const held = app.container.sandbox!.callbacks().filter((cb) => cb.status === 'no_url' && cb.xml.includes(c2));
    expect(held.map((cb) => /<ChangeType><!\[CDATA\[(\w+)/.exec(cb.xml)?.[1])).toEqual(['add_external_contact', 'del_external_contact']);
    for (const cb of held) await control('callbacks', { xml: cb.xml });
    await inboxIdle(app.container, 10_000);
    const after = await archiveOf(c2);
    expect(transferEntries(after)).toHaveLength(1);
    expect(transferCallbackLines(after, 'lisi')).toEqual([]);
    expect(statusOf(after)).toEqual({ zhangsan: 'transferred', lisi: 'active' });
    expect((await m.scheduler.runNow('transfers').then(() => api(app, 'GET', '/api/v1/transfers?status=waiting'))).body.total).toBe(0);
  });

  it('离职继承: refused while the member still works (40097), then all of the departed member’s customers go to the taker', async () => {
    clock.advance(60_000);
    const c3 = await customer('wangwu', '郑先生');
    const c4 = await customer('wangwu', '冯女士');

    const early = await transfer({ kind: 'resigned', handover: 'wangwu', takeover: 'lisi' });
    expect(early.status).toBe(201);
    expect(early.body.items).toHaveLength(2);
    for (const item of early.body.items) expect(item).toMatchObject({ status: 'failed', errcode: 40097, message: '原跟进成员尚未离职，不能使用离职继承' });
    // WeCom's refusal proves nothing about the member: they stay active in the bot.
    expect((await api(app, 'GET', '/api/v1/staff?pageSize=100')).body.items.find((s: { userid: string }) => s.userid === 'wangwu').status).toBe('active');
    expect((await transfer({ kind: 'resigned', handover: 'wangwu', takeover: 'lisi', message: '你好' })).body.error.code).toBe('message_not_supported');

    await control('staff/resign', { userid: 'wangwu' });
    // Without customers or audience: every customer wangwu actively follows.
    const created = await transfer({ kind: 'resigned', handover: 'wangwu', takeover: 'lisi' });
    expect(created.body).toMatchObject({ total: 2, byStatus: { waiting: 2 } });
    expect(created.body.items.map((i: { externalUserId: string }) => i.externalUserId).sort()).toEqual([c3, c4].sort());
    expect(app.container.sandbox!.calls('externalcontact/resigned/transfer_customer').at(-1)!.params).not.toHaveProperty('transfer_success_msg');
    // WeCom accepted a 离职继承, so the member has left: the bot marks them resigned and ends their sidebar access.
    expect((await api(app, 'GET', '/api/v1/staff?pageSize=100')).body.items.find((s: { userid: string }) => s.userid === 'wangwu')).toMatchObject({
      status: 'resigned',
      accessRevokedAt: expect.any(String),
    });

    await control('transfers/complete', { externalUserId: c3 });
    await waitForStatus(c3, 'done');
    const a3 = await archiveOf(c3);
    expect(statusOf(a3)).toEqual({ wangwu: 'transferred', lisi: 'active' });
    expect(transferEntries(a3).map((e) => e.summary)).toEqual(['客户已由 王五 继承给 李四（离职继承）']);
    expect(transferCallbackLines(a3, 'lisi')).toEqual([]);

    // The other one completes through the job after 24 h.
    clock.advance(DAY_MS);
    expect((await m.scheduler.runNow('transfers')).counts).toMatchObject({ done: expect.any(Number) });
    await waitForStatus(c4, 'done');
    expect(statusOf(await archiveOf(c4))).toEqual({ wangwu: 'transferred', lisi: 'active' });
    const failed = await api(app, 'GET', '/api/v1/transfers?handover=wangwu&status=failed');
    expect(failed.body.total).toBe(2);
  });

  it('per customer: the 90-day limit (40128), an unknown customer and a refusal are reported without blocking the others', async () => {
    clock.advance(60_000);
    const c5 = await customer('zhangsan', '陈先生');
    const c6 = await customer('zhangsan', '褚女士');
    // Two on-job transfers of c5 within 90 days: zhangsan → lisi → zhangsan.
    for (const [handover, takeover] of [['zhangsan', 'lisi'], ['lisi', 'zhangsan']]) {
      const r = await transfer({ kind: 'onjob', handover, takeover, customers: [c5] });
      expect(r.body.items[0].status).toBe('waiting');
      await control('transfers/complete', { externalUserId: c5 });
      await waitFor(async () => (await api(app, 'GET', `/api/v1/transfers?customer=${c5}&status=waiting`)).body.total === 0, 10_000, 'c5 done');
      await inboxIdle(app.container, 10_000);
    }
    expect(statusOf(await archiveOf(c5))).toMatchObject({ zhangsan: 'active', lisi: 'transferred' });

    const r = await transfer({ kind: 'onjob', handover: 'zhangsan', takeover: 'zhaoliu', customers: [c5, 'wmNoSuchCustomer000', c6] });
    expect(r.status).toBe(201);
    expect(r.body.byStatus).toEqual({ failed: 2, waiting: 1 });
    expect(r.body.items).toEqual([
      expect.objectContaining({ externalUserId: c5, status: 'failed', errcode: 40128, message: '该客户 90 天内已被在职转接 2 次，暂时不能再转接' }),
      expect.objectContaining({ externalUserId: 'wmNoSuchCustomer000', status: 'failed', errcode: 40096 }),
      expect.objectContaining({ externalUserId: c6, status: 'waiting', errcode: 0 }),
    ]);

    // The customer declines in WeChat: transfer_fail (UserID = the taker) arrives.
    const refused = await control('transfers/fail', { externalUserId: c6, reason: 'customer_refused' });
    expect(refused.transfer).toMatchObject({ takeover: 'zhaoliu', status: 3 });
    await waitForStatus(c6, 'refused');
    const a6 = await archiveOf(c6);
    expect(statusOf(a6)).toEqual({ zhangsan: 'active' });
    expect(transferEntries(a6).map((e) => e.summary)).toEqual(['客户未能由 张三 继承给 赵六（在职继承）：客户拒绝了转接']);
    expect(transferCallbackLines(a6, 'zhaoliu')).toEqual([]);

    const list = await api(app, 'GET', '/api/v1/transfers?takeover=zhaoliu');
    expect(list.body.total).toBe(3);
    expect(list.body.items.find((i: { externalUserId: string }) => i.externalUserId === c6)).toMatchObject({ status: 'refused', message: '客户拒绝了转接', customerName: '褚女士' });
    // The job sees status 3 too and records nothing more.
    clock.advance(60_000);
    expect((await m.scheduler.runNow('transfers')).counts).toMatchObject({ refused: 0 });
    expect(transferEntries(await archiveOf(c6))).toHaveLength(1);
  });

  it('asking again for a customer already waiting does not call WeCom twice', async () => {
    clock.advance(60_000);
    const c7 = await customer('zhaoliu', '卫先生');
    const first = await transfer({ kind: 'onjob', handover: 'zhaoliu', takeover: 'lisi', customers: [c7] });
    expect(first.body.items[0]).toMatchObject({ status: 'waiting', alreadyRequested: false });

    const again = await transfer({ kind: 'onjob', handover: 'zhaoliu', takeover: 'zhangsan', customers: [c7] });
    expect(again.status).toBe(201);
    expect(again.body.items).toEqual([expect.objectContaining({ externalUserId: c7, transferId: first.body.items[0].transferId, status: 'waiting', alreadyRequested: true })]);
    // All of zhaoliu's customers: c7 again, still not re-sent.
    const all = await transfer({ kind: 'onjob', handover: 'zhaoliu', takeover: 'lisi' });
    expect(all.body.items).toEqual([expect.objectContaining({ externalUserId: c7, alreadyRequested: true })]);
    expect(transferCalls(c7)).toHaveLength(1);
    expect((await api(app, 'GET', `/api/v1/transfers?customer=${c7}`)).body.total).toBe(1);
  });

  it('validates input in Chinese and is for operators and admins only', async () => {
    const same = await transfer({ kind: 'onjob', handover: 'lisi', takeover: 'lisi', customers: ['wmX'] });
    expect(same.status).toBe(400);
    expect(same.body.error).toMatchObject({ code: 'same_staff', message: '接替成员不能与原跟进成员相同' });
    // Each refusal names the body field it is about, so the console shows it next to that field.
    expect(same.body.error.details.fields).toEqual({ takeover: '接替成员不能与原跟进成员相同' });
    const badKind = await transfer({ kind: 'later', handover: 'lisi', takeover: 'zhangsan' });
    expect(badKind.status).toBe(400);
    expect(badKind.body.error.message).toContain('onjob（在职继承）或 resigned（离职继承）');
    const longMessage = await transfer({ kind: 'onjob', handover: 'lisi', takeover: 'zhangsan', message: '好'.repeat(201) });
    expect(longMessage.body.error.message).toContain('最多 200 个字');
    expect(longMessage.body.error.details.fields).toEqual({ message: '转接提示语最多 200 个字' });
    const badAudience = await transfer({ kind: 'onjob', handover: 'lisi', takeover: 'zhangsan', audience: 'tag:(' });
    expect(badAudience.status).toBe(400);
    expect(badAudience.body.error.details.fields.audience).toMatch(/^第 \d+ 个字符处/);
    const nobody = await transfer({ kind: 'onjob', handover: 'sunqi', takeover: 'zhangsan' });
    expect(nobody.body.error.code).toBe('no_customers');
    expect(Object.keys(nobody.body.error.details.fields)).toEqual(['handover']);
    const noneMatch = await transfer({ kind: 'onjob', handover: 'sunqi', takeover: 'zhangsan', audience: 'tag:VIP' });
    expect(Object.keys(noneMatch.body.error.details.fields)).toEqual(['audience']);
    const resignedMessage = await transfer({ kind: 'resigned', handover: 'sunqi', takeover: 'zhangsan', message: '你好' });
    expect(resignedMessage.body.error).toMatchObject({ code: 'message_not_supported', details: { fields: { message: expect.stringContaining('离职继承') } } });

    const staff = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    expect((await api(app, 'GET', '/api/v1/transfers', undefined, staff)).status).toBe(403);
    expect((await api(app, 'POST', '/api/v1/transfers', { kind: 'onjob', handover: 'lisi', takeover: 'zhangsan' }, staff)).status).toBe(403);
    const operator = (await app.container.tokens.create({ role: 'operator' })).token;
    const page = await api(app, 'GET', '/api/v1/transfers?page=1&pageSize=2', undefined, operator);
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(2);
    expect(page.body.total).toBeGreaterThan(2);
  });

  it('a full sync that runs after WeCom handed a customer over, before the bot heard of it, leaves the relation to the transfer', async () => {
    const c5 = await customer('zhaoliu', '卫先生');
    expect((await transfer({ kind: 'onjob', handover: 'zhaoliu', takeover: 'lisi', customers: [c5] })).body.items[0]).toMatchObject({ status: 'waiting' });
    // WeCom completes the takeover, but its callbacks are held up and the transfers job has not run yet.
    await control('config', { callbackUrl: null });
    try {
      await control('transfers/complete', { externalUserId: c5 });
      const archive = app.container.archive;
      await archive.fullSync.run();
      // The sync sees zhaoliu no longer follows c5; an open transfer explains it, so it is not a staff-side delete.
      expect(statusOf(await archiveOf(c5))).toMatchObject({ zhaoliu: 'active', lisi: 'active' });
      clock.advance(60_000);
      await m.scheduler.runNow('transfers');
      await waitForStatus(c5, 'done');
      const after = await archiveOf(c5);
      expect(statusOf(after)).toEqual({ zhaoliu: 'transferred', lisi: 'active' });
      expect(transferEntries(after).map((e) => e.summary)).toEqual(['客户已由 赵六 继承给 李四（在职继承）']);
    } finally {
      await control('config', { callbackUrl: `${app.url}/wecom/callback` });
    }
  });

  it('离职待分配: lists a departed member\'s customers nobody has taken over yet, from WeCom, with the archive\'s names', async () => {
    const c6 = await customer('zhaoliu', '蒋女士');
    const c7 = await customer('zhaoliu', '沈先生');
    const unassigned = () => api(app, 'GET', '/api/v1/transfers/unassigned?handover=zhaoliu&pageSize=100');
    // While the member still works, WeCom lists none of their customers.
    expect((await unassigned()).body).toEqual({ items: [], total: 0 });
    await control('staff/resign', { userid: 'zhaoliu' });
    const listed = await unassigned();
    expect(listed.status).toBe(200);
    const ids = (r: { body: { items: { externalUserId: string }[] } }) => r.body.items.map((i) => i.externalUserId);
    // Every customer zhaoliu still has in WeCom (the sandbox's seed gave them more than these two), except those an
    // earlier test's transfer is already moving.
    const store = app.container.sandbox!.store;
    const moving = new Set(store.transfers.filter((t) => t.handover === 'zhaoliu' && (t.status === 1 || t.status === 2)).map((t) => t.externalUserId));
    const inWecom = store.relationsOfUser('zhaoliu').filter((r) => !r.isDeletedByCustomer && !moving.has(r.externalUserId)).map((r) => r.externalUserId);
    expect(ids(listed).sort()).toEqual([...inWecom].sort());
    expect(ids(listed)).toEqual(expect.arrayContaining([c6, c7]));
    expect(listed.body.total).toBe(inWecom.length);
    expect(listed.body.items.find((i: { externalUserId: string }) => i.externalUserId === c6)).toMatchObject({
      handover: 'zhaoliu',
      customerName: '蒋女士',
      dimissionAt: expect.stringMatching(/^2026-/),
    });
    // One is handed over: WeCom stops listing it as unassigned.
    expect((await transfer({ kind: 'resigned', handover: 'zhaoliu', takeover: 'lisi', customers: [c6] })).body.items[0]).toMatchObject({ status: 'waiting' });
    const after = await unassigned();
    expect(after.body.total).toBe(inWecom.length - 1);
    expect(ids(after)).not.toContain(c6);
    expect(ids(after)).toContain(c7);
    // Paged here, like every list.
    const page2 = await api(app, 'GET', `/api/v1/transfers/unassigned?handover=zhaoliu&page=2&pageSize=${inWecom.length - 2}`);
    expect(page2.body).toMatchObject({ total: inWecom.length - 1, items: [expect.objectContaining({ handover: 'zhaoliu' })] });
    const staff = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    expect((await api(app, 'GET', '/api/v1/transfers/unassigned', undefined, staff)).status).toBe(403);
  });
});
