// What the care and win-back planners read about customers.
import type { Birthday } from './occasion.types.js';

/** A customer as care planning needs it. */
export interface ScannedCustomer {
  externalUserId: string;
  name: string;
  birthday: Birthday | null;
  firstAddedAt: Date | null;
  lastInteractionAt: Date | null;
  activity: string;
  isOptedOut: boolean;
}

/** A customer as a broadcast addresses them: only what the message and the ledger row need. */
export interface Recipient {
  externalUserId: string;
  name: string;
  isOptedOut: boolean;
}

/** A WHERE fragment over `customers c` with its params (e.g. a compiled audience). */
export interface SqlCondition {
  sql: string;
  params: unknown[];
}

/** A note due for follow-up. */
export interface DueNote {
  id: string;
  externalUserId: string;
  userid: string | null;
  text: string;
}

/** The staff member who sends to a customer. */
export interface Sender {
  userid: string;
  name: string;
}
