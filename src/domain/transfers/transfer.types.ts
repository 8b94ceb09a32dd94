// Customer transfers between staff members (在职/离职继承).

/** 在职继承 (on-job) or 离职继承 (resigned), docs/wecom-protocol.md §Customer transfers. */
export type TransferKind = 'onjob' | 'resigned';

/** Lifecycle of one customer's transfer. `requested` and `waiting` are open; the rest are final. */
export type TransferStatus = 'requested' | 'waiting' | 'done' | 'refused' | 'taker_limit' | 'failed';

/** Every status, for validation and stats. */
export const TRANSFER_STATUSES: readonly TransferStatus[] = ['requested', 'waiting', 'done', 'refused', 'taker_limit', 'failed'];

/** One customer's transfer as the domain sees it. */
export interface Transfer {
  id: string;
  requestId: string;
  kind: TransferKind;
  handoverUserid: string;
  takeoverUserid: string;
  externalUserId: string;
  status: TransferStatus;
  errcode: number | null;
  message: string | null;
  successMsg: string | null;
  requestedBy: string;
  requestedAt: Date;
  takeoverAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

/** A transfer with the customer's name, for lists. */
export interface TransferListItem extends Transfer {
  customerName: string | null;
}

/** A new row, inserted `requested`. */
export type NewTransfer = Pick<Transfer, 'id' | 'requestId' | 'kind' | 'handoverUserid' | 'takeoverUserid' | 'externalUserId' | 'successMsg' | 'requestedBy'>;

/** What a status change writes. */
export interface TransferOutcome {
  status: TransferStatus;
  errcode?: number | null;
  message?: string | null;
  takeoverAt?: Date | null;
}
