import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { InboxProcessor } from '../../../../src/domain/inbox/inbox-processor.js';
import { EventRouter } from '../../../../src/domain/inbox/event-router.js';
import { systemClock } from '../../../../src/shared/clock.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import type { ClaimedEvent, InboxRepository } from '../../../../src/persistence/repositories/inbox.repository.js';
import type { TimelineRepository } from '../../../../src/persistence/repositories/timeline.repository.js';
import type { InboxWriter } from '../../../../src/domain/inbox/inbox-writer.js';

const opts = { workers: 2, pollIntervalMs: 60_000, leaseMs: 60_000, maxAttempts: 3, backoffBaseMs: 10, backoffMaxMs: 100, claimBatch: 10 };

describe(InboxProcessor.name, () => {
  it('does not lose a wake-up that arrives while a claim is in progress', async () => {
    const writer = { events: new EventEmitter() } as unknown as InboxWriter;
    let claims = 0;
    const handled: number[] = [];
    const event: ClaimedEvent = { leaseOwner: 'l', event: { id: 1, kind: 'event/probe', fields: {}, receivedAt: new Date(), attempts: 1 } };
    // The first claim reads nothing, and the event commits (and is announced) before that claim returns: the race
    // between a claim's read and a concurrent insert.
    const repo = {
      claim: async () => {
        claims++;
        if (claims === 1) {
          writer.events.emit('stored');
          return [];
        }
        return claims === 2 ? [event] : [];
      },
      finish: async () => true,
      fail: async () => true,
      release: async () => undefined,
      healQueue: async () => 0,
    } as unknown as InboxRepository;
    const router = new EventRouter().register({ name: 'probe', kinds: ['event/probe'], handle: async (e) => void handled.push(e.id) });
    const sut = new InboxProcessor(repo, {} as TimelineRepository, router, writer, systemClock, silentLogger, opts);
    sut.start();
    const deadline = Date.now() + 2000;
    while (handled.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await sut.stop(100);
    // With a 60 s poll interval, handling it at all within 2 s means the wake-up was remembered.
    expect(handled).toEqual([1]);
  });
});
