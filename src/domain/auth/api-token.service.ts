import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiTokenRepository } from '../../persistence/repositories/api-token.repository.js';
import type { Clock } from '../../shared/clock.js';
import { ValidationError } from '../../shared/errors.js';

export type Role = 'admin' | 'operator' | 'staff';
export const ROLES: readonly Role[] = ['admin', 'operator', 'staff'];

/** Who is calling the admin API. Staff principals carry their WeCom userid, which scopes what they see. */
export interface Principal {
  tokenId: string | null;
  role: Role;
  userid: string | null;
  /** The token's name, or the signed-in member's (the audit log's actor). */
  name?: string;
  /** How the caller proved who they are: an API token (default), the console's cookie, the sidebar's. */
  via?: 'token' | 'console' | 'sidebar';
}

/** Hex sha256 of a token: only this is stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Issues and checks API tokens. Tokens are random 32-byte strings; only their hash is kept. */
export class ApiTokenService {
  constructor(
    private readonly repo: ApiTokenRepository,
    private readonly clock: Clock,
    private readonly adminToken?: string,
  ) {}

  /** Create a token and return it once, in clear. */
  async create(input: { role: Role; userid?: string | null; name?: string }): Promise<{ id: string; token: string; role: Role }> {
    if (!ROLES.includes(input.role)) throw new ValidationError(`role 必须是 ${ROLES.join('|')} 之一`);
    if (input.role === 'staff' && !input.userid) throw new ValidationError('staff 令牌需要 --userid');
    const token = `wo_${randomBytes(32).toString('base64url')}`;
    const id = await this.repo.insert({
      name: input.name ?? `${input.role}${input.userid ? `:${input.userid}` : ''}`,
      role: input.role,
      userid: input.userid ?? null,
      tokenHash: hashToken(token),
      createdAt: this.clock.now().getTime(),
    });
    return { id, token, role: input.role };
  }

  /** The principal for a presented token, or null. ADMIN_TOKEN (if configured) is an admin. */
  async authenticate(token: string): Promise<Principal | null> {
    if (this.adminToken) {
      const a = Buffer.from(hashToken(token));
      const b = Buffer.from(hashToken(this.adminToken));
      if (timingSafeEqual(a, b)) return { tokenId: null, role: 'admin', userid: null, name: 'ADMIN_TOKEN' };
    }
    const row = await this.repo.findActiveByHash(hashToken(token));
    if (!row) return null;
    return { tokenId: row.id, role: row.role as Role, userid: row.userid, name: row.name };
  }
}
