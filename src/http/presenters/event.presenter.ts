import type { InboxEventSummary } from '../../domain/inbox/inbox.types.js';

/** The admin API's shape of an inbox event (contract: `id, receivedAt, kind, status, attempts, error`). */
export function presentEvent(e: InboxEventSummary) {
  return {
    id: e.id,
    receivedAt: e.receivedAt.toISOString(),
    kind: e.kind,
    status: e.status,
    attempts: e.attempts,
    error: e.error,
    processedAt: e.processedAt?.toISOString() ?? null,
  };
}
