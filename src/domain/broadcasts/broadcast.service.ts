import type { DbEngine } from '../../persistence/data-source.js';
import type { BroadcastRepository } from '../../persistence/repositories/broadcast.repository.js';
import type { AudienceSummary, Broadcast, BroadcastInput, BroadcastStatus, BroadcastView, CancelOutcome } from './broadcast.types.js';
import type { DeliveryRepository } from '../../persistence/repositories/delivery.repository.js';
import type { DeliveryBatchRepository } from '../../persistence/repositories/delivery-batch.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import { localDate } from '../../shared/dates.js';
import { ConflictError, WecomApiError, invalidField, toError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import { parseAudience } from '../audiences/index.js';
import { compileAudienceWithTags } from '../audiences/audience.compiler.js';
import type { AudienceTagLookup } from '../audiences/audience.tags.js';
import { SkipReason } from '../delivery/delivery.types.js';
import { checkBroadcastText, checkSendAt, estimateTasks, isPersonalized, summarizeStats } from './broadcast-rules.js';

// get_groupmsg_* right after add_msg_template may answer 41063 "still dispatching"
// (docs/wecom-protocol.md §Mass message results): such a task cannot have been confirmed yet.
const ERR_DISPATCHING = 41063;
// cancel_groupmsg_send on a task already cancelled (docs/wecom-protocol.md §Mass message results).
const ERR_ALREADY_CANCELLED = 41093;
const SKIP_PAGE = 5000;
const CANCELLED = `${SkipReason.Cancelled}: 群发已取消 / the broadcast was cancelled`;

/** A new broadcast with how its audience looked when it was created. */
export interface CreatedBroadcast extends BroadcastView {
  audienceNow: AudienceSummary;
}

/** Creating, reading and cancelling broadcasts; the `broadcasts` job plans them (BroadcastPlanner). */
export class BroadcastService {
  constructor(
    private readonly repo: BroadcastRepository,
    private readonly deliveries: DeliveryRepository,
    private readonly batches: DeliveryBatchRepository,
    private readonly wecom: WecomGateway,
    /** The live tags an audience's `tag:` values mean (TagRepository.liveTagsNamed), read when one is scheduled. */
    private readonly tags: AudienceTagLookup,
    private readonly engine: DbEngine,
    private readonly clock: Clock,
    private readonly tz: string,
    private readonly log: Logger,
    /** 素材库's save-time check of `contentIds` (unknown items, more than 9 attachments in all); absent: none allowed. */
    private readonly checkContent?: (ids: string[], extraAttachments: number) => Promise<unknown>,
  ) {}

  /**
   * Schedule a broadcast. 400 when the audience does not parse (with the parser's position), the text is empty, too
   * long or uses unknown variables, or sendAt is in the past.
   */
  async create(input: BroadcastInput, createdBy: string | null): Promise<CreatedBroadcast> {
    const now = this.clock.now();
    const sendAt = input.sendAt ? new Date(input.sendAt) : now;
    checkSendAt(sendAt, now);
    checkBroadcastText(input.message.text);
    const contentIds = input.message.contentIds ?? [];
    if (contentIds.length > 0) {
      if (!this.checkContent) throw invalidField('message.contentIds', '本实例未启用素材库', 'content_unavailable');
      await this.checkContent(contentIds, input.message.attachments.length);
    }
    const where = await compileAudienceWithTags(parseAudience(input.audience), this.tags, { engine: this.engine, today: localDate(now, this.tz), timezone: this.tz, now: now.getTime() });
    const personalized = isPersonalized(input.message.text);
    const audienceNow = await this.repo.summarizeAudience(where, { perFollower: !personalized });
    const id = newId(now.getTime());
    await this.repo.insert(
      {
        id,
        name: input.name,
        audience: input.audience.trim(),
        text: input.message.text,
        attachments: input.message.attachments as Broadcast['attachments'],
        contentIds,
        senderPolicy: input.sender,
        sendAt,
        audienceCount: audienceNow.count,
        tasksEstimate: estimateTasks({ isPersonalized: personalized, reachable: audienceNow.reachable, perFollower: audienceNow.perFollower }),
        isPersonalized: personalized,
        holdoutPercent: input.holdoutPercent,
        createdBy,
      },
      now,
    );
    this.log.info({ broadcastId: id, audienceCount: audienceNow.count, sendAt }, 'broadcast scheduled');
    return { ...(await this.get(id)), audienceNow };
  }

  /** A broadcast with its ledger stats, or NotFoundError. */
  async get(id: string): Promise<BroadcastView> {
    const broadcast = await this.repo.get(id);
    const rows = await this.deliveries.countByBroadcasts([id]);
    return { broadcast, stats: summarizeStats(rows) };
  }

  /** A page of broadcasts, newest first, each with its stats. */
  async list(f: { status?: BroadcastStatus; page: number; pageSize: number }): Promise<{ items: BroadcastView[]; total: number }> {
    const { items, total } = await this.repo.list(f);
    const rows = await this.deliveries.countByBroadcasts(items.map((b) => b.id));
    return { items: items.map((broadcast) => ({ broadcast, stats: summarizeStats(rows.filter((r) => r.broadcastId === broadcast.id)) })), total };
  }

  /**
   * Cancel a broadcast. Scheduled: nothing was planned, it simply never goes out. Sending: its planned rows are
   * skipped (reason `cancelled`) and each WeCom task the sender has not confirmed is cancelled with
   * cancel_groupmsg_send (docs/wecom-protocol.md §Mass message results) and its rows expire; confirmed tasks have gone
   * out and keep reporting. Cancelling a cancelled broadcast again retries tasks that were in flight. 409 while it is
   * being planned and once it is done or failed.
   */
  async cancel(id: string): Promise<BroadcastView & { cancellation: CancelOutcome }> {
    const outcome: CancelOutcome = { skippedRows: 0, cancelledTasks: 0, confirmedTasks: 0, inFlightRows: 0, sharedTasks: 0, failedTasks: 0 };
    for (let attempt = 0; attempt < 3; attempt++) {
      const b = await this.repo.get(id);
      const now = this.clock.now();
      switch (b.status) {
        case 'scheduled':
          if (!(await this.repo.cancel(id, 'scheduled', now))) continue; // claimed meanwhile: look again
          this.log.info({ broadcastId: id }, 'broadcast cancelled before planning');
          return { ...(await this.get(id)), cancellation: outcome };
        case 'planning':
          throw new ConflictError('群发正在生成发送计划，请稍后再取消 / the broadcast is being planned; cancel again in a moment', 'broadcast_planning');
        case 'sending':
          if (!(await this.repo.cancel(id, 'sending', now))) continue;
          await this.stopDelivery(id, outcome);
          this.log.info({ broadcastId: id, ...outcome }, 'broadcast cancelled while sending');
          return { ...(await this.get(id)), cancellation: outcome };
        case 'cancelled':
          await this.stopDelivery(id, outcome);
          return { ...(await this.get(id)), cancellation: outcome };
        case 'done':
        case 'failed':
          throw new ConflictError(`群发已结束（${b.status}），无法取消 / the broadcast already ended (${b.status})`, 'broadcast_finished');
      }
    }
    throw new ConflictError('群发状态正在变化，请重试 / the broadcast is changing state; try again', 'broadcast_busy');
  }

  /** Skip what was not submitted yet and cancel the tasks nobody confirmed. */
  private async stopDelivery(id: string, out: CancelOutcome): Promise<void> {
    for (;;) {
      // markSkipped only moves rows still `planned`: a dispatcher that took some meanwhile keeps them (in flight).
      const ids = await this.deliveries.plannedIdsOfBroadcast(id, SKIP_PAGE);
      if (ids.length === 0) break;
      out.skippedRows += await this.deliveries.markSkipped(ids, CANCELLED, this.clock.now());
    }
    for (const open of await this.deliveries.openBatchesOfBroadcast(id)) {
      const batch = await this.batches.findBatch(open.batchId);
      if (!batch || batch.status !== 'submitted' || !batch.msgId || !batch.senderUserid) {
        out.inFlightRows += open.rows;
        continue;
      }
      // A task is one sender's, with identical text; another source's rows can share it only by identical text.
      if (open.foreignRows > 0) {
        out.sharedTasks += 1;
        continue;
      }
      try {
        if (await isTaskSent(this.wecom, batch.msgId, batch.senderUserid)) {
          out.confirmedTasks += 1;
          continue;
        }
        await this.wecom
          .cancelGroupMsgSend(batch.msgId)
          .catch((err: unknown) => {
            if (!(err instanceof WecomApiError && err.errcode === ERR_ALREADY_CANCELLED)) throw err;
          });
        const now = this.clock.now();
        await this.deliveries.expireBatch(batch.id, CANCELLED, now);
        await this.batches.updateBatchPoll(batch.id, null, now);
        out.cancelledTasks += 1;
      } catch (err) {
        out.failedTasks += 1;
        this.log.warn({ err: toError(err), broadcastId: id, batchId: batch.id }, 'cancelling a broadcast task failed');
      }
    }
  }
}

/**
 * Whether the sender already sent a mass task, asked of WeCom (a task status other than 0): the ledger learns it only
 * at the next result poll. Still dispatching (41063): not sent yet. docs/wecom-protocol.md §Mass message results
 */
export async function isTaskSent(wecom: Pick<WecomGateway, 'getGroupMsgTask'>, msgId: string, sender: string): Promise<boolean> {
  try {
    const task = (await wecom.getGroupMsgTask(msgId)).find((t) => t.userId === sender);
    return !!task && task.status !== 0;
  } catch (err) {
    if (err instanceof WecomApiError && err.errcode === ERR_DISPATCHING) return false;
    throw err;
  }
}
