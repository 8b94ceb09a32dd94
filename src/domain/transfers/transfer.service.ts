import type { TransferRepository } from '../../persistence/repositories/transfer.repository.js';
import type { Transfer, TransferKind, TransferListItem, TransferStatus } from './transfer.types.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { UnassignedCustomer } from '../../wecom/client/types.js';
import { WecomTransportError } from '../../wecom/client/errors.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { ValidationError, WecomApiError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { transferErrorMessage } from './transfer-messages.js';

/** ≤ 100 customers per transfer_customer call (docs/wecom-protocol.md §Customer transfers). */
export const TRANSFER_BATCH = 100;
/** The takeover happens 24 h after WeCom accepts the request (docs/wecom-protocol.md §Customer transfers). */
const TAKEOVER_DELAY_MS = 24 * 3600 * 1000;
/** One request covers at most this many customers: 100 WeCom calls, answered within one HTTP request. */
export const MAX_CUSTOMERS_PER_REQUEST = 10_000;

/** What an operator asks for. Without customers or audience: every customer the handover actively follows. */
export interface TransferRequestInput {
  kind: TransferKind;
  handover: string;
  takeover: string;
  customers?: string[];
  audience?: string;
  /** transfer_success_msg, on-job only, ≤ 200 characters (docs/wecom-protocol.md §Customer transfers). */
  message?: string;
}

/**
 * At most this many entries of get_unassigned_list are read for one request (100 calls of 1000), to stay well inside
 * WeCom's rate limits (docs/wecom-protocol.md §API rate limits); beyond it the answer says `isTruncated`.
 */
export const UNASSIGNED_MAX = 100_000;

/** A customer of a departed member still to be assigned, with the archive's name when the bot has one. */
export interface UnassignedItem extends UnassignedCustomer {
  customerName: string | null;
}

/** One customer's outcome of a request. */
export interface CustomerTransferOutcome {
  externalUserId: string;
  transferId: string;
  status: TransferStatus;
  errcode: number | null;
  message: string | null;
  takeoverAt: Date | null;
  /** The customer already had an open transfer: it is reported and WeCom was not called again. */
  isAlreadyRequested: boolean;
}

/** The answer to a request. */
export interface TransferRequestResult {
  requestId: string;
  kind: TransferKind;
  handover: string;
  takeover: string;
  items: CustomerTransferOutcome[];
}

/** Resolves an audience expression to a SQL fragment over customers `c` (the customers feature's compiler). */
export type AudienceResolver = (audience: string) => Promise<{ sql: string; params: unknown[] }>;

/**
 * 客户继承: an operator hands a staff member's customers to another, on-job (在职继承) or after they left (离职继承),
 * docs/wecom-protocol.md §Customer transfers. Each customer is one row; a WeCom error for one customer never blocks the
 * others.
 */
export class TransferService {
  constructor(
    private readonly transfers: TransferRepository,
    private readonly wecom: WecomGateway,
    private readonly audienceWhere: AudienceResolver,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Told when transfers were recorded, before WeCom is asked (see TransferPresence). */
    private readonly presence?: { invalidate(): void },
    /**
     * Told when WeCom accepted a resigned transfer (离职继承) of `handover`'s customers: WeCom refuses those with
     * 40097 while the member still works, so the member has left (docs/wecom-protocol.md §Customer transfers).
     */
    private readonly onResignationConfirmed?: (handover: string) => Promise<void>,
  ) {}

