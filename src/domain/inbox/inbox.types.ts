// Callback events in the durable inbox (`inbox_events`), as the inbox and its handlers see them.

/** The decrypted fields of one callback, as strings (lists as string arrays). */
export type EventFields = Record<string, string | string[]>;

/** Lifecycle of an inbox row. `failed` is parked for an operator; `ignored` had no handler. */
export type InboxStatus = 'pending' | 'running' | 'done' | 'failed' | 'ignored';

/**
 * The name of the field an event carries once its urgent part has run (docs/inbox.md §Deadline first). A type, so
 * the inbox (DEFERRED_FIELD) and the repository that drops the field again name the same one.
 */
export type DeferredField = '__deferred';

/** A stored callback event as handlers see it. */
export interface InboundEvent {
  id: number;
  /** Routing key, e.g. `event/change_external_contact/add_external_contact` or `text`. */
  kind: string;
  fields: EventFields;
  receivedAt: Date;
  attempts: number;
}

/** A row to insert into the inbox. */
export interface NewInboxEvent {
  dedupeKey: string;
  kind: string;
  subjectKey: string | null;
  fields: EventFields;
  createTimeMs: number | null;
  /** 1: claimed ahead of ordinary events (a deadline is running, see eventPriority); default 0. */
  priority?: number;
}

/** An inbox row as the admin API shows it (payload excluded). */
export interface InboxEventSummary {
  id: number;
  receivedAt: Date;
  kind: string;
  status: InboxStatus;
  attempts: number;
  error: string | null;
  subjectKey: string | null;
  processedAt: Date | null;
}

/** A claimed event and the lease token that must accompany its completion. */
export interface ClaimedEvent {
  event: InboundEvent;
  leaseOwner: string;
  /** The row's idempotency key, which also binds its sealed payload (needed to write the payload again on defer). */
  dedupeKey?: string;
  /** The lane it was claimed from. */
  lane?: 'urgent' | 'ordinary';
  /** Its subject (ordering key), whose next event becomes ready when this one finishes. */
  subjectKey?: string | null;
  /**
   * Later notifications of the same subject folded into this one (docs/inbox.md §Coalescing): they share its lease
   * and its outcome. `event.fields` are the newest one's (a KF notification's Token is then the freshest).
   */
  absorbed?: number[];
}

/** How many events to claim from each lane (docs/inbox.md §Deadline first). */
export interface LaneLimits {
  urgent: number;
  ordinary: number;
}
