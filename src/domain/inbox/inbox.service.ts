import type { InboxRepository } from '../../persistence/repositories/inbox.repository.js';
import type { EventFields, InboxEventSummary, InboxStatus } from './inbox.types.js';
import type { Clock } from '../../shared/clock.js';
import { eventCreateTimeMs, eventDedupeKey, eventKind, eventPriority, eventSubject } from './inbound-event.js';
import type { InboxWriter } from './inbox-writer.js';

/** Result of accepting one decrypted callback. */
export interface Accepted {
  kind: string;
  isNew: boolean;
}

/** The inbox's use cases: accept a decrypted callback durably, list events, replay one. */
export class InboxService {
  constructor(
    private readonly writer: InboxWriter,
    private readonly repo: InboxRepository,
    private readonly clock: Clock,
  ) {}

  /** Store a decrypted callback; resolves once it is committed. A redelivery resolves with isNew=false. */
  async accept(fields: EventFields): Promise<Accepted> {
    const kind = eventKind(fields);
    const isNew = await this.writer.store({
      dedupeKey: eventDedupeKey(fields),
      kind,
      subjectKey: eventSubject(fields),
      fields,
      createTimeMs: eventCreateTimeMs(fields),
      priority: eventPriority(kind),
    });
    return { kind, isNew };
  }

  /** Events newest first. */
  /** How many events are in each status (the `wecom_inbox_events` gauge). */
  countByStatus(): Promise<Record<string, number>> {
    return this.repo.countByStatus();
  }

  list(opts: { status?: InboxStatus; page: number; pageSize: number }): Promise<{ items: InboxEventSummary[]; total: number }> {
    return this.repo.list({ status: opts.status, limit: opts.pageSize, offset: (opts.page - 1) * opts.pageSize });
  }

  /** Queue an event again with a fresh attempt budget. */
  replay(id: number): Promise<InboxEventSummary> {
    return this.repo.replay(id, this.clock.now().getTime());
  }
}
