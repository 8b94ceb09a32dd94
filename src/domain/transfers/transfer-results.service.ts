import type { TransferRepository } from '../../persistence/repositories/transfer.repository.js';
import type { Transfer } from './transfer.types.js';
import type { TransferResult, WecomGateway } from '../../wecom/client/gateway.js';
import type { Logger } from '../../shared/logger.js';
import { WecomApiError } from '../../shared/errors.js';
import { WecomTransportError } from '../../wecom/client/errors.js';
import type { TransferSettlement } from './transfer-settlement.js';
import { RESULT_STATUS } from './transfer-messages.js';

/** A `requested` row older than this had its WeCom call end without an answer (or the process stopped mid-request). */
const UNKNOWN_OUTCOME_AFTER_MS = 10 * 60 * 1000;

/** What one poll did. */
export interface TransferPollCounts {
  pairs: number;
  done: number;
  refused: number;
  takerLimit: number;
  failed: number;
  waiting: number;
  /** Waiting rows WeCom did not list (kept; asked again next time). */
  unlisted: number;
  /** Pairs whose transfer_result call failed (retried next run). */
  errors: number;
}

/**
 * The `transfers` job's work: read transfer_result for every (kind, handover, takeover) pair with open transfers
 * (docs/wecom-protocol.md §Customer transfers, cursor-paged) and record each customer's status. WeCom keeps one record
 * per transfer, so a customer transferred twice between the same pair has two; the last one listed is the newest, which
 * is the open one (older ones were recorded when they finished).
 */
export class TransferResultsService {
  constructor(
    private readonly transfers: TransferRepository,
    private readonly wecom: WecomGateway,
    private readonly settlement: TransferSettlement,
    private readonly log: Logger,
  ) {}

  /** Poll every pair once. */
  async poll(now: Date): Promise<TransferPollCounts> {
    const counts: TransferPollCounts = { pairs: 0, done: 0, refused: 0, takerLimit: 0, failed: 0, waiting: 0, unlisted: 0, errors: 0 };
    const requestedBefore = new Date(now.getTime() - UNKNOWN_OUTCOME_AFTER_MS);
    for (const pair of await this.transfers.pairsToPoll(requestedBefore)) {
      counts.pairs++;
      let results: TransferResult[];
      try {
        results = await this.wecom.getTransferResults(pair.kind, pair.handoverUserid, pair.takeoverUserid);
      } catch (err) {
        // One pair's failure (a member who left the app's visible range, a network blip) never stops the others.
        if (!(err instanceof WecomApiError || err instanceof WecomTransportError)) throw err;
        counts.errors++;
        this.log.warn({ kind: pair.kind, errcode: err instanceof WecomApiError ? err.errcode : undefined }, 'transfer_result failed; will retry next run');
        continue;
      }
      const latest = new Map<string, TransferResult>();
      for (const r of results) latest.set(r.externalUserId, r);
      for (const t of await this.transfers.openOfPair(pair.kind, pair.handoverUserid, pair.takeoverUserid, requestedBefore)) {
        await this.apply(t, latest.get(t.externalUserId), now, counts);
      }
    }
    if (counts.pairs > 0) this.log.info({ ...counts }, 'transfer results polled');
    return counts;
  }

  private async apply(t: Transfer, listed: TransferResult | undefined, now: Date, counts: TransferPollCounts): Promise<void> {
    // For a call whose outcome we never heard, only a record planned after it is ours: WeCom sets takeover_time to
    // the request time + 24 h (docs/wecom-protocol.md §Customer transfers), and an older record belongs to an earlier,
    // finished transfer.
    const r = t.status === 'requested' && (!listed?.takeoverAt || listed.takeoverAt.getTime() < t.requestedAt.getTime()) ? undefined : listed;
    if (!r) {
      if (t.status === 'requested') {
        // The unanswered call never reached WeCom: nothing started, so the customer is free to be asked again.
        if (await this.transfers.setOutcome(t.id, { status: 'failed', message: '企业微信没有这次转接的记录（请求未生效），可重新发起' }, now)) counts.failed++;
      } else counts.unlisted++;
      return;
    }
    switch (r.status) {
      case RESULT_STATUS.done:
        if (await this.settlement.complete(t, r.takeoverAt ?? now)) counts.done++;
        return;
      case RESULT_STATUS.waiting:
        await this.transfers.setOutcome(t.id, { status: 'waiting', errcode: 0, message: null, takeoverAt: r.takeoverAt ?? null }, now);
        counts.waiting++;
        return;
      case RESULT_STATUS.refused:
        if (await this.settlement.reject(t, 'refused', now)) counts.refused++;
        return;
      case RESULT_STATUS.takerLimit:
        if (await this.settlement.reject(t, 'taker_limit', now)) counts.takerLimit++;
        return;
      default:
        // 5 (no transfer record) or a status WeCom does not document: nothing will happen to this customer.
        if (await this.transfers.setOutcome(t.id, { status: 'failed', message: `企业微信无接替记录（状态 ${r.status}）` }, now)) counts.failed++;
    }
  }
}
