import type { Db } from '../../persistence/db.js';
import type { CustomerRepository } from '../../persistence/repositories/customer.repository.js';
import type { FollowRelationRepository } from '../../persistence/repositories/follow-relation.repository.js';
import type { StaffRepository } from '../../persistence/repositories/staff.repository.js';
import type { TimelineRepository } from '../../persistence/repositories/timeline.repository.js';
import type { TransferRepository } from '../../persistence/repositories/transfer.repository.js';
import type { Transfer } from './transfer.types.js';
import type { Clock } from '../../shared/clock.js';
import { transferKindLabel } from './transfer-messages.js';
import type { RecordRelationChange } from '../analytics/analytics-recorder.js';

/** The timeline source of transfer entries; the source id is the transfer's id, so each outcome is written once. */
export const TRANSFER_TIMELINE_SOURCE = 'transfer';

/**
 * Applies a transfer's final outcome, whoever learns it first: the `transfers` job (transfer_result) or a callback
 * (add_external_contact / del_external_contact DELETE_BY_TRANSFER / transfer_fail,
 * docs/wecom-protocol.md §Customer contact events). The status change is a compare-and-set on an open row, so the
 * second to arrive changes nothing and writes no second entry.
 */
export class TransferSettlement {
  constructor(
    private readonly db: Db,
    private readonly transfers: TransferRepository,
    private readonly relations: FollowRelationRepository,
    private readonly customers: CustomerRepository,
    private readonly timeline: TimelineRepository,
    private readonly staff: Pick<StaffRepository, 'displayName'>,
    private readonly clock: Clock,
    /** Port to analytics: the relations the transfer moves are counted in the transaction that moves them. */
    private readonly recordChange?: RecordRelationChange,
  ) {}

  /**
   * The taker now follows the customer: their relation is active, the handover's is `transferred` (not a loss: no
   * churn alert, no channel delete count) and the timeline says who handed the customer to whom. True when this
   * call completed it.
   */
  async complete(t: Transfer, takeoverAt: Date): Promise<boolean> {
    const [from, to] = await Promise.all([this.staff.displayName(t.handoverUserid), this.staff.displayName(t.takeoverUserid)]);
    const now = this.clock.now();
    const nowMs = now.getTime();
    return this.db.tx(async (em) => {
      if (!(await this.transfers.setOutcomeInTx(em, t.id, { status: 'done', takeoverAt }, now))) return false;
      // Customer before relations, the order the archive's add handler writes them in (no deadlock with it on MySQL).
      await this.customers.lockInTx(em, t.externalUserId);
      // The taker first, so the customer never counts as churned in between (refreshActivity below).
      await this.relations.ensureStaffInTx(em, t.takeoverUserid, nowMs);
      const taker = await this.relations.findForUpdateInTx(em, t.takeoverUserid, t.externalUserId);
      if (taker?.status !== 'active') {
        await this.relations.setStatusInTx(em, t.takeoverUserid, t.externalUserId, 'active', null, nowMs);
        await this.recordChange?.(em, { kind: 'transferred_in', userid: t.takeoverUserid, externalUserId: t.externalUserId, channelId: null, occurredAt: takeoverAt });
      }
      // The DELETE_BY_TRANSFER callback may have marked it already; a relation the customer ended stays as it is.
      const giver = await this.relations.findForUpdateInTx(em, t.handoverUserid, t.externalUserId);
      if (giver?.status === 'active') {
        await this.relations.setStatusInTx(em, t.handoverUserid, t.externalUserId, 'transferred', null, nowMs);
        await this.recordChange?.(em, { kind: 'transferred_out', userid: t.handoverUserid, externalUserId: t.externalUserId, channelId: null, state: giver.state, occurredAt: takeoverAt });
      }
      await this.customers.refreshActivityInTx(em, t.externalUserId, nowMs);
      await this.timeline.addInTx(
        em,
        {
          externalUserId: t.externalUserId,
          staffUserid: t.takeoverUserid,
          kind: 'transfer',
          summary: `客户已由 ${from} 继承给 ${to}（${transferKindLabel(t.kind)}）`,
          data: { transferId: t.id, kind: t.kind, handover: t.handoverUserid, takeover: t.takeoverUserid, status: 'done' },
          source: TRANSFER_TIMELINE_SOURCE,
          sourceId: t.id,
          occurredAt: takeoverAt,
        },
        now,
      );
      return true;
    });
  }

  /**
   * The takeover failed (status 3 / 4, or transfer_fail): the customer stays with the handover, nothing changes on
   * the relations, and the timeline says why. True when this call recorded it.
   */
  async reject(t: Transfer, status: 'refused' | 'taker_limit', at: Date): Promise<boolean> {
    const [from, to] = await Promise.all([this.staff.displayName(t.handoverUserid), this.staff.displayName(t.takeoverUserid)]);
    const message = status === 'refused' ? '客户拒绝了转接' : '接替成员的客户数已达上限';
    const now = this.clock.now();
    return this.db.tx(async (em) => {
      if (!(await this.transfers.setOutcomeInTx(em, t.id, { status, message }, now))) return false;
      await this.timeline.addInTx(
        em,
        {
          externalUserId: t.externalUserId,
          staffUserid: t.handoverUserid,
          kind: 'transfer',
          summary: `客户未能由 ${from} 继承给 ${to}（${transferKindLabel(t.kind)}）：${message}`,
          data: { transferId: t.id, kind: t.kind, handover: t.handoverUserid, takeover: t.takeoverUserid, status },
          source: TRANSFER_TIMELINE_SOURCE,
          sourceId: t.id,
          occurredAt: at,
        },
        now,
      );
      return true;
    });
  }
}
