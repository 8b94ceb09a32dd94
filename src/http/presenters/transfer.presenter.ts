import type { CustomerTransferOutcome, TransferRequestResult } from '../../domain/transfers/transfer.service.js';
import type { TransferListItem } from '../../domain/transfers/transfer.types.js';

/** One customer's outcome in the answer to `POST /api/v1/transfers`. */
function presentOutcome(o: CustomerTransferOutcome) {
  return {
    externalUserId: o.externalUserId,
    transferId: o.transferId,
    status: o.status,
    errcode: o.errcode,
    message: o.message,
    takeoverAt: o.takeoverAt?.toISOString() ?? null,
    alreadyRequested: o.isAlreadyRequested,
  };
}

/** The answer to `POST /api/v1/transfers`: every customer's outcome and counts by status. */
export function presentTransferRequest(r: TransferRequestResult) {
  const byStatus: Record<string, number> = {};
  for (const o of r.items) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
  return { requestId: r.requestId, kind: r.kind, handover: r.handover, takeover: r.takeover, total: r.items.length, byStatus, items: r.items.map(presentOutcome) };
}

/** A transfer row in `GET /api/v1/transfers`. */
export function presentTransfer(t: TransferListItem) {
  return {
    id: t.id,
    requestId: t.requestId,
    kind: t.kind,
    handover: t.handoverUserid,
    takeover: t.takeoverUserid,
    externalUserId: t.externalUserId,
    customerName: t.customerName,
    status: t.status,
    errcode: t.errcode,
    message: t.message,
    requestedBy: t.requestedBy,
    requestedAt: t.requestedAt.toISOString(),
    takeoverAt: t.takeoverAt?.toISOString() ?? null,
    finishedAt: t.finishedAt?.toISOString() ?? null,
  };
}
