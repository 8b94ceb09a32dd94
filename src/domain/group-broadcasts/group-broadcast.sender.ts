import type { GroupBroadcastRepository } from '../../persistence/repositories/group-broadcast.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import { WecomTransportError } from '../../wecom/client/errors.js';
import { WecomApiError, toError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { isQuietTime, type QuietHours } from '../care/quiet-hours.js';
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { GroupBroadcast, GroupBroadcastTask, GroupContentPort } from './group-broadcast.types.js';

// get_groupmsg_* right after add_msg_template may answer 41063 (docs/wecom-protocol.md §Mass message results).
const ERR_DISPATCHING = 41063;
const NOT_OWNER = 'not_owner: 发送时该群已不在群主名下 / the owner no longer owns the group';
/**
 * A task whose 素材库 items are not ready waits this long and is tried this many times in all before it fails: the
 * attempts span one run of the hourly content-media job, which makes fresh media (docs/content.md §Media lifecycle).
 */
export const CONTENT_RETRY_MINUTES = 30;
export const CONTENT_ATTEMPTS = 3;

/** A broadcast's message as a task sends it: its own text and attachments with its items', or why not now. */
type Composed = { text: string; attachments: MessageAttachment[] } | { error: string };

/** Sender settings (the delivery ledger's, docs/reliability.md §Sending without an idempotency key). */
export interface GroupSendSettings {
  quietHours: QuietHours;
  /** A task `submitting` for longer than this belongs to a dead process and is reconciled. */
  reconcileAfterSeconds: number;
  resultPollMinutes: number;
  /** A task its owner has not sent within this many days is cancelled and its groups expire. */
  taskExpiryDays: number;
}

/** Counts of one pass. */
export interface GroupSendCounts {
  reconciled: number;
  submittedTasks: number;
  submittedGroups: number;
  failedGroups: number;
  deferredQuiet: number;
  /** Tasks put off because their 素材库 items are not ready. */
  deferredContent: number;
  polled: number;
  sent: number;
  overQuota: number;
  expired: number;
  finished: number;
}

/**
 * Sends group broadcasts' tasks and reads their results, exactly once per task: each add_msg_template
 * (chat_type group, the owner as sender, ≤ 2000 chat ids; docs/wecom-protocol.md §Mass messages) is bracketed by
 * the task going `submitting` before the call and `submitted` with the msgid after it. A task found still
 * `submitting` later (the process died in between, or the call's outcome is unknown) is looked up in
 * get_groupmsg_list_v2 before anything is sent again (docs/groups.md §Crash safety), as the delivery ledger does for
 * 1:1 mass tasks.
 */
export class GroupBroadcastSender {
  constructor(
    private readonly repo: GroupBroadcastRepository,
    private readonly wecom: WecomGateway,
    private readonly settings: GroupSendSettings,
    private readonly instanceId: string,
    private readonly log: Logger,
    /** Record a group's receipt of one of our messages, for the quota (GroupBroadcastRepository.addReceipts). */
    private readonly onSent: (rows: { chatId: string; msgId: string; sentAt: Date; sender: string }[]) => Promise<void> = async () => undefined,
    private readonly content?: Pick<GroupContentPort, 'resolve'>,
  ) {}

  /** Reconcile, submit what is due, poll results, finish broadcasts: one pass at `now`. */
  async run(now: Date): Promise<GroupSendCounts> {
    const counts: GroupSendCounts = { reconciled: 0, submittedTasks: 0, submittedGroups: 0, failedGroups: 0, deferredQuiet: 0, deferredContent: 0, polled: 0, sent: 0, overQuota: 0, expired: 0, finished: 0 };
    counts.reconciled = await this.reconcile(now);
    await this.submitDue(now, counts);
    await this.poll(now, counts);
    counts.finished = await this.repo.finishDelivered(now);
    return counts;
  }

  /** Submit the planned tasks due at `now` (none inside quiet hours: they wait, docs/reliability.md §Quiet hours and caps). */
  async submitDue(now: Date, counts: GroupSendCounts): Promise<void> {
    const due = await this.repo.dueTasks(now, 200);
    if (isQuietTime(now, this.settings.quietHours)) {
      counts.deferredQuiet += due.length;
      return;
    }
    const broadcasts = new Map<string, GroupBroadcast>();
    const messages = new Map<string, Composed>();
    for (const task of due) {
      let b = broadcasts.get(task.broadcastId);
      if (!b) broadcasts.set(task.broadcastId, (b = await this.repo.get(task.broadcastId)));
      let message = messages.get(b.id);
      if (!message) messages.set(b.id, (message = await this.compose(b, now)));
      if ('error' in message) await this.deferForContent(task, b, message.error, now, counts);
      else await this.submit(task, b, message, now, counts);
    }
  }

  /**
   * The broadcast's text and attachments followed by its 素材库 items', resolved for a send at `now` from cached
   * media only: a send never uploads (docs/content.md §Media lifecycle). An item not ready (or deleted since) is the
   * error, and nothing is sent.
   */
  private async compose(b: GroupBroadcast, now: Date): Promise<Composed> {
    if (b.contentIds.length === 0) return { text: b.text, attachments: b.attachments };
    if (!this.content) return { error: '本实例未启用素材库' };
    try {
      const extra = await this.content.resolve(b.contentIds, now);
      return { text: [b.text, extra.text].filter(Boolean).join('\n\n'), attachments: [...b.attachments, ...extra.attachments] };
    } catch (err) {
      return { error: toError(err).message };
    }
  }

  /** A task whose items are not ready waits and is tried again; after its last attempt it fails with the reason. */
  private async deferForContent(task: GroupBroadcastTask, b: GroupBroadcast, error: string, now: Date, counts: GroupSendCounts): Promise<void> {
    const reason = `content_not_ready: ${error}`;
    if (task.attempts + 1 >= CONTENT_ATTEMPTS) {
      await this.repo.failPlanned(task.id, reason, now);
      counts.failedGroups += task.groupsCount;
      this.log.warn({ broadcastId: b.id, taskId: task.id, reason: error }, 'group broadcast task failed: its 素材库 items were never ready');
    } else if (await this.repo.deferPlanned(task.id, reason, new Date(now.getTime() + CONTENT_RETRY_MINUTES * 60_000))) {
      counts.deferredContent += 1;
      this.log.info({ broadcastId: b.id, taskId: task.id, reason: error }, 'group broadcast task deferred: its 素材库 items are not ready');
    }
  }

  private async submit(task: GroupBroadcastTask, b: GroupBroadcast, message: { text: string; attachments: MessageAttachment[] }, now: Date, counts: GroupSendCounts): Promise<void> {
    const chatIds = await this.repo.openTask(task.id, this.instanceId, now, message.text);
    if (!chatIds) return; // another instance took it
    if (chatIds.length === 0) {
      await this.repo.failTask(task.id, 'no_groups: 没有待发送的群 / nothing left to send', now);
      return;
    }
    try {
      const res = await this.wecom.addMsgTemplate({
        chatType: 'group',
        sender: task.owner,
        chatIds,
        text: message.text || undefined,
        attachments: message.attachments.length ? message.attachments.slice(0, 9) : undefined,
      });
      await this.repo.markSubmitted(task.id, res.msgId, res.failList, NOT_OWNER, now, this.nextPoll(now));
      counts.submittedTasks += 1;
      counts.submittedGroups += chatIds.length - res.failList.length;
      counts.failedGroups += res.failList.length;
      this.log.info({ broadcastId: b.id, taskId: task.id, owner: task.owner, groups: chatIds.length, failed: res.failList.length }, 'group broadcast task submitted');
    } catch (err) {
      await this.onCallError(task, err, now, counts, chatIds.length);
    }
  }

  /**
   * A WeCom business error fails the task with its errcode (41048 when none of the groups is the owner's any more);
   * a call that certainly never left goes back to planned; anything else may have been executed, so the task stays
   * `submitting` for reconciliation rather than risk a second task.
   */
  private async onCallError(task: GroupBroadcastTask, err: unknown, now: Date, counts: GroupSendCounts, groups: number): Promise<void> {
    if (err instanceof WecomApiError) {
      await this.repo.failTask(task.id, `wecom ${err.errcode}: ${err.errmsg}`, now);
      counts.failedGroups += groups;
      this.log.warn({ taskId: task.id, errcode: err.errcode }, 'wecom refused a group broadcast task');
    } else if (err instanceof WecomTransportError && !err.isOutcomeUnknown) {
      await this.repo.backToPlanned(task.id, err.message, now);
      this.log.warn({ taskId: task.id, failure: err.failure }, 'group broadcast task not sent; will retry');
    } else {
      this.log.warn({ taskId: task.id, err: toError(err) }, 'group broadcast task outcome unknown; left for reconciliation');
    }
  }

  /**
   * Resolve tasks left `submitting`. WeCom's group mass messages created around the task's start with the same text
   * are candidates; one whose send result lists only this owner's groups of the task is adopted (its msgid recorded,
   * as if the call had answered). No such message: the call never took effect and the task is planned again.
   */
  async reconcile(now: Date): Promise<number> {
    const stale = await this.repo.staleSubmitting(new Date(now.getTime() - this.settings.reconcileAfterSeconds * 1000));
    let done = 0;
    for (const task of stale) {
      try {
        await this.reconcileOne(task, now);
        done += 1;
      } catch (err) {
        this.log.warn({ taskId: task.id, err: toError(err) }, 'group task reconciliation failed; will retry');
      }
    }
    return done;
  }

  private async reconcileOne(task: GroupBroadcastTask, now: Date): Promise<void> {
    const b = await this.repo.get(task.broadcastId);
    const mine = new Set(await this.repo.chatsOfTask(task.id, 'submitting'));
    const startedAt = (task.startedAt ?? now).getTime();
    // create_time is WeCom's clock, not ours: a generous lower bound (as the 1:1 ledger's reconciliation has).
    const start = new Date(startedAt - 10 * 60_000);
    const end = new Date(Math.min(now.getTime(), startedAt + 86_400_000));
    let cursor: string | undefined;
    do {
      const page = await this.wecom.getGroupMsgListV2({ chatType: 'group', startTime: start, endTime: end, filterType: 0, limit: 100, cursor });
      for (const msg of page.items) {
        // The text the call carried, items' texts included; a task opened before it was kept carried the broadcast's.
        if ((msg.text ?? '') !== (task.sentText ?? b.text)) continue;
        if (await this.repo.isMsgIdKnown(msg.msgId)) continue;
        let results;
        try {
          results = await this.wecom.getGroupMsgSendResult(msg.msgId, task.owner);
        } catch (err) {
          // Just created and still dispatching: cannot tell yet; the next pass asks again.
          if (err instanceof WecomApiError && err.errcode === ERR_DISPATCHING) throw new Error('a candidate task is still dispatching', { cause: err });
          throw err;
        }
        const theirs = results.map((r) => r.chatId).filter((id): id is string => !!id);
        if (theirs.length === 0 || !theirs.every((id) => mine.has(id))) continue;
        const accepted = new Set(theirs);
        await this.repo.markSubmitted(task.id, msg.msgId, [...mine].filter((id) => !accepted.has(id)), NOT_OWNER, now, this.nextPoll(now));
        this.log.info({ taskId: task.id, msgId: msg.msgId }, 'reconciled a group task created before a crash');
        return;
      }
      cursor = page.nextCursor || undefined;
    } while (cursor);
    await this.repo.backToPlanned(task.id, 'WeCom has no matching task: the call never took effect', now);
    this.log.info({ taskId: task.id }, 'reconciled: no group task in WeCom, planned again');
  }

  /**
   * For each submitted task due a poll: whether its owner sent it (get_groupmsg_task) and, once sent, each group's
   * result (get_groupmsg_send_result: 1 sent, 2 not sendable, 3 over the group's quota). A task its owner never
   * sends within `taskExpiryDays` is cancelled and its groups expire.
   */
  async poll(now: Date, counts: GroupSendCounts): Promise<void> {
    const next = this.nextPoll(now);
    for (const task of await this.repo.tasksToPoll(now)) {
      if (!task.msgId) continue;
      counts.polled += 1;
      try {
        const owner = (await this.wecom.getGroupMsgTask(task.msgId)).find((t) => t.userId === task.owner);
        // Any non-zero status is sent (docs/wecom-protocol.md §Mass message results).
        if (!owner || owner.status === 0) {
          const age = now.getTime() - (task.submittedAt ?? now).getTime();
          if (age >= this.settings.taskExpiryDays * 86_400_000) {
            await this.wecom.cancelGroupMsgSend(task.msgId).catch((err: unknown) => this.log.warn({ err: toError(err), taskId: task.id }, 'cancel failed'));
            counts.expired += await this.repo.expireTask(task.id, 'not_confirmed: 群主未确认发送 / the owner never sent the task', now);
          } else await this.repo.updatePoll(task.id, next, now);
          continue;
        }
        await this.repo.markOwnerSent(task.id, owner.sentAt ?? null);
        const results = (await this.wecom.getGroupMsgSendResult(task.msgId, task.owner)).filter((r) => r.chatId);
        const mapped = results.map((r) => ({ chatId: r.chatId!, status: r.status, sentAt: r.sentAt }));
        await this.repo.applyResults(task.id, mapped, now);
        const sent = mapped.filter((r) => r.status === 1);
        await this.onSent(sent.map((r) => ({ chatId: r.chatId, msgId: task.msgId!, sentAt: r.sentAt ?? now, sender: task.owner })));
        counts.sent += sent.length;
        counts.overQuota += mapped.filter((r) => r.status === 3).length;
        await this.repo.updatePoll(task.id, (await this.repo.hasWaitingRows(task.id)) ? next : null, now);
      } catch (err) {
        if (!(err instanceof WecomApiError && err.errcode === ERR_DISPATCHING)) this.log.warn({ err: toError(err), taskId: task.id }, 'polling a group task failed');
        await this.repo.updatePoll(task.id, next, now);
      }
    }
  }

  private nextPoll(now: Date): Date {
    return new Date(now.getTime() + this.settings.resultPollMinutes * 60_000);
  }
}
