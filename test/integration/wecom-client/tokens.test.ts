import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FixedClock } from '../../../src/shared/clock.js';
import { WecomApiError } from '../../../src/shared/errors.js';
import { WecomClient } from '../../../src/wecom/client/wecom.client.js';
import { WecomStub } from '../../helpers/wecom-stub.js';
import { clientFor } from './support.js';

const FOLLOW = 'externalcontact/get_follow_user_list';

describe(WecomClient.name, () => {
  let stub: WecomStub;
  let sut: WecomClient;

  beforeEach(async () => {
    stub = await WecomStub.start();
    stub.on(FOLLOW, () => ({ follow_user: ['zhangsan'] }));
  });
  afterEach(async () => {
    sut?.close();
    await stub.stop();
  });

  describe('access token', () => {
    it('fetches exactly one token for 100 concurrent calls', async () => {
      sut = clientFor(stub);

      const results = await Promise.all(Array.from({ length: 100 }, () => sut.getFollowUserList()));

      expect(results).toHaveLength(100);
      expect(results.every((r) => r[0] === 'zhangsan')).toBe(true);
      expect(stub.callsTo('gettoken')).toHaveLength(1);
      const tokensUsed = new Set(stub.callsTo(FOLLOW).map((c) => c.query.access_token));
      expect([...tokensUsed]).toEqual([stub.issuedTokens[0]]);
    });

    it('refreshes once and completes every call when the token is invalidated mid-run', async () => {
      let served = 0;
      stub.on(FOLLOW, () => {
        // WeCom may invalidate a token early (docs/wecom-protocol.md §Access tokens); do it while other calls are in
        // flight.
        if (++served === 10) stub.invalidateTokens();
        return { follow_user: ['zhangsan'] };
      });
      sut = clientFor(stub, { limits: { [FOLLOW]: { perMinute: 10_000, concurrency: 5 } } });

      const results = await Promise.all(Array.from({ length: 40 }, () => sut.getFollowUserList()));

      expect(results.every((r) => r[0] === 'zhangsan')).toBe(true);
      expect(stub.callsTo('gettoken')).toHaveLength(2);
      const rejected = stub.callsTo(FOLLOW).filter((c) => c.errcode === 40014);
      expect(rejected.length).toBeGreaterThanOrEqual(1);
      expect(stub.callsTo(FOLLOW).filter((c) => c.errcode === undefined)).toHaveLength(40);
    });

    it('surfaces a second consecutive 40014 instead of refreshing again', async () => {
      sut = clientFor(stub);
      await sut.getFollowUserList();
      stub.fault(FOLLOW, 40014, 2);

      const err = await sut.getFollowUserList().catch((e: unknown) => e);

      expect(err).toBeInstanceOf(WecomApiError);
      expect((err as WecomApiError).errcode).toBe(40014);
      expect(stub.callsTo('gettoken')).toHaveLength(2);
    });

    it('treats 41001 as a bug: no refresh, no retry', async () => {
      sut = clientFor(stub);
      stub.fault(FOLLOW, 41001, 1);

      const err = await sut.getFollowUserList().catch((e: unknown) => e);

      expect(err).toBeInstanceOf(WecomApiError);
      expect(err).toMatchObject({ api: FOLLOW, errcode: 41001 });
      expect(stub.callsTo('gettoken')).toHaveLength(1);
      expect(stub.callsTo(FOLLOW)).toHaveLength(1);
    });

    it('refreshes before expires_in runs out, by the injected clock', async () => {
      const clock = new FixedClock('2026-03-01T00:00:00Z');
      sut = clientFor(stub, { clock, tokenMarginSeconds: 300 });

      await sut.getFollowUserList();
      clock.advance((7200 - 300 - 1) * 1000);
      await sut.getFollowUserList();
      expect(stub.callsTo('gettoken')).toHaveLength(1);

      clock.advance(2000);
      await sut.getFollowUserList();
      expect(stub.callsTo('gettoken')).toHaveLength(2);
    });

    it('uses the KF secret for kf/* and the app secret for everything else', async () => {
      stub.on('kf/sync_msg', () => ({ next_cursor: 'c1', has_more: 0, msg_list: [] }));
      sut = clientFor(stub, { kfSecret: 'kf-secret' });

      await sut.getFollowUserList();
      await sut.kfSyncMsg({ token: 'callback-token', limit: 1000 });

      expect(stub.callsTo(FOLLOW)[0].tokenSecret).toBe('app-secret');
      expect(stub.callsTo('kf/sync_msg')[0].tokenSecret).toBe('kf-secret');
      expect(stub.callsTo('gettoken').map((c) => c.query.corpsecret).sort()).toEqual(['app-secret', 'kf-secret']);
    });

    it('falls back to the app token for kf/* without a KF secret', async () => {
      stub.on('kf/sync_msg', () => ({ next_cursor: '', has_more: 0, msg_list: [] }));
      sut = clientFor(stub);

      await sut.kfSyncMsg({});

      expect(stub.callsTo('kf/sync_msg')[0].tokenSecret).toBe('app-secret');
    });

    it('reports a wrong secret as a gettoken WecomApiError without retrying it', async () => {
      sut = clientFor(stub, { secret: 'wrong-secret' });

      const err = await sut.getFollowUserList().catch((e: unknown) => e);

      // docs/wecom-protocol.md §Access tokens: repeated wrong secrets get the IP blocked for an hour, so one attempt
      // only.
      expect(err).toMatchObject({ api: 'gettoken', errcode: 40001 });
      expect(stub.callsTo('gettoken')).toHaveLength(1);
      expect(stub.callsTo(FOLLOW)).toHaveLength(0);
    });
  });

  describe('tickets', () => {
    it('caches the jsapi and agent tickets until they near expiry', async () => {
      let n = 0;
      stub.on('get_jsapi_ticket', () => ({ ticket: `corp-ticket-${++n}`, expires_in: 7200 }));
      stub.on('ticket/get', (call) => ({ ticket: `agent-ticket-${call.query.type}`, expires_in: 7200 }));
      sut = clientFor(stub);

      const [a, b] = await Promise.all([sut.getJsapiTicket(), sut.getJsapiTicket()]);
      const c = await sut.getJsapiTicket();
      const agent = await sut.getAgentTicket();

      expect([a, b, c]).toEqual(['corp-ticket-1', 'corp-ticket-1', 'corp-ticket-1']);
      expect(stub.callsTo('get_jsapi_ticket')).toHaveLength(1);
      expect(agent).toBe('agent-ticket-agent_config');
    });
  });
});