  /** Start transfers and report each customer's outcome. */
  async request(input: TransferRequestInput, requestedBy: string): Promise<TransferRequestResult> {
    if (input.handover === input.takeover) throw new ValidationError('接替成员不能与原跟进成员相同', undefined, 'same_staff');
    if (input.customers && input.audience !== undefined) throw new ValidationError('customers 与 audience 只能二选一', undefined, 'customers_and_audience');
    if (input.message !== undefined && input.kind === 'resigned') {
      throw new ValidationError('离职继承不支持转接提示语（message 仅用于在职继承）', undefined, 'message_not_supported');
    }
    const ids = input.customers
      ? [...new Set(input.customers)]
      : await this.transfers.activeCustomersOf(input.handover, input.audience !== undefined ? await this.audienceWhere(input.audience) : undefined);
    if (ids.length === 0) throw new ValidationError(`原跟进成员 ${input.handover} 没有符合条件的客户可转接`, undefined, 'no_customers');
    if (ids.length > MAX_CUSTOMERS_PER_REQUEST) {
      throw new ValidationError(`一次最多转接 ${MAX_CUSTOMERS_PER_REQUEST} 位客户，本次 ${ids.length} 位；请用 audience 分批`, undefined, 'too_many_customers');
    }

    const requestId = newId(this.clock.now().getTime());
    const outcomes = new Map<string, CustomerTransferOutcome>();
    const fresh: Transfer[] = [];
    for (const ext of ids) {
      const row = {
        id: newId(this.clock.now().getTime()),
        requestId,
        kind: input.kind,
        handoverUserid: input.handover,
        takeoverUserid: input.takeover,
        externalUserId: ext,
        successMsg: input.message ?? null,
        requestedBy,
      };
      // The unique open key admits one open transfer per customer: asking again reports the open one.
      if (await this.transfers.insertRequested(row, this.clock.now())) {
        fresh.push({ ...row, status: 'requested', errcode: null, message: null, requestedAt: this.clock.now(), takeoverAt: null, finishedAt: null, updatedAt: this.clock.now() });
      }
    }
    // Recorded before WeCom is called, so a callback about them is never skipped as "no transfer here".
    if (fresh.length > 0) this.presence?.invalidate();
    const inserted = new Set(fresh.map((f) => f.externalUserId));
    const open = await this.transfers.findOpen(ids.filter((id) => !inserted.has(id)));
    for (const [ext, t] of open) outcomes.set(ext, outcomeOf(t, true));

    for (let i = 0; i < fresh.length; i += TRANSFER_BATCH) {
      for (const o of await this.submit(input, fresh.slice(i, i + TRANSFER_BATCH))) outcomes.set(o.externalUserId, o);
    }
    const items = ids.map((ext) => outcomes.get(ext)).filter((o): o is CustomerTransferOutcome => o !== undefined);
    if (input.kind === 'resigned' && items.some((o) => o.status === 'waiting' && !o.isAlreadyRequested)) {
      await this.onResignationConfirmed?.(input.handover).catch((err: unknown) => this.log.warn({ err: (err as Error).message, handover: input.handover }, 'could not mark the member resigned'));
    }
    this.log.info(
      { requestId, kind: input.kind, customers: ids.length, waiting: items.filter((o) => o.status === 'waiting' && !o.isAlreadyRequested).length, failed: items.filter((o) => o.status === 'failed').length },
      'transfer requested',
    );
    return { requestId, kind: input.kind, handover: input.handover, takeover: input.takeover, items };
  }

  /**
   * 离职待分配: customers of members who left that nobody has taken over yet, as WeCom lists them
   * (get_unassigned_list, docs/wecom-protocol.md §Customer transfers), read in full (at most UNASSIGNED_MAX) and paged
   * here, with the archive's names. They may include customers the bot never archived; `POST /transfers` with kind
   * `resigned` hands them over.
   */
  async unassigned(filter: { handover?: string; page: number; pageSize: number }): Promise<{ items: UnassignedItem[]; total: number; isTruncated: boolean }> {
    const all: UnassignedCustomer[] = [];
    let cursor = '';
    let isTruncated = false;
    const seen = new Set<string>();
    do {
      const page = await this.wecom.getUnassignedList({ cursor, pageSize: 1000 });
      all.push(...page.items);
      cursor = page.nextCursor;
      // A cursor WeCom repeats would loop for ever; the list so far is what there is.
      if (seen.has(cursor)) break;
      seen.add(cursor);
      if (all.length >= UNASSIGNED_MAX && cursor) {
        isTruncated = true;
        break;
      }
    } while (cursor);
    const matching = filter.handover ? all.filter((u) => u.handoverUserId === filter.handover) : all;
    const slice = matching.slice((filter.page - 1) * filter.pageSize, filter.page * filter.pageSize);
    const names = await this.transfers.customerNames(slice.map((u) => u.externalUserId));
    return {
      items: slice.map((u) => ({ ...u, customerName: names.get(u.externalUserId) ?? null })),
      total: matching.length,
      isTruncated,
    };
  }

