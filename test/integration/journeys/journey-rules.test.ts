import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { addSandboxCustomer, insertRelation, insertStaff } from '../../fixtures/scheduling.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * What a journey's members go through (docs/journeys.md §Exits, §Versions, §Entering, §Stats): exits against the
 * customer's state when a step falls due, following a transferred customer, the holdout, versions and migration,
 * re-entry, and a wait step's timeout. Over the API, against real databases.
 */
describe.each(testEngines())('journey rules on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-08-03T11:00:00'));
  const db = () => app.container.db;
  const tick = () => app.container.scheduling.journeys!.tick(clock.now());
  const create = async (body: Record<string, unknown>) => {
    const res = await api(app, 'POST', '/api/v1/journeys', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect((await api(app, 'POST', `/api/v1/journeys/${res.body.id}/status`, { status: 'active' })).status).toBe(200);
    return res.body.id as string;
  };
  const message = (title: string, minutes: number, text = title) => ({ kind: 'message', title, delay: { kind: 'after', minutes }, text });
  const members = async (id: string) => (await api(app, 'GET', `/api/v1/journeys/${id}/members?pageSize=100`)).body.items as any[];
  const ledger = (id: string) => db().query<{ external_user_id: string; status: string; reason: string | null; sender_userid: string }>('SELECT external_user_id, status, reason, sender_userid FROM deliveries WHERE source = ? ORDER BY id', [`journey:${id}`]);

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    await insertStaff(app.container.db, 'lisi', '李四');
  });
  afterAll(() => app?.close());

  it('exits by the customer’s state when a step is due, and follows a transferred customer or stops, per journey', async () => {
    clock.set(sh('2026-08-03T11:00:00'));
    const stop = await create({ name: '转接即停', transferPolicy: 'stop', definition: { trigger: { kind: 'manual' }, steps: [message('问候', 60)], exits: { ordered: true, replied: true, tagRemoved: ['etVIP'] } } });
    const follow = await create({ name: '转接跟随', transferPolicy: 'follow', definition: { trigger: { kind: 'manual' }, steps: [message('问候', 60)] } });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await addSandboxCustomer(app.container, 'zhangsan', { name: `规则客户${i}` }));
    const [opted, gone, moved, untagged, ordered, stays] = ids;
    for (const ext of ids) await db().query("INSERT INTO customer_tags (external_user_id, tag_id, userid, source, rule_id, created_at) VALUES (?, 'etVIP', '', 'manual', NULL, 0)", [ext]);
    expect((await api(app, 'POST', `/api/v1/journeys/${stop}/enrol`, { externalUserIds: ids })).body).toMatchObject({ entered: 6 });
    expect((await api(app, 'POST', `/api/v1/journeys/${follow}/enrol`, { externalUserIds: [moved] })).body).toMatchObject({ entered: 1 });

    // Meanwhile: one opts out, one deletes the owner, one is transferred to 李四, one loses the VIP tag, one orders.
    await db().query('UPDATE customers SET opted_out = 1 WHERE external_user_id = ?', [opted]);
    await db().query("UPDATE follow_relations SET status = 'deleted_by_customer' WHERE external_user_id = ?", [gone]);
    await db().query("UPDATE follow_relations SET status = 'transferred' WHERE external_user_id = ?", [moved]);
    await insertRelation(db(), 'lisi', moved, clock.now());
    await db().query("DELETE FROM customer_tags WHERE external_user_id = ? AND tag_id = 'etVIP'", [untagged]);
    clock.set(sh('2026-08-03T11:30:00'));
    expect((await api(app, 'POST', '/api/v1/orders/import', { orders: [{ orderNo: `R-${engine}-1`, externalUserId: ordered, amount: '10', orderedAt: '2026-08-03 11:30' }] })).status).toBe(200);

    clock.set(sh('2026-08-03T12:01:00'));
    const counts = await tick();
    expect(counts.exited).toBe(5);
    const byExt = new Map((await members(stop)).map((m) => [m.externalUserId, m]));
    expect(byExt.get(opted)).toMatchObject({ status: 'exited', exitReason: 'opted_out', exitWords: '客户已退订' });
    expect(byExt.get(gone)).toMatchObject({ status: 'exited', exitReason: 'relation_deleted' });
    expect(byExt.get(moved)).toMatchObject({ status: 'exited', exitReason: 'transferred' });
    expect(byExt.get(untagged)).toMatchObject({ status: 'exited', exitReason: 'tag_removed' });
    expect(byExt.get(ordered)).toMatchObject({ status: 'exited', exitReason: 'ordered' });
    expect(byExt.get(stays)).toMatchObject({ status: 'completed' });
    expect((await ledger(stop)).map((r) => r.external_user_id)).toEqual([stays]);
    // The journey that follows transfers sent its step from the new owner.
    expect((await members(follow))[0]).toMatchObject({ status: 'completed', ownerUserid: 'lisi' });
    expect(await ledger(follow)).toMatchObject([{ external_user_id: moved, sender_userid: 'lisi' }]);
    const stats = (await api(app, 'GET', `/api/v1/journeys/${stop}/stats`)).body;
    expect(stats.exitReasons).toEqual({ opted_out: 1, relation_deleted: 1, transferred: 1, tag_removed: 1, ordered: 1 });
    expect(stats.treated).toMatchObject({ entered: 6, completed: 1, exited: 5, converted: 1 });
    // The list answers the same counts for every journey in one request (the console's 客户旅程 list).
    const listed = (await api(app, 'GET', '/api/v1/journeys')).body.items as { id: string; counts: object }[];
    expect(listed.find((j) => j.id === stop)?.counts).toEqual({ entered: 6, active: 0, converted: 1 });
    expect(listed.find((j) => j.id === follow)?.counts).toEqual({ entered: (await members(follow)).length, active: 0, converted: 0 });
  });

  it('an open staff task follows a transferred customer to the new owner, or is withdrawn when the journey stops', async () => {
    clock.set(sh('2026-08-05T11:00:00'));
    const steps = [{ kind: 'task', title: '转接问候', delay: { kind: 'after', minutes: 0 }, text: '您好', dueHours: 4 }, message('后续', 60)];
    const follow = await create({ name: '任务跟随', transferPolicy: 'follow', definition: { trigger: { kind: 'manual' }, steps } });
    const stop = await create({ name: '任务停止', transferPolicy: 'stop', definition: { trigger: { kind: 'manual' }, steps } });
    const a = await addSandboxCustomer(app.container, 'zhangsan', { name: '跟随客户' });
    const b = await addSandboxCustomer(app.container, 'zhangsan', { name: '停止客户' });
    await api(app, 'POST', `/api/v1/journeys/${follow}/enrol`, { externalUserIds: [a] });
    await api(app, 'POST', `/api/v1/journeys/${stop}/enrol`, { externalUserIds: [b] });
    expect(await tick()).toMatchObject({ tasks: 2 });
    const zhangsan = await app.container.tokens.create({ name: 'zs-transfer', role: 'staff', userid: 'zhangsan' });
    const lisi = await app.container.tokens.create({ name: 'ls-transfer', role: 'staff', userid: 'lisi' });
    const today = async (token: string) =>
      ((await api(app, 'GET', '/api/v1/todo/today', undefined, token)).body.items as any[]).filter((x) => x.title === '转接问候').map((x) => x.externalUserId);
    expect((await today(zhangsan.token)).sort()).toEqual([a, b].sort());

    for (const ext of [a, b]) {
      await db().query("UPDATE follow_relations SET status = 'transferred' WHERE external_user_id = ?", [ext]);
      await insertRelation(db(), 'lisi', ext, clock.now());
    }
    clock.set(sh('2026-08-05T12:01:00'));
    await tick();
    expect(await today(zhangsan.token)).toEqual([]);
    expect(await today(lisi.token)).toEqual([a]);
    const tasks = await db().query<{ external_user_id: string; userid: string; status: string; skip_reason: string | null }>(
      "SELECT external_user_id, userid, status, skip_reason FROM staff_tasks WHERE title = '转接问候' ORDER BY external_user_id",
    );
    expect(new Map(tasks.map((t) => [t.external_user_id, t]))).toEqual(
      new Map([
        [a, { external_user_id: a, userid: 'lisi', status: 'open', skip_reason: null }],
        [b, { external_user_id: b, userid: 'zhangsan', status: 'withdrawn', skip_reason: '客户已退出旅程（已转接）' }],
      ]),
    );
  });

  it('holds out the drawn share: their message rows are skipped with reason holdout, and stats compare the groups', async () => {
    clock.set(sh('2026-08-04T11:00:00'));
    const id = await create({ name: '对照组', holdoutPercent: 50, definition: { trigger: { kind: 'manual' }, steps: [message('问候', 0)] } });
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push(await addSandboxCustomer(app.container, 'zhangsan', { name: `对照客户${i}` }));
    await api(app, 'POST', `/api/v1/journeys/${id}/enrol`, { externalUserIds: ids });
    await tick();
    const ms = await members(id);
    const held = new Set(ms.filter((m) => m.isHoldout).map((m) => m.externalUserId));
    expect(held.size).toBeGreaterThan(0);
    expect(held.size).toBeLessThan(16);
    const rows = await ledger(id);
    expect(rows).toHaveLength(16);
    for (const r of rows) {
      if (held.has(r.external_user_id)) expect(r).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^holdout/) });
      else expect(r.status).not.toBe('skipped');
    }
    const stats = (await api(app, 'GET', `/api/v1/journeys/${id}/stats`)).body;
    expect(stats.holdout.entered).toBe(held.size);
    expect(stats.treated.entered).toBe(16 - held.size);
    // The list leaves the holdout out too.
    const listed = (await api(app, 'GET', '/api/v1/journeys')).body.items as { id: string; counts: object }[];
    expect(listed.find((j) => j.id === id)?.counts).toEqual({ entered: 16 - held.size, active: stats.treated.active, converted: stats.treated.converted });
    expect(stats.steps[0]).toMatchObject({ reached: 16, skipped: held.size });
  });

  it('an edit makes a new version; members stay on theirs until migrated; re-entry follows the policy', async () => {
    clock.set(sh('2026-08-05T11:00:00'));
    const id = await create({ name: '版本', reentry: 'after_days', reentryDays: 2, definition: { trigger: { kind: 'manual' }, steps: [message('一', 10), message('二', 10)] } });
    const [a, b, c] = [await addSandboxCustomer(app.container, 'zhangsan', { name: '版本甲' }), await addSandboxCustomer(app.container, 'zhangsan', { name: '版本乙' }), await addSandboxCustomer(app.container, 'zhangsan', { name: '版本丙' })];
    await api(app, 'POST', `/api/v1/journeys/${id}/enrol`, { externalUserIds: [a, c] });
    const edit = await api(app, 'PATCH', `/api/v1/journeys/${id}`, { definition: { trigger: { kind: 'manual' }, steps: [message('一', 10), message('二', 10), message('三', 10)] } });
    expect(edit.body).toMatchObject({ currentVersion: 2, newVersion: 2 });
    await api(app, 'POST', `/api/v1/journeys/${id}/enrol`, { externalUserIds: [b] });
    const versions = new Map((await members(id)).map((m) => [m.externalUserId, m.version]));
    expect([versions.get(a), versions.get(b), versions.get(c)]).toEqual([1, 2, 1]);
    // c is moved to version 2 by an operator; a finishes on version 1.
    const cm = (await members(id)).find((m) => m.externalUserId === c);
    expect((await api(app, 'POST', `/api/v1/journeys/${id}/migrate`, { membershipIds: [cm.id] })).body).toEqual({ moved: 1, version: 2 });
    for (const at of ['11:11', '11:22', '11:33', '11:44']) {
      clock.set(sh(`2026-08-05T${at}:00`));
      await tick();
    }
    const done = new Map((await members(id)).map((m) => [m.externalUserId, m]));
    expect(done.get(a)).toMatchObject({ status: 'completed', currentStep: 2 });
    expect(done.get(b)).toMatchObject({ status: 'completed', currentStep: 3 });
    expect(done.get(c)).toMatchObject({ status: 'completed', currentStep: 3 });
    expect((await api(app, 'GET', `/api/v1/journeys/${id}`)).body.versions.map((v: any) => v.version)).toEqual([1, 2]);

    // Re-entry after 2 days: not the next day, then a second entry.
    clock.set(sh('2026-08-06T12:00:00'));
    expect((await api(app, 'POST', `/api/v1/journeys/${id}/enrol`, { externalUserIds: [a] })).body).toMatchObject({ entered: 0, already: 1 });
    clock.set(sh('2026-08-07T12:00:00'));
    expect((await api(app, 'POST', `/api/v1/journeys/${id}/enrol`, { externalUserIds: [a] })).body).toMatchObject({ entered: 1 });
    expect((await members(id)).filter((m) => m.externalUserId === a).map((m) => m.entryNumber).sort()).toEqual([1, 2]);
    // A bad edit is refused in zh-CN; an archived journey cannot be edited.
    const bad = await api(app, 'PATCH', `/api/v1/journeys/${id}`, { holdoutPercent: 80 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('对照组比例须为 0–50');
    expect((await api(app, 'POST', `/api/v1/journeys/${id}/status`, { status: 'archived' })).body).toMatchObject({ statusWords: '已归档' });
    expect((await members(id)).find((m) => m.externalUserId === a && m.entryNumber === 2)).toMatchObject({ status: 'exited', exitReason: 'journey_archived' });
    expect((await api(app, 'PATCH', `/api/v1/journeys/${id}`, { name: '改名' })).status).toBe(409);
  });

  it('a wait step holds members until their condition, and its timeout continues or exits', async () => {
    clock.set(sh('2026-08-10T11:00:00'));
    const wait = (onTimeout: string) => ({ kind: 'wait', title: '等打标签', delay: { kind: 'after', minutes: 0 }, until: { kind: 'has_tag', tagId: 'etDone' }, timeoutHours: 24, onTimeout });
    const cont = await create({ name: '等待继续', definition: { trigger: { kind: 'manual' }, steps: [wait('continue'), message('之后', 0)] } });
    const exit = await create({ name: '等待退出', definition: { trigger: { kind: 'manual' }, steps: [wait('exit'), message('之后', 0)] } });
    const [x, y, z] = [await addSandboxCustomer(app.container, 'zhangsan', { name: '等待甲' }), await addSandboxCustomer(app.container, 'zhangsan', { name: '等待乙' }), await addSandboxCustomer(app.container, 'zhangsan', { name: '等待丙' })];
    await api(app, 'POST', `/api/v1/journeys/${cont}/enrol`, { externalUserIds: [x, y] });
    await api(app, 'POST', `/api/v1/journeys/${exit}/enrol`, { externalUserIds: [z] });
    await tick();
    expect((await members(cont)).every((m) => m.status === 'active' && m.currentStep === 0)).toBe(true);
    // x gets the tag: at the next check they go on.
    await db().query("INSERT INTO customer_tags (external_user_id, tag_id, userid, source, rule_id, created_at) VALUES (?, 'etDone', '', 'manual', NULL, 0)", [x]);
    clock.set(sh('2026-08-10T11:16:00'));
    await tick();
    expect((await members(cont)).find((m) => m.externalUserId === x)).toMatchObject({ status: 'active', currentStep: 1 });
    // The step after it (no delay) goes the next minute.
    clock.set(sh('2026-08-10T11:17:00'));
    await tick();
    expect((await members(cont)).find((m) => m.externalUserId === x)).toMatchObject({ status: 'completed' });
    expect((await members(cont)).find((m) => m.externalUserId === y)).toMatchObject({ status: 'active', currentStep: 0 });
    // 24 hours later: y goes on (timeout: continue), z leaves (timeout: exit).
    clock.set(sh('2026-08-11T11:01:00'));
    await tick();
    await tick();
    expect((await members(cont)).find((m) => m.externalUserId === y)).toMatchObject({ status: 'completed' });
    expect((await members(exit))[0]).toMatchObject({ status: 'exited', exitReason: 'wait_timeout', exitWords: '等待超时' });
    const ystats = (await api(app, 'GET', `/api/v1/journeys/${cont}/stats`)).body;
    expect(ystats.steps[0]).toMatchObject({ done: 1, skipped: 1 });
  });

  it('message steps take 素材库 items: their text (with the member’s variables) and attachments; unknown items are refused when saved', async () => {
    clock.set(sh('2026-08-12T11:00:00'));
    const text = await api(app, 'POST', '/api/v1/content', { kind: 'text', title: '新客券话术', text: '{{name}}，送您新客券一张' });
    const link = await api(app, 'POST', '/api/v1/content', { kind: 'link', title: '会员权益', text: '查看权益', url: 'https://shop.example.com/vip' });
    expect([text.status, link.status], JSON.stringify(link.body)).toEqual([201, 201]);
    const bad = await api(app, 'POST', '/api/v1/journeys', { name: '坏素材', definition: { trigger: { kind: 'manual' }, steps: [{ ...message('券', 0, '您好'), contentIds: ['no-such-item'] }] } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('素材不存在或已删除');
    const id = await create({ name: '素材旅程', definition: { trigger: { kind: 'manual' }, steps: [{ ...message('券', 0, '{{staff}}为您准备了：'), contentIds: [text.body.id, link.body.id] }] } });
    const ext = await addSandboxCustomer(app.container, 'zhangsan', { name: '素材客户' });
    await api(app, 'POST', `/api/v1/journeys/${id}/enrol`, { externalUserIds: [ext] });
    await tick();
    const [row] = await db().query<{ text: string; attachments: string }>('SELECT text, attachments FROM deliveries WHERE source = ?', [`journey:${id}`]);
    expect(row.text).toBe('张三为您准备了：\n\n素材客户，送您新客券一张');
    expect(JSON.stringify(JSON.parse(row.attachments))).toContain('https://shop.example.com/vip');
  });
});
