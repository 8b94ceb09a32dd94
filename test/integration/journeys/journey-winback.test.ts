import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { addSandboxCustomer } from '../../fixtures/scheduling.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * 唤醒活动 as a journey (docs/journeys.md §Win-back as a journey): the campaign's template, and its conversion with
 * the data kept: customers inside the campaign go on in the journey from the step after the last one the campaign
 * sent, on the campaign's schedule, nothing twice; the rule stops; its stats stay.
 */
describe.each(testEngines())('win-back campaign as a journey (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-09-10T10:00:00'));

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
  });
  afterAll(() => app?.close());

  it('becomes a journey: members continue from the next step on the same days, the campaign stops and keeps its stats', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await addSandboxCustomer(app.container, 'zhangsan', { name: `沉睡客户${i}`, lastInteractionAt: sh('2026-07-20T10:00:00') }));
    const rule = await api(app, 'POST', '/api/v1/care-rules', {
      name: '沉睡唤醒',
      occasion: { type: 'winback', steps: [{ day: 0, template: '{{name}}，好久不见' }, { day: 2, template: '给您留了一张回归券' }, { day: 5, channel: 'staff_reminder', template: '请亲自问候' }] },
      template: '唤醒',
      sendTime: '10:00',
      holdoutPercent: 0,
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    expect((await app.container.scheduling.scheduler.runNow('winback')).status).toBe('done');
    const before = (await api(app, 'GET', `/api/v1/care-rules/${rule.body.id}/stats`)).body;
    expect(before).toMatchObject({ enrolled: 3, active: 3, messaged: 3 });

    // The template the editor starts from.
    const template = (await api(app, 'GET', `/api/v1/journeys/templates/winback/${rule.body.id}`)).body;
    expect(template).toMatchObject({
      name: '沉睡唤醒（客户旅程）',
      reentry: 'after_days',
      definition: { trigger: { kind: 'audience', audience: 'activity:dormant' }, exits: { replied: true, ordered: true } },
    });
    expect(template.definition.steps.map((s: any) => [s.kind, s.delay])).toEqual([
      ['message', { kind: 'at', days: 0, time: '10:00' }],
      ['message', { kind: 'at', days: 2, time: '10:00' }],
      ['task', { kind: 'at', days: 3, time: '10:00' }],
    ]);

    clock.set(sh('2026-09-11T15:00:00'));
    const converted = await api(app, 'POST', `/api/v1/journeys/from-winback/${rule.body.id}`);
    expect(converted.status, JSON.stringify(converted.body)).toBe(201);
    expect(converted.body).toMatchObject({ status: 'active', moved: 3 });
    const journeyId = converted.body.id;
    const members = (await api(app, 'GET', `/api/v1/journeys/${journeyId}/members`)).body.items;
    expect(members).toHaveLength(3);
    for (const m of members) expect(m).toMatchObject({ status: 'active', currentStep: 1, enteredBy: 'winback', nextDueAt: sh('2026-09-12T10:00:00').toISOString() });

    // The campaign stopped; its history and figures stay (the moved enrolments count as completed).
    expect((await api(app, 'GET', `/api/v1/care-rules/${rule.body.id}`)).body.enabled).toBe(false);
    expect((await api(app, 'GET', `/api/v1/care-rules/${rule.body.id}/stats`)).body).toMatchObject({ enrolled: 3, active: 0, messaged: 3, completed: 3 });

    // Day 2 at 10:00: step 2 from the journey; step 1 is not sent again, and the campaign sends nothing more.
    clock.set(sh('2026-09-12T10:00:00'));
    expect((await app.container.scheduling.scheduler.runNow('winback')).status).toBe('done');
    expect(await app.container.scheduling.journeys!.tick(clock.now())).toMatchObject({ claimed: 3, planned: 3 });
    const rows = await app.container.db.query<{ source: string; occasion: string; text: string }>('SELECT source, occasion, text FROM deliveries WHERE source IN (?, ?) ORDER BY id', [
      `winback:${rule.body.id}`,
      `journey:${journeyId}`,
    ]);
    expect(rows.filter((r) => r.source.startsWith('winback:'))).toHaveLength(3);
    const journeyRows = rows.filter((r) => r.source.startsWith('journey:'));
    expect(journeyRows).toHaveLength(3);
    expect(new Set(journeyRows.map((r) => r.text))).toEqual(new Set(['给您留了一张回归券']));
    expect(journeyRows.every((r) => r.occasion.endsWith(':s1'))).toBe(true);
  });
});
