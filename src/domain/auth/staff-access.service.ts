import type { StaffRepository } from '../../persistence/repositories/staff.repository.js';
import type { StaffMember } from '../customers/staff.types.js';
import type { ApiTokenRepository } from '../../persistence/repositories/api-token.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { NotFoundError } from '../../shared/errors.js';

/** What a revocation did. */
export interface AccessRevocation {
  member: StaffMember;
  /** Staff API tokens bound to the member that were revoked now. */
  revokedTokens: number;
}

/** Why a sidebar session is refused, or null when it may be used. */
export type SessionRefusal = 'resigned' | 'revoked' | null;

/**
 * Taking a staff member's access away when they leave or a device is lost. Sidebar sessions are stateless signed
 * tokens (StaffSessionService), so revocation is a time on the member's row: a session issued before it is refused
 * on its next request, on every instance. A member marked resigned cannot sign in again either. Their staff API
 * tokens are revoked in the same step. Nothing changes in WeCom: the member's customers stay with them until they
 * are transferred (客户继承).
 */
export class StaffAccessService {
  constructor(
    private readonly staff: Pick<StaffRepository, 'find' | 'revokeAccess' | 'renamedAt'>,
    private readonly tokens: Pick<ApiTokenRepository, 'revokeForUserid'>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Revoke now; with `resigned`, also mark the member as having left. NotFoundError for an unknown member. */
  async revoke(userid: string, opts: { resigned: boolean; by: string }): Promise<AccessRevocation> {
    const now = this.clock.now().getTime();
    const member = await this.staff.revokeAccess(userid, now, opts.resigned);
    if (!member) throw new NotFoundError(`未找到员工 ${userid}`, 'staff_not_found');
    const revokedTokens = await this.tokens.revokeForUserid(userid, now);
    this.log.info({ userid, resigned: opts.resigned, revokedTokens, by: opts.by }, 'staff access revoked');
    return { member, revokedTokens };
  }

  /**
   * Whether a session of `userid` issued at `issuedAtMs` may still be used. An unknown member is not refused, unless
   * their userid was changed in WeCom after the session was issued: it would show nobody's customers, so it ends and
   * the next sign-in carries the new userid.
   */
  async checkSession(userid: string, issuedAtMs: number): Promise<SessionRefusal> {
    const member = await this.staff.find(userid);
    if (!member) {
      const renamedAt = await this.staff.renamedAt(userid);
      return renamedAt && issuedAtMs <= renamedAt.getTime() ? 'revoked' : null;
    }
    if (member.status === 'resigned') return 'resigned';
    if (member.accessRevokedAt && issuedAtMs <= member.accessRevokedAt.getTime()) return 'revoked';
    return null;
  }

  /** Whether a member may start a new sidebar session: not once marked resigned. */
  async maySignIn(userid: string): Promise<boolean> {
    return (await this.staff.find(userid))?.status !== 'resigned';
  }
}
