// The operator console's access: member roles, console sessions (docs/security.md §Console sign-in and roles).

/** The console roles, the same three as API tokens'. */
export type MemberRole = 'admin' | 'operator' | 'staff';

/** A console role given to one WeCom member (`member_roles`). */
export interface MemberRoleRow {
  userid: string;
  role: MemberRole;
  grantedBy: string;
  grantedAt: Date;
}

/** A signed-in console browser (`console_sessions`); `id` is the sha256 of the cookie value. */
export interface ConsoleSessionRow {
  id: string;
  userid: string;
  /** The member's name when they signed in (WeCom's user/get, else the archive's). */
  name: string;
  csrfToken: string;
  createdAt: Date;
  lastSeenAt: Date;
  ip: string;
}
