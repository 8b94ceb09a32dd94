// Group transfers (离职/在职群继承): customer groups handed to a new owner.

import type { TransferKind } from './transfer.types.js';

/** Lifecycle of one group's transfer. `requested` and `retrying` are open; `done` and `failed` are final. */
export type GroupTransferStatus = 'requested' | 'retrying' | 'done' | 'failed';

/** Every status, for validation. */
export const GROUP_TRANSFER_STATUSES: readonly GroupTransferStatus[] = ['requested', 'retrying', 'done', 'failed'];

/** One group's transfer as the domain sees it. */
export interface GroupTransfer {
  id: string;
  requestId: string;
  kind: TransferKind;
  chatId: string;
  handoverUserid: string;
  newOwner: string;
  status: GroupTransferStatus;
  errcode: number | null;
  message: string | null;
  attempts: number;
  nextAttemptAt: Date | null;
  requestedBy: string;
  requestedAt: Date;
  finishedAt: Date | null;
  updatedAt: Date;
}

/** A transfer with the group's name from the archive (null when the bot has not archived the group). */
export interface GroupTransferListItem extends GroupTransfer {
  chatName: string | null;
}

/** A new row, inserted `requested`. */
export type NewGroupTransfer = Pick<GroupTransfer, 'id' | 'requestId' | 'kind' | 'chatId' | 'handoverUserid' | 'newOwner' | 'requestedBy'>;

/** What a status change writes. */
export interface GroupTransferOutcome {
  status: GroupTransferStatus;
  errcode?: number | null;
  message?: string | null;
  nextAttemptAt?: Date | null;
}
