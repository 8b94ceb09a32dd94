/**
 * `npm run bench -- churn-backtest`: the churn early warning measured on a generated corp (docs/churn-backtest.md).
 * Builds the product in-process (fixed clock, the built-in sandbox, a fresh SQLite database; BENCH_ENGINES=mysql for
 * MariaDB), replays the world of scripts/bench/churn-world.ts day by day through the product's own paths, and after
 * the warm-up asks the scorer every night which customers are at or above its threshold. BENCH_CHURN_SEED picks the
 * seed (default: the held-out seed the figures in the README come from).
 * The replay: docs/churn-backtest.md §Replay
 * The judging: docs/churn-backtest.md §Judging a warning
 */
import { appendFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { FixedClock } from '../../src/shared/clock.js';
import { addDays, zonedTimeToUtc } from '../../src/shared/dates.js';
import type { DbEngine } from '../../src/persistence/data-source.js';
import type { Container } from '../../src/container.js';
import { ChurnRiskRepository } from '../../src/persistence/repositories/churn-risk.repository.js';
import { api, startTestApp, type TestApp } from '../../test/helpers/app.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';
import { CHURN_WORLD_PARAMS, generateChurnWorld, type ChurnWorld, type WorldEvent } from './churn-world.js';

const TZ = 'Asia/Shanghai';
/**
 * The seed the reported figures come from; never run while the scorer was tuned (docs/churn-backtest.md §Fifth held-out seed).
 * The first four, 20261206, 4227949231, 3579486108 and 642575883, are spent: earlier scorers' figures came from them.
 */
export const HELD_OUT_SEED = 1916097056;
/** Nights up to and including this day are warm-up: no scoring. */
export const WARM_UP_DAYS = 180;
/** A warning is correct when the relation is deleted within this many days after it. */
export const WINDOW_DAYS = 60;
const OPEN_KF_ID = 'wkChurnBench';
const NOTE_CONCURRENCY = 6;
const PRODUCT_COUNTS: Record<string, string> = {
  customers: 'SELECT COUNT(*) AS n FROM customers',
  orders: 'SELECT COUNT(*) AS n FROM orders',
  notes: 'SELECT COUNT(*) AS n FROM notes',
  kfTimeline: "SELECT COUNT(*) AS n FROM timeline_entries WHERE kind LIKE 'kf/%'",
  surveyAnswers: 'SELECT COUNT(*) AS n FROM survey_answers',
  tickets: 'SELECT COUNT(*) AS n FROM feedback_tickets',
  broadcastRowsSent: "SELECT COUNT(*) AS n FROM deliveries WHERE kind = 'broadcast' AND status = 'sent'",
  relationsLive: "SELECT COUNT(*) AS n FROM follow_relations WHERE status = 'active'",
  staffResigned: "SELECT COUNT(*) AS n FROM staff WHERE status = 'resigned'",
  transfersDone: "SELECT COUNT(*) AS n FROM transfers WHERE status = 'done'",
};

/** What the bench needs of the scorer (the product's `container.churn`). */
export interface ChurnScorer {
  threshold: number;
  scoreAll(opts: { now: Date; isDryRun: boolean }): Promise<unknown>;
}

export interface ChurnBacktestOptions {
  seed?: number;
  engine?: DbEngine;
  /** Another scorer than the container's (development only). */
  scorer?: (container: Container) => ChurnScorer;
  /** Stop after this day (development only: a short smoke run). */
  lastDay?: number;
  /**
   * Write every night's signals of the customers scored to this file, one JSON line per customer and night
   * (development only: scripts/bench/churn-tune.ts tries scorers on them offline; BENCH_CHURN_SIGNALS).
   */
  signalsOut?: string;
  log?: (line: string) => void;
}

/** A world's day and minute as an instant (Asia/Shanghai). */
function instant(world: ChurnWorld, day: number, minute: number): Date {
  const hh = String(Math.floor(minute / 60)).padStart(2, '0');
  const mm = String(minute % 60).padStart(2, '0');
  return zonedTimeToUtc(addDays(world.params.startDate, day), `${hh}:${mm}`, TZ);
}

function localStamp(world: ChurnWorld, day: number, minute: number): string {
  const hh = String(Math.floor(minute / 60)).padStart(2, '0');
  const mm = String(minute % 60).padStart(2, '0');
  return `${addDays(world.params.startDate, day)} ${hh}:${mm}`;
}

function changeContactXml(changeType: string, userid: string, at: Date): string {
  return (
    `<xml><ToUserName><![CDATA[${SANDBOX_CORP.corpId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
    `<CreateTime>${Math.floor(at.getTime() / 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event>` +
    `<ChangeType>${changeType}</ChangeType><UserID><![CDATA[${userid}]]></UserID></xml>`
  );
}

function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Judge first warnings against the truth (docs/churn-backtest.md §Judging a warning). */
export function judge(world: ChurnWorld, firstWarning: Map<string, number>, lastNight: number): Record<string, number | null> {
  const truth = new Map(world.truth.map((t) => [t.externalUserId, t]));
  let warnings = 0;
  let correct = 0;
  const notice: number[] = [];
  for (const [ext, w] of firstWarning) {
    warnings++;
    const del = truth.get(ext)!.deletedDay;
    if (del !== null && del > w && del <= w + WINDOW_DAYS) {
      correct++;
      notice.push(del - w);
    }
  }
  let deletions = 0;
  let caught = 0;
  const byCause: Record<string, [number, number]> = {};
  for (const t of world.truth) {
    if (t.deletedDay === null || t.deletedDay <= WARM_UP_DAYS + 1 || t.deletedDay > lastNight) continue;
    deletions++;
    const w = firstWarning.get(t.externalUserId);
    const hit = w !== undefined && t.deletedDay > w && t.deletedDay <= w + WINDOW_DAYS;
    if (hit) caught++;
    const c = (byCause[t.cause!] ??= [0, 0]);
    c[0]++;
    if (hit) c[1]++;
  }
  const round = (x: number | null, k = 3) => (x === null ? null : Math.round(x * 10 ** k) / 10 ** k);
  return {
    warnings,
    correctWarnings: correct,
    precision: round(warnings ? correct / warnings : null),
    deletions,
    caughtDeletions: caught,
    recall: round(deletions ? caught / deletions : null),
    noticeMedianDays: round(quantile(notice, 0.5), 1),
    noticeP25Days: round(quantile(notice, 0.25), 1),
    noticeP75Days: round(quantile(notice, 0.75), 1),
    ...Object.fromEntries(Object.entries(byCause).map(([cause, [n, hit]]) => [`recall_${cause}`, round(hit / n)])),
  };
}

/**
 * A second reading, beside the first-warning one: every night a customer rises to the threshold from below (or on the
 * first scored night) is a warning of its own, correct when the relation is deleted within the window after it; a
 * deletion is caught when any such rise came within the window before it (docs/churn-backtest.md §Judging a warning).
 */
export function judgeRises(world: ChurnWorld, rises: Map<string, number[]>, lastNight: number): Record<string, number | null> {
  const truth = new Map(world.truth.map((t) => [t.externalUserId, t]));
  let n = 0;
  let correct = 0;
  for (const [ext, nights] of rises) {
    const del = truth.get(ext)!.deletedDay;
    for (const w of nights) {
      n++;
      if (del !== null && del > w && del <= w + WINDOW_DAYS) correct++;
    }
  }
  let deletions = 0;
  let caught = 0;
  for (const t of world.truth) {
    if (t.deletedDay === null || t.deletedDay <= WARM_UP_DAYS + 1 || t.deletedDay > lastNight) continue;
    deletions++;
    if ((rises.get(t.externalUserId) ?? []).some((w) => t.deletedDay! > w && t.deletedDay! <= w + WINDOW_DAYS)) caught++;
  }
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { rises: n, risePrecision: n ? round(correct / n) : null, riseRecall: deletions ? round(caught / deletions) : null };
}

/** The code of the largest reason in a churn_risk row's reasons (a JSON array of { code, points, text }, largest first). */
function topReason(reasons: unknown): string {
  try {
    const list = (typeof reasons === 'string' ? JSON.parse(reasons) : reasons) as Array<{ code?: string; points?: number }>;
    const top = [...list].sort((a, b) => (b.points ?? 0) - (a.points ?? 0))[0];
    return top?.code ?? 'none';
  } catch {
    return 'unreadable';
  }
}

/**
 * Where the first warnings go wrong: per largest reason, warnings and how many were correct; and what the truth says of
 * the customers warned wrongly (deleted too late, never deleted, and the hidden process they were in).
 */
export function diagnose(world: ChurnWorld, firstWarning: Map<string, number>, firstReason: Map<string, string>): { byTopReason: Record<string, [number, number]>; wrongByTruth: Record<string, number> } {
  const truth = new Map(world.truth.map((t) => [t.externalUserId, t]));
  const byTopReason: Record<string, [number, number]> = {};
  const wrongByTruth: Record<string, number> = {};
  for (const [ext, w] of firstWarning) {
    const t = truth.get(ext)!;
    const ok = t.deletedDay !== null && t.deletedDay > w && t.deletedDay <= w + WINDOW_DAYS;
    const r = (byTopReason[firstReason.get(ext) ?? 'none'] ??= [0, 0]);
    r[0]++;
    if (ok) {
      r[1]++;
      continue;
    }
    const state =
      t.deletedDay !== null && t.deletedDay > w + WINDOW_DAYS
        ? `deleted_later_${t.cause}`
        : t.unhappyFrom !== null && t.unhappyFrom <= w
          ? t.recovered
            ? 'unhappy_recovered'
            : 'unhappy_not_yet_deleting'
          : t.lapsedFrom !== null && t.lapsedFrom <= w
            ? 'lapsed_staying'
            : t.orphanedFrom !== null && t.orphanedFrom <= w
              ? 'orphaned_staying'
              : `content_${t.type}`;
    wrongByTruth[state] = (wrongByTruth[state] ?? 0) + 1;
  }
  return { byTopReason, wrongByTruth };
}

/** One night's signals of every customer the pass scored (development only: ChurnBacktestOptions.signalsOut). */
async function dumpSignals(c: Container, file: string, day: number, now: number, deleted: Set<string>): Promise<void> {
  // Only page() is used, which writes nothing: the note and timeline ports are never reached.
  const repo = new ChurnRiskRepository(c.db, null as never, null as never);
  const service = (c as unknown as { churn: { signals(ids: string[], now: number): Promise<Map<string, unknown>> } }).churn;
  const lines: string[] = [];
  for (let after: string | null = ''; after !== null; ) {
    const page = await repo.page(after, 500);
    after = page.next;
    for (const [id, s] of await service.signals(page.ids, now)) if (!deleted.has(id)) lines.push(JSON.stringify({ day, now, id, s }));
  }
  appendFileSync(file, lines.map((l) => `${l}\n`).join(''));
}

/** Run the backtest on one seed and engine; returns the bench row. */
export async function runChurnBacktest(opts: ChurnBacktestOptions = {}): Promise<Record<string, unknown>> {
  const seed = opts.seed ?? HELD_OUT_SEED;
  const engine = opts.engine ?? 'sqlite';
  const say = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const world = generateChurnWorld(seed, CHURN_WORLD_PARAMS);
  const lastDay = Math.min(opts.lastDay ?? world.params.days - 1, world.params.days - 1);
  const clock = new FixedClock(instant(world, 0, 0));
  const started = Date.now();
  const app: TestApp = await startTestApp(engine, {
    build: { clock, registry: new Registry(), sandbox: { callbackRetryDelaysMs: [50, 50, 50] } },
    env: { SANDBOX_SEED: 'false' },
  });
  const c = app.container;
  const sandbox = c.sandbox!;
  const scorer = opts.scorer ? opts.scorer(c) : (c as unknown as { churn: ChurnScorer }).churn;
  const counts: Record<string, number> = {};
  const bump = (k: string, n = 1) => (counts[k] = (counts[k] ?? 0) + n);
  const firstWarning = new Map<string, number>();
  /** The largest reason of each first warning (the scorer's code), to see which signals are right how often. */
  const firstReason = new Map<string, string>();
  const rises = new Map<string, number[]>();
  let above = new Set<string>();
  const deleted = new Set<string>();
  const timings = { replayMs: 0, scoreMs: 0, readMs: 0 };
  const spent: Record<string, number> = {};
  let mark = Date.now();
  /** Time since the last lap, added to `kind` (where the replay spends its time). */
  const lap = (kind: string) => {
    const now = Date.now();
    spent[kind] = (spent[kind] ?? 0) + now - mark;
    mark = now;
  };

  const drain = () => c.inboxProcessor.drain();
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await api(app, method, path, body);
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    return res.body;
  };

  try {
    // Members, as WeCom knows them (no demo corp).
    for (const m of world.members) sandbox.store.staff.set(m.userid, { userid: m.userid, name: m.name, position: '客户经理', department: [1] });

    // Two surveys the answers go to: the quarterly one and the one after an order (NPS, so detractors open tickets).
    const survey = async (name: string, period: string) =>
      (await call('POST', '/api/v1/surveys', {
        name,
        questions: [{ kind: 'nps', title: '您有多大可能把我们推荐给朋友？' }],
        rewardPoints: 0,
        period,
        trigger: 'manual',
        status: 'active',
        message: '{{name}}您好，想听听您的评价：{{link}}',
      })) as { id: number };
    const surveys = { quarterly: await survey('季度满意度调查', 'quarter'), after_order: await survey('购物满意度', 'month') };
    const surveyDefs = {
      quarterly: await c.surveys.service.get(surveys.quarterly.id),
      after_order: await c.surveys.service.get(surveys.after_order.id),
    };
    let submission = 0;

    const byDay = new Map<number, WorldEvent[]>();
    for (const e of world.events) {
      if (e.day > lastDay) break;
      let list = byDay.get(e.day);
      if (!list) byDay.set(e.day, (list = []));
      list.push(e);
    }
    const at = (e: { day: number; minute: number }) => clock.set(instant(world, e.day, e.minute));

    for (let day = 0; day <= lastDay; day++) {
      const t0 = Date.now();
      mark = t0;
      const events = byDay.get(day) ?? [];
      const of = <K extends WorldEvent['kind']>(kind: K) => events.filter((e): e is Extract<WorldEvent, { kind: K }> => e.kind === kind);

      // A member leaves: WeCom keeps their customers for 离职继承 and tells the bot (通讯录 delete_user).
      for (const e of of('member_resign')) {
        at(e);
        sandbox.resignStaff({ userid: e.userid });
        await sandbox.deliverCallback(changeContactXml('delete_user', e.userid, clock.now()));
        bump('resignations');
      }
      // Customers add their member (add_external_contact, then the bot's handling).
      for (const e of of('customer_add')) {
        at(e);
        await sandbox.addCustomer({ userid: e.owner, externalUserId: e.externalUserId, name: e.name });
        bump('added');
      }
      await drain();
      lap('customer_add');
      // 离职继承 through the transfers API; WeCom completes it at once here.
      for (const e of of('transfer')) {
        at(e);
        await call('POST', '/api/v1/transfers', { kind: 'resigned', handover: e.from, takeover: e.to, customers: [e.externalUserId] });
        await sandbox.completeWaitingTransfers({ externalUserId: e.externalUserId });
        bump('transfers');
      }
      await drain();
      lap('transfer');
      // A broadcast to every customer, sent through the ledger: planned by the broadcasts job, each sender's task
      // confirmed in the client, then the results poll marks the rows sent.
      for (const e of of('broadcast')) {
        clock.set(instant(world, e.day, 10 * 60));
        const created = (await call('POST', '/api/v1/broadcasts', { name: `活动通知 ${e.broadcastId}`, audience: 'all', message: { text: '新品上市，欢迎选购！' } })) as { id: string };
        clock.advance(60_000);
        await c.scheduling.scheduler.runNow('broadcasts');
        const tasks = await c.db.query<{ msgid: string; sender_userid: string }>('SELECT DISTINCT msgid, sender_userid FROM deliveries WHERE broadcast_id = ? AND msgid IS NOT NULL', [created.id]);
        for (const t of tasks) {
          try {
            sandbox.confirmGroupMsg({ msgid: t.msgid, userid: t.sender_userid });
          } catch {
            bump('broadcastConfirmRefused');
          }
        }
        clock.advance(20 * 60_000);
        await c.scheduling.scheduler.runNow('delivery-results');
        clock.advance(60_000);
        await c.scheduling.scheduler.runNow('broadcasts');
        const sent = await c.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM deliveries WHERE broadcast_id = ? AND status = 'sent'", [created.id]);
        bump('broadcasts');
        bump('broadcastRecipients', e.recipients.length);
        bump('broadcastRowsSent', Number(sent[0]!.n));
        lap('broadcast');
      }
      // The day's customer events in their order; orders are imported in one batch at the end of the day.
      const orders: Array<{ orderNo: string; externalUserId: string; amount: string; orderedAt: string }> = [];
      let kfSent = 0;
      // KF messages wait in WeCom for the bot's pull; the kf_msg_or_event callback per message only says "pull now",
      // and the bot pulls once after the day's messages instead (the same kf/sync_msg path).
      const notes: Array<Extract<WorldEvent, { kind: 'note' }>> = [];
      const callbackUrl = sandbox.getCallbackUrl();
      sandbox.setCallbackUrl(undefined);
      for (const e of events) {
        switch (e.kind) {
          case 'order':
            orders.push({ orderNo: e.orderNo, externalUserId: e.externalUserId, amount: (e.amountFen / 100).toFixed(2), orderedAt: localStamp(world, e.day, e.minute) });
            break;
          case 'kf_message':
          case 'complaint':
            at(e);
            await sandbox.sendKfMessage({ openKfId: OPEN_KF_ID, externalUserId: e.externalUserId, text: e.text });
            kfSent++;
            bump(e.kind === 'complaint' ? 'complaints' : 'kfMessages');
            break;
          case 'note':
            notes.push(e);
            break;
          case 'survey_answer': {
            at(e);
            const s = surveyDefs[e.survey];
            const link = await c.surveys.service.inviteLink(s, e.externalUserId, 'link', null);
            const token = link.path.slice('/s/'.length);
            const out = await c.surveys.service.submit(token, { submission: `churnbench${String(++submission).padStart(10, '0')}`, q0: String(e.score) });
            bump(out.ok ? 'surveyAnswers' : 'surveyAnswersRefused');
            break;
          }
          default:
            break;
        }
        if (e.kind !== 'order' && e.kind !== 'note') lap(e.kind);
      }
      sandbox.setCallbackUrl(callbackUrl);
      // The day's notes through the notes API, a few requests at a time (each group at its last note's minute).
      for (let i = 0; i < notes.length; i += NOTE_CONCURRENCY) {
        const group = notes.slice(i, i + NOTE_CONCURRENCY);
        at(group[group.length - 1]!);
        await Promise.all(
          group.map(async (e) => {
            const res = await api(app, 'POST', `/api/v1/customers/${e.externalUserId}/notes`, { text: e.text, userid: e.author });
            if (res.status >= 400) {
              // The author is no longer a member the bot accepts (resigned): the note is the admin's.
              await call('POST', `/api/v1/customers/${e.externalUserId}/notes`, { text: e.text });
              bump('notesByAdmin');
            }
            bump('notes');
          }),
        );
      }
      lap('note');
      if (kfSent > 0) {
        await c.archive.kf.pull(OPEN_KF_ID);
        await drain();
        lap('kf_pull');
      }
      if (orders.length > 0) {
        clock.set(instant(world, day, 23 * 60 + 30));
        const report = (await call('POST', '/api/v1/orders/import', { orders })) as { imported?: number; errors?: unknown[] };
        bump('orders', orders.length);
        if (report.errors && report.errors.length > 0) bump('ordersRefused', report.errors.length);
        lap('order');
      }
      // Deletions last: nothing else of that customer happens on the day.
      for (const e of of('delete')) {
        at(e);
        if (e.by === 'customer') await sandbox.customerDeletesStaff({ userid: e.owner, externalUserId: e.externalUserId });
        else await sandbox.staffDeletesCustomer({ userid: e.owner, externalUserId: e.externalUserId });
        deleted.add(e.externalUserId);
        bump('deletions');
      }
      await drain();
      lap('delete');
      timings.replayMs += Date.now() - t0;

      // The night: score at 02:00 of the next date, then read who is at or above the threshold.
      if (day > WARM_UP_DAYS) {
        const t1 = Date.now();
        clock.set(zonedTimeToUtc(addDays(world.params.startDate, day + 1), '02:00', TZ));
        await scorer.scoreAll({ now: clock.now(), isDryRun: false });
        const t2 = Date.now();
        if (opts.signalsOut) await dumpSignals(c, opts.signalsOut, day, clock.now().getTime(), deleted);
        const rows = await c.db.query<{ external_user_id: string; reasons: unknown }>('SELECT external_user_id, reasons FROM churn_risk WHERE score >= ?', [scorer.threshold]);
        const reasonsOf = new Map(rows.map((r) => [r.external_user_id, r.reasons]));
        const tonight = new Set(rows.map((r) => r.external_user_id).filter((ext) => !deleted.has(ext)));
        for (const ext of tonight) {
          if (!firstWarning.has(ext)) {
            firstWarning.set(ext, day);
            firstReason.set(ext, topReason(reasonsOf.get(ext)));
          }
          if (!above.has(ext)) (rises.get(ext) ?? rises.set(ext, []).get(ext)!).push(day);
        }
        above = tonight;
        timings.scoreMs += t2 - t1;
        timings.readMs += Date.now() - t2;
      }
      if (day % 30 === 0) say(`churn-backtest seed ${seed} ${engine}: day ${day}/${lastDay}, ${Math.round((Date.now() - started) / 1000)} s, ${JSON.stringify(counts)}`);
    }

    const figures = judge(world, firstWarning, lastDay);
    const diagnosis = diagnose(world, firstWarning, firstReason);
    // What the product holds at the end, to see the replay reached it (not a figure of the scorer).
    const productRows: Record<string, number> = {};
    for (const [k, sql] of Object.entries(PRODUCT_COUNTS)) productRows[k] = Number((await c.db.query<{ n: number }>(sql))[0]!.n);
    return {
      engine,
      seed,
      heldOut: seed === HELD_OUT_SEED,
      customers: world.params.customers,
      days: lastDay + 1,
      threshold: scorer.threshold,
      windowDays: WINDOW_DAYS,
      ...figures,
      ...judgeRises(world, rises, lastDay),
      ...diagnosis,
      goalPrecision: 0.6,
      goalRecall: 0.6,
      goalNoticeMedianDays: 14,
      replayed: counts,
      productRows,
      msByKind: Object.fromEntries(Object.entries(spent).map(([k, v]) => [k, Math.round(v)])),
      replayMs: timings.replayMs,
      scoreMs: timings.scoreMs,
      totalMs: Date.now() - started,
    };
  } finally {
    await app.close();
  }
}

/** The bench entry: BENCH_CHURN_SEED (default the held-out seed), BENCH_ENGINES (sqlite, mysql or both). */
export async function runChurnBacktestBench(): Promise<Record<string, unknown>[]> {
  const seed = process.env.BENCH_CHURN_SEED ? Number(process.env.BENCH_CHURN_SEED) : HELD_OUT_SEED;
  const engines = (process.env.BENCH_ENGINES?.split(',') as DbEngine[] | undefined) ?? ['sqlite'];
  if (engines.includes('mysql')) process.env.TEST_MYSQL_URL ??= process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
  const out: Record<string, unknown>[] = [];
  for (const engine of engines) out.push(await runChurnBacktest({ seed, engine, signalsOut: process.env.BENCH_CHURN_SIGNALS }));
  return out;
}
