import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, WecomApiError } from '../../shared/errors.js';
import { SignedTokens } from '../../shared/signed-token.js';

/** How long a sidebar session lasts (a working day); after that the page silently signs in again (snsapi_base). */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

/**
 * How long a started sign-in may take. WeCom's code lives 5 minutes
 * (docs/wecom-protocol.md §Staff sign-in for web pages); the extra minutes cover the sandbox's sign-in page, where a
 * person picks a member by hand.
 */
export const SIGN_IN_TTL_MS = 10 * 60 * 1000;

/** Why a sign-in failed; `code` tells the page which message to show. */
export class SignInError extends AppError {
  constructor(status: 400 | 401 | 403, code: 'oauth_state_invalid' | 'oauth_code_invalid' | 'not_a_member', message: string) {
    super(status, code, message);
  }
}

/** A staff member's sidebar session. */
export interface StaffSession {
  userid: string;
  issuedAt: Date;
  expiresAt: Date;
}

/** A started sign-in: `state` goes to WeCom, `binding` to a cookie in the same browser. */
export interface SignInStart {
  state: string;
  binding: string;
  maxAgeMs: number;
}

/**
 * Staff identity for the sidebar (聊天工具栏), docs/wecom-protocol.md §Staff sign-in for web pages, §Chat toolbar sidebar:
 * WeCom's OAuth code is exchanged server-side with auth/getuserinfo for the member's userid, and the bot then keeps its
 * own session, a token signed with a key derived from DATA_KEY. Sessions are stateless: nothing is stored, and each
 * expires after SESSION_TTL_MS.
 *
 * Against login CSRF (someone making a victim's browser finish a sign-in with the attacker's code) the OAuth
 * `state` is a random nonce that must equal the one inside a signed, short-lived binding cookie set on the same
 * browser when the sign-in started. The state is checked before the code is spent.
 */
export class StaffSessionService {
  private readonly sessions: SignedTokens;
  private readonly signIns: SignedTokens;

  constructor(
    /** DATA_KEY, or DATA_KEY then the DATA_KEY_READ_ONLY keys (sessions signed under those stay valid). */
    dataKeys: string | readonly string[],
    private readonly wecom: Pick<WecomGateway, 'getUserInfoByCode'>,
    private readonly clock: Clock,
    /** How long a session lasts; also the cookie's Max-Age. */
    readonly ttlMs = SESSION_TTL_MS,
  ) {
    this.sessions = new SignedTokens(dataKeys, 'sidebar session v1');
    this.signIns = new SignedTokens(dataKeys, 'sidebar oauth state v1');
  }

  /** A new session token for `userid`. */
  issue(userid: string): { token: string; expiresAt: Date } {
    const now = this.clock.now().getTime();
    const exp = now + this.ttlMs;
    return { token: this.sessions.sign({ sub: userid, iat: now, exp }), expiresAt: new Date(exp) };
  }

  /** The session a token carries, or null when it is missing, forged, tampered with or expired. */
  read(token: string | undefined): StaffSession | null {
    const now = this.clock.now().getTime();
    const p = this.sessions.open(token, now);
    if (!p || typeof p.sub !== 'string' || p.sub === '' || typeof p.iat !== 'number') return null;
    // A token "issued" in the future was not issued by this clock; a minute of skew between instances is fine.
    if (p.iat > now + 60_000) return null;
    return { userid: p.sub, issuedAt: new Date(p.iat), expiresAt: new Date(p.exp as number) };
  }

  /**
   * Start a sign-in. `returnQuery` is the query string of the sidebar URL being opened (e.g. `externalUserId=…`
   * while testing outside WeCom), restored afterwards; it is capped, and only ever appended to `/sidebar/`.
   */
  begin(returnQuery: string): SignInStart {
    // state: a-zA-Z0-9, ≤ 128 bytes (docs/wecom-protocol.md §Staff sign-in for web pages); hex fits.
    const state = randomBytes(16).toString('hex');
    const q = returnQuery.length <= 512 ? returnQuery : '';
    const binding = this.signIns.sign({ n: state, q, exp: this.clock.now().getTime() + SIGN_IN_TTL_MS });
    return { state, binding, maxAgeMs: SIGN_IN_TTL_MS };
  }

  /**
   * Finish a sign-in: check `state` against the binding cookie, then spend the code (auth/getuserinfo,
   * docs/wecom-protocol.md §Staff sign-in for web pages). Throws SignInError for a bad state (400), a used or expired
   * code (401, errcode 40029) or a non-member (403); any other WeCom error propagates.
   */
  async complete(input: { code: string; state: string; binding: string | undefined }): Promise<{ userid: string; returnQuery: string }> {
    const bound = this.signIns.open(input.binding, this.clock.now().getTime());
    const nonce = typeof bound?.n === 'string' ? Buffer.from(bound.n) : null;
    const given = Buffer.from(input.state);
    if (!nonce || nonce.length !== given.length || !timingSafeEqual(nonce, given)) {
      throw new SignInError(400, 'oauth_state_invalid', '登录状态无效或已过期，请重新打开侧边栏');
    }
    let identity;
    try {
      identity = await this.wecom.getUserInfoByCode(input.code);
    } catch (err) {
      // 40029: the code was used already or is older than 5 minutes
      // (docs/wecom-protocol.md §Staff sign-in for web pages, §Error codes).
      if (err instanceof WecomApiError && err.errcode === 40029) throw new SignInError(401, 'oauth_code_invalid', '登录码已使用或已过期，请重新打开侧边栏');
      throw err;
    }
    // A non-member (a WeChat user, or a customer opening the link) has no userid
    // (docs/wecom-protocol.md §Staff sign-in for web pages).
    if (identity.kind !== 'member') throw new SignInError(403, 'not_a_member', '侧边栏仅供本企业成员使用，请在企业微信中以员工身份打开');
    return { userid: identity.userId, returnQuery: typeof bound?.q === 'string' ? bound.q : '' };
  }
}
