import { describe, expect, it } from 'vitest';
import { InboxWriter } from '../../../../src/domain/inbox/inbox-writer.js';
import { systemClock } from '../../../../src/shared/clock.js';
import type { InboxRepository } from '../../../../src/persistence/repositories/inbox.repository.js';
import type { NewInboxEvent } from '../../../../src/domain/inbox/inbox.types.js';

const event = (i: number): NewInboxEvent => ({ dedupeKey: `k${i}`, kind: 'event/probe', subjectKey: null, fields: {}, createTimeMs: null });

/** A repository whose commits block the event loop like better-sqlite3's fsync does, recording each batch. */
function blockingRepo(blockMs: number) {
  const batches: string[][] = [];
  const repo = {
    insertBatch: async (events: NewInboxEvent[]) => {
      batches.push(events.map((e) => e.dedupeKey));
      const until = Date.now() + blockMs;
      while (Date.now() < until) {
        /* a synchronous commit: nothing else runs meanwhile */
      }
      return events.map((e) => !e.dedupeKey.startsWith('dup'));
    },
  } as unknown as InboxRepository;
  return { repo, batches };
}

describe(InboxWriter.name, () => {
  it('commits callbacks that arrive in the same event-loop turn as one batch', async () => {
    const { repo, batches } = blockingRepo(0);
    const sizes: number[] = [];
    const writer = new InboxWriter(repo, systemClock, 200, 1, (n) => sizes.push(n));
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => writer.store(event(i))));
    expect(results).toEqual([true, true, true, true, true]);
    expect(batches).toEqual([['k0', 'k1', 'k2', 'k3', 'k4']]);
    expect(sizes).toEqual([5]);
  });

  it('gathers what arrived during a blocking commit into the next batch, not one commit each', async () => {
    const { repo, batches } = blockingRepo(20);
    const writer = new InboxWriter(repo, systemClock, 200, 1);
    const later: Promise<boolean>[] = [];
    const insert = repo.insertBatch.bind(repo);
    // While the first commit holds the loop, four more callbacks become ready, each in its own macrotask (like
    // sockets read one by one after a synchronous fsync).
    repo.insertBatch = async (events, now) => {
      if (batches.length === 0) for (const i of [1, 2, 3, 4]) later.push(new Promise((r) => setTimeout(() => r(writer.store(event(i))), 0)));
      return insert(events, now);
    };
    await writer.store(event(0));
    await new Promise((r) => setTimeout(r, 5));
    await Promise.all(later);
    // Starting a commit as soon as the first of them is parsed would give [k1] then [k2, k3, k4].
    expect(batches).toEqual([['k0'], ['k1', 'k2', 'k3', 'k4']]);
  });

  it('reports a redelivery as not new and rejects every caller of a failed commit', async () => {
    const { repo } = blockingRepo(0);
    const writer = new InboxWriter(repo, systemClock);
    expect(await writer.store({ ...event(1), dedupeKey: 'dup-1' })).toBe(false);

    const failing = new InboxWriter({ insertBatch: async () => Promise.reject(new Error('disk full')) } as unknown as InboxRepository, systemClock);
    const outcomes = await Promise.allSettled([failing.store(event(1)), failing.store(event(2))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });

  it('announces a commit that stored something new, and only then', async () => {
    const { repo } = blockingRepo(0);
    const writer = new InboxWriter(repo, systemClock);
    let wakes = 0;
    writer.events.on('stored', () => wakes++);
    await writer.store({ ...event(1), dedupeKey: 'dup-1' });
    expect(wakes).toBe(0);
    await writer.store(event(2));
    expect(wakes).toBe(1);
  });
});
