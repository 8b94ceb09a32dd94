import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { insertCustomer, insertRelation, insertStaff } from '../fixtures/scheduling.js';
import { ChurnRiskRepository } from '../../src/persistence/repositories/churn-risk.repository.js';
import type { Db } from '../../src/persistence/db.js';
import { FixedClock } from '../../src/shared/clock.js';
import { ChurnRiskService } from '../../src/domain/churn/churn-risk.service.js';
import { silentLogger } from '../../src/shared/logger.js';
import { recordingDb } from '../helpers/recording-db.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-03-01T18:00:00Z');

/**
 * docs/churn.md §The nightly job: the pass reads a page of customers from the relations' index and each signal by the
 * page's key range, skipping the customers in that range who are not in the page; what it reads is what a list of the
 * page's ids reads. On SQLite every signal goes by the customer index, not an index with an equality on a column
 * every row shares (before, the broadcast rows were read through `status = 'sent'`: the whole corp's, for every page).
 */
describe.each(testEngines())('churn nightly pass reads (%s)', (engine) => {
  let app: TestApp;
  const ids = Array.from({ length: 12 }, (_, i) => `wmChurnPage${String(i + 1).padStart(2, '0')}`);
  /** A relation whose customer the archive does not hold, between the others in key order. */
  const stray = 'wmChurnPage06x';
  let db: Db;

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock: new FixedClock(new Date(NOW)) } });
    db = app.container.db;
    await insertStaff(db, 'zhangsan', '张三');
    await insertStaff(db, 'wangwu', '王五');
    await db.query("UPDATE staff SET status = 'resigned', resigned_at = ? WHERE userid = 'wangwu'", [NOW - 40 * DAY]);
    for (const [i, id] of ids.entries()) {
      await insertCustomer(db, { externalUserId: id, name: `客户${i + 1}` });
      // 03 follows no one any more, 09 never did; 05 only a member who left, 07 both.
      if (i === 8) continue;
      await insertRelation(db, i === 4 ? 'wangwu' : 'zhangsan', id, new Date(NOW - 400 * DAY), i === 2 ? 'deleted' : 'active');
      if (i === 6) await insertRelation(db, 'wangwu', id, new Date(NOW - 400 * DAY));
    }
    await insertRelation(db, 'zhangsan', stray, new Date(NOW - 400 * DAY));
    let n = 0;
    const order = (id: string, at: number) =>
      db.query('INSERT INTO orders (id, external_user_id, order_no, amount_cents, ordered_at, created_at) VALUES (?,?,?,?,?,?)', [`cp-${++n}`, id, `CP-${n}`, 1000, at, at]);
    const kf = (id: string, at: number) =>
      db.query(
        'INSERT INTO timeline_entries (external_user_id, staff_userid, kind, summary, data, source, source_id, occurred_at, created_at) VALUES (?,?,?,?,?,?,?,?,?)',
        [id, null, 'kf/text', '微信客服：请问还有货吗', JSON.stringify({ msgid: `cpkf-${++n}`, origin: 3, msgtype: 'text' }), 'kf', `cpkf-${n}`, at, at],
      );
    const note = (id: string, at: number, text: string) =>
      db.query('INSERT INTO notes (id, external_user_id, userid, text, due_date, done_at, created_at, source) VALUES (?,?,?,?,?,?,?,?)', [`cpnote-${++n}`, id, 'zhangsan', text, null, null, at, 'staff']);
    const broadcast = (id: string, b: number, at: number) =>
      db.query(
        `INSERT INTO deliveries (source, external_user_id, occasion, kind, broadcast_id, channel, sender_userid, local_date, not_before, expires_at, status, created_at, updated_at, sent_at)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
        [`broadcast:cp-${b}`, id, `b${b}`, 'broadcast', `cp-${b}`, 'mass', 'zhangsan', '2026-02-01', at, at + 7 * DAY, 'sent', at, at, at],
      );
    // A monthly buyer gone quiet, in the page and out of it (03), and one who ordered after their member left (05).
    for (const id of [ids[0]!, ids[2]!, ids[10]!]) for (let k = 0; k < 15; k++) await order(id, NOW - (100 + 30 * k) * DAY);
    await order(ids[1]!, NOW - 200 * DAY);
    await order(ids[4]!, NOW - 10 * DAY);
    await order(stray, NOW - 5 * DAY);
    for (const id of [ids[0]!, ids[2]!, ids[4]!, ids[6]!, stray]) for (const d of [3, 50, 120]) await kf(id, NOW - d * DAY);
    await note(ids[1]!, NOW - 5 * DAY, '客户投诉发货太慢，很失望');
    await note(ids[2]!, NOW - 6 * DAY, '客户投诉发货太慢，很失望');
    await note(ids[7]!, NOW - 70 * DAY, '电话回访，客户满意');
    for (const id of [...ids, stray]) for (const [b, d] of [[1, 40], [2, 12]] as const) await broadcast(id, b, NOW - d * DAY);
    // Scores of an earlier night, of customers who follow no one now: before the first page, between pages, after the last.
    for (const id of ['wmChurnPage00', ids[2]!, ids[8]!, 'wmChurnPage99']) {
      await db.query("INSERT INTO churn_risk (external_user_id, score, level, reasons, scored_at, high_since) VALUES (?, 10, 'low', '[]', ?, NULL)", [id, NOW - DAY]);
    }
    // A pass in pages of three, so the scores' table has rows for previous() to read.
    const pass = new ChurnRiskService(new ChurnRiskRepository(db, app.container.repos.notes, app.container.repos.timeline), silentLogger, { threshold: 60, pageSize: 3, tz: 'Asia/Shanghai' });
    await pass.scoreAll({ now: new Date(NOW), isDryRun: false });
  }, 60_000);
  afterAll(() => app?.close());

  const pages = async (repo: ChurnRiskRepository, size: number) => {
    const out: string[][] = [];
    for (let after: string | null = ''; after !== null; ) {
      const page = await repo.page(after, size);
      after = page.next ?? null;
      out.push(page.ids);
    }
    return out;
  };

  it('pages every customer who follows a member and is in the archive, once, in key order', async () => {
    const repo = new ChurnRiskRepository(db, null as never, null as never);
    const expected = ids.filter((_, i) => i !== 2 && i !== 8);
    for (const size of [1, 3, 4, 500]) expect((await pages(repo, size)).flat()).toEqual(expected);
    // The pass scored them all, and dropped the scores of those who follow no one.
    expect((await db.query<{ id: string }>('SELECT external_user_id AS id FROM churn_risk ORDER BY external_user_id')).map((r) => r.id)).toEqual(expected);
  });

  it('reads the same signals by a page’s key range as by its list of ids', async () => {
    const repo = new ChurnRiskRepository(db, null as never, null as never);
    const from = NOW - 60 * DAY;
    for (const page of await pages(repo, 3)) {
      expect(await repo.signals(page, NOW, from, true)).toEqual(await repo.signals(page, NOW, from));
      expect(await repo.staffNotes(page, from, NOW, true)).toEqual(await repo.staffNotes(page, from, NOW));
      expect(await repo.previous(page, true)).toEqual(await repo.previous(page));
    }
    // What the range reads beyond the page (03's orders and note, the stray relation's messages) is not in it.
    const [first] = await pages(repo, 500);
    const all = await repo.signals(first!, NOW, from, true);
    expect([...all.keys()]).toEqual(first);
    expect(all.get(ids[0]!)).toMatchObject({ orders: 15, complaints: 0, broadcastsIgnored: 0 });
    expect(all.get(ids[7]!)).toMatchObject({ orders: 0, broadcastsIgnored: 2 });
    expect(all.get(ids[4]!)).toMatchObject({ orders: 1, ownerResigned: true, interactionsSinceResigned: 2 });
    expect(all.get(ids[6]!)).toMatchObject({ ownerResigned: false, interactionsSinceResigned: 0 });
    expect(all.get(ids[0]!)!.orderGaps).toHaveLength(12);
  });

  it('reads every signal of a page through an index on the customer', async () => {
    const { db: recording, seen } = recordingDb(db);
    const repo = new ChurnRiskRepository(recording, null as never, null as never);
    const [page] = await pages(repo, 500);
    seen.length = 0;
    await repo.signals(page!, NOW, NOW - 60 * DAY, true);
    await repo.staffNotes(page!, NOW - 60 * DAY, NOW, true);
    await repo.previous(page!, true);
    expect(seen.length).toBeGreaterThanOrEqual(12);
    for (const [sql, params] of seen) {
      // A page is read by its key range, never by a list of its keys (MariaDB plans a long list by guesswork).
      expect(sql).not.toMatch(/IN \(\?/);
      if (engine !== 'sqlite') continue;
      const plan = (await db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail);
      expect(plan[0], `${sql}\n${plan.join('\n')}`).toMatch(/^SEARCH \w+ USING (COVERING )?INDEX \w+ \(external_user_id>\? AND external_user_id<\?\)/);
    }
  });
});
