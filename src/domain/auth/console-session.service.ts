import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ConsoleSessionRepository } from '../../persistence/repositories/console-session.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { AppError, WecomApiError } from '../../shared/errors.js';
import { SignedTokens } from '../../shared/signed-token.js';
import type { MemberRoleService } from './member-role.service.js';
import type { StaffAccessService } from './staff-access.service.js';
import type { MemberRole } from './console-access.types.js';
import { SIGN_IN_TTL_MS, type SignInStart } from './staff-session.service.js';

/** A console session ends after this long without a request (sliding). */
export const CONSOLE_IDLE_MS = 8 * 60 * 60 * 1000;
/** last_seen_at is written at most this often, so reading pages does not write on every request. */
const TOUCH_EVERY_MS = 60_000;

/** Why a console sign-in was refused; the code picks the page's wording. */
export type ConsoleRefusalCode = 'oauth_state_invalid' | 'oauth_code_invalid' | 'not_a_member' | 'outside_visible_range' | 'no_console_role' | 'resigned';

/** A refused console sign-in: shown as a zh-CN page, never as JSON. */
export class ConsoleSignInError extends AppError {
  constructor(
    status: 400 | 401 | 403,
    readonly refusal: ConsoleRefusalCode,
    message: string,
  ) {
    super(status, refusal, message);
  }
}

/** The signed-in member behind a console cookie. */
export interface ConsoleIdentity {
  sessionId: string;
  userid: string;
  name: string;
  role: MemberRole;
  csrfToken: string;
}

