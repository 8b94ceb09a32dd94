import { describe, expect, it } from 'vitest';
import { SESSION_TTL_MS, SignInError, StaffSessionService } from '../../../../src/domain/auth/staff-session.service.js';
import type { UserIdentity } from '../../../../src/wecom/client/gateway.js';
import { WecomApiError } from '../../../../src/shared/errors.js';
import { FixedClock } from '../../../../src/shared/clock.js';

const KEY = Buffer.alloc(32, 9).toString('base64');

/**
 * A fake auth/getuserinfo: each code works once (docs/wecom-protocol.md §Staff sign-in for web pages), as WeCom's do.
 */
class FakeOauth {
  readonly spent: string[] = [];
  constructor(private readonly codes: Record<string, UserIdentity>) {}
  async getUserInfoByCode(code: string): Promise<UserIdentity> {
    const identity = this.codes[code];
    if (!identity || this.spent.includes(code)) throw new WecomApiError('auth/getuserinfo', 40029, 'invalid code');
    this.spent.push(code);
    return identity;
  }
}

function build() {
  const clock = new FixedClock('2026-03-10T01:00:00Z');
  const wecom = new FakeOauth({ member: { kind: 'member', userId: 'zhangsan' }, member2: { kind: 'member', userId: 'zhangsan' }, guest: { kind: 'external', openId: 'o1', externalUserId: 'wm1' } });
  return { sut: new StaffSessionService(KEY, wecom, clock), wecom, clock };
}

async function refusal(p: Promise<unknown>): Promise<SignInError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(SignInError);
  return err as SignInError;
}

describe(StaffSessionService.name, () => {
  describe('sessions', () => {
    it('reads back a session for 8 hours, then not', () => {
      const { sut, clock } = build();
      const { token, expiresAt } = sut.issue('zhangsan');
      expect(expiresAt.toISOString()).toBe('2026-03-10T09:00:00.000Z');
      // issuedAt lets a revocation (StaffAccessService) end sessions issued before it.
      expect(sut.read(token)).toEqual({ userid: 'zhangsan', issuedAt: new Date('2026-03-10T01:00:00.000Z'), expiresAt });
      clock.advance(SESSION_TTL_MS - 1);
      expect(sut.read(token)?.userid).toBe('zhangsan');
      clock.advance(1);
      expect(sut.read(token)).toBeNull();
    });

    it('refuses a session signed under another DATA_KEY or a sign-in binding passed off as a session', () => {
      const { sut, clock } = build();
      const other = new StaffSessionService(Buffer.alloc(32, 1).toString('base64'), new FakeOauth({}), clock);
      expect(sut.read(other.issue('zhangsan').token)).toBeNull();
      expect(sut.read(sut.begin('').binding)).toBeNull();
    });
  });

  describe('sign-in', () => {
    it('gives a hex state (a-zA-Z0-9, ≤ 128) bound to this browser and restores the query string', async () => {
      const { sut } = build();
      const start = sut.begin('externalUserId=wm1');
      expect(start.state).toMatch(/^[0-9a-f]{32}$/);
      expect(await sut.complete({ code: 'member', state: start.state, binding: start.binding })).toEqual({ userid: 'zhangsan', returnQuery: 'externalUserId=wm1' });
    });

    it('checks the state before spending the code', async () => {
      const { sut, wecom } = build();
      const mine = sut.begin('');
      const theirs = sut.begin('');
      expect((await refusal(sut.complete({ code: 'member', state: theirs.state, binding: mine.binding }))).code).toBe('oauth_state_invalid');
      expect((await refusal(sut.complete({ code: 'member', state: mine.state, binding: undefined }))).status).toBe(400);
      expect(wecom.spent).toEqual([]);
      expect((await sut.complete({ code: 'member', state: mine.state, binding: mine.binding })).userid).toBe('zhangsan');
    });

    it('refuses an expired binding', async () => {
      const { sut, clock } = build();
      const start = sut.begin('');
      clock.advance(10 * 60 * 1000);
      expect((await refusal(sut.complete({ code: 'member', state: start.state, binding: start.binding }))).code).toBe('oauth_state_invalid');
    });

    it('answers 401 for a spent code (40029) and 403 for a non-member', async () => {
      const { sut } = build();
      const a = sut.begin('');
      await sut.complete({ code: 'member', state: a.state, binding: a.binding });
      const b = sut.begin('');
      const replay = await refusal(sut.complete({ code: 'member', state: b.state, binding: b.binding }));
      expect([replay.status, replay.code]).toEqual([401, 'oauth_code_invalid']);
      const c = sut.begin('');
      const guest = await refusal(sut.complete({ code: 'guest', state: c.state, binding: c.binding }));
      expect([guest.status, guest.code]).toEqual([403, 'not_a_member']);
    });

    it('lets other WeCom errors through as operational errors', async () => {
      const clock = new FixedClock('2026-03-10T01:00:00Z');
      const sut = new StaffSessionService(KEY, { getUserInfoByCode: async () => Promise.reject(new WecomApiError('auth/getuserinfo', 60020, 'not allow to access from your ip')) }, clock);
      const s = sut.begin('');
      const err = await sut.complete({ code: 'x', state: s.state, binding: s.binding }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WecomApiError);
    });
  });
});
