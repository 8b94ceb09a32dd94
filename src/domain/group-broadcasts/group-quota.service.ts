import type { GroupBroadcastRepository } from '../../persistence/repositories/group-broadcast.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import { WecomApiError, toError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { MassQuotaRule } from '../delivery/frequency-caps.js';
import { forecastQuota, quotaWindow } from './group-quota.js';
import type { QuotaForecast } from './group-broadcast.types.js';

// get_groupmsg_* right after a message is created may answer 41063 (docs/wecom-protocol.md §Mass message results).
const ERR_DISPATCHING = 41063;

/** Counts of one reconciliation of the groups' quota usage. */
export interface QuotaReconcileCounts {
  messages: number;
  memberCreated: number;
  receipts: number;
}

/**
 * WeCom's per-group mass-message quota (docs/wecom-protocol.md §Mass message quota). The API cannot read it, so the
 * corp's rule is the `massQuotaRule` setting and the usage is the bot's own count: every mass message a group
 * received this period, the bot's and those members created themselves in the client, read from
 * get_groupmsg_list_v2 and get_groupmsg_send_result; plus our broadcasts still waiting for their owner.
 */
export class GroupQuotaService {
  constructor(
    private readonly repo: GroupBroadcastRepository,
    private readonly wecom: WecomGateway,
    private readonly rule: MassQuotaRule,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /**
   * How `sends` more mass messages in the period of `at` (default now) would leave these groups. A group SOP calls it
   * with the sends its plan makes in that period; the preview with 1.
   */
  async forecast(input: { chatIds: string[]; sends?: number; at?: Date }): Promise<QuotaForecast> {
    const w = quotaWindow(this.rule, input.at ?? this.clock.now());
    const [used, pending, named] = await Promise.all([
      this.repo.receiptsIn(input.chatIds, w.start, w.end),
      this.repo.pendingOf(input.chatIds),
      this.repo.groupsNamed(input.chatIds),
    ]);
    const groups = input.chatIds.map((chatId) => ({
      chatId,
      name: named.get(chatId)?.name ?? chatId,
      owner: named.get(chatId)?.owner ?? '',
      used: used.get(chatId) ?? 0,
      pending: pending.get(chatId) ?? 0,
      limit: w.limit,
    }));
    return forecastQuota(this.rule, w, groups, input.sends ?? 1);
  }

  /**
   * Read this period's group mass messages from WeCom into the receipts: every message (enterprise- and
   * member-created, filter_type 2) and, per message, the groups that received it (status 1 with its send time).
   * Idempotent: a receipt is kept once per (group, message).
   */
  async reconcile(now: Date = this.clock.now()): Promise<QuotaReconcileCounts> {
    const w = quotaWindow(this.rule, now);
    const counts: QuotaReconcileCounts = { messages: 0, memberCreated: 0, receipts: 0 };
    // The list range is at most one month (docs/wecom-protocol.md §Mass message results); a month period is ≤ 31 days.
    const end = new Date(Math.min(now.getTime(), w.end.getTime()));
    let cursor: string | undefined;
    do {
      const page = await this.wecom.getGroupMsgListV2({ chatType: 'group', startTime: w.start, endTime: end, filterType: 2, limit: 100, cursor });
      for (const msg of page.items) {
        counts.messages += 1;
        if (msg.createType === 1) counts.memberCreated += 1;
        // Ours are counted by the result poll; a message already counted went out when it was counted (a member's own
        // send goes out as they make it), so its results are not read again.
        if ((await this.repo.isMsgIdKnown(msg.msgId)) || (await this.repo.hasReceipts(msg.msgId))) continue;
        try {
          const results = await this.wecom.getGroupMsgSendResult(msg.msgId);
          const rows = results
            .filter((r) => r.chatId && r.status === 1)
            .map((r) => ({ chatId: r.chatId!, msgId: msg.msgId, createType: msg.createType, sender: r.userId || null, sentAt: r.sentAt ?? msg.createdAt }));
          await this.repo.addReceipts(rows);
          counts.receipts += rows.length;
        } catch (err) {
          if (!(err instanceof WecomApiError && err.errcode === ERR_DISPATCHING)) this.log.warn({ err: toError(err), msgId: msg.msgId }, 'reading a group mass message failed');
        }
      }
      cursor = page.nextCursor || undefined;
    } while (cursor);
    return counts;
  }
}
