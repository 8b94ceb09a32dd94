import type { BroadcastView, CancelOutcome } from '../../domain/broadcasts/broadcast.types.js';
import type { CreatedBroadcast } from '../../domain/broadcasts/broadcast.service.js';

/**
 * A broadcast as the API shows it, with its ledger stats. `tasksEstimate` is how many add_msg_template tasks staff
 * will be asked to confirm: identical text is one task per sender (≤ 10,000 customers), and a text with `{{name}}`
 * (`personalized`) is one task per customer.
 */
export function presentBroadcast(v: BroadcastView) {
  const b = v.broadcast;
  return {
    id: b.id,
    name: b.name,
    audience: b.audience,
    message: { text: b.text, attachments: b.attachments, contentIds: b.contentIds },
    sendAt: b.sendAt.toISOString(),
    sender: b.senderPolicy,
    status: b.status,
    reason: b.reason,
    audienceCount: b.audienceCount,
    tasksEstimate: b.tasksEstimate,
    personalized: b.isPersonalized,
    holdoutPercent: b.holdoutPercent,
    tasksNote: b.isPersonalized
      ? '文本含 {{name}}，每位客户单独一个群发任务 / {{name}} renders per customer: one task per customer'
      : '相同文本按发送员工合并，每位员工一个群发任务（每任务 ≤ 10000 位客户）/ identical text: one task per sender (≤ 10,000 customers each)',
    createdBy: b.createdBy,
    attempts: b.attempts,
    createdAt: b.createdAt.toISOString(),
    updatedAt: b.updatedAt.toISOString(),
    plannedAt: b.plannedAt?.toISOString() ?? null,
    finishedAt: b.finishedAt?.toISOString() ?? null,
    cancelledAt: b.cancelledAt?.toISOString() ?? null,
    stats: v.stats,
  };
}

/** The 201 answer to `POST /api/v1/broadcasts`: the broadcast plus how its audience looks right now. */
export function presentCreatedBroadcast(v: CreatedBroadcast) {
  return { ...presentBroadcast(v), optedOutCount: v.audienceNow.optedOut, reachableCount: v.audienceNow.reachable };
}

/** The answer to `POST /api/v1/broadcasts/:id/cancel`. */
export function presentCancelledBroadcast(v: BroadcastView & { cancellation: CancelOutcome }) {
  return { ...presentBroadcast(v), cancellation: v.cancellation };
}
