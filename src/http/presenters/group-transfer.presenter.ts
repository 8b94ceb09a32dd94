import type { GroupTransferRequestResult } from '../../domain/transfers/group-transfer.service.js';
import type { GroupTransferListItem } from '../../domain/transfers/group-transfer.types.js';

/** The answer to `POST /api/v1/group-transfers`: every group's outcome and counts by status. */
export function presentGroupTransferRequest(r: GroupTransferRequestResult) {
  const byStatus: Record<string, number> = {};
  for (const o of r.items) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
  return {
    requestId: r.requestId,
    kind: r.kind,
    handover: r.handover,
    takeover: r.takeover,
    total: r.items.length,
    byStatus,
    items: r.items.map((o) => ({ chatId: o.chatId, chatName: o.chatName, transferId: o.transferId, status: o.status, errcode: o.errcode, message: o.message, alreadyRequested: o.isAlreadyRequested })),
  };
}

/** A row of `GET /api/v1/group-transfers`. */
export function presentGroupTransfer(t: GroupTransferListItem) {
  return {
    id: t.id,
    requestId: t.requestId,
    kind: t.kind,
    chatId: t.chatId,
    chatName: t.chatName,
    handover: t.handoverUserid,
    takeover: t.newOwner,
    status: t.status,
    errcode: t.errcode,
    message: t.message,
    attempts: t.attempts,
    nextAttemptAt: t.nextAttemptAt?.toISOString() ?? null,
    requestedBy: t.requestedBy,
    requestedAt: t.requestedAt.toISOString(),
    finishedAt: t.finishedAt?.toISOString() ?? null,
  };
}