/** What checking a cookie found: a live session, or the reason it ended. */
export type ConsoleCheck = { ok: true; identity: ConsoleIdentity } | { ok: false; reason: 'none' | 'idle' | 'no_role' | 'revoked' | 'resigned' };

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** Where a sign-in may return to: a console page of this site, nothing else. */
const CONSOLE_PATH = /^\/console\/[A-Za-z0-9\-._~/%?=&#]*$/;

/**
 * The operator console's sign-in (企业微信扫码登录, docs/wecom-protocol.md §Web login for the console) and sessions
 * (docs/security.md §Console sign-in and roles).
 *
 * The sign-in works like the sidebar's (StaffSessionService): `state` is a random nonce that must equal the one inside
 * a signed, short-lived binding cookie set on the same browser when the sign-in started (login CSRF), and the code is
 * exchanged server-side with auth/getuserinfo. Unlike the sidebar's, console sessions are rows (the cookie's sha256):
 * a logout ends one at once, the idle timeout slides without re-issuing cookies, and a role taken away ends them all.
 * The role is read on every request, so a change applies to the next one.
 */
export class ConsoleSessionService {
  private readonly signIns: SignedTokens;

  constructor(
    private readonly repo: ConsoleSessionRepository,
    private readonly roles: Pick<MemberRoleService, 'roleOf'>,
    private readonly access: Pick<StaffAccessService, 'checkSession' | 'maySignIn'>,
    private readonly wecom: Pick<WecomGateway, 'getUserInfoByCode' | 'getMember'>,
    /** The archive's display name, when WeCom will not say. */
    private readonly displayName: (userid: string) => Promise<string>,
    dataKeys: string | readonly string[],
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly idleMs = CONSOLE_IDLE_MS,
  ) {
    this.signIns = new SignedTokens(dataKeys, 'console login state v1');
  }

  /** Start a sign-in; `next` (a `/console/…` path) is where the browser lands afterwards. */
  begin(next: string | undefined): SignInStart {
    // state: a-zA-Z0-9, ≤ 128 bytes, as for the sidebar's OAuth; hex fits.
    const state = randomBytes(16).toString('hex');
    const n = next && next.length <= 512 && CONSOLE_PATH.test(next) && !next.startsWith('//') ? next : '/console/';
    const binding = this.signIns.sign({ n: state, next: n, exp: this.clock.now().getTime() + SIGN_IN_TTL_MS });
    return { state, binding, maxAgeMs: SIGN_IN_TTL_MS };
  }

  /**
   * Finish a sign-in: check `state`, spend the code, check the member may use the console, and open a session.
   * Throws ConsoleSignInError for anything the person should read; other WeCom errors propagate.
   */
  async complete(input: { code: string; state: string; binding: string | undefined; ip: string }): Promise<{ token: string; identity: ConsoleIdentity; next: string }> {
    const bound = this.signIns.open(input.binding, this.clock.now().getTime());
    const nonce = typeof bound?.n === 'string' ? Buffer.from(bound.n) : null;
    const given = Buffer.from(input.state);
    if (!nonce || nonce.length !== given.length || !timingSafeEqual(nonce, given)) {
      throw new ConsoleSignInError(400, 'oauth_state_invalid', '登录状态无效或已过期（请在 10 分钟内完成扫码），请重新登录');
    }
    let identity;
    try {
      identity = await this.wecom.getUserInfoByCode(input.code);
    } catch (err) {
      // 40029: used or older than 5 minutes (docs/wecom-protocol.md §Staff sign-in for web pages).
      if (err instanceof WecomApiError && err.errcode === 40029) throw new ConsoleSignInError(401, 'oauth_code_invalid', '登录码已使用或已过期，请重新扫码登录');
      throw err;
    }
    if (identity.kind !== 'member') throw new ConsoleSignInError(403, 'not_a_member', '运营控制台仅供本企业成员使用，请用企业微信（而不是微信）扫码');
    const userid = identity.userId;
    const name = await this.memberName(userid);
    if (!(await this.access.maySignIn(userid))) throw new ConsoleSignInError(403, 'resigned', '该成员已离职，无法登录运营控制台');
    const role = await this.roles.roleOf(userid);
    if (!role) {
      this.log.info({ userid }, 'console sign-in refused: no console role');
      throw new ConsoleSignInError(403, 'no_console_role', `${name}（${userid}）还没有运营控制台的权限。请联系管理员在「员工与权限」中为您分配角色，或由运维执行 wecom-ops users grant ${userid} operator。`);
    }
    const token = `wc_${randomBytes(32).toString('base64url')}`;
    const now = this.clock.now();
    const row = { id: sha256(token), userid, name, csrfToken: randomBytes(24).toString('base64url'), createdAt: now, lastSeenAt: now, ip: input.ip };
    await this.repo.insert(row);
    // Sessions idle past the timeout are gone for good; sign-ins are rare enough to sweep them here.
    await this.repo.purgeIdle(new Date(now.getTime() - this.idleMs)).catch(() => 0);
    this.log.info({ userid, role: role.role }, 'console sign-in');
    return { token, identity: { sessionId: row.id, userid, name, role: role.role, csrfToken: row.csrfToken }, next: typeof bound?.next === 'string' ? bound.next : '/console/' };
  }

  /** The session a cookie carries, sliding its idle timeout; or why there is none (the cookie should then go). */
  async check(token: string | undefined): Promise<ConsoleCheck> {
    if (!token || token.length > 200) return { ok: false, reason: 'none' };
    const row = await this.repo.find(sha256(token));
    if (!row) return { ok: false, reason: 'none' };
    const now = this.clock.now();
    if (now.getTime() - row.lastSeenAt.getTime() >= this.idleMs) {
      await this.repo.delete(row.id);
      return { ok: false, reason: 'idle' };
    }
    // 收回访问 / 标记离职 end console sessions as they end sidebar ones (StaffAccessService).
    const refusal = await this.access.checkSession(row.userid, row.createdAt.getTime());
    if (refusal) {
      await this.repo.delete(row.id);
      return { ok: false, reason: refusal };
    }
    const role = await this.roles.roleOf(row.userid);
    if (!role) {
      await this.repo.delete(row.id);
      return { ok: false, reason: 'no_role' };
    }
    if (now.getTime() - row.lastSeenAt.getTime() >= TOUCH_EVERY_MS) await this.repo.touch(row.id, now);
    return { ok: true, identity: { sessionId: row.id, userid: row.userid, name: row.name, role: role.role, csrfToken: row.csrfToken } };
  }

  /** End the session a cookie carries (logout). */
  async end(token: string | undefined): Promise<void> {
    if (token && token.length <= 200) await this.repo.delete(sha256(token));
  }

  /** End every console session of a member. */
  endAll(userid: string): Promise<number> {
    return this.repo.deleteForUserid(userid);
  }

  /**
   * The member's name from WeCom (user/get). 60011 means the member is outside the app's visible range: WeCom's own
   * page refuses such a member, and so does this, in case the code came another way. Any other failure falls back to
   * the archive's name rather than refusing the sign-in.
   */
  private async memberName(userid: string): Promise<string> {
    try {
      const m = await this.wecom.getMember(userid);
      if (m.name) return m.name;
    } catch (err) {
      if (err instanceof WecomApiError && err.errcode === 60011) {
        throw new ConsoleSignInError(403, 'outside_visible_range', `成员 ${userid} 不在本应用的可见范围内，无法登录运营控制台。请管理员在企业微信管理后台 → 应用管理 → 本应用 → 可见范围 中加入该成员。`);
      }
      this.log.warn({ userid, err: (err as Error).message }, 'console sign-in: user/get failed; using the archive name');
    }
    return this.displayName(userid);
  }
}
