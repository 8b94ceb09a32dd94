import type { CareRule } from '../care/care-rule.types.js';

/**
 * A win-back campaign as a journey (docs/journeys.md §Win-back as a journey): who enters (dormant customers, or
 * those whose churn risk is high, within the rule's audience) is checked nightly; each step goes at the rule's send
 * time on its day after entering; a reply (any interaction) or an order ends it; the rule's priority and holdout are
 * kept. A step for staff only becomes a staff task; a WeChat-KF step a mass-send task to the owner.
 */
export function winbackJourney(rule: CareRule): Record<string, unknown> {
  if (rule.occasion.type !== 'winback') throw new Error('not a win-back rule');
  const entry = rule.occasion.entry === 'churn_risk' ? 'risk:high' : 'activity:dormant';
  const steps = rule.occasion.steps.map((s, i, all) => {
    const days = s.day - (i === 0 ? 0 : all[i - 1].day);
    const delay = { kind: 'at', days, time: rule.sendTime };
    const title = `第 ${s.day} 天`;
    return s.channel === 'staff_reminder'
      ? { kind: 'task', title, delay, text: s.template, attachments: s.attachments, dueHours: 24 }
      : { kind: 'message', title, delay, text: s.template, attachments: s.attachments };
  });
  return {
    name: `${rule.name}（客户旅程）`.slice(0, 100),
    // Once per silence, as the campaign: back after a month at the earliest.
    reentry: 'after_days',
    reentryDays: 30,
    holdoutPercent: rule.holdoutPercent,
    transferPolicy: 'follow',
    conversionDays: 30,
    priority: rule.priority,
    definition: {
      trigger: { kind: 'audience', audience: rule.audience ? `${entry} AND (${rule.audience})` : entry },
      steps,
      exits: { replied: true, ordered: true, tagRemoved: [] },
    },
  };
}
