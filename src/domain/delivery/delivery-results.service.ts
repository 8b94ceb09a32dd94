import type { WecomGateway } from '../../wecom/client/gateway.js';
import { WecomApiError, toError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { DeliveryRepository } from '../../persistence/repositories/delivery.repository.js';
import type { DeliveryBatchRepository } from '../../persistence/repositories/delivery-batch.repository.js';

/**
 * get_groupmsg_* right after creation may answer 41063 "still dispatching"
 * (docs/wecom-protocol.md §Mass message results): just poll later.
 */
const ERR_DISPATCHING = 41063;

/** Counts of one poll. */
export interface ResultCounts {
  polled: number;
  sent: number;
  overQuota: number;
  failed: number;
  expired: number;
  pending: number;
}

/**
 * The `delivery-results` job's work: for each submitted mass task due a poll, read the sender's task status
 * (get_groupmsg_task) and, once confirmed, every recipient's result (get_groupmsg_send_result) into the ledger:
 * 1 → sent, 2 → failed (not a friend), 3 → over_quota
 * (docs/wecom-protocol.md §Mass message results, §Mass message quota). A task nobody confirmed within `taskExpiryDays`
 * is cancelled and its rows expire.
 */
export class DeliveryResultsService {
  constructor(
    private readonly repo: DeliveryRepository,
    private readonly batches: DeliveryBatchRepository,
    private readonly wecom: WecomGateway,
    private readonly settings: { resultPollMinutes: number; taskExpiryDays: number },
    private readonly log: Logger,
  ) {}

  /** Poll every batch due at `now`. */
  async poll(now: Date): Promise<ResultCounts> {
    const counts: ResultCounts = { polled: 0, sent: 0, overQuota: 0, failed: 0, expired: 0, pending: 0 };
    const next = new Date(now.getTime() + this.settings.resultPollMinutes * 60_000);
    for (const batch of await this.batches.findBatchesToPoll(now)) {
      if (!batch.msgId || !batch.senderUserid) continue;
      counts.polled += 1;
      try {
        const tasks = await this.wecom.getGroupMsgTask(batch.msgId);
        const task = tasks.find((t) => t.userId === batch.senderUserid);
        // Task status 0 = not sent yet; any non-zero is sent (the doc says 2, its sample 1;
        // docs/wecom-protocol.md §Mass message results).
        if (!task || task.status === 0) {
          const age = now.getTime() - (batch.submittedAt ?? batch.createdAt).getTime();
          if (age >= this.settings.taskExpiryDays * 86_400_000) {
            await this.wecom.cancelGroupMsgSend(batch.msgId).catch((err) => this.log.warn({ err: toError(err), batchId: batch.id }, 'cancel failed'));
            counts.expired += await this.repo.expireBatch(batch.id, 'not_confirmed: 成员未确认发送 / the staff member never sent the task', now);
            await this.batches.updateBatchPoll(batch.id, null, now);
          } else {
            counts.pending += 1;
            await this.batches.updateBatchPoll(batch.id, next, now);
          }
          continue;
        }
        const results = await this.wecom.getGroupMsgSendResult(batch.msgId, batch.senderUserid);
        const mapped = results
          .filter((r) => r.externalUserId)
          .map((r) => ({ externalUserId: r.externalUserId!, status: r.status, sentAt: r.sentAt }));
        await this.repo.applyResults(batch.id, mapped, now);
        for (const r of mapped) {
          if (r.status === 1) counts.sent += 1;
          else if (r.status === 3) counts.overQuota += 1;
          else if (r.status === 2) counts.failed += 1;
        }
        const stillPending = (await this.repo.batchDeliveries(batch.id)).some((d) => d.status === 'submitted');
        await this.batches.updateBatchPoll(batch.id, stillPending ? next : null, now);
        if (stillPending) counts.pending += 1;
      } catch (err) {
        if (!(err instanceof WecomApiError && err.errcode === ERR_DISPATCHING)) {
          this.log.warn({ err: toError(err), batchId: batch.id }, 'polling mass task results failed');
        }
        await this.batches.updateBatchPoll(batch.id, next, now);
      }
    }
    return counts;
  }
}
