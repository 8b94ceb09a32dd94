import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { insertStaff } from '../fixtures/scheduling.js';
import { FixedClock } from '../../src/shared/clock.js';
import { addDays, zonedTimeToUtc } from '../../src/shared/dates.js';
import { groupTalkOf } from '../../src/wecom/sandbox/apis/group-stats.api.js';
import type { Db } from '../../src/persistence/db.js';

const TZ = 'Asia/Shanghai';
/** The night the job runs: 00:20 of this day pulls up to the day before. */
const NIGHT = '2026-06-10';
const YESTERDAY = addDays(NIGHT, -1);
const dayS = (day: string, time = '00:00') => Math.floor(zonedTimeToUtc(day, time, TZ).getTime() / 1000);

/**
 * 群聊数据统计: the nightly `analytics` job pulls groupchat/statistic (per owner, a day a call) and
 * statistic_group_by_day (the corp) from the sandbox over HTTP into group_stat_days; a re-pull replaces rows; GET
 * /api/v1/analytics/groups answers per period, the corp's or a member's own (both engines).
 */
describe.each(testEngines())('group statistics on %s', (engine) => {
  let app: TestApp;
  let db: Db;
  const clock = new FixedClock(zonedTimeToUtc(NIGHT, '00:20', TZ));
  let staffToken = '';
  const get = (path: string, token = TEST_ADMIN_TOKEN) => api(app, 'GET', path, undefined, token);
  let runs = 0;
  // Each run a second apart: a run is one occasion, to the second.
  const run = () => app.container.scheduling.scheduler.runNow('analytics', { at: new Date(clock.now().getTime() + 1000 * runs++) });
  const calls = (api: string) => app.container.sandbox!.calls(`externalcontact/groupchat/${api}`);
  const row = async (day: string, owner: string) =>
    (await db.query<Record<string, unknown>>('SELECT new_chat_cnt, chat_total, chat_has_msg, new_member_cnt, member_total, member_has_msg, msg_total FROM group_stat_days WHERE day = ? AND owner = ?', [day, owner])).map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])),
    )[0];

  /** A group created on `created` (12:00 China time) with customers joining on the given days. */
  function group(chatId: string, owner: string, created: string, joins: string[]): void {
    app.container.sandbox!.store.groupChats.set(chatId, {
      chatId,
      name: chatId,
      owner,
      createTime: dayS(created, '12:00'),
      notice: '',
      status: 0,
      members: [
        { userid: owner, type: 1, joinTime: dayS(created, '12:00'), joinScene: 1, groupNickname: '', name: owner },
        ...joins.map((d, i) => ({ userid: `wm${chatId}${i}`, type: 2 as const, joinTime: dayS(d, '15:00'), joinScene: 3, groupNickname: '', name: '' })),
      ],
      admins: [],
    });
  }

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    db = app.container.db;
    for (const u of ['zhangsan', 'lisi']) await insertStaff(db, u, u);
    // Only this test's groups: the demo seed's are left out.
    app.container.sandbox!.store.groupChats.clear();
    // zhangsan: an old group (3 members before the window, 2 joining yesterday) and one created yesterday with 1 join.
    group('wrOld', 'zhangsan', addDays(NIGHT, -60), [addDays(NIGHT, -50), addDays(NIGHT, -50), addDays(NIGHT, -50), YESTERDAY, YESTERDAY]);
    group('wrNew', 'zhangsan', YESTERDAY, [YESTERDAY]);
    // lisi: a group created 3 days ago with 4 joins, two of them today (not counted before tonight).
    group('wrLisi', 'lisi', addDays(NIGHT, -3), [addDays(NIGHT, -3), addDays(NIGHT, -2), NIGHT, NIGHT]);
    staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
  });
  afterAll(() => app?.close());

  it('first night: 30 days pulled, per owner one day a call and the corp by day; figures as WeCom (the sandbox) counts them', async () => {
    const out = await run();
    expect(out.status).toBe('done');
    expect(out.counts).toMatchObject({ groupPullDays: 30, groupPullFailed: 0 });
    // One by-day call for the ≤ 100 owners, and one per-owner call a day.
    expect(calls('statistic_group_by_day')).toHaveLength(1);
    expect(calls('statistic')).toHaveLength(30);
    expect(calls('statistic').every((c) => c.errcode === 0 && c.params.day_begin_time === c.params.day_end_time)).toBe(true);
    const [n] = await db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM group_stat_days');
    // 30 days × (the corp + zhangsan + lisi; every active member is asked, WeCom lists each with its figures).
    expect(Number(n!.n)).toBe(90);

    const talk = (chatId: string, day: string, members: number) => groupTalkOf(chatId, dayS(day), members);
    const oldTalk = talk('wrOld', YESTERDAY, 6);
    const newTalk = talk('wrNew', YESTERDAY, 2);
    expect(await row(YESTERDAY, 'zhangsan')).toEqual({
      new_chat_cnt: 1,
      chat_total: 2,
      chat_has_msg: (oldTalk.messages > 0 ? 1 : 0) + (newTalk.messages > 0 ? 1 : 0),
      new_member_cnt: 2 + 2,
      member_total: 6 + 2,
      member_has_msg: oldTalk.speakers + newTalk.speakers,
      msg_total: oldTalk.messages + newTalk.messages,
    });
    const lisiTalk = talk('wrLisi', YESTERDAY, 3);
    expect(await row(YESTERDAY, 'lisi')).toMatchObject({ new_chat_cnt: 0, chat_total: 1, new_member_cnt: 0, member_total: 3, msg_total: lisiTalk.messages });
    expect(await row(addDays(NIGHT, -3), 'lisi')).toMatchObject({ new_chat_cnt: 1, chat_total: 1, new_member_cnt: 2, member_total: 2 });
    // The corp's row is the owners' sum, from statistic_group_by_day.
    const z = (await row(YESTERDAY, 'zhangsan'))!;
    const l = (await row(YESTERDAY, 'lisi'))!;
    expect(await row(YESTERDAY, '')).toEqual(Object.fromEntries(Object.keys(z).map((k) => [k, z[k]! + l[k]!])));
  });

  it('the next night pulls the new day and re-pulls the 2 before it (the newest 3), and a re-pull replaces rows: nothing doubles', async () => {
    const before = await db.query('SELECT day, owner, new_chat_cnt, member_total, msg_total FROM group_stat_days ORDER BY day, owner');
    const n = calls('statistic').length;
    clock.set(zonedTimeToUtc(addDays(NIGHT, 1), '00:20', TZ));
    const out = await run();
    expect(out.counts).toMatchObject({ groupPullDays: 3, groupPullFailed: 0 });
    expect(calls('statistic').slice(n).map((c) => c.params.day_begin_time)).toEqual([dayS(addDays(NIGHT, -2)), dayS(YESTERDAY), dayS(NIGHT)]);
    const after = await db.query('SELECT day, owner, new_chat_cnt, member_total, msg_total FROM group_stat_days ORDER BY day, owner');
    // The days already stored are unchanged; the new day has its three rows (lisi's two joins of that day among them).
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after).toHaveLength(before.length + 3);
    expect(await row(NIGHT, 'lisi')).toMatchObject({ new_member_cnt: 2, member_total: 5 });
  });

  it('GET /api/v1/analytics/groups: per day and per week for the corp; a staff member sees only their own groups', async () => {
    const from = addDays(NIGHT, -6);
    const day = await get(`/api/v1/analytics/groups?from=${from}&to=${NIGHT}&granularity=day`);
    expect(day.status).toBe(200);
    expect(day.body).toMatchObject({ kind: 'pulled', unit: 'corp', from, to: NIGHT, lastPulledDay: NIGHT });
    const y = day.body.lines.find((x: { period: string }) => x.period === YESTERDAY);
    const corp = (await row(YESTERDAY, ''))!;
    expect(y).toEqual({ period: YESTERDAY, newGroups: 1, newMembers: corp.new_member_cnt, messages: corp.msg_total, activeGroups: corp.chat_has_msg, speakingMembers: corp.member_has_msg, groupTotal: 3, memberTotal: corp.member_total, asOf: YESTERDAY, days: 1 });
    expect(day.body.total).toMatchObject({ newGroups: 2, days: 7, groupTotal: 3, asOf: NIGHT });
    const week = await get(`/api/v1/analytics/groups?from=${from}&to=${NIGHT}&granularity=week`);
    expect(week.body.lines.reduce((s: number, l: { newMembers: number }) => s + l.newMembers, 0)).toBe(day.body.total.newMembers);
    // Members who spoke cannot be de-duplicated across days: a week shows its busiest day.
    for (const l of week.body.lines) expect(l.speakingMembers).toBe(Math.max(...day.body.lines.filter((d: { period: string }) => d.period >= l.period && d.period < addDays(l.period, 7)).map((d: { speakingMembers: number }) => d.speakingMembers)));
    const own = await get(`/api/v1/analytics/groups?from=${from}&to=${NIGHT}`, staffToken);
    expect(own.body).toMatchObject({ unit: 'owner', userid: 'lisi', scope: 'own' });
    // The owner joining their new group counts as a member who joined, as WeCom counts it.
    expect(own.body.total).toMatchObject({ newGroups: 1, newMembers: 5, groupTotal: 1, memberTotal: 5 });
    expect((await get('/api/v1/analytics/groups?userid=zhangsan', staffToken)).status).toBe(403);
    const csv = await fetch(`${app.url}/api/v1/analytics/groups?from=${from}&to=${NIGHT}&format=csv`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    const bytes = Buffer.from(await csv.arrayBuffer());
    // UTF-8 with a byte order mark, so Excel reads the Chinese headers.
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.subarray(3).toString('utf8').split('\r\n')[0]).toBe('周期,新增客户群,新增群成员,群消息数,有消息的群（单日最多）,发言成员（单日最多）,客户群总数,群成员总数,统计天数');
    const bad = await get('/api/v1/analytics/groups?granularity=year');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('粒度须为 day、week 或 month');
  });

  it('the sandbox plays WeCom\'s limits: over 30 days or 180 days back 600018, over 100 owners 40058, a stopped pull resumes', async () => {
    const sb = app.container.sandbox!;
    const token = (await sb.invoke('GET', 'gettoken', { corpid: sb.options.corp.corpId, corpsecret: sb.options.corp.secret })).body.access_token as string;
    const call = (api: string, body: Record<string, unknown>) => sb.invoke('POST', `externalcontact/groupchat/${api}`, { access_token: token }, body);
    const owners = { userid_list: ['zhangsan'] };
    expect((await call('statistic_group_by_day', { day_begin_time: dayS(addDays(NIGHT, -40)), day_end_time: dayS(addDays(NIGHT, -10)), owner_filter: owners })).body.errcode).toBe(600018);
    expect((await call('statistic_group_by_day', { day_begin_time: dayS(addDays(NIGHT, -39)), day_end_time: dayS(addDays(NIGHT, -10)), owner_filter: owners })).body.errcode).toBe(0);
    expect((await call('statistic', { day_begin_time: dayS(addDays(NIGHT, -190)), owner_filter: owners })).body.errcode).toBe(600018);
    const many = Array.from({ length: 101 }, (_, i) => `u${i}`);
    expect((await call('statistic', { day_begin_time: dayS(YESTERDAY), owner_filter: { userid_list: many } })).body.errcode).toBe(40058);
    // The by-owner form sums its range: new groups over two days, totals of the last.
    const two: any = (await call('statistic', { day_begin_time: dayS(addDays(NIGHT, -3)), day_end_time: dayS(YESTERDAY), owner_filter: { userid_list: ['zhangsan', 'lisi'] }, order_by: 2 })).body;
    expect(two.items.map((i: { owner: string; data: { new_chat_cnt: number; chat_total: number } }) => [i.owner, i.data.new_chat_cnt, i.data.chat_total])).toEqual([['zhangsan', 1, 2], ['lisi', 1, 1]]);

    // WeCom refuses the night's first call: nothing stored for it, the report says so, the next night resumes.
    await db.query("DELETE FROM group_stat_days WHERE day > ?", [addDays(NIGHT, -2)]);
    sb.injectFault({ api: 'externalcontact/groupchat/statistic_group_by_day', errcode: 48002, count: 1 });
    const failed = await run();
    expect(failed.status).toBe('done');
    expect(failed.counts).toMatchObject({ groupPullFailed: 1, groupPullDays: 0 });
    expect(failed.lines.join('\n')).toContain('企业微信群统计失败 pull failed\terrcode 48002');
    const again = await run();
    expect(again.counts).toMatchObject({ groupPullFailed: 0, groupPullDays: 3 });
    expect(await row(NIGHT, 'lisi')).toMatchObject({ member_total: 5 });
  });
});
