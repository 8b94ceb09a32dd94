import type { MemberRoleService } from '../domain/auth/member-role.service.js';
import type { AuditLogService } from '../domain/audit/audit-log.service.js';
import type { MemberRole } from '../domain/auth/console-access.types.js';

const USAGE = `用法 / usage:
  wecom-ops users list [--json]
  wecom-ops users grant <userid> admin|operator|staff
  wecom-ops users revoke <userid>
`;

const ROLE_ZH: Record<MemberRole, string> = { admin: '管理员', operator: '运营', staff: '员工' };

/**
 * `wecom-ops users …`: console roles of WeCom members (docs/security.md §Console sign-in and roles). `grant` names the
 * first admin before anyone can sign in; like the API, every change is a row of the audit log (source `cli`). Returns
 * the exit code: 0 done, 2 bad usage (a refused change throws an AppError, which the CLI prints and exits 2).
 */
export async function usersCommand(sub: string | undefined, args: string[], roles: MemberRoleService, audit: AuditLogService, out: NodeJS.WritableStream): Promise<number> {
  if (sub === 'list') {
    const members = await roles.list();
    if (args.includes('--json')) {
      out.write(`${JSON.stringify(members)}\n`);
      return 0;
    }
    const withRole = members.filter((m) => m.role);
    out.write(`共 ${members.length} 位成员，${withRole.length} 位有控制台角色 / ${members.length} members, ${withRole.length} with a console role\n`);
    for (const m of members) {
      out.write(`${m.userid}\t${m.name}\t${m.role ? `${m.role}（${ROLE_ZH[m.role]}）` : '—'}${m.roleSource === 'config' ? '\tADMIN_USERIDS' : ''}\n`);
    }
    return 0;
  }
  const [userid, role] = args;
  if (sub === 'grant' && userid && role && args.length === 2) {
    const r = await roles.set(userid, role as MemberRole, 'cli', { knownOnly: false });
    await audit.recordCli('users.role', userid, { request: { role }, before: r.before?.role ?? null, after: r.after?.role ?? null });
    out.write(`已授予 / granted: ${userid} → ${r.after!.role}（${ROLE_ZH[r.after!.role]}）${r.before ? `，原为 / was ${r.before.role}` : ''}\n`);
    return 0;
  }
  if (sub === 'revoke' && userid && args.length === 1) {
    const r = await roles.set(userid, null, 'cli', { knownOnly: false });
    await audit.recordCli('users.role', userid, { request: { role: null }, before: r.before?.role ?? null, after: null });
    out.write(r.before ? `已收回 / revoked: ${userid}（原为 / was ${r.before.role}），其控制台登录已结束\n` : `${userid} 本来就没有控制台角色 / had no console role\n`);
    return 0;
  }
  out.write(USAGE);
  return 2;
}
