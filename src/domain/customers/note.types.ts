// Staff notes on a customer.

/** A staff follow-up record (跟进记录) on a customer; `dueDate` is a local calendar date, `doneAt` closes it. */
export interface Note {
  id: string;
  externalUserId: string;
  userid: string | null;
  text: string;
  dueDate: string | null;
  doneAt: Date | null;
  createdAt: Date;
  /** Who wrote it: staff (the default), or the bot's churn warning (docs/churn.md §Warnings). */
  source?: 'staff' | 'churn';
}

/** Fields a PATCH may change. `undefined` leaves a field alone; `null` clears it. */
export interface NoteChanges {
  text?: string;
  dueDate?: string | null;
  doneAt?: Date | null;
}
