import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import type { WecomGateway } from '../../../src/wecom/client/gateway.js';
import { addSandboxCustomer, ledgerOf } from '../../fixtures/scheduling.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * The crash window between WeCom accepting add_msg_template and the ledger recording the msgid. The gateway is
 * wrapped so the process "dies" at exactly that point: the ledger is left as a killed process leaves it
 * (`submitting`), the sandbox holds whatever WeCom would. Recovery runs in the next dispatch.
 */
describe.each(testEngines())('crash between submit and record on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-07-01T09:00:00'));
  const tasks = () => app.container.sandbox!.calls('externalcontact/add_msg_template');

  /** When set, the gateway's addMsgTemplate crashes before (or after) reaching WeCom, as a killed process would. */
  let crash: 'before' | 'after' | null = null;
  function crashing(when: 'before' | 'after'): () => void {
    crash = when;
    return () => void (crash = null);
  }
  const crashingGateway = (real: WecomGateway): WecomGateway =>
    new Proxy(real, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (prop !== 'addMsgTemplate') return typeof v === 'function' ? v.bind(target) : v;
        return async (input: Parameters<WecomGateway['addMsgTemplate']>[0]) => {
          if (crash === null) return real.addMsgTemplate(input);
          if (crash === 'after') await real.addMsgTemplate(input);
          throw new Error('process killed');
        };
      },
    });

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock, wecom: crashingGateway } });
  });
  afterAll(() => app?.close());

  it('a task WeCom created before the crash is adopted on restart, never sent twice', async () => {
    clock.set(sh('2026-07-01T09:00:00'));
    const m = app.container.scheduling;
    const id = await addSandboxCustomer(app.container, 'zhangsan', { name: '崩溃后', birthday: { calendar: 'solar', month: 7, day: 1 } });
    app.container.sandbox!.clearCalls();
    const restore = crashing('after');
    try {
      await m.scheduler.runNow('care');
    } finally {
      restore();
    }
    expect(tasks()).toHaveLength(1);
    expect((await ledgerOf(app.container.db, id))[0].status).toBe('submitting');

    // Restart: the next dispatch (past the reconcile grace) looks the batch up in get_groupmsg_list_v2.
    clock.set(sh('2026-07-01T09:05:00'));
    const out = await m.scheduler.runNow('delivery-results');
    expect(out.counts).toMatchObject({ reconciled: 1, submittedTasks: 0 });
    const [row] = await ledgerOf(app.container.db, id);
    expect(row.status).toBe('submitted');
    // The adopted msgid is the task the crashed call created.
    expect(row.msgid).toBe([...app.container.sandbox!.store.massTasks.keys()].at(-1));
    expect(app.container.sandbox!.calls('externalcontact/get_groupmsg_list_v2').length).toBeGreaterThan(0);
    // The sandbox's call log is the witness: still exactly one task was ever created.
    expect(tasks()).toHaveLength(1);
    // And results keep flowing into the adopted row.
    app.container.sandbox!.confirmGroupMsg({ msgid: row.msgid!, userid: 'zhangsan' });
    clock.set(sh('2026-07-01T09:20:00'));
    await m.scheduler.runNow('delivery-results');
    expect((await ledgerOf(app.container.db, id))[0].status).toBe('sent');
  });

  it('a call that never reached WeCom is re-planned and sent exactly once', async () => {
    clock.set(sh('2026-07-02T09:00:00'));
    const m = app.container.scheduling;
    const id = await addSandboxCustomer(app.container, 'lisi', { name: '未送达', birthday: { calendar: 'solar', month: 7, day: 2 } });
    app.container.sandbox!.clearCalls();
    const restore = crashing('before');
    try {
      await m.scheduler.runNow('care');
    } finally {
      restore();
    }
    expect(tasks()).toHaveLength(0);
    expect((await ledgerOf(app.container.db, id))[0].status).toBe('submitting');
    // Within the grace period another dispatcher leaves the batch alone (its owner may still be mid-call).
    clock.set(sh('2026-07-02T09:00:30'));
    expect((await m.scheduler.runNow('delivery-results')).counts).toMatchObject({ reconciled: 0, submittedTasks: 0 });

    clock.set(sh('2026-07-02T09:05:00'));
    const out = await m.scheduler.runNow('delivery-results');
    expect(out.counts).toMatchObject({ reconciled: 1, submittedTasks: 1 });
    expect(tasks()).toHaveLength(1);
    expect((await ledgerOf(app.container.db, id))[0].status).toBe('submitted');
  });
});
