/**
 * Pure broadcast rules: what a broadcast text may contain, how many WeCom tasks it costs, when its messages may go
 * out, and how ledger counts read as stats. No database, no network.
 */
import { ValidationError } from '../../shared/errors.js';
import { localDate } from '../../shared/dates.js';
import { fitsByteLimit, listVariables, WECOM_TEXT_MAX_BYTES } from '../../shared/template.js';
import { nextAllowedTime, type QuietHours } from '../care/quiet-hours.js';
import { MAX_RECIPIENTS_PER_TASK } from '../delivery/delivery-dispatcher.js';
import { DELIVERY_STATUSES } from '../delivery/delivery.types.js';
import type { BroadcastStats } from './broadcast.types.js';

/** Variables a broadcast text may use: `{{name}}` (the customer, per customer) and `{{staff}}` (the sender). */
export const BROADCAST_VARIABLES = ['name', 'staff'] as const;

/** How far in the past `sendAt` may lie (clock skew and form-filling time), in ms. */
export const SEND_AT_GRACE_MS = 60_000;

/**
 * A broadcast is for its moment: rows expire this long after the broadcast became due (quiet hours can hold them
 * overnight, so a day is too short), and a broadcast not planned within it (the bot was down) fails instead of
 * going out days late.
 */
export const BROADCAST_WINDOW_MS = 2 * 86_400_000;

/**
 * 400 unless the text uses only known variables and fits WeCom's 4000-byte text limit
 * (docs/wecom-protocol.md §Mass messages).
 */
export function checkBroadcastText(text: string): void {
  const unknown = listVariables(text).filter((v) => !(BROADCAST_VARIABLES as readonly string[]).includes(v));
  if (unknown.length > 0) {
    throw new ValidationError(
      `未知的模板变量 / unknown template variables: ${unknown.map((v) => `{{${v}}}`).join(', ')}（可用 / known: {{name}}, {{staff}}）`,
      { unknown },
      'unknown_variable',
    );
  }
  if (!fitsByteLimit(text, WECOM_TEXT_MAX_BYTES)) {
    throw new ValidationError(`消息文本超过企业微信 ${WECOM_TEXT_MAX_BYTES} 字节上限 / text exceeds WeCom's ${WECOM_TEXT_MAX_BYTES}-byte limit (UTF-8)`, undefined, 'text_too_long');
  }
}

/** 400 when `sendAt` lies more than a minute before `now`. */
export function checkSendAt(sendAt: Date, now: Date): void {
  if (sendAt.getTime() < now.getTime() - SEND_AT_GRACE_MS) {
    throw new ValidationError('发送时间已过 / sendAt is in the past', { sendAt: sendAt.toISOString(), now: now.toISOString() }, 'send_at_in_past');
  }
}

/**
 * True when the text renders differently per customer. The dispatcher batches rows with identical text per sender
 * into one add_msg_template task, so `{{name}}` costs one task per customer; `{{staff}}` only varies per sender.
 */
export function isPersonalized(text: string): boolean {
  return listVariables(text).includes('name');
}

/**
 * add_msg_template tasks a broadcast is expected to create: one per customer when personalized; otherwise one per
 * sender and 10,000 customers (docs/wecom-protocol.md §Mass messages). `perFollower` counts each follower's reachable
 * customers, so for a customer followed by several staff it is an upper bound (only one of them sends).
 */
export function estimateTasks(input: { isPersonalized: boolean; reachable: number; perFollower: number[] }): number {
  if (input.isPersonalized) return input.reachable;
  const bySender = input.perFollower.reduce((sum, n) => sum + Math.ceil(n / MAX_RECIPIENTS_PER_TASK), 0);
  return Math.min(bySender, input.reachable);
}

/** When a broadcast's rows are due and expire, and the customer's local date its caps count against. */
export function deliveryWindow(sendAt: Date, now: Date, quiet: QuietHours): { notBefore: Date; expiresAt: Date; localDate: string } {
  const due = new Date(Math.max(sendAt.getTime(), now.getTime()));
  // Inside quiet hours the dispatcher holds the rows until the window ends; the caps belong to that day.
  const firstSend = nextAllowedTime(due, quiet);
  return { notBefore: sendAt, expiresAt: new Date(due.getTime() + BROADCAST_WINDOW_MS), localDate: localDate(firstSend, quiet.tz) };
}

/** True when a broadcast was not planned within its window (the bot was down past it). */
export function hasMissedWindow(sendAt: Date, now: Date): boolean {
  return now.getTime() - sendAt.getTime() > BROADCAST_WINDOW_MS;
}

/** The stable code a ledger reason starts with (`daily_cap: …` → `daily_cap`). */
export function reasonCode(reason: string | null): string {
  const code = (reason ?? '').split(':')[0].trim();
  return code || 'unknown';
}

/** Ledger counts of one broadcast as stats. */
export function summarizeStats(rows: { status: string; reason: string | null; n: number }[]): BroadcastStats {
  const byStatus: Record<string, number> = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0]));
  const skippedByReason: Record<string, number> = {};
  let total = 0;
  for (const r of rows) {
    total += r.n;
    byStatus[r.status] = (byStatus[r.status] ?? 0) + r.n;
    if (r.status === 'skipped') {
      const code = reasonCode(r.reason);
      skippedByReason[code] = (skippedByReason[code] ?? 0) + r.n;
    }
  }
  return { total, byStatus, skippedByReason };
}
