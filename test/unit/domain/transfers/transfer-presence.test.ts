import { describe, expect, it } from 'vitest';
import { TransferPresence } from '../../../../src/domain/transfers/transfer-callback.handler.js';

const HOUR = 3_600_000;

/** A repository stand-in that answers from `answer` and records every question. */
function repo(answer: () => boolean | Promise<boolean>) {
  const asked: number[] = [];
  return {
    asked,
    anyOpenOrFinishedSince: async (since: number) => {
      asked.push(since);
      return answer();
    },
  };
}

describe(TransferPresence.name, () => {
  const at = Date.parse('2026-11-23T10:00:00Z');

  it('asks the database once per 10 s while there is no transfer, and skips the callbacks in between', async () => {
    let now = 1_000_000;
    const r = repo(() => false);
    const p = new TransferPresence(r, () => now);
    expect(await p.mayMatch(at)).toBe(false);
    now += 9_000;
    expect(await p.mayMatch(at + 1000)).toBe(false);
    expect(r.asked).toHaveLength(1);
    // The window reaches 48 h back from the callback's time.
    expect(r.asked[0]).toBe(at - 48 * HOUR);
    now += 2_000;
    expect(await p.mayMatch(at + 2000)).toBe(false);
    expect(r.asked).toHaveLength(2);
  });

  it('never caches a yes: with transfers about, every callback is looked up', async () => {
    const r = repo(() => true);
    const p = new TransferPresence(r, () => 0);
    for (let i = 0; i < 3; i++) expect(await p.mayMatch(at)).toBe(true);
    expect(r.asked).toHaveLength(3);
  });

  it('looks again at once after a transfer is started here, even if a lookup was in flight meanwhile', async () => {
    let release!: (v: boolean) => void;
    const r = repo(() => new Promise<boolean>((res) => (release = res)));
    const p = new TransferPresence(r, () => 0);
    const inFlight = p.mayMatch(at);
    p.invalidate(); // the transfer row is written while the old "no" is on its way back
    release(false);
    expect(await inFlight).toBe(false);
    const next = p.mayMatch(at);
    release(true);
    expect(await next).toBe(true);
    expect(r.asked).toHaveLength(2);
  });

  it('asks again for an older callback, whose window reaches further back than the cached answer', async () => {
    const r = repo(() => false);
    const p = new TransferPresence(r, () => 0);
    await p.mayMatch(at);
    await p.mayMatch(at - 72 * HOUR);
    expect(r.asked).toEqual([at - 48 * HOUR, at - 120 * HOUR]);
  });
});
