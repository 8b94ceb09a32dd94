import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { addGroup } from '../../fixtures/groups.js';
import { addSandboxCustomer } from '../../fixtures/scheduling.js';
import { journeyInput } from '../../../src/domain/journeys/journey.schema.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * One rule for 使用次数 (docs/content.md §Use counts): a use is one customer or one group chat that a message made with
 * the item was newly planned for (or sent to, where nothing is planned first). One item goes through a broadcast, a
 * care rule, a journey's message and task steps, a group broadcast, a group welcome template and a quick reply; each
 * path adds its customers or chats, and running any of them again (a second tick, a re-run, an edit) adds nothing.
 */
describe.each(testEngines())('素材 use counts, one per customer or group chat (%s)', (engine) => {
  let app: TestApp;
  let dir: string;
  const clock = new FixedClock(sh('2026-11-02T09:00:00'));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'content-uses-'));
    app = await startTestApp(engine, { build: { clock }, overrides: { content: { dir } } });
    await addGroup(app.container, { owner: 'zhangsan', name: '计数一群', customers: 2 });
    await addGroup(app.container, { owner: 'lisi', name: '计数二群', customers: 2 });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const customers = async (tag: string, n: number, birthday?: { month: number; day: number }) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = await addSandboxCustomer(app.container, i % 2 ? 'lisi' : 'zhangsan', { name: `${tag}${i}`, ...(birthday ? { birthday: { calendar: 'solar' as const, ...birthday } } : {}) });
      expect((await api(app, 'POST', `/api/v1/customers/${id}/tags`, { add: [tag], remove: [] })).status).toBe(200);
      ids.push(id);
    }
    return ids;
  };

  it('counts each customer or chat once across broadcasts, care, journeys, group broadcasts, group welcomes and quick replies', async () => {
    // No variables: a group message goes to everyone in the group, so group paths refuse {{name}}.
    const created = await api(app, 'POST', '/api/v1/content', { kind: 'text', group: '活动', title: '会员日', text: '本周六会员日，到店有礼', quickReply: true });
    expect(created.status).toBe(201);
    const item: string = created.body.id;
    const uses = async () => (await app.container.content.service.get(item)).useCount;
    const scheduler = app.container.scheduling.scheduler;
    expect(await uses()).toBe(0);

    // A broadcast to 3 customers: 3 uses; the next minute's planner finds it planned and adds none.
    await customers('计数群发', 3);
    const bc = await api(app, 'POST', '/api/v1/broadcasts', { name: '会员日群发', audience: 'tag:计数群发', message: { text: '您好', contentIds: [item] } });
    expect(bc.status, JSON.stringify(bc.body)).toBe(201);
    expect((await scheduler.runNow('broadcasts')).counts).toMatchObject({ planned: 3 });
    expect(await uses()).toBe(3);
    clock.advance(60_000);
    await scheduler.runNow('broadcasts');
    expect(await uses()).toBe(3);

    // A care rule on 2 customers' birthday, the next day: 2 uses; a second run of the day plans nothing new.
    clock.set(sh('2026-11-03T09:00:00'));
    await customers('计数关怀', 2, { month: 11, day: 3 });
    const rule = await api(app, 'POST', '/api/v1/care-rules', { name: '计数关怀', occasion: { type: 'birthday' }, audience: 'tag:计数关怀', template: '{{name}}，生日快乐！', priority: 1000, contentIds: [item] });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const care = await scheduler.runNow('care');
    expect(care.status, care.error ?? '').toBe('done');
    expect(await uses()).toBe(5);
    await app.container.scheduling.planner.planDay({ today: '2026-11-03', now: clock.now(), rules: await app.container.scheduling.repos.careRules.list({ enabledOnly: true }), sink: app.container.scheduling.ledger, countUse: true });
    expect(await uses()).toBe(5);

    // A journey for 2 members: its message step (2 customers) and its task step (2 tasks, each a message planned for
    // one customer) are 4 uses; more ticks, and a second instance, add none.
    clock.set(sh('2026-11-04T11:00:00'));
    const members = await customers('计数旅程', 2);
    const svc = app.container.journeys.service;
    const j = await svc.create(
      journeyInput.parse({
        name: '计数旅程',
        definition: {
          trigger: { kind: 'manual' },
          steps: [
            { kind: 'message', title: '会员日', delay: { kind: 'after', minutes: 0 }, text: '{{name}} 您好', contentIds: [item] },
            { kind: 'task', title: '会员日回访', delay: { kind: 'after', minutes: 0 }, text: '问问是否到店', dueHours: 24, contentIds: [item] },
          ],
        },
      }),
      'test',
    );
    await svc.setStatus(j.id, 'active');
    expect(await svc.enrol(j.id, members)).toMatchObject({ entered: 2 });
    const runner = app.container.scheduling.journeys!;
    expect(await runner.tick(clock.now())).toMatchObject({ planned: 2 });
    expect(await uses()).toBe(7);
    clock.advance(60_000);
    expect(await runner.tick(clock.now())).toMatchObject({ tasks: 2 });
    expect(await uses()).toBe(9);
    clock.advance(60_000);
    await runner.tick(clock.now());
    expect(await uses()).toBe(9);

    // A group broadcast to the 2 groups: 2 uses (one per chat), not one per broadcast nor per member in them.
    const gb = await api(app, 'POST', '/api/v1/group-broadcasts', { name: '会员日群群发', filter: { namePattern: '计数' }, message: { text: '各位好', contentIds: [item] } });
    expect(gb.status, JSON.stringify(gb.body)).toBe(201);
    expect(await uses()).toBe(11);

    // A group welcome template: WeCom sends it to each joiner unseen by the bot, so the one use is when the item goes
    // into the template; an edit that keeps the item adds none.
    const gw = await api(app, 'POST', '/api/v1/group-welcome-templates', { name: '会员日欢迎语', text: '欢迎', contentIds: [item] });
    expect(gw.status, JSON.stringify(gw.body)).toBe(201);
    expect(gw.body.status).toBe('active');
    expect(await uses()).toBe(12);
    expect((await api(app, 'PATCH', `/api/v1/group-welcome-templates/${gw.body.id}`, { text: '欢迎新朋友' })).status).toBe(200);
    expect(await uses()).toBe(12);

    // A quick reply sent from the sidebar into one chat: 1 use.
    await app.container.sidebar.replies.recordSent(item);
    expect(await uses()).toBe(13);
    expect((await app.container.content.service.get(item)).lastUsedAt?.toISOString()).toBe(clock.now().toISOString());
  });
});
