import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api, inboxIdle, waitFor } from '../helpers/app.js';
import { startArchiveApp, snapshotArchive, type ArchiveApp } from './customers.harness.js';

describe.each(testEngines())('customer archive against the sandbox (%s)', (engine) => {
  let app: ArchiveApp;
  const admins = ['sunqi'];

  beforeAll(async () => {
    app = await startArchiveApp(engine, { adminUserids: admins });
  });
  afterAll(async () => app?.close());

  const staffIds = () => [...app.sandbox.store.staff.keys()];
  const welcomes = () => app.sandbox.calls('externalcontact/send_welcome_msg').filter((c) => c.errcode === 0);

  /** Replay every inbox event of these kinds 3× and prove the archive did not change. */
  async function expectReplaysChangeNothing(kindPrefix: string): Promise<number> {
    const events = (await app.container.db.query<{ id: number | string }>('SELECT id FROM inbox_events WHERE kind LIKE ? ORDER BY id', [`${kindPrefix}%`])).map((r) => Number(r.id));
    expect(events.length).toBeGreaterThan(0);
    // Handling still under way (an earlier test's adds finish their archive work after their welcomes, in the
    // ordinary lane: docs/inbox.md §Deadline first) would change the archive between the two snapshots.
    await inboxIdle(app.container);
    const before = await snapshotArchive(app.container);
    const callsBefore = app.sandbox.calls().filter((c) => ['externalcontact/send_welcome_msg', 'message/send', 'externalcontact/mark_tag'].includes(c.api)).length;
    for (let i = 0; i < 3; i++) {
      for (const id of events) {
        await app.container.inbox.replay(id);
        await app.container.inboxProcessor.drain();
      }
    }
    const after = await snapshotArchive(app.container);
    // On a mismatch, name the tables that changed and their differing rows (the whole snapshot is too long for a diff).
    if (after !== before) {
      const [b, a] = [JSON.parse(before) as Record<string, unknown[]>, JSON.parse(after) as Record<string, unknown[]>];
      const changed = Object.keys(a).flatMap((t) => {
        const [bs, as] = [new Set(b[t].map((r) => JSON.stringify(r))), new Set(a[t].map((r) => JSON.stringify(r)))];
        const gone = [...bs].filter((r) => !as.has(r));
        const added = [...as].filter((r) => !bs.has(r));
        return gone.length + added.length > 0 ? [`${t}: -${JSON.stringify(gone.slice(0, 5))} +${JSON.stringify(added.slice(0, 5))}`] : [];
      });
      expect(changed).toEqual([]);
    }
    const failed = await app.container.db.query("SELECT id, error FROM inbox_events WHERE status = 'failed'");
    expect(failed).toEqual([]);
    // Nothing non-idempotent was repeated: no second welcome, alert or tag write.
    expect(app.sandbox.calls().filter((c) => ['externalcontact/send_welcome_msg', 'message/send', 'externalcontact/mark_tag'].includes(c.api)).length).toBe(callsBefore);
    return events.length;
  }

  it('a customer scanning a channel code gets profile, tags (WeCom and local), a rendered welcome and a timeline entry within 2 s', async () => {
    const [u1] = staffIds();
    const created = await api(app, 'POST', '/api/v1/channels', { name: '春季门店活动', staff: [u1], tags: ['渠道/门店海报', '春季活动'], welcome: { text: '{{name}}您好，我是{{staff}}，欢迎关注！' } });
    expect(created.status).toBe(201);
    expect(created.body.state.length).toBeLessThanOrEqual(30);
    expect(created.body.qrCode).toBeTruthy();
    const way = [...app.sandbox.store.contactWays.values()].find((w) => w.state === created.body.state)!;

    const t0 = Date.now();
    const added = await app.sandbox.addCustomer({ configId: way.configId, name: '李四' });
    await waitFor(() => welcomes().some((c) => JSON.stringify(c.params).includes(added.welcomeCode)), 2000, 'welcome message');
    const welcomeMs = Date.now() - t0;
    const archive = await waitFor(async () => {
      const r = await api(app, 'GET', `/api/v1/customers/${added.externalUserId}`);
      // The event's own timeline entry is written when its handling finishes, after the welcome's entry: wait for it.
      return r.status === 200 && r.body.tags.length >= 2 && r.body.timeline.some((e: { source: string }) => e.source === 'inbox') ? r.body : null;
    }, 2000, 'archive');
    expect(Date.now() - t0).toBeLessThan(2000);
    process.stdout.write(`[customers] callback → welcome ${welcomeMs} ms (${engine})\n`);

    expect(archive.name).toBe('李四');
    expect(archive.channel).toMatchObject({ id: created.body.id, name: '春季门店活动' });
    expect(archive.followUsers).toEqual([expect.objectContaining({ userid: u1, state: created.body.state, status: 'active' })]);
    expect(archive.tags.map((t: { name: string }) => t.name).sort()).toEqual(['春季活动', '门店海报']);
    expect(archive.tags.find((t: { name: string }) => t.name === '门店海报').group).toBe('渠道');
    expect(archive.timeline.some((e: { source: string }) => e.source === 'inbox')).toBe(true);
    const welcome = welcomes().find((c) => JSON.stringify(c.params).includes(added.welcomeCode))!;
    // {{staff}} is the member's WeCom name (user/get, read when the channel was created), not the userid.
    expect(app.sandbox.store.staff.get(u1)?.name).toBe('张三');
    expect(JSON.stringify(welcome.params)).toContain('李四您好，我是张三，欢迎关注！');
    const relation = app.sandbox.store.findRelation(u1, added.externalUserId)!;
    expect(relation.tagIds.sort()).toEqual(archive.tags.map((t: { id: string }) => t.id).sort());
    const stats = await api(app, 'GET', `/api/v1/channels/${created.body.id}`);
    expect(stats.body.stats).toEqual([expect.objectContaining({ adds: 1, deletes: 0, net: 1 })]);

    await expectReplaysChangeNothing('event/change_external_contact/add_external_contact');
  });

  it('50 customers adding at once all get their welcome; p99 callback → welcome is reported', async () => {
    const [, u2] = staffIds();
    const ch = await api(app, 'POST', '/api/v1/channels', { name: '并发测试', staff: [u2], tags: ['并发'], welcome: { text: '你好 {{name}}' } });
    const way = [...app.sandbox.store.contactWays.values()].find((w) => w.state === ch.body.state)!;
    // One watcher over the sandbox's own receipt times: 50 pollers each scanning the call log would steal the
    // event loop the bot and the sandbox share, and measure the test instead of the bot.
    const adds = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const t0 = Date.now();
        return { t0, ...(await app.sandbox.addCustomer({ configId: way.configId, name: `客户${i}` })) };
      }),
    );
    const receivedAt = await waitFor(() => {
      const at = new Map<string, number>();
      for (const c of welcomes()) at.set(String(c.params.welcome_code), c.at);
      return adds.every((a) => at.has(a.welcomeCode)) ? at : null;
    }, 10_000, 'all 50 welcomes');
    const latencies = adds.map((a) => receivedAt!.get(a.welcomeCode)! - a.t0);
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.ceil(latencies.length * 0.99) - 1];
    // Reported, not asserted: here the sandbox shares the bot's event loop and the suite runs other files in parallel.
    // The target (p99 < 1 s) is measured by `npm run bench -- welcome`, with WeCom in its own process.
    process.stdout.write(`[customers] 50 concurrent adds (in-process sandbox): p50 ${latencies[24]} ms, p99 ${p99} ms (${engine})\n`);
    expect(latencies).toHaveLength(50);
  });

  it('edits in the WeCom client are re-read (remark, tags), and replays change nothing', async () => {
    const [u1] = staffIds();
    const added = await app.sandbox.addCustomer({ userid: u1, name: '王五' });
    const someTag = [...app.sandbox.store.tagGroups.values()].flatMap((g) => g.tags).find((t) => !t.isDeleted)!;
    await waitFor(async () => (await api(app, 'GET', `/api/v1/customers/${added.externalUserId}`)).status === 200, 10_000, 'customer');
    await app.sandbox.editRelation({ userid: u1, externalUserId: added.externalUserId, addTags: [someTag.id], remark: '王总' });
    // Wait for the whole edit (remark and tag), then check both: under CI load a check on the remark alone once read
    // the customer before the tag showed (seen once on MySQL, not reproduced alone).
    const body = await waitFor(async () => {
      const r = await api(app, 'GET', `/api/v1/customers/${added.externalUserId}`);
      const isApplied = r.body.followUsers?.[0]?.remark === '王总' && (r.body.tags ?? []).some((t: { id: string }) => t.id === someTag.id);
      return isApplied ? r.body : null;
    }, 10_000, 'edit applied (remark and tag)');
    expect(body.followUsers[0].remark).toBe('王总');
    expect(body.tags.map((t: { id: string }) => t.id)).toContain(someTag.id);
    await expectReplaysChangeNothing('event/change_external_contact/edit_external_contact');
  });

  it('churn: customer deletes staff → relation marked, churned, alert to the staff member and admins; staff delete alerts admins; transfer is not a loss', async () => {
    const [u1, u2, u3] = staffIds();
    const a = await app.sandbox.addCustomer({ userid: u1, name: '赵六' });
    const b = await app.sandbox.addCustomer({ userid: u2, name: '钱七' });
    const t = await app.sandbox.addCustomer({ userid: u3, name: '孙八' });
    for (const x of [a, b, t]) await waitFor(async () => (await api(app, 'GET', `/api/v1/customers/${x.externalUserId}`)).status === 200, 10_000, 'customer');
    await app.archive.staff.ensureNames([u1, u2, u3]);
    app.sandbox.clearCalls();

    await app.sandbox.customerDeletesStaff({ userid: u1, externalUserId: a.externalUserId });
    await app.sandbox.staffDeletesCustomer({ userid: u2, externalUserId: b.externalUserId });
    await app.sandbox.staffDeletesCustomer({ userid: u3, externalUserId: t.externalUserId, source: 'DELETE_BY_TRANSFER' });
    const sends = await waitFor(() => (app.sandbox.calls('message/send').filter((c) => c.errcode === 0).length >= 2 ? app.sandbox.calls('message/send') : null), 10_000, 'alerts');
    await app.container.inboxProcessor.drain();
    const recipients = sends!.map((c) => String((c.params as { touser?: string }).touser).split('|').sort());
    expect(recipients).toEqual(expect.arrayContaining([[u1, ...admins].sort(), admins]));
    expect(sends!).toHaveLength(2);
    expect(JSON.stringify(sends!.map((s) => s.params))).toContain('赵六');
    // The alert names the staff member as people know them, with the userid to find them by.
    const u1Name = app.sandbox.store.staff.get(u1)!.name;
    expect(JSON.stringify(sends!.map((s) => s.params))).toContain(`删除了员工 ${u1Name}（${u1}）`);

    const ca = (await api(app, 'GET', `/api/v1/customers/${a.externalUserId}`)).body;
    expect(ca.followUsers[0].status).toBe('deleted_by_customer');
    expect(ca.activity).toBe('churned');
    expect(ca.timeline.map((e: { kind: string }) => e.kind)).toContain('event/change_external_contact/del_follow_user');
    expect((await api(app, 'GET', `/api/v1/customers/${b.externalUserId}`)).body.followUsers[0].status).toBe('deleted_by_staff');
    expect((await api(app, 'GET', `/api/v1/customers/${t.externalUserId}`)).body.followUsers[0].status).toBe('transferred');

    await expectReplaysChangeNothing('event/change_external_contact/del_');
  });

  it('tag library events (create, update, delete of tags and groups) are applied and replay-safe', async () => {
    const created = await app.sandbox.changeTag({ action: 'create', groupName: '会员等级', names: ['金卡', '银卡'] });
    const lib = await waitFor(async () => {
      const r = await api(app, 'GET', '/api/v1/tags');
      const g = r.body.items.find((x: { name: string }) => x.name === '会员等级');
      return g && g.tags.length === 2 ? r.body : null;
    }, 10_000, 'tags created');
    const group = lib.items.find((x: { name: string }) => x.name === '会员等级');
    const silver = group.tags.find((t: { name: string }) => t.name === '银卡');
    await app.sandbox.changeTag({ action: 'update', id: silver.id, name: '白银卡' });
    await app.sandbox.changeTag({ action: 'delete', id: created.ids.find((id) => id !== group.id && id !== silver.id)! });
    await waitFor(async () => {
      const g = (await api(app, 'GET', '/api/v1/tags')).body.items.find((x: { name: string }) => x.name === '会员等级');
      return g && g.tags.length === 1 && g.tags[0].name === '白银卡';
    }, 10_000, 'tag update + delete');
    await app.sandbox.changeTag({ action: 'delete', id: group.id });
    await waitFor(async () => !(await api(app, 'GET', '/api/v1/tags')).body.items.some((x: { name: string }) => x.name === '会员等级'), 10_000, 'group delete');
    await expectReplaysChangeNothing('event/change_external_tag/');
  });

  it('KF messages are pulled with a persisted cursor, land on the timeline and run keyword rules (价格 → 意向:询价)', async () => {
    const first = await app.sandbox.sendKfMessage({ openKfId: 'wkSandboxKf01', text: '你好，请问这个多少钱？' });
    await waitFor(async () => (await api(app, 'GET', `/api/v1/customers/${first.externalUserId}`)).body?.tags?.some((t: { name: string; group: string }) => t.name === '询价' && t.group === '意向'), 10_000, 'keyword tag');
    await app.sandbox.sendKfMessage({ openKfId: 'wkSandboxKf01', externalUserId: first.externalUserId, text: '我要退货' });
    const body = await waitFor(async () => {
      const r = await api(app, 'GET', `/api/v1/customers/${first.externalUserId}`);
      // Keyword rules run after the message is on the timeline, so wait for both.
      return r.body.timeline.filter((e: { source: string }) => e.source === 'kf').length === 2 && r.body.tags.length === 2 ? r.body : null;
    }, 10_000, 'second kf message');
    expect(body.tags.map((t: { name: string }) => t.name).sort()).toEqual(['售后', '询价']);
    const cursor = await app.container.db.query<{ cursor: string }>('SELECT `cursor` FROM kf_cursors WHERE open_kfid = ?', ['wkSandboxKf01']);
    expect(cursor[0].cursor).not.toBe('');
    await expectReplaysChangeNothing('event/kf_msg_or_event');
  });

  it('退订 in WeChat-KF opts the customer out of marketing (a question about 退订 does not); staff can record and withdraw it', async () => {
    const asks = await app.sandbox.sendKfMessage({ openKfId: 'wkSandboxKf01', text: '请问怎么退订会员卡？' });
    const archive = async () => (await api(app, 'GET', `/api/v1/customers/${asks.externalUserId}`)).body;
    await waitFor(async () => (await archive())?.timeline?.some((e: { source: string }) => e.source === 'kf'), 10_000, 'first kf message');
    expect((await archive()).optedOut).toBe(false);

    await app.sandbox.sendKfMessage({ openKfId: 'wkSandboxKf01', externalUserId: asks.externalUserId, text: '退订' });
    const out = await waitFor(async () => ((await archive()).optedOut ? archive() : null), 10_000, 'opt-out');
    expect(out.timeline.filter((e: { kind: string }) => e.kind === 'consent').map((e: { summary: string }) => e.summary)).toEqual(['退订营销消息（客户在微信客服中发送退订）']);
    await expectReplaysChangeNothing('event/kf_msg_or_event');

    // A staff member records that the customer wants messages again, and the archive shows who did it.
    const back = await api(app, 'PATCH', `/api/v1/customers/${asks.externalUserId}`, { optedOut: false });
    expect(back.status).toBe(200);
    expect(back.body.optedOut).toBe(false);
    expect(back.body.timeline.filter((e: { kind: string }) => e.kind === 'consent')).toHaveLength(2);
    const raw = await app.container.db.query<{ opted_out: number | string }>('SELECT opted_out FROM customers WHERE external_user_id = ?', [asks.externalUserId]);
    expect(Number(raw[0].opted_out)).toBe(0);
  });

  /** A customer added by the first two staff members, once the archive shows both owners. */
  const customerOfTwo = async (name: string) => {
    const [u1, u2] = staffIds();
    const c = await app.sandbox.addCustomer({ userid: u1, name });
    await app.sandbox.addCustomer({ userid: u2, externalUserId: c.externalUserId });
    await waitFor(async () => (await api(app, 'GET', `/api/v1/customers/${c.externalUserId}`)).body?.owners?.length === 2, 10_000, 'two owners');
    // The adds' archive work goes on after the owners show (docs/inbox.md §Deadline first); a test that writes rows
    // itself would otherwise race it (on MySQL a deadlock, seen in CI).
    await inboxIdle(app.container);
    return { c, u1, u2 };
  };

  it('manual tags change WeCom and local; phone is encrypted at rest and shown only to admins', async () => {
    const { c, u1, u2 } = await customerOfTwo('周九');

    const tagged = await api(app, 'POST', `/api/v1/customers/${c.externalUserId}/tags`, { add: ['客户等级/VIP'], remove: [] });
    expect(tagged.status).toBe(200);
    const vip = tagged.body.tags.find((t: { name: string }) => t.name === 'VIP');
    expect(app.sandbox.store.findRelation(u1, c.externalUserId)!.tagIds).toContain(vip.id);
    expect(app.sandbox.store.findRelation(u2, c.externalUserId)!.tagIds).toContain(vip.id);
    const removed = await api(app, 'POST', `/api/v1/customers/${c.externalUserId}/tags`, { add: [], remove: ['VIP'] });
    expect(removed.body.tags.some((t: { name: string }) => t.name === 'VIP')).toBe(false);
    expect(app.sandbox.store.findRelation(u1, c.externalUserId)!.tagIds).not.toContain(vip.id);

    const patched = await api(app, 'PATCH', `/api/v1/customers/${c.externalUserId}`, { phone: '13800138000', birthday: { calendar: 'lunar', month: 8, day: 15 }, note: '喜欢绿茶' });
    expect(patched.status).toBe(200);
    expect(patched.body.phone).toBe('13800138000');
    expect(patched.body.birthday).toMatchObject({ calendar: 'lunar', month: 8, day: 15 });
    const raw = await app.archive.repos.customers.rawRow(c.externalUserId);
    expect(String(raw!.phone_enc)).toMatch(/^v2:[0-9a-f]{8}:/);
    expect(String(raw!.phone_enc)).not.toContain('13800138000');
    expect(String(raw!.phone_index)).not.toContain('138');
    const search = await api(app, 'GET', '/api/v1/customers?q=13800138000');
    expect(search.body.items.map((i: { externalUserId: string }) => i.externalUserId)).toEqual([c.externalUserId]);

    const staffToken = (await app.container.tokens.create({ role: 'staff', userid: u1 })).token;
    const asStaff = await api(app, 'GET', `/api/v1/customers/${c.externalUserId}`, undefined, staffToken);
    expect(asStaff.body.phone).toBe('138****8000');
    const other = await app.sandbox.addCustomer({ userid: u2, name: '吴十' });
    await waitFor(async () => (await api(app, 'GET', `/api/v1/customers/${other.externalUserId}`)).status === 200, 10_000, 'other');
    expect((await api(app, 'GET', `/api/v1/customers/${other.externalUserId}`, undefined, staffToken)).status).toBe(404);
    const list = await api(app, 'GET', '/api/v1/customers?pageSize=500', undefined, staffToken);
    expect(list.body.items.every((i: { owners: string[] }) => i.owners.includes(u1))).toBe(true);

    const preview = await api(app, 'POST', '/api/v1/audiences/preview', { audience: `owner:${u1} AND owner:${u2}` });
    expect(preview.body.count).toBe(1);
    expect(preview.body.byStaff).toEqual(expect.arrayContaining([{ userid: u1, count: 1 }, { userid: u2, count: 1 }]));
    expect((await api(app, 'POST', '/api/v1/audiences/preview', { audience: 'tag:(' })).status).toBe(400);
  });

  it('a tag removed by hand leaves every relation in WeCom, also one whose local rows were written from an older read', async () => {
    // docs/tags.md §Removing a tag by hand. An add's archive write makes each relation's WeCom tags what the add's
    // read showed; a tag marked in between is then missing from the local rows of the other relation.
    const { c, u1, u2 } = await customerOfTwo('郑十一');
    const tagged = await api(app, 'POST', `/api/v1/customers/${c.externalUserId}/tags`, { add: ['客户等级/VIP'], remove: [] });
    const vip = tagged.body.tags.find((t: { name: string }) => t.name === 'VIP');
    expect(app.sandbox.store.findRelation(u1, c.externalUserId)!.tagIds).toContain(vip.id);
    // What the stale archive write leaves: u1's relation without the tag locally, while WeCom has it.
    await app.container.db.query("DELETE FROM customer_tags WHERE external_user_id = ? AND userid = ? AND source = 'wecom'", [c.externalUserId, u1]);
    const removed = await api(app, 'POST', `/api/v1/customers/${c.externalUserId}/tags`, { add: [], remove: ['VIP'] });
    expect(removed.status).toBe(200);
    expect(app.sandbox.store.findRelation(u1, c.externalUserId)!.tagIds).not.toContain(vip.id);
    expect(app.sandbox.store.findRelation(u2, c.externalUserId)!.tagIds).not.toContain(vip.id);
    expect(removed.body.tags.some((t: { name: string }) => t.name === 'VIP')).toBe(false);
  });

  describe('replaying the remaining handlers 3× changes nothing', () => {
    const envelope = (body: string) =>
      `<xml><ToUserName><![CDATA[${app.sandbox.options.corp.corpId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
      `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType>${body}</xml>`;
    const processed = (kind: string) =>
      waitFor(async () => {
        const rows = await app.container.db.query<{ status: string }>('SELECT status FROM inbox_events WHERE kind = ?', [kind]);
        return rows.length > 0 && rows.every((r) => r.status === 'done');
      }, 10_000, kind);

    it('change_external_chat re-reads the group into its member list', async () => {
      const [chatId] = [...app.sandbox.store.groupChats.keys()];
      const delivered = await app.sandbox.deliverCallback(
        envelope(`<Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[${chatId}]]></ChatId><ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>3</JoinScene><MemChangeCnt>1</MemChangeCnt>`),
      );
      expect(delivered.status).toBe('delivered');
      await processed('event/change_external_chat/update');
      const members = await app.container.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM group_memberships WHERE chat_id = ? AND current_mark = 1', [chatId]);
      expect(Number(members[0].n)).toBe(app.sandbox.store.groupChats.get(chatId)!.members.length);
      await expectReplaysChangeNothing('event/change_external_chat');
    });

    it('transfer_fail is recorded on the timeline', async () => {
      const added = await app.sandbox.addCustomer({ userid: staffIds()[0], name: '转接失败' });
      await waitFor(async () => (await api(app, 'GET', `/api/v1/customers/${added.externalUserId}`)).status === 200, 10_000, 'customer');
      await app.sandbox.deliverCallback(
        envelope(
          `<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[transfer_fail]]></ChangeType><FailReason><![CDATA[customer_refused]]></FailReason>` +
            `<UserID><![CDATA[${staffIds()[0]}]]></UserID><ExternalUserID><![CDATA[${added.externalUserId}]]></ExternalUserID>`,
        ),
      );
      await processed('event/change_external_contact/transfer_fail');
      const { body } = await api(app, 'GET', `/api/v1/customers/${added.externalUserId}`);
      expect(body.timeline.some((e: { kind: string }) => e.kind.includes('transfer_fail'))).toBe(true);
      await expectReplaysChangeNothing('event/change_external_contact/transfer_fail');
    });

    it('an app text message from a customer applies keyword rules', async () => {
      const added = await app.sandbox.addCustomer({ userid: staffIds()[0], name: '应用消息客户' });
      await waitFor(async () => (await api(app, 'GET', `/api/v1/customers/${added.externalUserId}`)).status === 200, 10_000, 'customer');
      const delivered = await app.sandbox.deliverCallback(
        `<xml><ToUserName><![CDATA[${app.sandbox.options.corp.corpId}]]></ToUserName><FromUserName><![CDATA[${added.externalUserId}]]></FromUserName>` +
          `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[请问这个多少钱？]]></Content>` +
          `<MsgId>9007199254740993123</MsgId><AgentID>1000002</AgentID></xml>`,
      );
      expect(delivered.status).toBe('delivered');
      await processed('text');
      const { body } = await api(app, 'GET', `/api/v1/customers/${added.externalUserId}`);
      expect(body.tags.some((t: { name: string; group: string }) => t.name === '询价' && t.group === '意向')).toBe(true);
      await expectReplaysChangeNothing('text');
    });
  });
});
