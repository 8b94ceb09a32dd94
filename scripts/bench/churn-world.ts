/**
 * The churn backtest's generated corp (流失预警, "Measured"): a seeded, day-ordered stream of what happens in one
 * corp over about 13 months, with the ground truth of who deletes the relation, when and why. Written apart from the
 * churn-risk scorer and never tuned to it; CHURN_WORLD_PARAMS is frozen (a change would make earlier figures
 * incomparable). The rules: docs/churn-backtest.md §The generated corp
 *
 * The stream names only what the product could be told (a customer added, an order, a KF message, a note, a survey
 * answer, a complaint, a broadcast, a member resigning, a transfer, a deletion); the hidden types, the onset of
 * unhappiness and the cause stay in `truth`.
 */
import { createPrng } from '../../src/shared/prng.js';

/** The generator's parameters, fixed before the scorer was tuned; never change them (docs/churn-backtest.md §Fixed parameters). */
export const CHURN_WORLD_PARAMS = Object.freeze({
  customers: 3000,
  members: 20,
  /** Days replayed (day 0 … days-1); about 13 months. */
  days: 395,
  /** Truth (deletions only) is simulated this many days past the end, so a late warning can still be judged. */
  truthTailDays: 60,
  /** Day 0, a calendar date in Asia/Shanghai. */
  startDate: '2025-11-03',
  /** Share of customers added in the opening days (0 … openingDays-1); the rest arrive evenly until lastAddDay. */
  openingShare: 0.55,
  openingDays: 21,
  lastAddDay: 330,
  /** Hidden types and their shares. */
  typeShares: { regular: 0.4, occasional: 0.3, chatter: 0.15, dormant: 0.15 },
  /** Regular buyers: share with a ~30-day cycle (normal, sd 3), the others log-normal around 45 days (14 … 120). */
  regularThirtyShare: 0.45,
  regularCycleMedian: 45,
  regularCycleSigma: 0.45,
  /** Each interval is the cycle times exp(N(0, cycleJitter)); an order is skipped (gap doubles) with skipShare. */
  cycleJitter: 0.18,
  skipShare: 0.08,
  /** Mean days between orders (uniform between the bounds per customer) for occasional buyers; chatters and dormant customers. */
  occasionalGap: [90, 200] as const,
  chatterOrderGap: 150,
  dormantOrderGap: 400,
  /** Share of regular and occasional buyers who order within 10 days of being added; dormant customers. */
  firstOrderShare: 0.7,
  dormantFirstOrderShare: 0.3,
  /** Mean days between KF messages by type (chatters: uniform between the bounds). */
  kfGap: { regular: 60, occasional: 90, chatter: [5, 15] as const, dormant: 300 },
  /** Mean days between the owner's follow-up notes by type. */
  noteGap: { regular: 50, occasional: 120, chatter: 60, dormant: 300 },
  /** Broadcasts to every live customer: the first on firstBroadcastDay, then every broadcastEvery ± broadcastJitter days. */
  firstBroadcastDay: 10,
  broadcastEvery: 14,
  broadcastJitter: 2,
  /** Chance that a customer answers a broadcast (a KF message, or an order for buyers, within 0 … 3 days). */
  broadcastResponse: { regular: 0.15, occasional: 0.08, chatter: 0.3, dormant: 0.02 },
  /** Quarterly satisfaction survey days (corp days) and the chance of an answer by type. */
  quarterlySurveyDays: [45, 135, 225, 315],
  quarterlyAnswer: { regular: 0.3, occasional: 0.3, chatter: 0.4, dormant: 0.1 },
  /** Chance that an order is followed by an answered after-order survey (next day). */
  afterOrderAnswer: 0.12,
  /** A content customer's score: 10, 9, 8, 7, and below 7 (0 … 6 evenly), by these weights. */
  contentScores: [0.25, 0.3, 0.2, 0.12, 0.13],
  /** An unhappy customer's score is 0 … 6 (evenly) with this chance, else 7 or 8. */
  unhappyDetractorShare: 0.85,
  /** Unhappiness: yearly hazard of the onset, per customer. */
  unhappyPerYear: 0.12,
  /** At the onset: a complaint by KF message (with a ticket), and the owner's note about it. */
  unhappyComplaintShare: 0.45,
  unhappyNoteShare: 0.5,
  /** While unhappy: orders, KF messages, notes and broadcast answers scale by these. */
  unhappyOrderFactor: 0.25,
  unhappyKfFactor: 0.35,
  unhappyNoteFactor: 0.5,
  unhappyBroadcastFactor: 0.1,
  /** A survey during unhappiness is answered with this chance (instead of the type's). */
  unhappyAnswerShare: 0.6,
  /** Share of the unhappy who recover after 30 … 90 days and never delete; the others delete after 7 + lognormal(median, sigma) days. */
  unhappyRecoverShare: 0.25,
  unhappyDelayMedian: 35,
  unhappyDelaySigma: 0.5,
  /** Lapsing (regular and occasional buyers only): orders stop, KF and broadcast answers scale down. */
  lapsePerYear: 0.08,
  lapseKfFactor: 0.5,
  lapseBroadcastFactor: 0.3,
  lapseDeleteShare: 0.5,
  lapseDelayMedian: 60,
  lapseDelaySigma: 0.5,
  /** Members who resign (the last ones), and the window of each resignation (day from … from+window). */
  resignations: [
    { from: 140, window: 30 },
    { from: 240, window: 30 },
  ],
  /** A resigned member's customer is transferred (1 … 14 days later) with this chance. */
  transferShare: 0.5,
  /** Not transferred: orders, KF and broadcast answers scale down, notes stop; deletion with a chance after a delay. */
  orphanOrderFactor: 0.6,
  orphanKfFactor: 0.7,
  orphanBroadcastFactor: 0.5,
  orphanDeleteShare: 0.55,
  orphanDelayMin: 5,
  orphanDelayMedian: 45,
  orphanDelaySigma: 0.6,
  /** Deletions without warning signs (yearly hazard; dormant customers higher), and members deleting customers. */
  suddenPerYear: 0.04,
  dormantSuddenPerYear: 0.1,
  staffRemovePerYear: 0.01,
});

