import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { addSandboxCustomer } from '../../fixtures/scheduling.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * Triggers and the WeChat-KF reply exit (docs/journeys.md §Entering, §Signals, §Exits): a tag put on, a first order
 * imported over the API, a survey score in range, birthdays N days ahead and an audience checked nightly, and a
 * customer's WeChat-KF message ending the journeys that exit on replies.
 */
describe.each(testEngines())('journey triggers (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-10-12T11:00:00'));
  const db = () => app.container.db;
  const tick = () => app.container.scheduling.journeys!.tick(clock.now());
  const create = async (name: string, trigger: Record<string, unknown>, exits?: Record<string, unknown>) => {
    const res = await api(app, 'POST', '/api/v1/journeys', { name, definition: { trigger, steps: [{ kind: 'message', title: '问候', delay: { kind: 'after', minutes: 60 }, text: '您好' }], ...(exits ? { exits } : {}) } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    await api(app, 'POST', `/api/v1/journeys/${res.body.id}/status`, { status: 'active' });
    return res.body.id as string;
  };
  const who = async (id: string) => ((await api(app, 'GET', `/api/v1/journeys/${id}/members?pageSize=100`)).body.items as { externalUserId: string; enteredBy: string; status: string; exitReason: string | null }[]);

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
  });
  afterAll(() => app?.close());

  it('a tag put on, a first order, a survey score in range: each enters at the next tick, once', async () => {
    const tagged = await create('打标签', { kind: 'tag_added', tagIds: ['etNewVip'] });
    const firstOrder = await create('首单', { kind: 'first_order' });
    const survey = await create('低分回访', { kind: 'survey', surveyId: null, minScore: 0, maxScore: 6 });
    const [a, b, c, d] = [
      await addSandboxCustomer(app.container, 'zhangsan', { name: '触发甲' }),
      await addSandboxCustomer(app.container, 'zhangsan', { name: '触发乙' }),
      await addSandboxCustomer(app.container, 'zhangsan', { name: '触发丙' }),
      await addSandboxCustomer(app.container, 'zhangsan', { name: '触发丁' }),
    ];
    // a is tagged now (any path writes customer_tags with its time); c already had an order before.
    await db().query("INSERT INTO customer_tags (external_user_id, tag_id, userid, source, rule_id, created_at) VALUES (?, 'etNewVip', '', 'manual', NULL, ?)", [a, clock.now().getTime()]);
    await db().query("INSERT INTO orders (id, external_user_id, order_no, amount_cents, ordered_at, created_at) VALUES ('old-1', ?, ?, 100, 0, 0)", [c, `OLD-${engine}`]);
    const imported = await api(app, 'POST', '/api/v1/orders/import', {
      orders: [
        { orderNo: `T-${engine}-1`, externalUserId: b, amount: '10', orderedAt: '2026-10-12 10:00' },
        { orderNo: `T-${engine}-2`, externalUserId: b, amount: '20', orderedAt: '2026-10-12 10:30' },
        { orderNo: `T-${engine}-3`, externalUserId: c, amount: '30', orderedAt: '2026-10-12 10:00' },
      ],
    });
    expect(imported.body).toMatchObject({ imported: 3 });
    // The survey feature's port reports scores; 9 is out of range, 3 in.
    await app.container.journeys.repo.signal({ kind: 'survey', externalUserId: d, surveyId: 1, score: 3 }, clock.now());
    await app.container.journeys.repo.signal({ kind: 'survey', externalUserId: a, surveyId: 1, score: 9 }, clock.now());
    await tick();
    clock.set(sh('2026-10-12T11:01:00'));
    await tick();
    expect((await who(tagged)).map((m) => [m.externalUserId, m.enteredBy])).toEqual([[a, 'tag_added']]);
    expect((await who(firstOrder)).map((m) => [m.externalUserId, m.enteredBy])).toEqual([[b, 'first_order']]);
    expect((await who(survey)).map((m) => [m.externalUserId, m.enteredBy])).toEqual([[d, 'survey']]);
  });

  it('nightly: birthdays N days ahead and an audience; a WeChat-KF message exits those that end on replies', async () => {
    clock.set(sh('2026-10-13T04:30:00'));
    const birthday = await create('生日前三天', { kind: 'birthday', daysBefore: 3 });
    const dormant = await create('沉睡', { kind: 'audience', audience: 'activity:dormant' });
    const bday = await addSandboxCustomer(app.container, 'zhangsan', { name: '寿星', birthday: { calendar: 'solar', month: 10, day: 16 } });
    const quiet = await addSandboxCustomer(app.container, 'zhangsan', { name: '沉睡者' });
    await db().query("UPDATE customers SET activity = 'dormant' WHERE external_user_id = ?", [quiet]);
    expect((await app.container.scheduling.scheduler.runNow('journeys-nightly')).status).toBe('done');
    expect((await who(birthday)).map((m) => [m.externalUserId, m.enteredBy])).toEqual([[bday, 'birthday']]);
    expect((await who(dormant)).map((m) => [m.externalUserId, m.enteredBy])).toEqual([[quiet, 'audience']]);

    // The dormant customer writes to WeChat-KF: the bot sees the reply and the journey lets them go.
    clock.set(sh('2026-10-13T09:30:00'));
    const res = await fetch(`${app.url}/sandbox/_control/kf/message`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openKfId: 'wkJourneyKf', externalUserId: quiet, text: '在吗？' }) });
    expect(res.status, await res.clone().text()).toBe(200);
    await app.container.inboxProcessor.drain();
    await tick();
    expect(await who(dormant)).toMatchObject([{ externalUserId: quiet, status: 'exited', exitReason: 'replied' }]);
    // Another customer's reply ends nothing of theirs: the birthday member went through their step.
    expect(await who(birthday)).toMatchObject([{ externalUserId: bday, status: 'completed', exitReason: null }]);
  });

  it('one batch of signals: a reply ends what ends on replies, also for a customer who entered earlier in the batch; a second reply changes nothing', async () => {
    clock.set(sh('2026-10-14T10:00:00'));
    // Scores 7–10 of survey 77: no journey of the tests before matches them.
    const survey = { kind: 'survey', surveyId: 77, minScore: 7, maxScore: 10 };
    const ends = await create('回复即停', survey);
    const stays = await create('回复不停', survey, { replied: false, ordered: true, tagRemoved: [] });
    const early = await addSandboxCustomer(app.container, 'zhangsan', { name: '先入者' });
    const late = await addSandboxCustomer(app.container, 'zhangsan', { name: '后入者' });
    const repo = app.container.journeys.repo;
    await repo.signal({ kind: 'survey', externalUserId: early, surveyId: 77, score: 8 }, clock.now());
    await tick();
    const members = async (id: string) => (await who(id)).map((m) => [m.externalUserId, m.status, m.exitReason]).sort();
    expect(await members(ends)).toEqual([[early, 'active', null]]);

    // One tick's batch, in this order: early replies twice; late enters both journeys, then replies.
    await repo.signal({ kind: 'replied', externalUserId: early, userid: null, via: 'kf' }, clock.now());
    await repo.signal({ kind: 'replied', externalUserId: early, userid: null, via: 'kf' }, clock.now());
    await repo.signal({ kind: 'survey', externalUserId: late, surveyId: 77, score: 8 }, clock.now());
    await repo.signal({ kind: 'replied', externalUserId: late, userid: null, via: 'kf' }, clock.now());
    const counts = await tick();
    expect(counts).toMatchObject({ signals: 4, entered: 2, exited: 2 });
    expect(await members(ends)).toEqual([[early, 'exited', 'replied'], [late, 'exited', 'replied']].sort());
    expect(await members(stays)).toEqual([[early, 'active', null], [late, 'active', null]].sort());
  });
});
