import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WecomClient } from '../../../src/wecom/client/wecom.client.js';
import { MemoryRateLeaseStore } from '../../../src/wecom/client/shared-rate-gate.js';
import { WecomStub, maxInWindow } from '../../helpers/wecom-stub.js';
import { clientFor } from './support.js';

const FOLLOW = 'externalcontact/get_follow_user_list';
const BATCH = 'externalcontact/batch/get_by_user';

describe(WecomClient.name, () => {
  let stub: WecomStub;
  let sut: WecomClient;
  let other: WecomClient | undefined;

  beforeEach(async () => {
    stub = await WecomStub.start();
    stub.on(FOLLOW, () => ({ follow_user: ['zhangsan'] }));
    stub.on(BATCH, () => ({ external_contact_list: [], next_cursor: '' }));
  });
  afterEach(async () => {
    sut?.close();
    other?.close();
    other = undefined;
    await stub.stop();
  });

  describe('rate limit', () => {
    it('never lets more than the configured calls reach the server in any window', async () => {
      // 30 per 500 ms stands in for 30 per minute: the same bucket, a window that passes quickly.
      // The stub shares this process, so a stalled event loop (a loaded CI box) can delay arrivals;
      // the guard gives the limiter 200 ms of slack for that, as the 1 s default does for the internet.
      const windowMs = 500;
      const perWindow = 30;
      sut = clientFor(stub, { rateWindowMs: windowMs, rateGuardMs: 200, limits: { [FOLLOW]: { perMinute: perWindow, concurrency: 10 } } });

      await Promise.all(Array.from({ length: 75 }, () => sut.getFollowUserList()));

      const arrivals = stub.callsTo(FOLLOW).map((c) => c.at);
      expect(arrivals).toHaveLength(75);
      expect(maxInWindow(arrivals, windowMs)).toBeLessThanOrEqual(perWindow);
    });

    it('keeps each API to its own concurrency cap', async () => {
      let inFlight = 0;
      let peak = 0;
      stub.on(BATCH, async () => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 15));
        inFlight--;
        return { external_contact_list: [], next_cursor: '' };
      });
      sut = clientFor(stub, { limits: { [BATCH]: { perMinute: 10_000, concurrency: 3 } } });

      await Promise.all(Array.from({ length: 20 }, (_, i) => sut.batchGetByUser({ userIds: [`u${i}`] })));

      expect(stub.callsTo(BATCH)).toHaveLength(20);
      expect(peak).toBe(3);
    });
  });

  describe('45009', () => {
    it('pauses the API for the block period, then completes the burst', async () => {
      const blockMs = 120;
      stub.fault(FOLLOW, 45009, 2);
      sut = clientFor(stub, { blockMs45009: blockMs, retry: { maxAttempts: 5, baseMs: 5, maxMs: 20 }, limits: { [FOLLOW]: { perMinute: 10_000, concurrency: 1 } } });

      const results = await Promise.all(Array.from({ length: 10 }, () => sut.getFollowUserList()));

      expect(results.every((r) => r[0] === 'zhangsan')).toBe(true);
      const calls = stub.callsTo(FOLLOW);
      expect(calls).toHaveLength(12);
      const blocked = calls.flatMap((c, i) => (c.errcode === 45009 ? [i] : []));
      expect(blocked).toHaveLength(2);
      for (const i of blocked) {
        // Nothing reaches the server until the block has passed (allowing 2 ms for clock granularity).
        expect(calls[i + 1].at - calls[i].at).toBeGreaterThanOrEqual(blockMs - 2);
      }
    });

    it('holds queued callers back during the block when several are in flight', async () => {
      const blockMs = 150;
      stub.fault(FOLLOW, 45009, 1);
      sut = clientFor(stub, { blockMs45009: blockMs, retry: { maxAttempts: 5, baseMs: 5, maxMs: 20 }, limits: { [FOLLOW]: { perMinute: 10_000, concurrency: 4 } } });
      const results = await Promise.all(Array.from({ length: 30 }, () => sut.getFollowUserList()));

      expect(results.every((r) => r[0] === 'zhangsan')).toBe(true);
      const calls = stub.callsTo(FOLLOW);
      expect(calls).toHaveLength(31);
      const faultAt = calls.find((c) => c.errcode === 45009)!.at;
      // Calls already in flight when the 45009 came back may land just after it (≤ concurrency − 1);
      // everything else waits out the block.
      const duringBlock = calls.filter((c) => c.at > faultAt && c.at < faultAt + blockMs - 2);
      expect(duringBlock.length).toBeLessThanOrEqual(3);
    });

    it('pauses every client that shares the rate store, not only the one that met it (docs/rate-limits.md)', async () => {
      const blockMs = 200;
      const store = new MemoryRateLeaseStore();
      const shared = { rateStore: store, blockMs45009: blockMs, limits: { [FOLLOW]: { perMinute: 10_000, concurrency: 4 } } };
      stub.fault(FOLLOW, 45009, 1);
      sut = clientFor(stub, { ...shared, retry: { maxAttempts: 1, baseMs: 1, maxMs: 1 } });
      other = clientFor(stub, shared);

      await expect(sut.getFollowUserList()).rejects.toMatchObject({ errcode: 45009 });
      const results = await Promise.all(Array.from({ length: 5 }, () => other!.getFollowUserList()));

      expect(results.every((r) => r[0] === 'zhangsan')).toBe(true);
      const [fault, ...rest] = stub.callsTo(FOLLOW);
      expect(fault.errcode).toBe(45009);
      expect(rest).toHaveLength(5);
      for (const c of rest) expect(c.at - fault.at).toBeGreaterThanOrEqual(blockMs - 2);
    });

    it('gives up with 45009 when the API stays blocked past maxAttempts', async () => {
      stub.fault(FOLLOW, 45009, 10);
      sut = clientFor(stub, { blockMs45009: 10, retry: { maxAttempts: 3, baseMs: 1, maxMs: 2 } });

      await expect(sut.getFollowUserList()).rejects.toMatchObject({ api: FOLLOW, errcode: 45009 });
      expect(stub.callsTo(FOLLOW)).toHaveLength(3);
    });
  });
});
