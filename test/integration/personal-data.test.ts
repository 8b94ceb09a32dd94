import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';
import { normalizePhone } from '../../src/shared/phone.js';
import { buildScheduling } from '../../src/container.js';
import { KF_REDACTED_SUMMARY } from '../../src/persistence/repositories/retention.repository.js';
import type { Db } from '../../src/persistence/db.js';
import type { Container } from '../../src/container.js';

const sh = (local: string) => new Date(`${local}+08:00`);
const DAY = 86_400_000;

/** Every table of the test database except TypeORM's own bookkeeping. */
async function tables(db: Db): Promise<string[]> {
  const rows =
    db.engine === 'mysql'
      ? await db.query<{ name: string }>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()')
      : await db.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  return rows.map((r) => r.name).filter((n) => n !== 'migrations' && n !== 'typeorm_metadata');
}

/** Where any needle occurs in any row of any table (and inside every still-encrypted inbox payload). */
async function scan(c: Container, needles: string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const t of await tables(c.db)) {
    for (const row of await c.db.query(`SELECT * FROM ${t}`)) {
      const text = JSON.stringify(row);
      for (const n of needles) if (text.includes(n)) hits.push(`${t}: ${n} in ${text.slice(0, 200)}`);
    }
  }
  for (const r of await c.db.query<{ id: number; dedupe_key: string; payload: string }>("SELECT id, dedupe_key, payload FROM inbox_events WHERE payload <> ''")) {
    const plain = c.cipher.decrypt(r.payload, `inbox_events.payload|${r.dedupe_key}`);
    for (const n of needles) if (plain.includes(n)) hits.push(`inbox_events.payload#${r.id}: ${n}`);
  }
  return hits;
}

function editEvent(ext: string, createTime: number) {
  return {
    ToUserName: 'ww-sandbox',
    FromUserName: 'sys',
    CreateTime: String(createTime),
    MsgType: 'event',
    Event: 'change_external_contact',
    ChangeType: 'edit_external_contact',
    UserID: 'zhangsan',
    ExternalUserID: ext,
  };
}

