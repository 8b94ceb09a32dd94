import type { GroupTransferRepository } from '../../persistence/repositories/group-transfer.repository.js';
import type { GroupTransfer, GroupTransferListItem, GroupTransferOutcome, GroupTransferStatus } from './group-transfer.types.js';
import type { TransferKind } from './transfer.types.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import { WecomTransportError } from '../../wecom/client/errors.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { ValidationError, WecomApiError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { groupTransferMessage, isRetryableGroupErrcode } from './group-transfer-messages.js';

/** chat_id_list holds at most 100 groups (docs/wecom-protocol.md §Group transfers). */
export const GROUP_TRANSFER_BATCH = 100;
/** One request covers at most this many groups. */
export const MAX_GROUPS_PER_REQUEST = 2000;
/** A transient failure is tried again after 5, 10, 20, 40 minutes; after the fifth call the group is parked as failed. */
export const MAX_GROUP_ATTEMPTS = 5;
const RETRY_BASE_MS = 5 * 60_000;
/** A `requested` row untouched this long had its WeCom call end without an answer (or the process stopped). */
const UNANSWERED_AFTER_MS = 10 * 60_000;
/** At most this many unsynced groups are named from WeCom per answer (one groupchat/get each). */
const NAME_LOOKUPS = 200;
/** At most this many rows per job run, reconciled or retried. */
const SETTLE_LIMIT = 1000;

/** A group the handover member owns that can be offered for handing over. */
export interface GroupCandidate {
  chatId: string;
  /** The archive's name; null when the bot has not archived the group yet. */
  name: string | null;
  /** WeCom's status: 0 normal, 1 owner resigned, 2 inheriting, 3 inherited. */
  status: number;
  /** The group's open transfer, if one is already under way. */
  openTransfer: { id: string; newOwner: string; status: GroupTransferStatus } | null;
}

/** What an operator asks for. Without `chats`: every group WeCom lists for the handover member. */
export interface GroupTransferRequestInput {
  kind: TransferKind;
  handover: string;
  takeover: string;
  chats?: string[];
}

/** One group's outcome of a request. */
export interface GroupTransferOutcomeItem {
  chatId: string;
  chatName: string | null;
  transferId: string;
  status: GroupTransferStatus;
  errcode: number | null;
  message: string | null;
  /** The group already had an open transfer: it is reported and WeCom was not called again. */
  isAlreadyRequested: boolean;
}

/** The answer to a request. */
export interface GroupTransferRequestResult {
  requestId: string;
  kind: TransferKind;
  handover: string;
  takeover: string;
  items: GroupTransferOutcomeItem[];
}

/** What one job run did. */
export interface GroupTransferSettleCounts {
  reconciled: number;
  retried: number;
  done: number;
  failed: number;
}

/**
 * 离职/在职群继承 (docs/groups.md §Group transfers): a member's customer groups handed to another member with
 * groupchat/transfer (the owner left) or groupchat/onjob_transfer (docs/wecom-protocol.md §Group transfers). One row per
 * group, written before WeCom is called; a group WeCom accepted is never sent again, a transient failure is retried by
 * the `transfers` job and parked as failed after MAX_GROUP_ATTEMPTS calls, and a call whose outcome is unknown is
 * settled by reading the group's owner back.
 */
export class GroupTransferService {
  constructor(
    private readonly repo: GroupTransferRepository,
    private readonly wecom: Pick<WecomGateway, 'groupChatList' | 'groupChatGet' | 'transferGroupChats'>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /**
   * The groups WeCom lists for `handover` that a transfer of `kind` applies to: status 0 (normal) for 在职继承, 1 (owner
   * resigned) for 离职继承 (groupchat/list with owner_filter, docs/wecom-protocol.md §Customer groups), with the archive's
   * names and any open transfer.
   */
  async candidates(kind: TransferKind, handover: string): Promise<GroupCandidate[]> {
    const refs: { chatId: string; status: number }[] = [];
    let cursor = '';
    const seen = new Set<string>();
    do {
      const page = await this.wecom.groupChatList({ statusFilter: kind === 'onjob' ? 0 : 1, ownerUserIds: [handover], cursor, limit: 1000 });
      refs.push(...page.items);
      cursor = page.nextCursor;
      // A cursor WeCom repeats would loop for ever; the list so far is what there is.
      if (seen.has(cursor)) break;
      seen.add(cursor);
    } while (cursor && refs.length < MAX_GROUPS_PER_REQUEST * 5);
    const ids = refs.map((r) => r.chatId);
    const [names, open] = await Promise.all([this.namesOf(ids), this.repo.findOpen(ids)]);
    return refs.map((r) => {
      const t = open.get(r.chatId);
      return { chatId: r.chatId, name: names.get(r.chatId) ?? null, status: r.status, openTransfer: t ? { id: t.id, newOwner: t.newOwner, status: t.status } : null };
    });
  }

  /** Hand groups over and report each group's outcome. */
  async request(input: GroupTransferRequestInput, requestedBy: string): Promise<GroupTransferRequestResult> {
    if (input.handover === input.takeover) throw new ValidationError('新群主不能与原群主相同', undefined, 'same_staff');
    const ids = input.chats ? [...new Set(input.chats)] : (await this.candidates(input.kind, input.handover)).map((c) => c.chatId);
    if (ids.length === 0) throw new ValidationError(`${input.handover} 没有可${input.kind === 'onjob' ? '在职' : '离职'}继承的客户群`, undefined, 'no_groups');
    if (ids.length > MAX_GROUPS_PER_REQUEST) throw new ValidationError(`一次最多转交 ${MAX_GROUPS_PER_REQUEST} 个群，本次 ${ids.length} 个`, undefined, 'too_many_groups');

    const now = this.clock.now();
    const requestId = newId(now.getTime());
    const fresh: GroupTransfer[] = [];
    for (const chatId of ids) {
      const row = { id: newId(this.clock.now().getTime()), requestId, kind: input.kind, chatId, handoverUserid: input.handover, newOwner: input.takeover, requestedBy };
      // The unique open key admits one open transfer per group: asking again reports the open one.
      if (await this.repo.insertRequested(row, now)) {
        fresh.push({ ...row, status: 'requested', errcode: null, message: null, attempts: 0, nextAttemptAt: null, requestedAt: now, finishedAt: null, updatedAt: now });
      }
    }
    const outcomes = new Map<string, { t: GroupTransfer; isAlreadyRequested: boolean }>();
    const inserted = new Set(fresh.map((f) => f.chatId));
    for (const [chatId, t] of await this.repo.findOpen(ids.filter((id) => !inserted.has(id)))) outcomes.set(chatId, { t, isAlreadyRequested: true });
    for (let i = 0; i < fresh.length; i += GROUP_TRANSFER_BATCH) {
      for (const t of await this.submit(input.kind, input.takeover, fresh.slice(i, i + GROUP_TRANSFER_BATCH))) outcomes.set(t.chatId, { t, isAlreadyRequested: false });
    }
    const names = await this.namesOf(ids);
    const items = ids.flatMap((chatId) => {
      const o = outcomes.get(chatId);
      if (!o) return [];
      return [{ chatId, chatName: names.get(chatId) ?? null, transferId: o.t.id, status: o.t.status, errcode: o.t.errcode, message: o.t.message, isAlreadyRequested: o.isAlreadyRequested }];
    });
    this.log.info(
      { requestId, kind: input.kind, groups: ids.length, done: items.filter((i) => i.status === 'done' && !i.isAlreadyRequested).length, failed: items.filter((i) => i.status === 'failed').length },
      'group transfer requested',
    );
    return { requestId, kind: input.kind, handover: input.handover, takeover: input.takeover, items };
  }

  /**
   * Groups' names: the archive's, and for up to NAME_LOOKUPS groups it has not synced yet WeCom's (groupchat/get), so
   * an operator sees names, not ids. A group WeCom cannot read stays nameless.
   */
  private async namesOf(ids: string[]): Promise<Map<string, string>> {
    const names = await this.repo.chatNames(ids);
    const missing = ids.filter((id) => !names.get(id)).slice(0, NAME_LOOKUPS);
    await Promise.all(
      missing.map(async (id) => {
        try {
          const name = (await this.wecom.groupChatGet(id)).name;
          if (name) names.set(id, name);
        } catch (err) {
          if (!(err instanceof WecomApiError || err instanceof WecomTransportError)) throw err;
        }
      }),
    );
    return names;
  }

  /** A page of group transfers, newest first. */
  async list(filter: { status?: GroupTransferStatus; handover?: string; newOwner?: string; chatId?: string; requestId?: string; page: number; pageSize: number }): Promise<{ items: GroupTransferListItem[]; total: number }> {
    const page = await this.repo.list(filter);
    // Groups the archive has not synced yet are named from WeCom (a page holds at most a few hundred).
    const unnamed = [...new Set(page.items.filter((i) => !i.chatName).map((i) => i.chatId))];
    if (unnamed.length === 0) return page;
    const names = await this.namesOf(unnamed);
    return { ...page, items: page.items.map((i) => (i.chatName ? i : { ...i, chatName: names.get(i.chatId) ?? null })) };
  }

  /**
   * The `transfers` job's part for groups: settle calls whose outcome is unknown by reading each group's owner back
   * (groupchat/get; the new owner means WeCom accepted it, so it is never sent again), then call WeCom again for
   * groups whose retry is due.
   */
  async settle(now: Date): Promise<GroupTransferSettleCounts> {
    const counts: GroupTransferSettleCounts = { reconciled: 0, retried: 0, done: 0, failed: 0 };
    for (const t of await this.repo.unanswered(new Date(now.getTime() - UNANSWERED_AFTER_MS), SETTLE_LIMIT)) {
      let owner: string;
      try {
        owner = (await this.wecom.groupChatGet(t.chatId)).owner;
      } catch (err) {
        if (!(err instanceof WecomApiError || err instanceof WecomTransportError)) throw err;
        // Asked again next run; the row stays `requested`, so nothing calls WeCom for this group meanwhile.
        this.log.warn({ chatId: t.chatId, errcode: err instanceof WecomApiError ? err.errcode : undefined }, 'group transfer check failed; will retry next run');
        continue;
      }
      counts.reconciled++;
      if (owner === t.newOwner) {
        if (await this.finishDone(t, now)) counts.done++;
      } else {
        // WeCom did not hand it over: calling again cannot do it twice.
        const o = this.retryOrPark(t, null, '企业微信未应答且群主未变更，将自动重试', now);
        if ((await this.repo.setOutcome(t.id, o, now)) && o.status === 'failed') counts.failed++;
      }
    }
    const due = await this.repo.dueRetries(now, SETTLE_LIMIT);
    const groups = new Map<string, GroupTransfer[]>();
    for (const t of due) {
      const key = `${t.kind}\u0000${t.newOwner}`;
      groups.set(key, [...(groups.get(key) ?? []), t]);
    }
    for (const rows of groups.values()) {
      for (let i = 0; i < rows.length; i += GROUP_TRANSFER_BATCH) {
        const batch = rows.slice(i, i + GROUP_TRANSFER_BATCH);
        // Back to `requested` before the call, so a crash during it is settled by reading the owner back.
        for (const t of batch) await this.repo.setOutcome(t.id, { status: 'requested', errcode: t.errcode, message: '正在重试' }, now);
        counts.retried += batch.length;
        for (const r of await this.submit(batch[0]!.kind, batch[0]!.newOwner, batch.map((t) => ({ ...t, status: 'requested' as const })))) {
          if (r.status === 'done') counts.done++;
          if (r.status === 'failed') counts.failed++;
        }
      }
    }
    if (counts.reconciled + counts.retried > 0) this.log.info({ ...counts }, 'group transfers settled');
    return counts;
  }

  /** One WeCom call for ≤ 100 rows, and each row's outcome recorded. */
  private async submit(kind: TransferKind, newOwner: string, batch: GroupTransfer[]): Promise<GroupTransfer[]> {
    const now = this.clock.now();
    await this.repo.countAttempt(batch.map((t) => t.id), now);
    const counted = batch.map((t) => ({ ...t, attempts: t.attempts + 1 }));
    let failures: Map<string, number>;
    try {
      const res = await this.wecom.transferGroupChats({ kind, chatIds: counted.map((t) => t.chatId), newOwner });
      failures = new Map(res.map((f) => [f.chatId, f.errcode]));
    } catch (err) {
      if (err instanceof WecomApiError) {
        // A whole-call errcode (40003 new owner unknown or resigned, 60011, 48002…) is every group's outcome; the client
        // has already retried the transient ones.
        return this.recordAll(counted, (t) => this.retryOrPark(t, err.errcode, groupTransferMessage(err.errcode), now), now);
      }
      if (err instanceof WecomTransportError && !err.isOutcomeUnknown) {
        return this.recordAll(counted, (t) => this.retryOrPark(t, null, '企业微信暂时无法访问，将自动重试', now), now);
      }
      if (err instanceof WecomTransportError) {
        // WeCom may have handed the groups over: the rows stay `requested` (still holding each group's open key) and
        // the job reads each owner back before anything calls again.
        this.log.warn({ groups: counted.length, failure: err.failure }, 'group transfer outcome unknown; left for the transfers job');
        return this.recordAll(counted, () => ({ status: 'requested', message: '企业微信未应答，结果待核对（transfers 任务会读取群主）' }), now);
      }
      throw err;
    }
    const out: GroupTransfer[] = [];
    for (const t of counted) {
      const errcode = failures.get(t.chatId);
      if (errcode === undefined || errcode === 0) {
        await this.finishDone(t, now);
        out.push({ ...t, status: 'done', errcode: 0, message: null, finishedAt: now });
        continue;
      }
      const o = this.retryOrPark(t, errcode, groupTransferMessage(errcode), now);
      await this.repo.setOutcome(t.id, o, now);
      out.push({ ...t, status: o.status, errcode: o.errcode ?? null, message: o.message ?? null, nextAttemptAt: o.nextAttemptAt ?? null });
    }
    return out;
  }

  private async finishDone(t: GroupTransfer, now: Date): Promise<boolean> {
    const changed = await this.repo.setOutcome(t.id, { status: 'done', errcode: 0, message: null }, now);
    if (changed) await this.repo.setArchivedOwner(t.chatId, t.newOwner, t.kind, now);
    return changed;
  }

  /** A transient refusal is retried with backoff until MAX_GROUP_ATTEMPTS calls; anything else is final. */
  private retryOrPark(t: GroupTransfer, errcode: number | null, message: string, now: Date): GroupTransferOutcome {
    const isTransient = errcode === null || isRetryableGroupErrcode(errcode);
    if (!isTransient) return { status: 'failed', errcode, message };
    if (t.attempts >= MAX_GROUP_ATTEMPTS) return { status: 'failed', errcode, message: `${message}（已尝试 ${t.attempts} 次，请稍后重新发起）` };
    return { status: 'retrying', errcode, message, nextAttemptAt: new Date(now.getTime() + RETRY_BASE_MS * 2 ** Math.max(0, t.attempts - 1)) };
  }

  private async recordAll(batch: GroupTransfer[], outcome: (t: GroupTransfer) => GroupTransferOutcome, now: Date): Promise<GroupTransfer[]> {
    const out: GroupTransfer[] = [];
    for (const t of batch) {
      const o = outcome(t);
      await this.repo.setOutcome(t.id, o, now);
      out.push({ ...t, status: o.status, errcode: o.errcode ?? null, message: o.message ?? null, nextAttemptAt: o.nextAttemptAt ?? null });
    }
    return out;
  }
}
