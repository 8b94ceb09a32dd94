import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { insertStaff } from '../fixtures/scheduling.js';
import { FixedClock } from '../../src/shared/clock.js';
import { WecomTransportError } from '../../src/wecom/client/errors.js';
import type { WecomGateway } from '../../src/wecom/client/gateway.js';
import type { SandboxGroupChat } from '../../src/wecom/sandbox/store.js';

const MIN_MS = 60_000;

describe.each(testEngines())('group transfers (客户群继承) over HTTP and the sandbox (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock('2026-04-01T02:00:00Z');
  /** When set, the next group transfer reaches WeCom and its answer is lost (a timeout after WeCom acted). */
  let loseNextAnswer = false;

  const sandbox = () => app.container.sandbox!;
  const transferCalls = () => [...sandbox().calls('externalcontact/groupchat/onjob_transfer'), ...sandbox().calls('externalcontact/groupchat/transfer')];
  let seq = 0;

  /** A customer group in WeCom, and in the bot's archive with its name. */
  async function group(owner: string, name: string): Promise<string> {
    const chatId = `wrGT${engine}${String(++seq).padStart(4, '0')}`;
    const nowS = Math.floor(clock.now().getTime() / 1000);
    const chat: SandboxGroupChat = {
      chatId,
      name,
      owner,
      createTime: nowS - 86_400,
      notice: '',
      status: 0,
      members: [
        { userid: owner, type: 1, joinTime: nowS - 86_400, joinScene: 1, groupNickname: '', name: owner },
        { userid: `wmCust${seq}`, type: 2, joinTime: nowS - 3600, joinScene: 3, groupNickname: '', name: '客户' },
      ],
      admins: [],
    };
    sandbox().store.groupChats.set(chatId, chat);
    await app.container.db.query('INSERT INTO group_chats (chat_id, name, owner, updated_at) VALUES (?,?,?,?)', [chatId, name, owner, 0]);
    return chatId;
  }

  const request = (body: Record<string, unknown>) => api(app, 'POST', '/api/v1/group-transfers', body);
  const runJob = (offsetMs: number) => app.container.scheduling.scheduler.runNow('transfers', { at: new Date(clock.now().getTime() + offsetMs) });
  const archived = async (chatId: string) => (await app.container.db.query<{ owner: string; status: number | string }>('SELECT owner, status FROM group_chats WHERE chat_id = ?', [chatId]))[0];

  beforeAll(async () => {
    app = await startTestApp(engine, {
      build: {
        clock,
        wecom: (real: WecomGateway) =>
          new Proxy(real, {
            get(target, prop) {
              const v: unknown = Reflect.get(target, prop, target);
              if (prop !== 'transferGroupChats') return typeof v === 'function' ? v.bind(target) : v;
              return async (input: Parameters<WecomGateway['transferGroupChats']>[0]) => {
                const res = await real.transferGroupChats(input);
                if (loseNextAnswer) {
                  loseNextAnswer = false;
                  throw new WecomTransportError(input.kind === 'onjob' ? 'externalcontact/groupchat/onjob_transfer' : 'externalcontact/groupchat/transfer', 'timeout', true);
                }
                return res;
              };
            },
          }),
      },
    });
    for (const [userid, name] of [['zhangsan', '张三'], ['lisi', '李四'], ['wangwu', '王五'], ['zhaoliu', '赵六']]) await insertStaff(app.container.db, userid, name);
  });
  afterAll(() => app?.close());

  it('在职继承: the member\'s groups are offered by name, handed over in one call, and the archive and WeCom agree on the new owner', async () => {
    const a = await group('zhangsan', '上海老客户群');
    const b = await group('zhangsan', '北京新客户群');
    const offered = await api(app, 'GET', '/api/v1/group-transfers/candidates?kind=onjob&handover=zhangsan');
    expect(offered.status).toBe(200);
    expect(offered.body.items).toEqual(expect.arrayContaining([
      { chatId: a, name: '上海老客户群', status: 0, openTransfer: null },
      { chatId: b, name: '北京新客户群', status: 0, openTransfer: null },
    ]));
    const n = transferCalls().length;
    const res = await request({ kind: 'onjob', handover: 'zhangsan', takeover: 'lisi', chats: [a, b] });
    expect(res.status).toBe(201);
    expect(res.body.byStatus).toEqual({ done: 2 });
    expect(res.body.items.map((i: { chatName: string; status: string }) => [i.chatName, i.status])).toEqual([['上海老客户群', 'done'], ['北京新客户群', 'done']]);
    // ≤ 100 groups go in one call.
    expect(transferCalls().slice(n)).toHaveLength(1);
    expect(sandbox().store.groupChats.get(a)!.owner).toBe('lisi');
    expect((await archived(a))?.owner).toBe('lisi');
    const list = await api(app, 'GET', `/api/v1/group-transfers?requestId=${res.body.requestId}`);
    expect(list.body.total).toBe(2);
    expect(list.body.items[0]).toMatchObject({ status: 'done', handover: 'zhangsan', takeover: 'lisi', attempts: 1, kind: 'onjob' });
    // The job has nothing to do for groups WeCom accepted: they are never sent again.
    await runJob(60 * MIN_MS);
    expect(transferCalls().slice(n)).toHaveLength(1);
  });

  it('WeCom\'s refusals are per group: one unknown group, one transferred twice in 90 days; the others still go, each reason in Chinese', async () => {
    const ok = await group('zhangsan', '可转群');
    const twice = await group('zhangsan', '转过两次的群');
    expect((await request({ kind: 'onjob', handover: 'zhangsan', takeover: 'lisi', chats: [twice] })).body.byStatus).toEqual({ done: 1 });
    expect((await request({ kind: 'onjob', handover: 'lisi', takeover: 'zhangsan', chats: [twice] })).body.byStatus).toEqual({ done: 1 });
    const res = await request({ kind: 'onjob', handover: 'zhangsan', takeover: 'wangwu', chats: [ok, twice, 'wrNotACustomerGroup'] });
    const by = Object.fromEntries(res.body.items.map((i: { chatId: string }) => [i.chatId, i]));
    expect(by[ok]).toMatchObject({ status: 'done' });
    expect(by[twice]).toMatchObject({ status: 'failed', errcode: 40128, message: '该群 90 天内已在职转交 2 次，暂时不能再转交' });
    expect(by.wrNotACustomerGroup).toMatchObject({ status: 'failed', errcode: 90501, message: '该群不是客户群' });
    // Handing a group to its own owner is refused by WeCom (90504), and the API refuses the same member on both sides.
    const same = await request({ kind: 'onjob', handover: 'zhangsan', takeover: 'wangwu', chats: [ok] });
    expect(same.body.items[0]).toMatchObject({ status: 'failed', errcode: 90504, message: '新群主与当前群主相同' });
    const bad = await request({ kind: 'onjob', handover: 'zhangsan', takeover: 'zhangsan' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('新群主不能与原群主相同');
  });

  it('离职继承: a departed owner\'s groups are listed with status 1, refused on-job (90502), handed over resigned and listed inherited (3)', async () => {
    const g = await group('zhaoliu', '赵六的群');
    await fetch(`${app.url}/sandbox/_control/staff/resign`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userid: 'zhaoliu' }) });
    const offered = await api(app, 'GET', '/api/v1/group-transfers/candidates?kind=resigned&handover=zhaoliu');
    expect(offered.body.items).toEqual([{ chatId: g, name: '赵六的群', status: 1, openTransfer: null }]);
    const onjob = await request({ kind: 'onjob', handover: 'zhaoliu', takeover: 'lisi', chats: [g] });
    expect(onjob.body.items[0]).toMatchObject({ status: 'failed', errcode: 90502, message: '群主已离职，不能使用在职继承（请用离职继承）' });
    // Without `chats`: every group WeCom lists for the member.
    const res = await request({ kind: 'resigned', handover: 'zhaoliu', takeover: 'lisi' });
    expect(res.body.items).toEqual([expect.objectContaining({ chatId: g, status: 'done' })]);
    expect(sandbox().store.groupChats.get(g)).toMatchObject({ owner: 'lisi', status: 3 });
    expect(await archived(g)).toMatchObject({ owner: 'lisi' });
    expect(Number((await archived(g))!.status)).toBe(3);
    const again = await request({ kind: 'resigned', handover: 'zhaoliu', takeover: 'wangwu', chats: [g] });
    expect(again.body.items[0]).toMatchObject({ status: 'failed', errcode: 90508, message: '该群已被继承' });
  });

  it('a busy WeCom is retried by the transfers job with backoff; the group is handed over once', async () => {
    const g = await group('wangwu', '繁忙时转的群');
    // More -1 answers than the client's own retries: the call fails, the group waits for the job.
    sandbox().injectFault({ api: 'externalcontact/groupchat/onjob_transfer', errcode: -1, count: 20 });
    const res = await request({ kind: 'onjob', handover: 'wangwu', takeover: 'lisi', chats: [g] });
    sandbox().clearFaults();
    expect(res.body.items[0]).toMatchObject({ status: 'retrying', errcode: -1, message: '企业微信系统繁忙，将自动重试' });
    const row = (await api(app, 'GET', `/api/v1/group-transfers?chatId=${g}`)).body.items[0];
    expect(row).toMatchObject({ status: 'retrying', attempts: 1 });
    expect(new Date(row.nextAttemptAt).getTime()).toBe(clock.now().getTime() + 5 * MIN_MS);
    // Asking again while it waits reports the open one and calls nothing.
    const n = transferCalls().length;
    const dup = await request({ kind: 'onjob', handover: 'wangwu', takeover: 'lisi', chats: [g] });
    expect(dup.body.items[0]).toMatchObject({ status: 'retrying', alreadyRequested: true });
    expect(transferCalls()).toHaveLength(n);
    // Not due yet at +4 min; due at +6.
    clock.set(new Date(clock.now().getTime() + 4 * MIN_MS));
    await runJob(0);
    expect(transferCalls()).toHaveLength(n);
    clock.set(new Date(clock.now().getTime() + 2 * MIN_MS));
    const out = await runJob(0);
    expect(out.counts).toMatchObject({ groupsRetried: 1, groupsDone: 1 });
    expect((await api(app, 'GET', `/api/v1/group-transfers?chatId=${g}`)).body.items[0]).toMatchObject({ status: 'done', attempts: 2 });
    expect(sandbox().store.groupChats.get(g)!.owner).toBe('lisi');
  });

  it('an answer lost after WeCom acted is settled by reading the owner back, never by calling again', async () => {
    const g = await group('wangwu', '应答丢失的群');
    const h = await group('wangwu', '没有送达的群');
    loseNextAnswer = true;
    const res = await request({ kind: 'onjob', handover: 'wangwu', takeover: 'zhangsan', chats: [g] });
    expect(res.body.items[0]).toMatchObject({ status: 'requested', message: '企业微信未应答，结果待核对（transfers 任务会读取群主）' });
    // A request that never reached WeCom (the row is left requested, as after a crash before the call).
    await app.container.db.query(
      "INSERT INTO group_transfers (id, request_id, kind, chat_id, handover_userid, new_owner, status, open_key, attempts, requested_by, requested_at, updated_at) VALUES (?,?,?,?,?,?,'requested',?,1,'test',?,?)",
      ['0190a000-0000-7000-8000-00000000abcd', '0190a000-0000-7000-8000-00000000abce', 'onjob', h, 'wangwu', 'zhangsan', h, clock.now().getTime(), clock.now().getTime()],
    );
    const n = transferCalls().length;
    clock.set(new Date(clock.now().getTime() + 11 * MIN_MS));
    const out = await runJob(0);
    expect(out.counts).toMatchObject({ groupsChecked: 2, groupsDone: 1 });
    expect((await api(app, 'GET', `/api/v1/group-transfers?chatId=${g}`)).body.items[0]).toMatchObject({ status: 'done', attempts: 1 });
    expect(transferCalls()).toHaveLength(n);
    // The one WeCom never saw is safe to send: it waits for its retry, then goes once.
    expect((await api(app, 'GET', `/api/v1/group-transfers?chatId=${h}`)).body.items[0]).toMatchObject({ status: 'retrying' });
    clock.set(new Date(clock.now().getTime() + 6 * MIN_MS));
    await runJob(0);
    expect((await api(app, 'GET', `/api/v1/group-transfers?chatId=${h}`)).body.items[0]).toMatchObject({ status: 'done' });
    expect(transferCalls()).toHaveLength(n + 1);
    expect(sandbox().store.groupChats.get(h)!.owner).toBe('zhangsan');
  });

  it('a new owner WeCom cannot use fails every group of the call, with the reason, and is not retried', async () => {
    const g = await group('lisi', '新群主无效的群');
    const res = await request({ kind: 'onjob', handover: 'lisi', takeover: 'zhaoliu', chats: [g] });
    expect(res.body.items[0]).toMatchObject({ status: 'failed', errcode: 40003, message: '新群主不存在或已离职（无效的 UserID）' });
    // A staff token may not hand groups over.
    const token = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    const staff = await api(app, 'POST', '/api/v1/group-transfers', { kind: 'onjob', handover: 'lisi', takeover: 'zhangsan', chats: [g] }, token);
    expect(staff.status).toBe(403);
  });
});