describe.each(testEngines())('personal data on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-03-15T10:00:00'));

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
  });
  afterAll(() => app?.close());

  describe('erase', () => {
    const NAME = '隐私测试客户甲';
    const PHONE = '13912345678';
    const REMARK_PHONE = '13887654321';
    let ext = '';
    let tokens: { staff: string; operator: string };

    beforeAll(async () => {
      const c = app.container;
      tokens = {
        staff: (await c.tokens.create({ role: 'staff', userid: 'zhangsan' })).token,
        operator: (await c.tokens.create({ role: 'operator' })).token,
      };
      // A real add through the sandbox callback, processed by the inbox: customer, relation, timeline, inbox row.
      ext = (await c.sandbox!.addCustomer({ userid: 'zhangsan', name: NAME })).externalUserId;
      await c.inboxProcessor.drain();
      expect((await api(app, 'GET', `/api/v1/customers/${ext}`)).status).toBe(200);
      // Through the API: phone (encrypted + blind index), a note (and its timeline entry), an order, a tag.
      expect((await api(app, 'PATCH', `/api/v1/customers/${ext}`, { phone: PHONE, note: `${NAME} 喜欢红色` })).status).toBe(200);
      expect((await api(app, 'POST', `/api/v1/customers/${ext}/notes`, { text: `回访 ${NAME}`, userid: 'zhangsan' })).status).toBe(201);
      expect((await api(app, 'POST', '/api/v1/orders/import', { orders: [{ orderNo: 'PD-1', externalUserId: ext, amount: '99.00', orderedAt: '2026-03-01T10:00:00+08:00' }] })).body).toMatchObject({ imported: 1 });
      expect((await api(app, 'POST', `/api/v1/customers/${ext}/tags`, { add: ['VIP'] })).status).toBe(200);
      // Straight into the tables the API has no door to.
      const now = clock.now().getTime();
      await c.db.query('UPDATE follow_relations SET remark = ?, description = ?, remark_mobiles_enc = ? WHERE external_user_id = ?', [
        `${NAME}先生`, `电话 ${PHONE}`, c.cipher.encrypt(JSON.stringify([REMARK_PHONE]), `follow_relations.remark_mobiles|zhangsan|${ext}`), ext,
      ]);
      await c.db.query(
        `INSERT INTO timeline_entries (external_user_id, staff_userid, kind, summary, data, source, source_id, occurred_at, created_at) VALUES (?,?,?,?,?,?,?,?,?)`,
        [ext, null, 'kf/text', `微信客服：我是${NAME}，电话${PHONE}`, '{}', 'kf', `kf-msg-${ext}`, now, now],
      );
      await c.db.query(
        `INSERT INTO transfers (id, request_id, kind, handover_userid, takeover_userid, external_user_id, status, open_key, requested_by, requested_at, takeover_at, updated_at)
         VALUES ('tr-pd', 'rq-pd', 'onjob', 'zhangsan', 'lisi', ?, 'waiting', ?, 'admin:ADMIN_TOKEN', ?, ?, ?)`,
        [ext, ext, now, now + DAY, now],
      );
      await c.db.query("INSERT INTO group_chats (chat_id, name, owner, updated_at) VALUES ('chat-pd', '群', 'zhangsan', 0)");
      await c.db.query("INSERT INTO group_memberships (chat_id, member_id, type, join_time, current_mark, created_at, updated_at) VALUES ('chat-pd', ?, 2, 0, 1, 0, 0)", [ext]);
      await c.db.query(
        `INSERT INTO delivery_batches (id, channel, sender_userid, text, status, recipients, instance_id, created_at, finished_at) VALUES ('b-pd', 'mass_task', 'zhangsan', ?, 'done', 1, 'i', ?, ?)`,
        [`${NAME}，生日快乐`, now, now],
      );
      const delivery = (status: string, occasion: string, batch: string | null) =>
        c.db.query(
          `INSERT INTO deliveries (source, external_user_id, occasion, kind, channel, priority, sender_userid, text, local_date, not_before, expires_at, status, batch_id, created_at, updated_at)
           VALUES ('care:r1', ?, ?, 'care', 'mass_task', 1, 'zhangsan', ?, '2026-03-15', ?, ?, ?, ?, ?, ?)`,
          [ext, occasion, `${NAME}，生日快乐`, now, now + DAY, status, batch, now, now],
        );
      await delivery('sent', 'birthday:2026', 'b-pd');
      await delivery('planned', 'followup:3d', null);
      const [{ id: deliveryId }] = await c.db.query<{ id: number }>("SELECT id FROM deliveries WHERE external_user_id = ? AND status = 'sent'", [ext]);
      await c.db.query("INSERT INTO send_slots (external_user_id, scope, period, n, delivery_id, created_at) VALUES (?, 'day', '2026-03-15', 1, ?, ?)", [ext, deliveryId, now]);
      await c.db.query(
        "INSERT INTO campaign_enrolments (rule_id, external_user_id, cycle, enrolled_date, enrolled_at, status, last_step, messaged) VALUES ('wb1', ?, '2026-02-01', '2026-03-01', ?, 'active', 0, 1)",
        [ext, now],
      );
      // In a journey (客户旅程), with a staff task in the owner's 今日待办 that names them.
      await c.db.query(
        `INSERT INTO journey_memberships (journey_id, version, external_user_id, owner_userid, status, entered_by, entered_at, current_step, step_since, next_due_at, is_holdout, entry_number)
         VALUES ('jr-pd', 1, ?, 'zhangsan', 'active', 'added', ?, 2, ?, ?, 0, 1)`,
        [ext, now, now, now + DAY],
      );
      await c.db.query(
        `INSERT INTO staff_tasks (id, source, source_ref, userid, external_user_id, title, text, attachments, due_at, status, created_at, updated_at)
         VALUES ('task-pd', 'manual', 'pd-1', 'zhangsan', ?, ?, ?, '[]', ?, 'open', ?, ?)`,
        [ext, `回访${NAME}`, `${NAME}您好，电话 ${PHONE} 已登记`, now + DAY, now, now],
      );
      // A callback about the customer not yet handled (its payload names them).
      await c.inbox.accept(editEvent(ext, Math.floor(now / 1000)));
    });

    it('refuses staff and operator tokens with 403 and changes nothing', async () => {
      for (const token of [tokens.staff, tokens.operator]) {
        const res = await api(app, 'POST', `/api/v1/customers/${ext}/erase`, undefined, token);
        expect(res.status).toBe(403);
      }
      expect((await api(app, 'GET', `/api/v1/customers/${ext}`)).status).toBe(200);
    });

    it('erases every table: only hashed, text-free stubs remain, the archive is 404 and audiences never match', async () => {
      const c = app.container;
      const blind = c.cipher.blindIndex(normalizePhone(PHONE));
      expect((await scan(c, [ext])).length).toBeGreaterThan(10);

      const res = await api(app, 'POST', `/api/v1/customers/${ext}/erase`);
      expect(res.status).toBe(200);
      expect(res.body.counts).toMatchObject({ customers: 1, follow_relations: 1, transfers: 1, notes: 1, orders: 1, group_memberships: 1, deliveries: 2, send_slots: 1, campaign_enrolments: 1, delivery_batches: 1 });
      expect(res.body.counts.customer_tags).toBeGreaterThan(0);
      expect(res.body.counts.timeline_entries).toBeGreaterThan(1);
      expect(res.body.counts.inbox_events).toBeGreaterThanOrEqual(2);
      // The add and the order left journey signals; the membership and the task become stubs.
      expect(res.body.counts).toMatchObject({ journey_memberships: 1, staff_tasks: 1 });
      expect(res.body.counts.journey_signals).toBeGreaterThanOrEqual(1);
      expect(res.body.wecom).toMatchObject({ deleted: false, followUsers: ['zhangsan'] });
      expect(res.body.wecom.remains.join(' ')).toContain('friendship');
      // No WeCom delete was attempted.
      expect(c.sandbox!.calls().some((x) => /del|remark/.test(x.api) && x.api !== 'externalcontact/get')).toBe(false);

      expect(await scan(c, [ext, NAME, PHONE, REMARK_PHONE, blind])).toEqual([]);
      // The documented stubs: ledger and enrolment rows under the keyed hash, with no text.
      const stub = `erased:${res.body.subjectHash}`;
      const ledger = await c.db.query<{ status: string; reason: string | null; text: string | null }>('SELECT status, reason, text FROM deliveries WHERE external_user_id = ? ORDER BY id', [stub]);
      expect(ledger).toEqual([
        { status: 'sent', reason: null, text: '' },
        { status: 'skipped', reason: 'erased', text: '' },
      ]);
      expect(await c.db.query('SELECT status FROM campaign_enrolments WHERE external_user_id = ?', [stub])).toEqual([{ status: 'completed' }]);
      // The journey membership ended, so the tick never looks for the stub; the task left the member's list.
      expect(await c.db.query('SELECT status, exit_reason, next_due_at FROM journey_memberships WHERE external_user_id = ?', [stub])).toEqual([
        { status: 'exited', exit_reason: 'erased', next_due_at: null },
      ]);
      expect(await c.db.query("SELECT status, skip_reason, text FROM staff_tasks WHERE id = 'task-pd'")).toEqual([{ status: 'withdrawn', skip_reason: '客户资料已删除', text: '' }]);
      const today = await api(app, 'GET', '/api/v1/todo/today?userid=zhangsan');
      expect(today.status).toBe(200);
      expect(JSON.stringify(today.body)).not.toContain('task-pd');
      // Inbox rows stay as metadata; the unhandled one will never run.
      const inbox = await c.db.query<{ status: string; subject_key: string | null; payload: string }>("SELECT status, subject_key, payload FROM inbox_events WHERE payload = ''");
      expect(inbox.length).toBeGreaterThanOrEqual(2);
      expect(inbox.every((r) => r.subject_key === null && (r.status === 'done' || r.status === 'ignored'))).toBe(true);

      expect((await api(app, 'GET', `/api/v1/customers/${ext}`)).status).toBe(404);
      const listed = await api(app, 'GET', '/api/v1/customers?audience=owner:zhangsan&pageSize=500');
      expect(listed.body.items.map((i: { externalUserId: string }) => i.externalUserId)).not.toContain(ext);
      const preview = await api(app, 'POST', '/api/v1/audiences/preview', { audience: 'tag:VIP' });
      expect(JSON.stringify(preview.body)).not.toContain(ext);

      const [audit] = await c.db.query<{ subject_hash: string; by_principal: string; counts_per_table: string }>('SELECT * FROM erasures');
      expect(audit).toMatchObject({ subject_hash: res.body.subjectHash, by_principal: 'admin:ADMIN_TOKEN' });
      expect(JSON.parse(audit.counts_per_table)).toEqual(res.body.counts);
    });

    it('is idempotent: a second erasure reports zero rows and adds a zero audit row', async () => {
      const again = await api(app, 'POST', `/api/v1/customers/${ext}/erase`);
      expect(again.status).toBe(200);
      expect(again.body.totalRows).toBe(0);
      expect(Object.values(again.body.counts).every((n) => n === 0)).toBe(true);
      expect(await app.container.privacy.repo.listBySubject(again.body.subjectHash)).toHaveLength(2);
    });

    it('stays out while WeCom still holds the old relation (an edit event, the nightly sync); a new add brings back a fresh, minimal archive', async () => {
      const c = app.container;
      const archiveModule = c.archive;
      // The friendship is still in WeCom: an edit callback would re-read the profile, and so would the full sync.
      await c.inbox.accept(editEvent(ext, Math.floor(clock.now().getTime() / 1000) + 60));
      await c.inboxProcessor.drain();
      expect((await api(app, 'GET', `/api/v1/customers/${ext}`)).status).toBe(404);
      await archiveModule.fullSync.run();
      expect((await api(app, 'GET', `/api/v1/customers/${ext}`)).status).toBe(404);
      expect((await scan(c, [NAME, PHONE, REMARK_PHONE])).filter((h) => !h.startsWith('inbox_events.payload'))).toEqual([]);

      // Later the customer deletes the staff member and adds them again: a new relation, a new basis.
      clock.set(new Date(clock.now().getTime() + 3_600_000));
      await c.sandbox!.customerDeletesStaff({ userid: 'zhangsan', externalUserId: ext });
      await c.sandbox!.addCustomer({ userid: 'zhangsan', externalUserId: ext });
      await c.inboxProcessor.drain();
      const archive = await api(app, 'GET', `/api/v1/customers/${ext}`);
      expect(archive.status).toBe(200);
      expect(archive.body).toMatchObject({ phone: null, notes: [], orders: { count: 0 } });
      expect(JSON.stringify(archive.body)).not.toContain(PHONE);
    });

    it('erases the re-added customer again, even where their new rows repeat an occasion their first stub already holds', async () => {
      const c = app.container;
      const now = clock.now().getTime();
      // The same care occasion and win-back cycle as before the first erasure: under the stub id these would collide
      // with the first stub on the ledger's (source, customer, occasion) and the enrolments' (rule, customer, cycle).
      await c.db.query(
        `INSERT INTO deliveries (source, external_user_id, occasion, kind, channel, priority, sender_userid, text, local_date, not_before, expires_at, status, created_at, updated_at)
         VALUES ('care:r1', ?, 'birthday:2026', 'care', 'mass_task', 1, 'zhangsan', '生日快乐', '2026-03-15', ?, ?, 'sent', ?, ?)`,
        [ext, now, now + DAY, now, now],
      );
      await c.db.query(
        "INSERT INTO campaign_enrolments (rule_id, external_user_id, cycle, enrolled_date, enrolled_at, status, last_step, messaged) VALUES ('wb1', ?, '2026-02-01', '2026-03-15', ?, 'active', 0, 1)",
        [ext, now],
      );
      const res = await api(app, 'POST', `/api/v1/customers/${ext}/erase`);
      expect(res.status).toBe(200);
      expect(res.body.counts).toMatchObject({ customers: 1, deliveries: 1, campaign_enrolments: 1 });
      const stub = `erased:${res.body.subjectHash}`;
      // The occasion stays counted once, under the one stub; nothing is left under the customer's id.
      expect(await c.db.query("SELECT occasion, status FROM deliveries WHERE external_user_id = ? AND source = 'care:r1' AND occasion = 'birthday:2026'", [stub])).toEqual([
        { occasion: 'birthday:2026', status: 'sent' },
      ]);
      expect(await c.db.query("SELECT cycle FROM campaign_enrolments WHERE external_user_id = ? AND rule_id = 'wb1'", [stub])).toEqual([{ cycle: '2026-02-01' }]);
      expect(await scan(c, [ext])).toEqual([]);
      expect((await api(app, 'GET', `/api/v1/customers/${ext}`)).status).toBe(404);
    });
  });

  describe('retention job', () => {
    const BASE = sh('2026-03-15T10:00:00').getTime();
    const ids: Record<string, number> = {};

    beforeAll(async () => {
      const c = app.container;
      clock.set(new Date(BASE));
      const insertInbox = async (key: string, status: string, receivedAt: number) => {
        const fields = { ...editEvent(`wm-ret-${key}`, receivedAt / 1000), Marker: key };
        await c.inbox.accept(fields);
        const [row] = await c.db.query<{ id: number }>('SELECT id FROM inbox_events ORDER BY id DESC LIMIT 1');
        await c.db.query('UPDATE inbox_events SET status = ?, received_at = ?, error = ? WHERE id = ?', [status, receivedAt, status === 'failed' ? 'boom' : null, row.id]);
        ids[key] = Number(row.id);
      };
      await insertInbox('old-done', 'done', BASE - 40 * DAY);
      await insertInbox('new-done', 'done', BASE - 5 * DAY);
      await insertInbox('old-failed', 'failed', BASE - 100 * DAY);
      await insertInbox('new-failed', 'failed', BASE - 10 * DAY);
      await insertInbox('old-pending', 'pending', BASE - 40 * DAY);
      const entry = (ext: string, source: string, summary: string, at: number, key: string) =>
        c.db.query('INSERT INTO timeline_entries (external_user_id, kind, summary, data, source, source_id, occurred_at, created_at) VALUES (?,?,?,?,?,?,?,?)', [
          ext, source === 'kf' ? 'kf/text' : 'note', summary, '{}', source, key, at, at,
        ]);
      await c.db.query("INSERT INTO customers (external_user_id, name, type, gender, activity, opted_out, last_interaction_at, created_at, updated_at) VALUES ('wm-ret-stay', '留下', 1, 0, 'active', 0, ?, 0, 0)", [BASE - 400 * DAY]);
      await c.db.query("INSERT INTO follow_relations (userid, external_user_id, add_way, status, created_at, updated_at) VALUES ('zhangsan', 'wm-ret-stay', 1, 'active', 0, 0)");
      await c.db.query("INSERT INTO customers (external_user_id, name, type, gender, activity, opted_out, last_interaction_at, created_at, updated_at) VALUES ('wm-ret-gone', '离开', 1, 0, 'churned', 0, ?, 0, 0)", [BASE - 400 * DAY]);
      await c.db.query("INSERT INTO follow_relations (userid, external_user_id, add_way, status, status_changed_at, created_at, updated_at) VALUES ('zhangsan', 'wm-ret-gone', 1, 'deleted_by_customer', ?, 0, 0)", [BASE - 380 * DAY]);
      await entry('wm-ret-stay', 'kf', '微信客服：老消息', BASE - 200 * DAY, 'ret-kf-old');
      await entry('wm-ret-stay', 'kf', '微信客服：新消息', BASE - 10 * DAY, 'ret-kf-new');
      await entry('wm-ret-gone', 'note', '离开客户的记录', BASE - 390 * DAY, 'ret-gone-1');
      await entry('wm-ret-gone', 'note', '离开客户的记录2', BASE - 385 * DAY, 'ret-gone-2');
    });

    const snapshot = (c: Container) =>
      Promise.all([
        c.db.query("SELECT id, status, payload <> '' AS has_payload FROM inbox_events WHERE id >= ? ORDER BY id", [ids['old-done']]),
        c.db.query("SELECT source_id, summary FROM timeline_entries WHERE source_id LIKE 'ret-%' ORDER BY source_id"),
      ]).then((x) => JSON.stringify(x));

    it('a dry run counts what the real run then removes; the real run is claimed once per day across instances', async () => {
      const c = app.container;
      const m = c.scheduling;
      const other = buildScheduling(c, { instanceId: 'retention-other' });
      // The clock moved forward a day: the same rows are past their periods either way.
      clock.set(new Date(BASE + DAY));
      const before = await snapshot(c);

      const dry = await m.scheduler.runNow('retention', { isDryRun: true });
      expect(dry.status).toBe('dry-run');
      expect(dry.counts).toMatchObject({ inboxFailedDeleted: 1, kfTextRedacted: 1, departedCustomers: 1, departedTimelineDeleted: 2 });
      expect(dry.counts!.inboxPayloadsCleared).toBeGreaterThanOrEqual(1);
      expect(await snapshot(c)).toBe(before);

      const slot = sh('2026-03-16T04:10:00');
      const [a, b] = await Promise.all([m.scheduler.fire('retention', slot), other.scheduler.fire('retention', slot)]);
      expect([a.status, b.status].sort()).toEqual(['done', 'skipped']);
      const done = a.status === 'done' ? a : b;
      expect(done.counts).toEqual(dry.counts);
      expect((await m.scheduler.runNow('retention')).status).toBe('skipped');

      const inbox = await c.db.query<{ id: number; status: string; payload: string }>('SELECT id, status, payload FROM inbox_events WHERE id >= ?', [ids['old-done']]);
      const byId = new Map(inbox.map((r) => [Number(r.id), r]));
      expect(byId.get(ids['old-done'])).toMatchObject({ status: 'done', payload: '' });
      expect(byId.get(ids['new-done'])!.payload).not.toBe('');
      expect(byId.has(ids['old-failed'])).toBe(false);
      expect(byId.get(ids['new-failed'])!.payload).not.toBe('');
      // Never handled: its payload is still needed.
      expect(byId.get(ids['old-pending'])!.payload).not.toBe('');
      const timeline = await c.db.query<{ source_id: string; summary: string }>("SELECT source_id, summary FROM timeline_entries WHERE source_id LIKE 'ret-%' ORDER BY source_id");
      expect(timeline).toEqual([
        { source_id: 'ret-kf-new', summary: '微信客服：新消息' },
        { source_id: 'ret-kf-old', summary: KF_REDACTED_SUMMARY },
      ]);
    });

    it('a period of 0 keeps that data forever', async () => {
      const c = app.container;
      const keep = buildScheduling(c, {
        instanceId: 'retention-keep',
        settings: { retention: { inboxPayloadDays: 0, inboxFailedDays: 0, departedTimelineDays: 0, kfTextDays: 0, deliveryTextDays: 0, batchSize: 10 } },
      });
      clock.set(new Date(BASE + 900 * DAY));
      const out = await keep.scheduler.runNow('retention', { isDryRun: true });
      // The audit log's period is AUDIT_RETENTION_DAYS (configuration), not one of these settings.
      expect(out.counts).toEqual({ inboxPayloadsCleared: -1, inboxFailedDeleted: -1, kfTextRedacted: -1, deliveryTextCleared: -1, departedCustomers: -1, departedTimelineDeleted: -1, auditLogDeleted: expect.any(Number) });
    });

    it('works in batches smaller than the data', async () => {
      const c = app.container;
      const small = buildScheduling(c, { instanceId: 'retention-small', settings: { retention: { ...c.scheduling.settings.retention, batchSize: 10 } } });
      clock.set(new Date(BASE));
      for (let i = 0; i < 25; i++) await c.inbox.accept({ ...editEvent(`wm-batch-${i}`, BASE / 1000 - i), Marker: `b${i}` });
      await c.db.query("UPDATE inbox_events SET status = 'done' WHERE kind LIKE '%edit_external_contact%' AND status = 'pending' AND subject_key LIKE 'customer:wm-batch-%'");
      clock.set(new Date(BASE + 60 * DAY));
      const out = await small.scheduler.runNow('retention', { at: new Date(BASE + 60 * DAY) });
      expect(out.status).toBe('done');
      expect(out.counts!.inboxPayloadsCleared).toBeGreaterThanOrEqual(25);
      const [{ n }] = await c.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM inbox_events WHERE status = 'done' AND payload <> ''");
      expect(Number(n)).toBe(0);
    });
  });
});
