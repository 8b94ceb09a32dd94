import type { WecomGateway } from '../../wecom/client/gateway.js';
import { WecomTransportError } from '../../wecom/client/errors.js';
import { WecomApiError, toError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { byteLength, WECOM_APP_TEXT_MAX_BYTES } from '../../shared/template.js';
import { isQuietTime, type QuietHours } from '../care/quiet-hours.js';
import type { DeliveryRepository } from '../../persistence/repositories/delivery.repository.js';
import type { DeliveryBatchRepository } from '../../persistence/repositories/delivery-batch.repository.js';
import type { Delivery, DeliveryBatch } from './delivery.types.js';
import { SkipReason } from './delivery.types.js';
import { yieldToEventLoop } from '../../shared/yield.js';

/** add_msg_template takes at most 10,000 external_userids per call (docs/wecom-protocol.md §Mass messages). */
export const MAX_RECIPIENTS_PER_TASK = 10_000;
// The KF 48-hour window: a customer can be messaged only within 48 h of their last message
// (docs/wecom-protocol.md §WeChat customer service).
const KF_WINDOW_MS = 48 * 3_600_000;
// message/send dedupe window: WeCom drops an identical message within it (≤ 4 h,
// docs/wecom-protocol.md §App messages to staff). Resending a reminder after a crash is therefore harmless.
const APP_DUP_CHECK_SECONDS = 4 * 3600;

/**
 * What the dispatcher reads about customers at send time (consent is re-checked when sending,
 * docs/reliability.md §Consent at send time).
 */
export interface SendTimeFacts {
  /** Customers among `ids` who opted out of messages. */
  optedOut(ids: string[]): Promise<Set<string>>;
  /** The open KF conversation with a customer since `since`, if any. */
  kfConversation(externalUserId: string, since: Date): Promise<{ openKfId: string; kfUserId: string } | null>;
}

/**
 * A survey invitation on the KF channel is a session-end survey's (docs/surveys.md §After a WeChat-KF session): sent by
 * the session's event reply, else only once the customer writes after the end, since kf/send_msg is refused while the
 * session is ended (docs/wecom-protocol.md §KF sessions and event replies).
 */
export const isKfSessionReply = (d: Pick<Delivery, 'kind' | 'channel'>): boolean => d.kind === 'survey' && d.channel === 'kf';

/** What an event reply came to: sent; held by quiet hours; claimed elsewhere; refused (the row waits again); unknown. */
export type EventReplyOutcome = 'sent' | 'quiet' | 'opted_out' | 'taken' | 'refused' | 'unknown';

/** Dispatcher settings. */
export interface DispatchSettings {
  quietHours: QuietHours;
  reconcileAfterSeconds: number;
  resultPollMinutes: number;
}

/** Counts of one dispatch. */
export interface DispatchCounts {
  submittedTasks: number;
  submittedRows: number;
  remindersSent: number;
  kfSent: number;
  skipped: number;
  expired: number;
  deferredQuiet: number;
  reconciled: number;
  failed: number;
  /** Staff reminder rows left planned because their member was at WeCom's per-member message cap (set when > 0). */
  deferredCap?: number;
}

/**
 * Sends due ledger rows. Mass messages are grouped by sender and identical content, ≤ 10,000 per
 * add_msg_template (docs/wecom-protocol.md §Mass messages), and each sender is reminded by app message. Inside quiet
 * hours nothing is submitted. Each call is bracketed: rows go `submitting` (with a batch row) before it, and get the
 * msgid after it; batches found still `submitting` later are reconciled against get_groupmsg_list_v2 before any
 * re-send.
 */
export class DeliveryDispatcher {
  constructor(
    private readonly repo: DeliveryRepository,
    private readonly batches: DeliveryBatchRepository,
    private readonly wecom: WecomGateway,
    private readonly facts: SendTimeFacts,
    private readonly settings: DispatchSettings,
    private readonly instanceId: string,
    private readonly log: Logger,
    /**
     * Takes one app message from a member's share of WeCom's per-member cap (StaffMessenger.reserve); false when
     * they are at it, since WeCom would drop the message silently (docs/wecom-protocol.md §API rate limits). Unset: no
     * shared budget.
     */
    private readonly appMessageBudget: (userid: string) => Promise<boolean> = async () => true,
  ) {}

  /** Dispatch everything due at `now`. A dry run only reports (see `preview`). */
  async dispatch(now: Date): Promise<DispatchCounts> {
    const counts: DispatchCounts = { submittedTasks: 0, submittedRows: 0, remindersSent: 0, kfSent: 0, skipped: 0, expired: 0, deferredQuiet: 0, reconciled: 0, failed: 0 };
    counts.reconciled = await this.reconcile(now);
    counts.expired = await this.repo.expireDue(now);
    if (isQuietTime(now, this.settings.quietHours)) {
      // Held, not dropped: the rows stay planned until the window ends or they expire
      // (docs/reliability.md §Quiet hours and caps).
      counts.deferredQuiet = await this.repo.countDue(now);
      return counts;
    }
    // Per sender, how many customers wait in care tasks and in broadcast tasks: the member is told which is which.
    const remind = new Map<string, { care: number; broadcast: number }>();
    let afterId = 0;
    for (;;) {
      await yieldToEventLoop();
      const due = await this.repo.findDue(now, MAX_RECIPIENTS_PER_TASK, afterId);
      if (due.length === 0) break;
      afterId = due[due.length - 1].id;
      const live = await this.withoutOptedOut(due, now, counts);
      // Only a full page can have cut a sender's task short, and only a broadcast whose message has no variables
      // shares it between customers (one with them is a task per customer anyway).
      const sharedText = due.length < MAX_RECIPIENTS_PER_TASK ? new Set<string>() : await this.repo.broadcastsWithoutVariables([...new Set(live.map((d) => d.broadcastId ?? ''))].filter(Boolean));
      for (const paged of groupBy(live.filter((d) => d.channel === 'mass_task'), (d) => `${d.senderUserid}\u0000${d.text}\u0000${JSON.stringify(d.attachments)}`)) {
        const group = paged[0].broadcastId && sharedText.has(paged[0].broadcastId) ? await this.toppedUp(paged, now, counts) : paged;
        const n = await this.submitMassTask(group, now, counts);
        if (n > 0) {
          const waiting = remind.get(group[0].senderUserid!) ?? { care: 0, broadcast: 0 };
          waiting[group[0].broadcastId ? 'broadcast' : 'care'] += n;
          remind.set(group[0].senderUserid!, waiting);
        }
      }
      for (const group of groupBy(live.filter((d) => d.channel === 'staff_reminder'), (d) => d.senderUserid ?? '')) {
        for (const chunk of chunkReminders(group)) await this.sendReminders(chunk, now, counts);
      }
      for (const d of live.filter((x) => x.channel === 'kf')) await this.sendKf(d, now, counts);
      if (due.length < MAX_RECIPIENTS_PER_TASK) break;
    }
    for (const [sender, waiting] of remind) {
      // A reminder is a courtesy: WeCom also notifies the member; a failure here must not fail the dispatch, and a
      // member at their message cap simply does not get this one.
      try {
        if (!(await this.appMessageBudget(sender))) continue;
        await this.wecom.sendAppMessage({
          toUsers: [sender],
          content: { msgtype: 'text', content: massTaskReminder(waiting) },
          enableDuplicateCheck: true,
          duplicateCheckIntervalSeconds: 1800,
        });
      } catch (err) {
        this.log.warn({ err: toError(err), sender }, 'mass task reminder failed');
      }
    }
    return counts;
  }

  /**
   * A broadcast sender's customers in this page, with as many more of the same broadcast, sender and message as the
   * task has room for. The page reads due rows by id, and a broadcast's rows are in its customers' order, so each
   * page of a large broadcast held a little of every sender's customers: each member got a task to confirm per page
   * (about a hundred for a million customers) instead of one per 10,000 customers. The rows added are checked for
   * consent as the page's are; later pages skip them once the task holds them.
   * docs/audiences.md §Releasing a planned broadcast
   */
  private async toppedUp(group: Delivery[], now: Date, counts: DispatchCounts): Promise<Delivery[]> {
    const head = group[0];
    if (!head.broadcastId || !head.senderUserid || group.length >= MAX_RECIPIENTS_PER_TASK) return group;
    const more = await this.repo.findDueOfBroadcastSender(head.broadcastId, head.senderUserid, now, group[group.length - 1].id, MAX_RECIPIENTS_PER_TASK - group.length);
    const same = more.filter((d) => d.channel === 'mass_task' && d.text === head.text && JSON.stringify(d.attachments) === JSON.stringify(head.attachments));
    return same.length === 0 ? group : [...group, ...(await this.withoutOptedOut(same, now, counts))];
  }

  /**
   * The rows whose customer still consents; the others are skipped (docs/reliability.md §Consent at send time). Staff
   * reminders go to a member, not a customer, and are not checked.
   */
  private async withoutOptedOut(rows: Delivery[], now: Date, counts: DispatchCounts): Promise<Delivery[]> {
    const checked = rows.filter((d) => d.channel !== 'staff_reminder');
    const opted = await this.facts.optedOut(checked.map((d) => d.externalUserId));
    const optedIds = new Set(checked.filter((d) => opted.has(d.externalUserId)).map((d) => d.id));
    counts.skipped += await this.repo.markSkipped([...optedIds], `${SkipReason.OptedOut}: 客户已退订 / customer opted out`, now);
    return rows.filter((d) => !optedIds.has(d.id));
  }

  /** Planned rows due now, grouped as dispatch would send them (for dry runs and `job run --dry-run`). */
  async preview(now: Date): Promise<{ quiet: boolean; due: Delivery[] }> {
    return { quiet: isQuietTime(now, this.settings.quietHours), due: await this.repo.findDue(now, MAX_RECIPIENTS_PER_TASK) };
  }

  private async submitMassTask(group: Delivery[], now: Date, counts: DispatchCounts): Promise<number> {
    let submitted = 0;
    for (let i = 0; i < group.length; i += MAX_RECIPIENTS_PER_TASK) {
      const chunk = group.slice(i, i + MAX_RECIPIENTS_PER_TASK);
      const head = chunk[0];
      const opened = await this.batches.openBatch(
        { channel: 'mass_task', senderUserid: head.senderUserid, text: head.text, attachments: head.attachments, instanceId: this.instanceId },
        chunk.map((d) => d.id),
        now,
      );
      if (!opened) continue;
      const { batch, deliveries } = opened;
      try {
        const res = await this.wecom.addMsgTemplate({
          chatType: 'single',
          sender: head.senderUserid!,
          externalUserIds: deliveries.map((d) => d.externalUserId),
          text: head.text || undefined,
          attachments: head.attachments.length ? head.attachments : undefined,
        });
        await this.batches.markBatchSubmitted(batch.id, res.msgId, res.failList, now, this.nextPoll(now));
        counts.submittedTasks += 1;
        counts.submittedRows += deliveries.length - res.failList.length;
        counts.failed += res.failList.length;
        submitted += deliveries.length - res.failList.length;
      } catch (err) {
        await this.onCallError(batch, err, now, counts, deliveries.length);
      }
    }
    return submitted;
  }

  private async sendReminders(chunk: Delivery[], now: Date, counts: DispatchCounts): Promise<void> {
    // Over the member's message cap: the rows stay planned for the next dispatch rather than be dropped by WeCom.
    if (!(await this.appMessageBudget(chunk[0].senderUserid!))) {
      counts.deferredCap = (counts.deferredCap ?? 0) + chunk.length;
      return;
    }
    const text = chunk.map((d) => d.text).join('\n');
    const opened = await this.batches.openBatch(
      { channel: 'staff_reminder', senderUserid: chunk[0].senderUserid, text, attachments: [], instanceId: this.instanceId },
      chunk.map((d) => d.id),
      now,
    );
    if (!opened) return;
    // The batch text is rebuilt from the rows actually claimed, so a re-send after a crash is byte-identical.
    const content = opened.deliveries.map((d) => d.text).join('\n');
    try {
      const res = await this.sendAppText(opened.batch.senderUserid!, content);
      await this.batches.markBatchSent(opened.batch.id, res, now);
      counts.remindersSent += opened.deliveries.length;
    } catch (err) {
      await this.onCallError(opened.batch, err, now, counts, opened.deliveries.length);
    }
  }

  /**
   * Send one planned KF row now as the reply to a KF event, with the event's single-use code (a session end's
   * `msg_code`, docs/wecom-protocol.md §KF sessions and event replies). Quiet hours hold it and consent is re-checked,
   * as for every row. A refused code, or a call that never left, puts the row back to planned (it then waits for the
   * customer's next message); an unknown outcome leaves it for reconciliation, which never repeats it.
   */
  async replyOnEvent(d: Pick<Delivery, 'id' | 'externalUserId' | 'text'>, code: string, now: Date): Promise<EventReplyOutcome> {
    if (isQuietTime(now, this.settings.quietHours)) return 'quiet';
    if ((await this.facts.optedOut([d.externalUserId])).has(d.externalUserId)) {
      await this.repo.markSkipped([d.id], `${SkipReason.OptedOut}: 客户已退订 / customer opted out`, now);
      return 'opted_out';
    }
    const opened = await this.batches.openBatch({ channel: 'kf', senderUserid: null, text: d.text, attachments: [], instanceId: this.instanceId }, [d.id], now);
    if (!opened) return 'taken';
    const row = opened.deliveries[0];
    try {
      // A caller-chosen msgid derived from the row, as for kf/send_msg.
      const res = await this.wecom.kfSendMsgOnEvent({ code, msgId: `wo-delivery-${row.id}`, content: { msgtype: 'text', content: row.text } });
      await this.batches.markBatchSent(opened.batch.id, res.msgId, now);
      return 'sent';
    } catch (err) {
      if (err instanceof WecomApiError || (err instanceof WecomTransportError && !err.isOutcomeUnknown)) {
        const why = err instanceof WecomApiError ? `wecom ${err.errcode}: ${err.errmsg}` : err.message;
        await this.batches.abandonBatch(opened.batch.id, `event reply not sent (${why}); waiting for the customer's next message`, now);
        this.log.info({ deliveryId: row.id, why }, 'KF event reply refused; the row waits for the 48 h window');
        return 'refused';
      }
      this.log.warn({ batchId: opened.batch.id, err: toError(err) }, 'KF event reply outcome unknown; left for reconciliation');
      return 'unknown';
    }
  }

  private async sendKf(d: Delivery, now: Date, counts: DispatchCounts): Promise<void> {
    const conv = await this.facts.kfConversation(d.externalUserId, new Date(now.getTime() - KF_WINDOW_MS));
    // A session-end survey waits, planned, for the customer to write after the end (or for its expiry).
    if (!conv && isKfSessionReply(d)) return;
    if (!conv) {
      counts.skipped += await this.repo.markSkipped([d.id], `${SkipReason.KfWindowClosed}: 48 小时会话窗口未开 / the 48 h KF window is closed`, now);
      return;
    }
    const opened = await this.batches.openBatch({ channel: 'kf', senderUserid: d.senderUserid, text: d.text, attachments: [], instanceId: this.instanceId }, [d.id], now);
    if (!opened) return;
    try {
      // A caller-chosen msgid derived from the row makes a re-send after a crash the same message.
      const res = await this.wecom.kfSendMsg({ toUser: conv.kfUserId, openKfId: conv.openKfId, msgId: `wo-delivery-${d.id}`, content: { msgtype: 'text', content: d.text } });
      await this.batches.markBatchSent(opened.batch.id, res.msgId, now);
      counts.kfSent += 1;
    } catch (err) {
      await this.onCallError(opened.batch, err, now, counts, 1);
    }
  }

  private async sendAppText(userid: string, content: string): Promise<string | null> {
    const res = await this.wecom.sendAppMessage({
      toUsers: [userid],
      content: { msgtype: 'text', content },
      enableDuplicateCheck: true,
      duplicateCheckIntervalSeconds: APP_DUP_CHECK_SECONDS,
    });
    return res.msgId ?? null;
  }

  /**
   * After a failed call: a WeCom business error fails the rows with its errcode; a call that certainly never left
   * goes back to planned; anything else (timeout, connection reset) may have been executed, so the batch stays
   * `submitting` for reconciliation rather than risking a second task.
   */
  private async onCallError(batch: DeliveryBatch, err: unknown, now: Date, counts: DispatchCounts, rows: number): Promise<void> {
    if (err instanceof WecomApiError) {
      await this.batches.failBatch(batch.id, `wecom ${err.errcode}: ${err.errmsg}`, now);
      counts.failed += rows;
      this.log.warn({ batchId: batch.id, errcode: err.errcode, api: err.api }, 'wecom refused a delivery batch');
    } else if (err instanceof WecomTransportError && !err.isOutcomeUnknown) {
      await this.batches.abandonBatch(batch.id, err.message, now);
      this.log.warn({ batchId: batch.id, failure: err.failure }, 'delivery batch not sent; will retry');
    } else {
      this.log.warn({ batchId: batch.id, err: toError(err) }, 'delivery batch outcome unknown; left for reconciliation');
    }
  }

  private nextPoll(now: Date): Date {
    return new Date(now.getTime() + this.settings.resultPollMinutes * 60_000);
  }

  /**
   * Resolve batches left `submitting` (a crash or an unknown outcome between the WeCom call and the ledger
   * update). A mass task is looked up in get_groupmsg_list_v2 around the batch's creation time with the same text,
   * and accepted only if its send result for the sender lists a subset of the batch's customers; if found, the
   * msgid is adopted; if WeCom has no such task, the rows return to `planned`. Nothing is re-sent blindly.
   */
  async reconcile(now: Date): Promise<number> {
    const stale = await this.batches.findStaleSubmitting(new Date(now.getTime() - this.settings.reconcileAfterSeconds * 1000));
    let done = 0;
    for (const batch of stale) {
      try {
        if (batch.channel === 'mass_task') await this.reconcileMassTask(batch, now);
        else if (batch.channel === 'staff_reminder') {
          const rows = await this.repo.batchDeliveries(batch.id);
          await this.batches.markBatchSent(batch.id, await this.sendAppText(batch.senderUserid!, rows.filter((r) => r.status === 'submitting').map((r) => r.text).join('\n')), now);
        } else {
          const [d] = await this.repo.batchDeliveries(batch.id);
          const conv = d && !isKfSessionReply(d) ? await this.facts.kfConversation(d.externalUserId, new Date(now.getTime() - KF_WINDOW_MS)) : null;
          // A session-end survey may have gone out by its single-use event code, which cannot be asked again and whose
          // message no API lists: it is failed as unknown rather than risk a second message.
          if (d && isKfSessionReply(d)) await this.batches.failBatch(batch.id, `${SkipReason.OutcomeUnknown}: 发送结果未知，为免重复不再重发 / outcome unknown, not repeated`, now);
          else if (!d || !conv) await this.batches.failBatch(batch.id, SkipReason.KfWindowClosed, now);
          else {
            const res = await this.wecom.kfSendMsg({ toUser: conv.kfUserId, openKfId: conv.openKfId, msgId: `wo-delivery-${d.id}`, content: { msgtype: 'text', content: d.text } });
            await this.batches.markBatchSent(batch.id, res.msgId, now);
          }
        }
        done += 1;
      } catch (err) {
        this.log.warn({ batchId: batch.id, err: toError(err) }, 'reconciliation failed; will retry');
      }
    }
    return done;
  }

  private async reconcileMassTask(batch: DeliveryBatch, now: Date): Promise<void> {
    const rows = (await this.repo.batchDeliveries(batch.id)).filter((r) => r.status === 'submitting');
    const mine = new Set(rows.map((r) => r.externalUserId));
    // The list range is ≤ 1 month (docs/wecom-protocol.md §Mass message results); the call happened within seconds
    // after created_at. The lower bound is generous because created_at is stamped by WeCom's clock, not ours: missing
    // the task here would mean sending it a second time (found by the SIGKILL test in test/e2e/care-birthday.test.ts).
    const start = new Date(batch.createdAt.getTime() - 10 * 60_000);
    const end = new Date(Math.min(now.getTime(), batch.createdAt.getTime() + 86_400_000));
    let cursor: string | undefined;
    do {
      const page = await this.wecom.getGroupMsgListV2({ chatType: 'single', startTime: start, endTime: end, filterType: 0, limit: 100, cursor });
      for (const msg of page.items) {
        if ((msg.text ?? '') !== batch.text || msg.createdAt.getTime() < start.getTime()) continue;
        if (await this.batches.isMsgIdKnown(msg.msgId)) continue;
        const results = await this.wecom.getGroupMsgSendResult(msg.msgId, batch.senderUserid ?? undefined);
        const theirs = results.map((r) => r.externalUserId).filter((id): id is string => !!id);
        if (theirs.length === 0 || !theirs.every((id) => mine.has(id))) continue;
        const accepted = new Set(theirs);
        await this.batches.markBatchSubmitted(batch.id, msg.msgId, [...mine].filter((id) => !accepted.has(id)), now, this.nextPoll(now));
        this.log.info({ batchId: batch.id, msgId: msg.msgId }, 'reconciled a mass task created before a crash');
        return;
      }
      cursor = page.nextCursor || undefined;
    } while (cursor);
    await this.batches.abandonBatch(batch.id, 'WeCom has no matching task: the call never took effect', now);
    this.log.info({ batchId: batch.id }, 'reconciled: no task in WeCom, rows re-planned');
  }
}

function groupBy<T>(items: T[], key: (t: T) => string): T[][] {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return [...m.values()];
}

// App messages are ≤ 2048 bytes (docs/wecom-protocol.md §App messages to staff) and ≤ 30 per minute per member: pack
// reminders into few messages.
function chunkReminders(rows: Delivery[]): Delivery[][] {
  const out: Delivery[][] = [];
  let cur: Delivery[] = [];
  let size = 0;
  for (const r of rows) {
    const b = byteLength(r.text) + 1;
    if (cur.length > 0 && size + b > WECOM_APP_TEXT_MAX_BYTES) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(r);
    size += b;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The member's reminder to confirm waiting mass-send tasks, naming care messages and broadcasts apart. */
export function massTaskReminder(waiting: { care: number; broadcast: number }): string {
  const parts = [
    waiting.care > 0 ? `${waiting.care} 位客户的关怀消息` : '',
    waiting.broadcast > 0 ? `${waiting.broadcast} 位客户的群发活动消息` : '',
  ].filter(Boolean);
  return `您有 ${parts.join('、')} 待确认，请打开企业微信「客户联系 → 群发助手」发送。`;
}
