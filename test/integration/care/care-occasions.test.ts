import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { type SchedulingModule } from '../../../src/container.js';
import { birthdayDateInYear, holidaysOn } from '../../../src/domain/care/occasions.js';
import { addDays } from '../../../src/shared/dates.js';
import { addSandboxCustomer, ledgerOf } from '../../fixtures/scheduling.js';

/**
 * The care job plans a lunar birthday and a 100-day anniversary with the default rules (config/care-rules.json).
 * The day is lunar 三月初三 of 2026, taken from the occasion rules (tested against fixed dates on their own).
 */
describe.each(testEngines())('care occasions through the planner on %s', (engine) => {
  const day = birthdayDateInYear({ calendar: 'lunar', month: 3, day: 3 }, 2026)!;
  const clock = new FixedClock(new Date(`${day}T09:00:00+08:00`));
  let app: TestApp;
  let m: SchedulingModule;

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    m = app.container.scheduling;
  });
  afterAll(() => app?.close());

  it('sends a lunar birthday on its solar day and a 100-day anniversary, one task each', async () => {
    // A plain day: no default holiday competes with these occasions.
    expect(holidaysOn(day)).toHaveLength(0);
    const lunar = await addSandboxCustomer(app.container, 'zhangsan', { name: '农历寿星', birthday: { calendar: 'lunar', month: 3, day: 3 } });
    const hundred = await addSandboxCustomer(app.container, 'lisi', {
      name: '百日客户',
      firstAddedAt: new Date(`${addDays(day, -100)}T12:00:00+08:00`),
    });
    const ordinary = await addSandboxCustomer(app.container, 'lisi', { name: '普通客户', firstAddedAt: new Date(`${addDays(day, -99)}T12:00:00+08:00`) });
    app.container.sandbox!.clearCalls();

    expect((await m.scheduler.runNow('care')).status).toBe('done');
    const [birthday] = await ledgerOf(app.container.db, lunar);
    expect(birthday).toMatchObject({ status: 'submitted', occasion: 'birthday:2026' });
    const [anniversary] = await ledgerOf(app.container.db, hundred);
    expect(anniversary).toMatchObject({ status: 'submitted', occasion: 'anniversary:100' });
    expect(await ledgerOf(app.container.db, ordinary)).toHaveLength(0);
    const tasks = app.container.sandbox!.calls('externalcontact/add_msg_template');
    expect(tasks.map((t) => (t.params.external_userid as string[])[0]).sort()).toEqual([hundred, lunar].sort());
    expect(JSON.stringify(tasks)).toContain('农历寿星，生日快乐');
  });
});
