import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { addSandboxCustomer } from '../fixtures/scheduling.js';
import { RISK_POINTS, AFTER_LEAVING } from '../../src/domain/churn/churn-risk.js';
import { FixedClock } from '../../src/shared/clock.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';

const sh = (local: string) => new Date(`${local}+08:00`);
const DAY = 86_400_000;

/**
 * docs/churn.md §Signals: a complaint warns alone, whether the customer wrote it to WeChat-KF or their member wrote it
 * down in a note; a resigned owner's customers warn once the handover is 14 days late, counted from the `delete_user`
 * callback that told the bot the member left.
 */
describe.each(testEngines())('churn-risk complaints and handovers (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-03-01T10:00:00'));
  const ids = { kf: '', note: '', calm: '', orphan: '', back: '' };
  const risk = async (ext: string) => (await api(app, 'GET', `/api/v1/customers/${ext}/churn-risk`)).body as { score: number; level: string; reasons: { code: string; points: number; text: string }[] };
  const score = async () => {
    expect((await app.container.scheduling.scheduler.runNow('churn')).status).toBe('done');
  };

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    ids.kf = await addSandboxCustomer(app.container, 'zhangsan', { name: '客服投诉客户' });
    ids.note = await addSandboxCustomer(app.container, 'zhangsan', { name: '当面抱怨客户' });
    ids.calm = await addSandboxCustomer(app.container, 'zhangsan', { name: '咨询客户' });
    ids.orphan = await addSandboxCustomer(app.container, 'wangwu', { name: '离职员工的客户' });
    ids.back = await addSandboxCustomer(app.container, 'zhangsan', { name: '投诉后回购客户' });
  }, 60_000);
  afterAll(() => app?.close());

  it('warns on a complaint in a KF message or in a member’s note, and not on an ordinary question', async () => {
    const sandbox = app.container.sandbox!;
    await sandbox.sendKfMessage({ openKfId: 'wkChurnSignals', externalUserId: ids.kf, text: '东西坏了，我要投诉' });
    await sandbox.sendKfMessage({ openKfId: 'wkChurnSignals', externalUserId: ids.calm, text: '请问快递到哪了？' });
    await app.container.archive.kf.pull('wkChurnSignals');
    const zhangsan = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    const note = await api(app, 'POST', `/api/v1/customers/${ids.note}/notes`, { text: '电话回访，客户说上次的服务很失望，考虑换一家' }, zhangsan);
    expect(note.status, JSON.stringify(note.body)).toBe(201);
    await api(app, 'POST', `/api/v1/customers/${ids.calm}/notes`, { text: '客户问了新品的价格' }, zhangsan);

    clock.set(sh('2026-03-02T03:45:00'));
    await score();
    for (const ext of [ids.kf, ids.note]) {
      const r = await risk(ext);
      expect(r.level).toBe('high');
      expect(r.reasons[0]).toEqual({ code: 'complaint', points: 60, text: '近 60 天有 1 次投诉或不满（客服消息或员工记录）' });
    }
    expect((await risk(ids.calm)).level).toBe('low');
    // The owner's warning task names the complaint (docs/churn.md §Warnings).
    const notes = (await api(app, 'GET', `/api/v1/customers/${ids.note}/notes`)).body.items as { text: string }[];
    expect(notes.filter((n) => n.text.startsWith('【流失预警】')).map((n) => n.text)).toEqual([expect.stringContaining('近 60 天有 1 次投诉或不满')]);

    // Sixty days on, the complaint no longer counts.
    clock.set(new Date(sh('2026-03-01T10:00:00').getTime() + 61 * DAY));
    await score();
    expect((await risk(ids.kf)).reasons.map((r) => r.code)).not.toContain('complaint');
    expect((await risk(ids.note)).reasons.map((r) => r.code)).not.toContain('complaint');
  });

  it('warns about a resigned member’s customers once 14 days pass without a handover', async () => {
    clock.set(sh('2026-05-10T09:00:00'));
    const sandbox = app.container.sandbox!;
    sandbox.resignStaff({ userid: 'wangwu' });
    await sandbox.deliverCallback(
      `<xml><ToUserName><![CDATA[${SANDBOX_CORP.corpId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
        `<CreateTime>${Math.floor(clock.now().getTime() / 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event>` +
        `<ChangeType>delete_user</ChangeType><UserID><![CDATA[wangwu]]></UserID></xml>`,
    );
    await app.container.inboxProcessor.drain();
    const [left] = await app.container.db.query<{ status: string; resigned_at: unknown }>('SELECT status, resigned_at FROM staff WHERE userid = ?', ['wangwu']);
    expect({ status: left!.status, resignedAt: Number(left!.resigned_at) }).toEqual({ status: 'resigned', resignedAt: clock.now().getTime() });

    clock.set(sh('2026-05-20T03:45:00'));
    await score();
    expect((await risk(ids.orphan)).reasons.map((r) => r.code)).not.toContain('owner_resigned');
    clock.set(sh('2026-05-25T03:45:00'));
    await score();
    expect((await risk(ids.orphan)).reasons).toEqual([{ code: 'owner_resigned', points: 60, text: '跟进员工已离职 15 天，客户尚未继承给他人' }]);

    // The customer keeps writing to WeChat-KF after the leaving: the reason says so (docs/churn.md §Signals).
    for (let i = 0; i < AFTER_LEAVING.engagedFrom; i++) {
      clock.set(sh(`2026-05-25T1${i}:00:00`));
      await sandbox.sendKfMessage({ openKfId: 'wkChurnSignals', externalUserId: ids.orphan, text: '请问我的专属顾问换成谁了？' });
    }
    await app.container.archive.kf.pull('wkChurnSignals');
    clock.set(sh('2026-05-26T03:45:00'));
    await score();
    expect((await risk(ids.orphan)).reasons).toEqual([
      { code: 'owner_resigned', points: RISK_POINTS.ownerResignedEngaged, text: `跟进员工已离职 16 天，客户尚未继承给他人（离职后客户仍有 ${AFTER_LEAVING.engagedFrom} 次咨询或下单）` },
    ]);
  });

  it('weighs a complaint less once the customer ordered again after it', async () => {
    clock.set(sh('2026-06-01T10:00:00'));
    await app.container.sandbox!.sendKfMessage({ openKfId: 'wkChurnSignals', externalUserId: ids.back, text: '发货太慢了，我要投诉' });
    await app.container.archive.kf.pull('wkChurnSignals');
    clock.set(sh('2026-06-02T03:45:00'));
    await score();
    expect((await risk(ids.back)).reasons[0]).toEqual({ code: 'complaint', points: 60, text: '近 60 天有 1 次投诉或不满（客服消息或员工记录）' });

    clock.set(sh('2026-06-05T20:00:00'));
    const imported = await api(app, 'POST', '/api/v1/orders/import', { orders: [{ orderNo: 'CHURN-BACK-1', externalUserId: ids.back, amount: '199.00', orderedAt: '2026-06-05 19:30' }] });
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    clock.set(sh('2026-06-06T03:45:00'));
    await score();
    const r = await risk(ids.back);
    expect(r.reasons.find((x) => x.code === 'complaint')).toEqual({ code: 'complaint', points: RISK_POINTS.complaintAnswered, text: '近 60 天有 1 次投诉或不满（客服消息或员工记录），此后客户已再次下单' });
  });
});