export type ChurnWorldParams = typeof CHURN_WORLD_PARAMS;
export type CustomerType = 'regular' | 'occasional' | 'chatter' | 'dormant';
export type ChurnCause = 'unhappy' | 'lapsed' | 'owner_left' | 'sudden' | 'staff_removed';

interface At {
  /** Corp day (0 = startDate). */
  day: number;
  /** Minute of that day, Asia/Shanghai (events of one day are ordered by it). */
  minute: number;
}

export type WorldEvent =
  | (At & { kind: 'member_join'; userid: string; name: string })
  | (At & { kind: 'customer_add'; externalUserId: string; name: string; owner: string })
  | (At & { kind: 'order'; externalUserId: string; orderNo: string; amountFen: number })
  | (At & { kind: 'kf_message'; externalUserId: string; text: string })
  | (At & { kind: 'note'; externalUserId: string; author: string; text: string })
  | (At & { kind: 'survey_answer'; externalUserId: string; survey: 'quarterly' | 'after_order'; score: number })
  | (At & { kind: 'complaint'; externalUserId: string; text: string })
  | (At & { kind: 'broadcast'; broadcastId: string; recipients: string[] })
  | (At & { kind: 'member_resign'; userid: string })
  | (At & { kind: 'transfer'; externalUserId: string; from: string; to: string })
  | (At & { kind: 'delete'; externalUserId: string; by: 'customer' | 'member'; owner: string });

export interface CustomerTruth {
  externalUserId: string;
  type: CustomerType;
  addedDay: number;
  owner: string;
  /** Day the relation is deleted (may be past the replayed days, up to days + truthTailDays - 1), or null. */
  deletedDay: number | null;
  cause: ChurnCause | null;
  /** Onsets of the hidden processes (null when they never happen before the end). */
  unhappyFrom: number | null;
  recovered: boolean;
  lapsedFrom: number | null;
  /** Day the owner resigned while the customer was theirs and not transferred. */
  orphanedFrom: number | null;
}

