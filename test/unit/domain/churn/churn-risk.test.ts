import { describe, expect, it } from 'vitest';
import { AFTER_LEAVING, HANDOVER_GRACE_DAYS, riskLevel, RISK_POINTS, scoreChurnRisk } from '../../../../src/domain/churn/churn-risk.js';
import type { ChurnSignals } from '../../../../src/domain/churn/churn-risk.types.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 6);
const quiet: ChurnSignals = {
  orders: 0,
  firstOrderAt: null,
  lastOrderAt: null,
  orderGaps: [],
  recentInteractions: 0,
  earlierInteractions: 0,
  lastInteractionAt: null,
  latestScore: null,
  openTickets: 0,
  overdueTicket: false,
  broadcastsIgnored: 0,
  ownerResigned: false,
  ownerResignedAt: null,
  complaints: 0,
  lastComplaintAt: null,
  latestScoreAt: null,
  interactionsSinceResigned: 0,
};
const score = (s: Partial<ChurnSignals>) => scoreChurnRisk({ ...quiet, ...s }, NOW);

// docs/churn.md §Signals
describe('scoreChurnRisk', () => {
  it('gives nothing for a customer with no signal, and says nothing', () => {
    expect(score({})).toEqual({ score: 0, reasons: [] });
  });

  it('rises with the time since the last order against the customer’s own interval, from 1.5× to 2.5×, once four orders give one', () => {
    const every30 = (sinceDays: number) => score({ orders: 5, firstOrderAt: NOW - (120 + sinceDays) * DAY, lastOrderAt: NOW - sinceDays * DAY });
    expect(every30(25).score).toBe(0);
    expect(every30(40).score).toBe(0);
    expect(every30(60).score).toBe(Math.round(0.5 * RISK_POINTS.orderOverdue));
    expect(every30(75).score).toBe(RISK_POINTS.orderOverdue);
    expect(every30(200).score).toBe(RISK_POINTS.orderOverdue);
    expect(every30(60).reasons[0]).toEqual({ code: 'order_overdue', points: 23, text: '距上次下单 60 天，平时约 30 天下一单（已是 2.0 倍）' });
    // Three orders (two gaps) say too little of a rhythm to be overdue against.
    expect(score({ orders: 3, firstOrderAt: NOW - 260 * DAY, lastOrderAt: NOW - 200 * DAY }).score).toBe(0);
  });

  it('measures the silence against the buyer’s own gaps: a steady buyer two orders late warns, an irregular one at the same silence does not', () => {
    // docs/churn.md §Signals: the silence in typical gaps, counted in the spread of the gaps (ORDER_REGULARITY).
    const lapsed = { recentInteractions: 0, earlierInteractions: 5, lastInteractionAt: NOW - 90 * DAY };
    const buyer = (gaps: number[], sinceDays: number) => score({ ...lapsed, orders: gaps.length + 1, firstOrderAt: NOW - (sinceDays + gaps.reduce((a, b) => a + b, 0)) * DAY, lastOrderAt: NOW - sinceDays * DAY, orderGaps: gaps });
    const steady = buyer([30, 29, 31, 30, 30], 90);
    expect(steady.reasons[0]).toEqual({ code: 'order_overdue', points: RISK_POINTS.orderOverdue, text: '距上次下单 90 天，平时约 30 天下一单（已是 3.0 倍）' });
    expect(riskLevel(steady.score, 60)).toBe('high');
    // Gaps from 10 days to four months, about a month typically: 90 days of silence is within their habit.
    const irregular = buyer([10, 45, 120, 30, 20], 90);
    expect(irregular.reasons.map((r) => r.code)).not.toContain('order_overdue');
    expect(riskLevel(irregular.score, 60)).not.toBe('high');
    // Further out of their habit, the irregular buyer is overdue too, and the reason says how much their gaps vary.
    expect(buyer([10, 45, 120, 30, 20], 400).reasons[0]).toEqual({ code: 'order_overdue', points: 18, text: '距上次下单 400 天，平时约 30 天下一单（已是 13.3 倍，以往间隔 10～120 天不等）' });
    // A steady buyer one order late is not overdue yet: under 1.5 typical gaps, however steady.
    expect(buyer([30, 30, 30, 30], 40).reasons.map((r) => r.code)).toEqual(['interaction_drop', 'silent']);
    expect(buyer([30, 30, 30, 30], 60).reasons[0]).toMatchObject({ code: 'order_overdue', points: 33 });
    // A second order on the same day is one purchase: it says nothing of the rhythm.
    expect(buyer([30, 0.1, 30, 30], 90).reasons[0]).toMatchObject({ code: 'order_overdue', points: RISK_POINTS.orderOverdue });
  });

  it('counts one old order, a drop in interactions and silence', () => {
    expect(score({ orders: 1, firstOrderAt: NOW - 100 * DAY, lastOrderAt: NOW - 100 * DAY }).reasons.map((r) => r.code)).toEqual(['single_order_lapsed']);
    expect(score({ orders: 1, firstOrderAt: NOW - 80 * DAY, lastOrderAt: NOW - 80 * DAY }).score).toBe(0);
    // 20 in the 150 days before (4 a month), 1 in the last 30: three quarters of the drop's points.
    const drop = score({ recentInteractions: 1, earlierInteractions: 20, lastInteractionAt: NOW - 10 * DAY });
    expect(drop.reasons).toEqual([{ code: 'interaction_drop', points: 8, text: '近 30 天互动 1 次，此前平均每 30 天 4.0 次' }]);
    // Seen less than every two months before: no drop to speak of.
    expect(score({ recentInteractions: 0, earlierInteractions: 2, lastInteractionAt: NOW - 40 * DAY }).score).toBe(0);
    const silent = score({ recentInteractions: 0, earlierInteractions: 6, lastInteractionAt: NOW - 70 * DAY });
    expect(silent.reasons.map((r) => r.code)).toEqual(['interaction_drop', 'silent']);
    expect(silent.reasons[1].text).toBe('已 70 天没有任何互动');
  });

  it('counts a detractor score, open tickets, ignored broadcasts and a resigned owner, largest first', () => {
    const r = score({ latestScore: { kind: 'nps', score: 3 }, openTickets: 1, overdueTicket: true, broadcastsIgnored: 3, ownerResigned: true });
    expect(r.reasons.map((x) => [x.code, x.points])).toEqual([
      ['owner_resigned', 60],
      ['detractor', 20],
      ['open_ticket', 10],
      ['broadcasts_ignored', 4],
    ]);
    expect(r.score).toBe(94);
    expect(r.reasons.map((x) => x.text)).toEqual(['跟进员工已离职，客户尚未继承给他人', '最近一次满意度评分为贬损（NPS 3 分）', '有反馈工单超时未联系', '近 60 天收到 3 次群发，之后没有回应']);
    expect(score({ latestScore: { kind: 'nps', score: 7 } }).score).toBe(0);
    expect(score({ latestScore: { kind: 'csat', score: 2 } }).reasons[0].text).toBe('最近一次满意度评分为贬损（CSAT 2 分）');
    expect(score({ broadcastsIgnored: 1 }).score).toBe(0);
  });

  it('warns on a complaint alone, and on a resigned owner once the handover is 14 days late', () => {
    const complained = score({ complaints: 2 });
    expect(complained).toEqual({ score: RISK_POINTS.complaint, reasons: [{ code: 'complaint', points: 60, text: '近 60 天有 2 次投诉或不满（客服消息或员工记录）' }] });
    expect(riskLevel(complained.score, 60)).toBe('high');
    // docs/churn.md §Signals: the admin usually hands a leaver's customers over within days.
    expect(score({ ownerResigned: true, ownerResignedAt: NOW - 13 * DAY }).score).toBe(0);
    expect(score({ ownerResigned: true, ownerResignedAt: NOW - HANDOVER_GRACE_DAYS * DAY }).reasons).toEqual([{ code: 'owner_resigned', points: 60, text: '跟进员工已离职 14 天，客户尚未继承给他人' }]);
    // A member who left before the bot kept the moment counts at once.
    expect(score({ ownerResigned: true, ownerResignedAt: null }).score).toBe(60);
  });

  it('weighs a complaint less once the customer came back after it: an order, or a score above a detractor’s', () => {
    const complained = { complaints: 1, lastComplaintAt: NOW - 20 * DAY };
    // docs/churn.md §Signals: an order after the complaint.
    expect(score({ ...complained, orders: 3, firstOrderAt: NOW - 200 * DAY, lastOrderAt: NOW - 5 * DAY }).reasons).toEqual([
      { code: 'complaint', points: RISK_POINTS.complaintAnswered, text: '近 60 天有 1 次投诉或不满（客服消息或员工记录），此后客户已再次下单' },
    ]);
    expect(score({ ...complained, latestScore: { kind: 'nps', score: 8 }, latestScoreAt: NOW - 3 * DAY }).reasons[0]).toEqual({ code: 'complaint', points: RISK_POINTS.complaintAnswered, text: '近 60 天有 1 次投诉或不满（客服消息或员工记录），此后客户给出 NPS 8 分' });
    // An order or a score before the complaint, or a detractor's score after it, is no coming back.
    expect(score({ ...complained, orders: 3, firstOrderAt: NOW - 200 * DAY, lastOrderAt: NOW - 25 * DAY }).score).toBe(RISK_POINTS.complaint);
    expect(score({ ...complained, latestScore: { kind: 'nps', score: 9 }, latestScoreAt: NOW - 21 * DAY }).score).toBe(RISK_POINTS.complaint);
    expect(score({ ...complained, latestScore: { kind: 'nps', score: 4 }, latestScoreAt: NOW - 3 * DAY }).reasons.find((r) => r.code === 'complaint')!.points).toBe(RISK_POINTS.complaint);
  });

  it('says when a resigned owner’s customer still writes or orders since the leaving', () => {
    const left = { ownerResigned: true, ownerResignedAt: NOW - 20 * DAY };
    expect(score({ ...left, interactionsSinceResigned: AFTER_LEAVING.engagedFrom - 1 }).reasons).toEqual([{ code: 'owner_resigned', points: RISK_POINTS.ownerResigned, text: '跟进员工已离职 20 天，客户尚未继承给他人' }]);
    expect(score({ ...left, interactionsSinceResigned: AFTER_LEAVING.engagedFrom }).reasons).toEqual([
      { code: 'owner_resigned', points: RISK_POINTS.ownerResignedEngaged, text: `跟进员工已离职 20 天，客户尚未继承给他人（离职后客户仍有 ${AFTER_LEAVING.engagedFrom} 次咨询或下单）` },
    ]);
  });

  it('caps the score at 100', () => {
    const r = score({ orders: 4, firstOrderAt: NOW - 400 * DAY, lastOrderAt: NOW - 300 * DAY, recentInteractions: 0, earlierInteractions: 9, lastInteractionAt: NOW - 100 * DAY, latestScore: { kind: 'nps', score: 0 }, openTickets: 1, broadcastsIgnored: 4, ownerResigned: true });
    expect(r.score).toBe(100);
    expect(r.reasons.reduce((n, x) => n + x.points, 0)).toBeGreaterThan(100);
  });

  it('names the level against the threshold', () => {
    expect([riskLevel(60, 60), riskLevel(59, 60), riskLevel(30, 60), riskLevel(29, 60)]).toEqual(['high', 'medium', 'medium', 'low']);
  });
});
