import type { Context, Next } from 'koa';
import { ForbiddenError, TooManyRequestsError, UnauthorizedError } from '../../shared/errors.js';
import type { AuthThrottle } from '../../domain/auth/auth-throttle.js';
import type { ApiTokenService, Principal, Role } from '../../domain/auth/api-token.service.js';

const RANK: Record<Role, number> = { staff: 1, operator: 2, admin: 3 };

/**
 * Resolve `Authorization: Bearer <token>` into ctx.state.principal, or 401. A wrong token counts against the client's
 * address (AuthThrottle); past its allowance the answer is 429 with Retry-After instead.
 */
export function authenticate(tokens: ApiTokenService, throttle?: Pick<AuthThrottle, 'failed'>) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const header = ctx.get('authorization');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthorizedError();
    const principal = await tokens.authenticate(match[1]);
    if (!principal) {
      const retryAfter = await throttle?.failed(ctx.ip);
      if (retryAfter) {
        ctx.set('Retry-After', String(retryAfter));
        throw new TooManyRequestsError(`API 令牌错误次数过多，请 ${Math.ceil(retryAfter / 60)} 分钟后再试 / too many failed attempts`, retryAfter);
      }
      throw new UnauthorizedError('API 令牌无效或已吊销');
    }
    ctx.state.principal = principal;
    await next();
  };
}

/** Allow only principals of at least `role` (admin > operator > staff). */
export function requireRole(role: Role) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const p = ctx.state.principal as Principal | undefined;
    if (!p) throw new UnauthorizedError();
    if (RANK[p.role] < RANK[role]) throw new ForbiddenError();
    await next();
  };
}
