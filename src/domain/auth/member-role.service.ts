import type { MemberRoleRepository } from '../../persistence/repositories/member-role.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.js';
import type { MemberRole } from './console-access.types.js';

export const MEMBER_ROLES: readonly MemberRole[] = ['admin', 'operator', 'staff'];

/** A member's console role and where it comes from: `ADMIN_USERIDS` (config) or a grant (CLI or an admin). */
export interface RoleView {
  userid: string;
  role: MemberRole;
  source: 'config' | 'granted';
  grantedBy: string | null;
  grantedAt: Date | null;
}

/** A member as the staff and roles page lists them. */
export interface MemberWithRole {
  userid: string;
  name: string;
  /** `active`, `resigned`, or `unknown` for a member the archive has not seen (a role given before the first sync). */
  status: string;
  role: MemberRole | null;
  roleSource: 'config' | 'granted' | null;
  grantedBy: string | null;
  grantedAt: Date | null;
}

/** What the roles feature needs from the archive's staff list. */
export type MemberDirectory = () => Promise<{ userid: string; name: string; status: string }[]>;

/**
 * Whether WeCom knows a member the archive has not seen (one without 客户联系, who follows no customers): `invisible`
 * when they are outside the app's visible range and could not sign in anyway.
 */
export type MemberLookup = (userid: string) => Promise<'exists' | 'missing' | 'invisible'>;

/**
 * Console roles given to WeCom members (docs/security.md §Console sign-in and roles). A member listed in
 * `ADMIN_USERIDS` is an admin whatever the table says, so the first admin exists before anyone can grant, and an admin
 * cannot lock the install out by mistake; everyone else has the role granted to them (CLI or an admin), or none and
 * cannot sign in to the console.
 */
export class MemberRoleService {
  private readonly configAdmins: ReadonlySet<string>;

  constructor(
    private readonly repo: MemberRoleRepository,
    private readonly directory: MemberDirectory,
    private readonly clock: Clock,
    private readonly log: Logger,
    configAdmins: readonly string[],
    /** Ends a member's console sessions (their role changed or went). */
    private readonly endSessions: (userid: string) => Promise<number>,
    private readonly lookup?: MemberLookup,
  ) {
    this.configAdmins = new Set(configAdmins);
  }

  /** The member's role now, or null (no console access). */
  async roleOf(userid: string): Promise<RoleView | null> {
    if (this.configAdmins.has(userid)) return { userid, role: 'admin', source: 'config', grantedBy: null, grantedAt: null };
    const row = await this.repo.find(userid);
    return row ? { userid, role: row.role, source: 'granted', grantedBy: row.grantedBy, grantedAt: row.grantedAt } : null;
  }

  /**
   * Give `userid` a role, or with null take it away. Returns the role before and after (the audit log's before/after).
   * `knownOnly`: refuse a userid the archive has never seen (the API; the CLI may name the first admin before a sync).
   */
  async set(userid: string, role: MemberRole | null, by: string, opts: { knownOnly: boolean }): Promise<{ before: RoleView | null; after: RoleView | null }> {
    if (role !== null && !MEMBER_ROLES.includes(role)) throw new ValidationError(`角色必须是 ${MEMBER_ROLES.join('、')} 之一 / role must be one of ${MEMBER_ROLES.join('|')}`, undefined, 'invalid_role');
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(userid)) throw new ValidationError(`成员账号 ${userid} 无效 / invalid userid`, undefined, 'invalid_userid');
    if (this.configAdmins.has(userid)) {
      throw new ConflictError(`${userid} 由配置 ADMIN_USERIDS 指定为管理员，请修改配置后重启 / ${userid} is an admin through ADMIN_USERIDS; change the configuration instead`, 'role_from_config');
    }
    const before = await this.roleOf(userid);
    if (opts.knownOnly && role !== null && !before && !(await this.directory()).some((m) => m.userid === userid)) {
      // Not in the archive: an operations member without 客户联系 is still a member WeCom knows.
      const found = this.lookup ? await this.lookup(userid) : 'missing';
      if (found === 'missing') throw new NotFoundError(`未找到成员 ${userid}（请确认企业微信账号，或先同步：wecom-ops sync）`, 'member_not_found');
      if (found === 'invisible') {
        throw new ConflictError(`成员 ${userid} 不在本应用的可见范围内，无法登录控制台；请先在企业微信管理后台把该成员加入应用的可见范围`, 'outside_visible_range');
      }
    }
    if (before?.role === 'admin' && role !== 'admin' && (await this.adminCount()) <= 1) {
      throw new ConflictError('这是唯一的管理员，不能取消其管理员角色；请先指定另一位管理员 / the last admin cannot be demoted', 'last_admin');
    }
    if (role === null) {
      await this.repo.remove(userid);
    } else {
      await this.repo.put({ userid, role, grantedBy: by, grantedAt: this.clock.now() });
    }
    // A changed role takes effect at once: the member's open console sessions end and they sign in again.
    if (before && before.role !== role) await this.endSessions(userid);
    const after = await this.roleOf(userid);
    this.log.info({ userid, before: before?.role ?? null, after: after?.role ?? null, by }, 'console role changed');
    return { before, after };
  }

  /** Every member of the archive and everyone with a role, by userid. */
  async list(): Promise<MemberWithRole[]> {
    const members = new Map((await this.directory()).map((m) => [m.userid, m]));
    const roles = new Map((await this.repo.list()).map((r) => [r.userid, r]));
    const ids = [...new Set([...members.keys(), ...roles.keys(), ...this.configAdmins])].sort();
    return ids.map((userid) => {
      const m = members.get(userid);
      const r = roles.get(userid);
      const isConfig = this.configAdmins.has(userid);
      return {
        userid,
        name: m?.name || userid,
        status: m?.status ?? 'unknown',
        role: isConfig ? 'admin' : (r?.role ?? null),
        roleSource: isConfig ? 'config' : r ? 'granted' : null,
        grantedBy: isConfig ? null : (r?.grantedBy ?? null),
        grantedAt: isConfig ? null : (r?.grantedAt ?? null),
      };
    });
  }

  private async adminCount(): Promise<number> {
    const granted = (await this.repo.list()).filter((r) => r.role === 'admin' && !this.configAdmins.has(r.userid)).length;
    return granted + this.configAdmins.size;
  }
}