  /** A page of transfers, newest first. */
  list(filter: { status?: TransferStatus; handover?: string; takeover?: string; customer?: string; requestId?: string; page: number; pageSize: number }): Promise<{ items: TransferListItem[]; total: number }> {
    return this.transfers.list(filter);
  }

  /** One WeCom call for ≤ 100 rows, and each row's outcome recorded. */
  private async submit(input: TransferRequestInput, batch: Transfer[]): Promise<CustomerTransferOutcome[]> {
    const now = this.clock.now();
    let answers: Map<string, number>;
    try {
      const res = await this.wecom.transferCustomers({
        kind: input.kind,
        handoverUserId: input.handover,
        takeoverUserId: input.takeover,
        externalUserIds: batch.map((t) => t.externalUserId),
        successMessage: input.message,
      });
      answers = new Map(res.map((r) => [r.externalUserId, r.errcode]));
    } catch (err) {
      if (err instanceof WecomApiError) {
        // A whole-call error (40097 handover not resigned, 40003 unknown taker…) is every customer's outcome.
        return this.recordAll(batch, { status: 'failed', errcode: err.errcode, message: transferErrorMessage(err.errcode) }, now);
      }
      if (err instanceof WecomTransportError && !err.isOutcomeUnknown) {
        return this.recordAll(batch, { status: 'failed', errcode: null, message: '企业微信暂时无法访问，未发起转接，可稍后重试' }, now);
      }
      if (err instanceof WecomTransportError) {
        // WeCom may have started the takeover: the rows stay `requested` (still holding the customer, so a retry
        // cannot start a second one) and the `transfers` job reads transfer_result to learn what happened.
        this.log.warn({ customers: batch.length, failure: err.failure }, 'transfer call outcome unknown; left for the transfers job');
        const message = '企业微信未应答，结果待核对（transfers 任务会查询转接状态）';
        for (const t of batch) await this.transfers.setOutcome(t.id, { status: 'requested', message }, now);
        return batch.map((t) => outcomeOf({ ...t, message }, false));
      }
      throw err;
    }
    const out: CustomerTransferOutcome[] = [];
    for (const t of batch) {
      const errcode = answers.get(t.externalUserId);
      const outcome =
        errcode === 0
          ? { status: 'waiting' as const, errcode: 0, message: null, takeoverAt: new Date(now.getTime() + TAKEOVER_DELAY_MS) }
          : errcode === undefined
            ? { status: 'failed' as const, errcode: null, message: '企业微信没有返回该客户的结果' }
            : { status: 'failed' as const, errcode, message: transferErrorMessage(errcode) };
      await this.transfers.setOutcome(t.id, outcome, now);
      out.push(outcomeOf({ ...t, ...outcome, takeoverAt: outcome.takeoverAt ?? null }, false));
    }
    return out;
  }

  private async recordAll(batch: Transfer[], o: { status: 'failed'; errcode: number | null; message: string }, now: Date): Promise<CustomerTransferOutcome[]> {
    for (const t of batch) await this.transfers.setOutcome(t.id, o, now);
    return batch.map((t) => outcomeOf({ ...t, ...o }, false));
  }
}

function outcomeOf(t: Pick<Transfer, 'id' | 'externalUserId' | 'status' | 'errcode' | 'message' | 'takeoverAt'>, isAlreadyRequested: boolean): CustomerTransferOutcome {
  return { externalUserId: t.externalUserId, transferId: t.id, status: t.status, errcode: t.errcode, message: t.message, takeoverAt: t.takeoverAt, isAlreadyRequested };
}
