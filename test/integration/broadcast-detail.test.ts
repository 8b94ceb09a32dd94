import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';
import { localDate } from '../../src/shared/dates.js';
import type { SchedulingModule } from '../../src/container.js';
import { addSandboxCustomer } from '../fixtures/scheduling.js';
import { useMigratedWithout } from '../helpers/migrated-without.js';
import { BroadcastProgress1795000000034 } from '../../migrations/0034-broadcast-progress.js';
import type { StaffReminders } from '../../src/domain/broadcasts/broadcast.types.js';

const sh = (local: string) => new Date(`${local}+08:00`);

interface StaffRow {
  userid: string;
  name: string;
  tasks: number;
  confirmedTasks: number;
  waitingTasks: number;
  withdrawnTasks: number;
  refusedTasks: number;
  rows: Record<string, number>;
}

/**
 * The broadcast pages' server side: a message with attachments checked field by field, its preview for one customer
 * of the audience, and the detail page's progress (each member's tasks, confirmed in 群发助手 or not, and the funnel)
 * read from the ledger as the sandbox plays WeCom, then a cancel that withdraws exactly the unconfirmed tasks.
 */
describe.each(testEngines())('broadcast preview and progress on %s', (engine) => {
  let app: TestApp;
  let m: SchedulingModule;
  const clock = new FixedClock(sh('2026-10-01T10:00:00'));

  async function customer(userid: string, name: string, tag: string): Promise<string> {
    const id = await addSandboxCustomer(app.container, userid, { name });
    expect((await api(app, 'POST', `/api/v1/customers/${id}/tags`, { add: [tag], remove: [] })).status).toBe(200);
    return id;
  }
  async function confirm(msgid: string, userid: string) {
    const res = await fetch(`${app.url}/sandbox/_control/groupmsg/confirm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ msgid, userid }) });
    expect(res.status).toBe(200);
  }

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    m = app.container.scheduling;
  });
  afterAll(() => app?.close());

  it('refuses a malformed attachment next to its field, and keeps the attachments it accepts', async () => {
    const bad = await api(app, 'POST', '/api/v1/broadcasts', {
      name: '坏附件', audience: 'all', message: { text: '你好', attachments: [{ kind: 'link', title: '活动', url: 'ftp://x' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields['message.attachments.0.url']).toContain('http');
    const noTitle = await api(app, 'POST', '/api/v1/broadcasts/preview', { audience: 'all', message: { text: '', attachments: [{ kind: 'miniprogram', appId: 'nope', page: '/p', picMediaId: 'm' }] } });
    expect(noTitle.status).toBe(400);
    expect(Object.keys(noTitle.body.error.details.fields)).toEqual(expect.arrayContaining(['message.attachments.0.title', 'message.attachments.0.appId']));
    const unknownVar = await api(app, 'POST', '/api/v1/broadcasts', { name: '变量', audience: 'all', message: { text: '{{城市}}' } });
    expect(unknownVar.status).toBe(400);
    expect(unknownVar.body.error.details.fields['message.text']).toContain('{{城市}}');
    const badAudience = await api(app, 'POST', '/api/v1/broadcasts', { name: '受众', audience: 'tag:(', message: { text: '你好' } });
    expect(badAudience.body.error.details.fields.audience).toMatch(/第 \d+ 个字符/);
  });

  it('uploads an attachment image to WeCom for a permanent URL, and refuses what is not a JPG or PNG', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);
    const up = await api(app, 'POST', '/api/v1/broadcasts/images', { filename: 'poster.png', data: png.toString('base64') });
    expect(up.status).toBe(201);
    expect(up.body).toEqual({ url: expect.stringMatching(/^https:\/\//), size: png.length });
    const call = app.container.sandbox!.calls('media/uploadimg').at(-1)!;
    expect(call.errcode).toBe(0);
    const text = await api(app, 'POST', '/api/v1/broadcasts/images', { filename: 'a.txt', data: Buffer.from('hello, not an image').toString('base64') });
    expect(text.status).toBe(400);
    expect(text.body.error.details.fields.data).toContain('JPG 或 PNG');
    const staff = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    expect((await api(app, 'POST', '/api/v1/broadcasts/images', { data: png.toString('base64') }, staff)).status).toBe(403);
    // The URL is what a broadcast's image attachment carries.
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '图片', audience: 'all', message: { text: '新品海报', attachments: [{ kind: 'image', picUrl: up.body.url }] }, sendAt: new Date(clock.now().getTime() + 86_400_000).toISOString() });
    expect(created.status).toBe(201);
    expect(created.body.message.attachments).toEqual([{ kind: 'image', picUrl: up.body.url }]);
    expect((await api(app, 'POST', `/api/v1/broadcasts/${created.body.id}/cancel`)).status).toBe(200);
  });

  it('counts the attachment image upload against the library\'s uploadimg budget, and refuses it clearly past the day\'s or month\'s', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 2)]);
    const quota = async () => (await api(app, 'GET', '/api/v1/content/facets')).body.imageQuota as { day: number; month: number };
    const before = await quota();
    expect((await api(app, 'POST', '/api/v1/broadcasts/images', { filename: 'a.png', data: png.toString('base64') })).status).toBe(201);
    expect(await quota()).toMatchObject({ day: before.day + 1, month: before.month + 1 });
    const day = localDate(clock.now(), 'Asia/Shanghai');
    const calls = () => app.container.sandbox!.calls('media/uploadimg').length;
    // The day's 1,000 spent (by the library or by this route alike): refused before WeCom is asked.
    await app.container.db.query('UPDATE content_upload_quota SET used = ? WHERE period = ?', [1000, `d:${day}`]);
    const n = calls();
    const refused = await api(app, 'POST', '/api/v1/broadcasts/images', { filename: 'b.png', data: png.toString('base64') });
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toBe('今日图片上传额度已用完（企业微信 media/uploadimg 每天至多 1000 张），明天再上传图片、链接封面或小程序封面');
    expect(calls()).toBe(n);
    // A file that is not an image is still refused as such, and takes nothing from the budget.
    await app.container.db.query('UPDATE content_upload_quota SET used = ? WHERE period = ?', [0, `d:${day}`]);
    expect((await api(app, 'POST', '/api/v1/broadcasts/images', { filename: 'a.txt', data: Buffer.from('not an image').toString('base64') })).status).toBe(400);
    expect((await quota()).day).toBe(0);
    await app.container.db.query('UPDATE content_upload_quota SET used = ? WHERE period = ?', [3000, `m:${day.slice(0, 7)}`]);
    const month = await api(app, 'POST', '/api/v1/broadcasts/images', { filename: 'c.png', data: png.toString('base64') });
    expect(month.status).toBe(429);
    expect(month.body.error.message).toBe('本月图片上传额度已用完（企业微信 media/uploadimg 每月至多 3000 张），下月再上传图片、链接封面或小程序封面');
    expect(calls()).toBe(n);
    await app.container.db.query('DELETE FROM content_upload_quota');
  });

  it('previews the message for a customer of the audience with their name and sender, and only for one in it', async () => {
    const a = await customer('zhangsan', '预览甲', '预览');
    await customer('lisi', '预览乙', '预览');
    const outsider = await customer('lisi', '局外人', '别的');
    const message = { text: '{{name}}您好，我是{{staff}}', attachments: [{ kind: 'link', title: '秋季新品', url: 'https://shop.example.com/autumn' }] };
    const chosen = await api(app, 'POST', '/api/v1/broadcasts/preview', { audience: 'tag:预览', message, externalUserId: a });
    expect(chosen.status).toBe(200);
    expect(chosen.body).toMatchObject({ customer: { externalUserId: a, name: '预览甲' }, sender: { userid: 'zhangsan', name: '张三' }, text: '预览甲您好，我是张三', attachments: message.attachments });
    const sampled = await api(app, 'POST', '/api/v1/broadcasts/preview', { audience: 'tag:预览', message });
    expect(['预览甲', '预览乙']).toContain(sampled.body.customer.name);
    expect(sampled.body.text).toBe(`${sampled.body.customer.name}您好，我是${sampled.body.sender.name}`);
    const notIn = await api(app, 'POST', '/api/v1/broadcasts/preview', { audience: 'tag:预览', message, externalUserId: outsider });
    expect(notIn.status).toBe(400);
    expect(notIn.body.error.details.fields.externalUserId).toContain('不在受众中');
    const empty = await api(app, 'POST', '/api/v1/broadcasts/preview', { audience: 'tag:没有这个标签', message });
    expect(empty.body.error.details.fields.audience).toContain('没有客户');
    // Operators only (it shows a customer's name); it writes nothing to the audit log.
    const staff = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    expect((await api(app, 'POST', '/api/v1/broadcasts/preview', { audience: 'tag:预览', message }, staff)).status).toBe(403);
    const audit = await app.container.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'broadcasts.preview'");
    expect(Number(audit[0].n)).toBe(0);
  });

  it('shows each member their tasks, confirmed or not, and the funnel; a cancel withdraws the unconfirmed ones', async () => {
    clock.set(sh('2026-10-02T10:00:00'));
    const z1 = await customer('zhangsan', '进度一', '进度');
    const z2 = await customer('zhangsan', '进度二', '进度');
    await customer('lisi', '进度三', '进度');
    await customer('wangwu', '进度四', '进度');
    await app.container.db.query('UPDATE customers SET opted_out = 1 WHERE external_user_id = ?', [z2]);
    const attachments = [{ kind: 'image', picUrl: 'https://img.example.com/a.png' }];
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '进度', audience: 'tag:进度', message: { text: '国庆快乐', attachments } });
    expect(created.status).toBe(201);
    expect(created.body.message.attachments).toEqual(attachments);
    const id = created.body.id as string;

    const before = await api(app, 'GET', `/api/v1/broadcasts/${id}/progress`);
    expect(before.body).toMatchObject({ staff: [], withdrawableTasks: 0, funnel: { planned: 0 } });

    clock.advance(60_000);
    expect((await m.scheduler.runNow('broadcasts')).counts).toMatchObject({ planned: 3, skipped: 1, submittedTasks: 3 });
    // The task carries the attachment to WeCom.
    const call = app.container.sandbox!.calls('externalcontact/add_msg_template').at(-1)!.params as { attachments?: unknown[] };
    expect(call.attachments).toEqual([{ msgtype: 'image', image: { pic_url: 'https://img.example.com/a.png' } }]);

    const sending = await api(app, 'GET', `/api/v1/broadcasts/${id}/progress`);
    expect(sending.body.funnel).toMatchObject({ planned: 4, submitted: 3, confirmed: 0, sent: 0, skipped: 1, skippedByReason: { opted_out: 1 } });
    expect(sending.body.withdrawableTasks).toBe(3);
    const zs = (sending.body.staff as StaffRow[]).find((s) => s.userid === 'zhangsan')!;
    expect(zs).toMatchObject({ name: '张三', tasks: 1, confirmedTasks: 0, waitingTasks: 1, rows: { submitted: 1, skipped: 1 } });

    // 张三 sends his task from 群发助手; the results job reads it back.
    const [row] = await app.container.db.query<{ msgid: string }>('SELECT msgid FROM deliveries WHERE external_user_id = ?', [z1]);
    await confirm(row.msgid, 'zhangsan');
    clock.advance(60 * 60_000);
    expect((await m.scheduler.runNow('delivery-results')).counts).toMatchObject({ results_sent: 1 });
    const confirmed = await api(app, 'GET', `/api/v1/broadcasts/${id}/progress`);
    expect(confirmed.body.funnel).toMatchObject({ planned: 4, submitted: 3, confirmed: 1, sent: 1 });
    expect((confirmed.body.staff as StaffRow[]).find((s) => s.userid === 'zhangsan')).toMatchObject({ confirmedTasks: 1, waitingTasks: 0, rows: { sent: 1 } });
    expect(confirmed.body.withdrawableTasks).toBe(2);

    // A member sees only their own part.
    const lisi = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    const own = await api(app, 'GET', `/api/v1/broadcasts/${id}/progress`, undefined, lisi);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ onlyUserid: 'lisi', withdrawableTasks: 1, funnel: { planned: 1, submitted: 1, sent: 0, skipped: 0 } });
    expect((own.body.staff as StaffRow[]).map((s) => s.userid)).toEqual(['lisi']);

    // Cancel withdraws the two tasks nobody confirmed; 张三's stays sent.
    const cancelled = await api(app, 'POST', `/api/v1/broadcasts/${id}/cancel`);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancellation: { cancelledTasks: 2, confirmedTasks: 0 } });
    const after = await api(app, 'GET', `/api/v1/broadcasts/${id}/progress`);
    expect(after.body.funnel).toMatchObject({ planned: 4, submitted: 3, confirmed: 1, sent: 1, expired: 2 });
    expect(after.body.withdrawableTasks).toBe(0);
    expect((after.body.staff as StaffRow[]).filter((s) => s.withdrawnTasks === 1).map((s) => s.userid).sort()).toEqual(['lisi', 'wangwu']);
    expect((await api(app, 'GET', '/api/v1/broadcasts/00000000-0000-7000-8000-000000000000/progress')).status).toBe(404);
  });

  it('reminds the members who have not confirmed, skips one who sent meanwhile, and keeps to 3 per task per 24 h', async () => {
    clock.set(sh('2026-10-05T10:00:00'));
    await customer('zhangsan', '提醒一', '提醒');
    await customer('lisi', '提醒二', '提醒');
    await customer('wangwu', '提醒三', '提醒');
    const later = await api(app, 'POST', '/api/v1/broadcasts', { name: '以后', audience: 'tag:提醒', message: { text: '稍后' }, sendAt: sh('2026-10-09T10:00:00').toISOString() });
    const notYet = await api(app, 'POST', `/api/v1/broadcasts/${later.body.id}/remind`);
    expect(notYet.status).toBe(409);
    expect(notYet.body.error.code).toBe('broadcast_not_sending');
    expect((await api(app, 'POST', `/api/v1/broadcasts/${later.body.id}/cancel`)).status).toBe(200);

    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '提醒', audience: 'tag:提醒', message: { text: '双十一预告' } });
    const id = created.body.id as string;
    clock.advance(60_000);
    expect((await m.scheduler.runNow('broadcasts')).counts).toMatchObject({ submittedTasks: 3 });
    const msgOf = async (userid: string) =>
      (await app.container.db.query<{ msgid: string }>('SELECT msgid FROM deliveries WHERE broadcast_id = ? AND sender_userid = ?', [id, userid]))[0].msgid;
    const [zs, ls, ww] = [await msgOf('zhangsan'), await msgOf('lisi'), await msgOf('wangwu')];

    // 张三 sends from 群发助手 before the results job has read it: the ledger still says waiting, WeCom does not.
    await confirm(zs, 'zhangsan');
    const staff = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    expect((await api(app, 'POST', `/api/v1/broadcasts/${id}/remind`, {}, staff)).status).toBe(403);
    const all = await api(app, 'POST', `/api/v1/broadcasts/${id}/remind`);
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ remindedTasks: 2, remindedMembers: ['lisi', 'wangwu'], confirmedTasks: 1, limitedTasks: 0, failedTasks: 0, nextAllowedAt: null });
    expect(all.body.message).toBe('已提醒 2 位成员在群发助手中确认发送（2 个任务）；1 个任务成员已发送，无需提醒。');
    const reminded = async (msgid: string) => {
      const res = await fetch(`${app.url}/sandbox/_control/groupmsg/reminders?msgid=${msgid}`);
      return ((await res.json()) as { items: { reminders: { userids: string[] }[] }[] }).items[0]?.reminders ?? [];
    };
    expect(await reminded(ls)).toEqual([{ at: clock.now().toISOString(), userids: ['lisi'] }]);
    expect(await reminded(ww)).toHaveLength(1);
    expect(await reminded(zs)).toEqual([]);

    // 李四 alone, twice more: the third of the day; a fourth is not sent to WeCom, and the answer says when it may be.
    clock.advance(60 * 60_000);
    expect((await api(app, 'POST', `/api/v1/broadcasts/${id}/remind`, { userid: 'lisi' })).body).toMatchObject({ remindedTasks: 1, remindedMembers: ['lisi'] });
    expect((await api(app, 'POST', `/api/v1/broadcasts/${id}/remind`, { userid: 'lisi' })).body).toMatchObject({ remindedTasks: 1 });
    const calls = () => app.container.sandbox!.calls('externalcontact/remind_groupmsg_send').filter((c) => (c.params as { msgid: string }).msgid === ls).length;
    expect(calls()).toBe(3);
    const fourth = await api(app, 'POST', `/api/v1/broadcasts/${id}/remind`, { userid: 'lisi' });
    expect(fourth.body).toMatchObject({ remindedTasks: 0, limitedTasks: 1, nextAllowedAt: sh('2026-10-06T10:01:00').toISOString() });
    expect(fourth.body.message).toBe('1 个任务 24 小时内已提醒 3 次（企业微信上限），10 月 6 日 10:01 后可再提醒。');
    expect(calls()).toBe(3);
    const progress = await api(app, 'GET', `/api/v1/broadcasts/${id}/progress`);
    const row = (u: string) => (progress.body.staff as (StaffRow & { reminders: StaffReminders })[]).find((s) => s.userid === u)!;
    // Counted per task, as WeCom limits them: 李四's one waiting task is at 3 and may go again a day after its first.
    expect(row('lisi').reminders).toEqual({ last24h: 3, maxPerTask: 3, limitedTasks: 1, nextAllowedAt: sh('2026-10-06T10:01:00').toISOString(), lastAt: sh('2026-10-05T11:01:00').toISOString() });
    expect(row('wangwu').reminders).toMatchObject({ last24h: 1, maxPerTask: 1, limitedTasks: 0, nextAllowedAt: null });
    expect(row('zhangsan').reminders).toEqual({ last24h: 0, maxPerTask: 0, limitedTasks: 0, nextAllowedAt: null, lastAt: null });

    // A day after the first, one may go again; every reminder is in the audit log with who asked.
    clock.set(sh('2026-10-06T10:02:00'));
    expect((await api(app, 'POST', `/api/v1/broadcasts/${id}/remind`, { userid: 'lisi' })).body).toMatchObject({ remindedTasks: 1, limitedTasks: 0 });
    expect(calls()).toBe(4);
    const audit = await app.container.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'broadcasts.remind' AND target_id = ?", [id]);
    expect(Number(audit[0].n)).toBe(5);
    // A member with no task waiting: nothing to remind, and WeCom is not asked.
    expect((await api(app, 'POST', `/api/v1/broadcasts/${id}/remind`, { userid: 'zhaoliu' })).body).toMatchObject({ remindedTasks: 0, message: '没有等待成员确认的群发任务，无需提醒' });
    expect(app.container.sandbox!.calls('externalcontact/remind_groupmsg_send')).toHaveLength(5);
  });
});

describe.each(testEngines())('migration 0034 (broadcast progress) on %s', (engine) => {
  const mig = useMigratedWithout(engine, [BroadcastProgress1795000000034]);

  it('widens the ledger index for the progress, adds the reminders table, and takes both back', async () => {
    const state = async () => {
      const qr = mig.ds.createQueryRunner();
      try {
        const [deliveries, reminders] = await Promise.all([qr.getTable('deliveries'), qr.getTable('broadcast_reminders')]);
        return { progressIndex: deliveries!.indices.some((i) => i.name === 'ix_deliveries_broadcast_progress'), oldIndex: deliveries!.indices.some((i) => i.name === 'ix_deliveries_broadcast'), reminders: !!reminders };
      } finally {
        await qr.release();
      }
    };
    expect(await state()).toEqual({ progressIndex: false, oldIndex: true, reminders: false });
    mig.ds.migrations.push(new BroadcastProgress1795000000034());
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['BroadcastProgress1795000000034']);
    expect(await state()).toEqual({ progressIndex: true, oldIndex: false, reminders: true });
    await mig.ds.undoLastMigration({ transaction: 'each' });
    expect(await state()).toEqual({ progressIndex: false, oldIndex: true, reminders: false });
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['BroadcastProgress1795000000034']);
    expect(await state()).toEqual({ progressIndex: true, oldIndex: false, reminders: true });
  }, 60_000);
});