export interface ChurnWorld {
  seed: number;
  params: ChurnWorldParams;
  members: Array<{ userid: string; name: string; resignedDay: number | null }>;
  events: WorldEvent[];
  truth: CustomerTruth[];
}

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高';
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀英', '霞', '平'];
const KF_TEXTS = ['请问这个还有货吗', '什么时候发货', '有优惠活动吗', '帮我查一下物流', '这个怎么用', '可以开发票吗', '有没有新品', '谢谢'];
const BROADCAST_REPLIES = ['收到', '这个活动怎么参加', '还有名额吗', '好的，我看看'];
const NOTE_TEXTS = ['电话回访，客户满意', '客户咨询新品，已介绍', '客户反馈包装不错', '跟进复购意向', '节日问候已发'];
const COMPLAINT_TEXTS = ['上次买的东西有质量问题，很失望', '发货太慢了，不想再买了', '客服一直没人回复，体验很差', '价格比别家贵，感觉被坑了'];
const COMPLAINT_NOTES = ['客户投诉，已致歉并登记', '客户不满意，已安排售后'];

/**
 * Generate the corp for `seed`. Pure and deterministic: the same seed gives the same events and truth.
 * The rules: docs/churn-backtest.md §The generated corp.
 */
export function generateChurnWorld(seed: number, params: ChurnWorldParams = CHURN_WORLD_PARAMS): ChurnWorld {
  const rand = createPrng(seed);
  const p = params;
  const end = p.days; // exclusive: events on days 0 … end-1
  const horizon = p.days + p.truthTailDays; // truth up to horizon-1

  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const uniform = (a: number, b: number): number => a + rand() * (b - a);
  const normal = (): number => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const lognormal = (median: number, sigma: number): number => median * Math.exp(sigma * normal());
  const expo = (mean: number): number => -Math.log(Math.max(rand(), 1e-12)) * mean;
  const hazardDay = (from: number, perYear: number): number => (perYear > 0 ? from + Math.floor(expo(365 / perYear)) : Infinity);
  const minute = (): number => 9 * 60 + Math.floor(rand() * 13 * 60); // 09:00 … 21:59

  const events: WorldEvent[] = [];

  // Members, and who resigns when.
  const members = Array.from({ length: p.members }, (_, i) => ({
    userid: `m${String(i + 1).padStart(2, '0')}`,
    name: `${SURNAMES[i % SURNAMES.length]}${GIVEN[(i * 7) % GIVEN.length]}`,
    resignedDay: null as number | null,
  }));
  p.resignations.forEach((r, i) => {
    const m = members[members.length - 1 - i]!;
    m.resignedDay = r.from + Math.floor(rand() * r.window);
  });
  for (const m of members) events.push({ day: 0, minute: 0, kind: 'member_join', userid: m.userid, name: m.name });
  for (const m of members) if (m.resignedDay !== null) events.push({ day: m.resignedDay, minute: 8 * 60, kind: 'member_resign', userid: m.userid });

  // Broadcast days.
  const broadcastDays: number[] = [];
  for (let d = p.firstBroadcastDay; d < end; d += p.broadcastEvery + Math.round(uniform(-p.broadcastJitter, p.broadcastJitter))) broadcastDays.push(d);

  const typeOf = (): CustomerType => {
    let u = rand();
    for (const [t, share] of Object.entries(p.typeShares) as Array<[CustomerType, number]>) {
      if (u < share) return t;
      u -= share;
    }
    return 'dormant';
  };

  const truth: CustomerTruth[] = [];
  let orderSeq = 0;
  const alive: Array<{ ext: string; added: number; deleted: number | null }> = [];

  for (let i = 0; i < p.customers; i++) {
    const ext = `wmc${seed}x${String(i).padStart(5, '0')}`;
    const name = `${pick(SURNAMES.split(''))}${pick(GIVEN)}`;
    const added = rand() < p.openingShare ? Math.floor(rand() * p.openingDays) : p.openingDays + Math.floor(rand() * (p.lastAddDay - p.openingDays));
    const activeAt = (d: number) => members.filter((m) => m.resignedDay === null || m.resignedDay > d);
    const owner = pick(activeAt(added)).userid;
    const type = typeOf();
    const buyer = type === 'regular' || type === 'occasional';

    // Fate first: the hidden processes' onsets, then the deletion that comes first.
    let unhappyFrom: number | null = hazardDay(added, p.unhappyPerYear);
    if (unhappyFrom >= horizon) unhappyFrom = null;
    const recovered = unhappyFrom !== null && rand() < p.unhappyRecoverShare;
    const unhappyUntil = unhappyFrom !== null && recovered ? unhappyFrom + Math.floor(uniform(30, 90)) : Infinity;
    const unhappyDelete = unhappyFrom !== null && !recovered ? unhappyFrom + 7 + Math.round(lognormal(p.unhappyDelayMedian, p.unhappyDelaySigma)) : Infinity;

    let lapsedFrom: number | null = buyer ? hazardDay(added, p.lapsePerYear) : null;
    if (lapsedFrom !== null && lapsedFrom >= horizon) lapsedFrom = null;
    const lapseDelete = lapsedFrom !== null && rand() < p.lapseDeleteShare ? lapsedFrom + Math.round(lognormal(p.lapseDelayMedian, p.lapseDelaySigma)) : Infinity;

    // The owner's resignation: transferred (to another member) or orphaned.
    const ownerMember = members.find((m) => m.userid === owner)!;
    let orphanedFrom: number | null = null;
    let transfer: { day: number; to: string } | null = null;
    let orphanDelete = Infinity;
    if (ownerMember.resignedDay !== null) {
      const rd = ownerMember.resignedDay;
      if (rand() < p.transferShare) {
        const day = rd + 1 + Math.floor(rand() * 14);
        transfer = { day, to: pick(activeAt(day)).userid };
      } else {
        orphanedFrom = rd;
        if (rand() < p.orphanDeleteShare) orphanDelete = rd + p.orphanDelayMin + Math.round(lognormal(p.orphanDelayMedian, p.orphanDelaySigma));
      }
    }
    const sudden = hazardDay(added, type === 'dormant' ? p.dormantSuddenPerYear : p.suddenPerYear);
    const staffRemove = hazardDay(added, p.staffRemovePerYear);

    const candidates: Array<[number, ChurnCause]> = [
      [unhappyDelete, 'unhappy'],
      [lapseDelete, 'lapsed'],
      [orphanDelete, 'owner_left'],
      [sudden, 'sudden'],
      [staffRemove, 'staff_removed'],
    ];
    candidates.sort((a, b) => a[0] - b[0]);
    let [deletedDay, cause] = candidates[0]! as [number | null, ChurnCause | null];
    if (deletedDay! <= added) deletedDay = added + 1;
    if (deletedDay! >= horizon) {
      deletedDay = null;
      cause = null;
    }
    // A transfer after the deletion never happens; nor does an onset after it.
    if (transfer && deletedDay !== null && transfer.day >= deletedDay) transfer = null;
    if (unhappyFrom !== null && deletedDay !== null && unhappyFrom >= deletedDay) unhappyFrom = null;
    if (lapsedFrom !== null && deletedDay !== null && lapsedFrom >= deletedDay) lapsedFrom = null;
    if (orphanedFrom !== null && deletedDay !== null && orphanedFrom >= deletedDay) orphanedFrom = null;

    truth.push({ externalUserId: ext, type, addedDay: added, owner, deletedDay, cause, unhappyFrom, recovered, lapsedFrom, orphanedFrom });
    alive.push({ ext, added, deleted: deletedDay });

    // Behaviour, day by day, until the deletion or the end of the replay.
    const last = Math.min(end, deletedDay ?? end); // exclusive: nothing happens on the deletion day but the deletion
    const own: WorldEvent[] = [];
    own.push({ day: added, minute: 8 * 60 + Math.floor(rand() * 60), kind: 'customer_add', externalUserId: ext, name, owner });
    if (transfer && transfer.day < end) own.push({ day: transfer.day, minute: 8 * 60 + 30, kind: 'transfer', externalUserId: ext, from: owner, to: transfer.to });

    const isUnhappy = (d: number) => unhappyFrom !== null && d >= unhappyFrom && d < unhappyUntil;
    const isLapsed = (d: number) => lapsedFrom !== null && d >= lapsedFrom;
    const isOrphan = (d: number) => orphanedFrom !== null && d >= orphanedFrom;
    const ownerOn = (d: number) => (transfer && d >= transfer.day ? transfer.to : owner);

    const thirty = type === 'regular' && rand() < p.regularThirtyShare;
    const cycle =
      type === 'regular'
        ? thirty
          ? Math.max(20, 30 + 3 * normal())
          : Math.min(120, Math.max(14, lognormal(p.regularCycleMedian, p.regularCycleSigma)))
        : type === 'occasional'
          ? uniform(p.occasionalGap[0], p.occasionalGap[1])
          : type === 'chatter'
            ? p.chatterOrderGap
            : p.dormantOrderGap;
    const kfGap = type === 'chatter' ? uniform(p.kfGap.chatter[0], p.kfGap.chatter[1]) : p.kfGap[type];
    const noteGap = p.noteGap[type];
    const amountMedian = lognormal(20000, 0.5);

    const order = (d: number) => {
      own.push({ day: d, minute: minute(), kind: 'order', externalUserId: ext, orderNo: `S${seed}-${++orderSeq}`, amountFen: Math.max(990, Math.round(lognormal(amountMedian, 0.3) / 10) * 10) });
      if (rand() < (isUnhappy(d) ? p.unhappyAnswerShare : p.afterOrderAnswer) && d + 1 < last)
        own.push({ day: d + 1, minute: minute(), kind: 'survey_answer', externalUserId: ext, survey: 'after_order', score: score(d + 1) });
    };
    const score = (d: number): number => {
      if (isUnhappy(d)) return rand() < p.unhappyDetractorShare ? Math.floor(rand() * 7) : 7 + Math.floor(rand() * 2);
      let u = rand();
      const ws = p.contentScores;
      for (let k = 0; k < 4; k++) {
        if (u < ws[k]!) return 10 - k;
        u -= ws[k]!;
      }
      return Math.floor(rand() * 7);
    };

    // Orders: regular buyers on their cycle, the others as a Poisson process; scaled by the hidden state.
    const orderFactor = (d: number) => (isLapsed(d) ? 0 : 1) * (isUnhappy(d) ? p.unhappyOrderFactor : 1) * (isOrphan(d) ? p.orphanOrderFactor : 1);
    if (buyer || type === 'dormant') {
      const firstShare = type === 'dormant' ? p.dormantFirstOrderShare : p.firstOrderShare;
      if (rand() < firstShare) {
        const d = added + Math.floor(rand() * 10);
        if (d < last && orderFactor(d) > 0) order(d);
      }
    }
    if (type === 'regular') {
      let d = added + Math.round(cycle * rand());
      while (d < last) {
        if (rand() >= p.skipShare && rand() < orderFactor(d)) order(d);
        d += Math.max(3, Math.round(cycle * Math.exp(p.cycleJitter * normal())));
      }
    } else {
      for (let d = added + 1; d < last; d++) if (rand() < orderFactor(d) / cycle) order(d);
    }

    // KF messages, notes, complaints, day by day.
    for (let d = added; d < last; d++) {
      const kfRate = (1 / kfGap) * (isUnhappy(d) ? p.unhappyKfFactor : 1) * (isLapsed(d) ? p.lapseKfFactor : 1) * (isOrphan(d) ? p.orphanKfFactor : 1);
      if (rand() < kfRate) {
        const n = type === 'chatter' ? 1 + Math.floor(rand() * 3) : 1;
        for (let k = 0; k < n; k++) own.push({ day: d, minute: minute(), kind: 'kf_message', externalUserId: ext, text: pick(KF_TEXTS) });
      }
      const noteRate = isOrphan(d) ? 0 : (1 / noteGap) * (isUnhappy(d) ? p.unhappyNoteFactor : 1);
      if (rand() < noteRate) own.push({ day: d, minute: minute(), kind: 'note', externalUserId: ext, author: ownerOn(d), text: pick(NOTE_TEXTS) });
      if (unhappyFrom === d) {
        if (rand() < p.unhappyComplaintShare) own.push({ day: d, minute: minute(), kind: 'complaint', externalUserId: ext, text: pick(COMPLAINT_TEXTS) });
        if (!isOrphan(d) && rand() < p.unhappyNoteShare && d + 1 < last) own.push({ day: d + 1, minute: minute(), kind: 'note', externalUserId: ext, author: ownerOn(d + 1), text: pick(COMPLAINT_NOTES) });
      }
    }

    // Quarterly surveys.
    for (const sd of p.quarterlySurveyDays) {
      if (sd <= added || sd >= last) continue;
      const d = sd + Math.floor(rand() * 5);
      if (d >= last) continue;
      if (rand() < (isUnhappy(d) ? p.unhappyAnswerShare : p.quarterlyAnswer[type])) own.push({ day: d, minute: minute(), kind: 'survey_answer', externalUserId: ext, survey: 'quarterly', score: score(d) });
    }

    // Answers to broadcasts (the broadcasts themselves are corp events, below).
    for (const bd of broadcastDays) {
      if (bd <= added || bd >= last) continue;
      const factor = (isUnhappy(bd) ? p.unhappyBroadcastFactor : 1) * (isLapsed(bd) ? p.lapseBroadcastFactor : 1) * (isOrphan(bd) ? p.orphanBroadcastFactor : 1);
      if (rand() < p.broadcastResponse[type] * factor) {
        const d = bd + Math.floor(rand() * 4);
        if (d >= last) continue;
        if (buyer && !isLapsed(d) && rand() < 0.3) order(d);
        else own.push({ day: d, minute: minute(), kind: 'kf_message', externalUserId: ext, text: pick(BROADCAST_REPLIES) });
      }
    }

    if (deletedDay !== null && deletedDay < end)
      own.push({ day: deletedDay, minute: minute(), kind: 'delete', externalUserId: ext, by: cause === 'staff_removed' ? 'member' : 'customer', owner: ownerOn(deletedDay) });
    events.push(...own);
  }

  for (const [k, bd] of broadcastDays.entries()) {
    const recipients = alive.filter((c) => c.added < bd && (c.deleted === null || c.deleted > bd)).map((c) => c.ext);
    events.push({ day: bd, minute: 8 * 60 + 45, kind: 'broadcast', broadcastId: `bc${seed}-${k + 1}`, recipients });
  }

  const rank: Record<WorldEvent['kind'], number> = { member_join: 0, member_resign: 1, customer_add: 2, transfer: 3, broadcast: 4, order: 5, kf_message: 5, note: 5, survey_answer: 5, complaint: 5, delete: 6 };
  events.sort((a, b) => a.day - b.day || a.minute - b.minute || rank[a.kind] - rank[b.kind]);
  return { seed, params, members, events, truth };
}

/** Summary counts of a world (for the doc and a sanity look). */
export function describeChurnWorld(w: ChurnWorld): Record<string, number> {
  const out: Record<string, number> = { events: w.events.length };
  for (const e of w.events) out[e.kind] = (out[e.kind] ?? 0) + 1;
  for (const t of w.truth) {
    if (t.deletedDay === null) continue;
    out[`deleted:${t.cause}`] = (out[`deleted:${t.cause}`] ?? 0) + 1;
    if (t.deletedDay < w.params.days) out.deletedInReplay = (out.deletedInReplay ?? 0) + 1;
  }
  return out;
}
