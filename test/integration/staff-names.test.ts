import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api, waitFor } from '../helpers/app.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';
import { FullSyncService } from '../../src/domain/customers/full-sync.service.js';
import { StaffService } from '../../src/domain/customers/staff.service.js';
import { StaffRepository } from '../../src/persistence/repositories/staff.repository.js';
import { silentLogger } from '../../src/shared/logger.js';
import type { WecomGateway } from '../../src/wecom/client/gateway.js';

describe.each(testEngines())('staff names from WeCom user/get (%s)', (engine) => {
  let app: ArchiveApp;

  beforeAll(async () => {
    app = await startArchiveApp(engine);
  });
  afterAll(async () => app?.close());

  const staffItem = async (userid: string) => {
    const list = await api(app, 'GET', '/api/v1/staff');
    return list.body.items.find((s: { userid: string }) => s.userid === userid);
  };

  /** A channel for one member whose welcome names them; resolves the text the customer received. */
  async function welcomeThrough(userid: string): Promise<string> {
    const created = await api(app, 'POST', '/api/v1/channels', { name: `渠道-${userid}-${Date.now()}`, staff: [userid], welcome: { text: '您好，我是{{staff}}' } });
    expect(created.status).toBe(201);
    const way = [...app.sandbox.store.contactWays.values()].find((w) => w.state === created.body.state)!;
    const added = await app.sandbox.addCustomer({ configId: way.configId, name: '测试客户' });
    const call = await waitFor(
      () => app.sandbox.calls('externalcontact/send_welcome_msg').find((c) => c.errcode === 0 && c.params.welcome_code === added.welcomeCode) ?? null,
      5000,
      'welcome message',
    );
    return (call!.params.text as { content: string }).content;
  }

  it('a member outside the app’s visible range keeps the userid and the sync still completes', async () => {
    app.sandbox.setStaffVisibility({ userid: 'wangwu', visible: false });

    const report = await app.archive.fullSync.run();

    expect(report.staff).toEqual({ listed: 5, named: 4, unavailable: ['wangwu'] });
    expect(report.pairs).toBe(app.sandbox.store.allRelations().length);
    const [run] = await app.archive.repos.syncRuns.list(1);
    expect(run.status).toBe('done');
    expect(await staffItem('wangwu')).toMatchObject({ userid: 'wangwu', name: '', nameSource: null });
    expect(await welcomeThrough('wangwu')).toBe('您好，我是wangwu');
  });

  it('after a sync the archive’s staff have their WeCom names and a channel welcome renders 我是张三', async () => {
    const list = await api(app, 'GET', '/api/v1/staff');

    expect(list.status).toBe(200);
    expect(list.body.total).toBe(5);
    expect(list.body.items.map((s: { userid: string; name: string }) => `${s.userid}:${s.name}`)).toEqual(['lisi:李四', 'sunqi:孙七', 'wangwu:', 'zhangsan:张三', 'zhaoliu:赵六']);
    expect(await staffItem('zhangsan')).toMatchObject({ name: '张三', nameSource: 'wecom', status: 'active' });
    const lookups = app.sandbox.calls('user/get').length;
    expect(await welcomeThrough('zhangsan')).toBe('您好，我是张三');
    // A named member is not looked up again when a channel is created for them.
    expect(app.sandbox.calls('user/get').length).toBe(lookups);
  });

  it('a channel for a member new since the last sync looks their name up at once', async () => {
    app.sandbox.store.staff.set('qianba', { userid: 'qianba', name: '钱八', department: [1] });

    expect(await welcomeThrough('qianba')).toBe('您好，我是钱八');
    expect(await staffItem('qianba')).toMatchObject({ name: '钱八', nameSource: 'wecom' });
  });

  it('GET /api/v1/staff is open to every role; PATCH only to operators and admins', async () => {
    const staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    const operatorToken = (await app.container.tokens.create({ role: 'operator' })).token;

    expect((await api(app, 'GET', '/api/v1/staff?page=1&pageSize=2', undefined, staffToken)).body).toMatchObject({ total: 6, items: [{ userid: 'lisi' }, { userid: 'qianba' }] });
    expect((await api(app, 'GET', '/api/v1/staff', undefined, 'no-such-token')).status).toBe(401);
    const forbidden = await api(app, 'PATCH', '/api/v1/staff/zhaoliu', { name: '赵经理' }, staffToken);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('forbidden');

    const renamed = await api(app, 'PATCH', '/api/v1/staff/zhaoliu', { name: ' 赵经理 ' }, operatorToken);
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ userid: 'zhaoliu', name: '赵经理', nameSource: 'manual', status: 'active' });

    const unknown = await api(app, 'PATCH', '/api/v1/staff/nobody', { name: '谁' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('staff_not_found');
    expect((await api(app, 'PATCH', '/api/v1/staff/zhaoliu', { name: '长'.repeat(65) })).status).toBe(400);
    expect((await api(app, 'PATCH', '/api/v1/staff/zhaoliu', {})).status).toBe(400);
  });

  it('a name an operator set survives re-syncs; a WeCom name follows WeCom; clearing hands the name back to WeCom', async () => {
    expect((await api(app, 'PATCH', '/api/v1/staff/wangwu', { name: '王店长' })).status).toBe(200);
    expect((await api(app, 'PATCH', '/api/v1/staff/zhangsan', { name: '张经理' })).status).toBe(200);
    app.sandbox.store.staff.get('lisi')!.name = '李思';

    const first = await app.archive.fullSync.run();

    expect(first.staff.unavailable).toEqual(['wangwu']);
    expect(await staffItem('wangwu')).toMatchObject({ name: '王店长', nameSource: 'manual' });
    expect(await staffItem('zhangsan')).toMatchObject({ name: '张经理', nameSource: 'manual' });
    expect(await staffItem('zhaoliu')).toMatchObject({ name: '赵经理', nameSource: 'manual' });
    expect(await staffItem('lisi')).toMatchObject({ name: '李思', nameSource: 'wecom' });
    expect(await welcomeThrough('zhangsan')).toBe('您好，我是张经理');

    // WeCom shows wangwu again: the operator's name still wins.
    app.sandbox.setStaffVisibility({ userid: 'wangwu', visible: true });
    expect((await app.archive.fullSync.run()).staff.unavailable).toEqual([]);
    expect(await staffItem('wangwu')).toMatchObject({ name: '王店长', nameSource: 'manual' });

    const cleared = await api(app, 'PATCH', '/api/v1/staff/zhangsan', { name: '' });
    expect(cleared.body).toMatchObject({ name: '', nameSource: null });
    await app.archive.fullSync.run();
    expect(await staffItem('zhangsan')).toMatchObject({ name: '张三', nameSource: 'wecom' });
  });

  it('a sync that dies while reading names resumes at the staff phase and finishes with every name', async () => {
    const c = app.container;
    const a = app.archive;
    // Dies on the third user/get, as a killed process would stop mid-phase.
    let calls = 0;
    const dying = new Proxy(app.wecom, {
      get(target, prop, receiver) {
        if (prop === 'getMember') {
          return async (userId: string) => {
            if (++calls === 3) throw new Error('simulated crash');
            return target.getMember(userId);
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as WecomGateway;
    const staff = new StaffService(new StaffRepository(c.db), dying, c.clock, silentLogger);
    const crashing = new FullSyncService(c.db, a.repos.syncRuns, staff, a.repos.customers, a.repos.relations, a.archive, a.library, dying, c.clock, silentLogger);

    await expect(crashing.run()).rejects.toThrow('simulated crash');
    expect((await a.repos.syncRuns.findUnfinished())?.progress.phase).toBe('staff');

    const report = await a.fullSync.run();
    expect(report.resumed).toBe(true);
    expect(report.staff).toEqual({ listed: 6, named: 6, unavailable: [] });
    expect(report.pairs).toBe(app.sandbox.store.allRelations().length);
    expect(await a.repos.syncRuns.findUnfinished()).toBeNull();
  });
});
