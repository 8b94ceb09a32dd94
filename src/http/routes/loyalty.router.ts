import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ANY_ROLE, OPERATORS, allow, api, sidebarSession, signedLinkRoute } from '../access.js';
import type { LoyaltyService } from '../../domain/loyalty/loyalty.service.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import type { Clock } from '../../shared/clock.js';
import { parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import type { SelfOrigin } from '../origin.js';
import { auditNote } from '../write-guards.js';
import { presentLoyaltySummary, presentWrite, renderPointsError, renderPointsPage } from '../presenters/loyalty.presenter.js';
import { PublicPageGuard } from '../public-page.js';
import { viewerOf } from './customers.router.js';

const idParams = z.object({ externalUserId: z.string().min(1).max(64) });
const requestId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '请求编号须为 8–64 位字母、数字、- 或 _（重试时沿用同一个）');
const note = z.string().trim().max(200).default('');
const redeemBody = z
  .object({
    points: z.number().int().min(1, '兑换积分须为正整数').max(100_000_000),
    note,
    requestId,
    confirm: z.literal(true, { message: '兑换须经确认：请在确认框中确认后提交（confirm: true）' }),
  })
  .strict();
const adjustBody = z
  .object({
    points: z.number().int().min(-100_000_000).max(100_000_000).refine((n) => n !== 0, '调整积分须为非零整数'),
    note: z.string().trim().min(1, '请填写调整原因').max(200),
    requestId,
  })
  .strict();

/** Who a ledger entry names as its author: the member, the token, or ADMIN_TOKEN. */
function actorOf(p: Principal): string {
  if (p.userid) return p.userid;
  if (p.tokenId) return `token:${p.tokenId}`;
  return 'ADMIN_TOKEN';
}

/** What the loyalty routes work with. */
export interface LoyaltyRouteDeps {
  loyalty: LoyaltyService;
  /** This site's origin (PUBLIC_URL or the listen URL): links are built on it, never on the request's Host. */
  origin: Pick<SelfOrigin, 'get'>;
  clock: Clock;
  tz: string;
}

/**
 * 积分与会员 API (docs/loyalty.md §API): a customer's points for staff who follow them and for operators; redemption
 * (staff, confirmed, once per request id); manual give/deduct (operators, audit-logged); the customer's link.
 */
export function loyaltyApiRouter(d: LoyaltyRouteDeps): Router {
  const router = new Router({ prefix: '/api/v1', sensitive: true });
  router.get('/loyalty/tiers', allow(api(ANY_ROLE, 'none')), (ctx) => {
    const s = d.loyalty.settings;
    ctx.body = {
      basis: s.tierBasis,
      spendWindowDays: s.spendWindowDays,
      pointsPerYuan: s.pointsPerYuan,
      birthdayMultiplier: s.birthdayMultiplier,
      expiryYears: s.expiryYears,
      downgradeGraceDays: s.downgradeGraceDays,
      tiers: s.tiers.map((t, rank) => ({ rank, ...t })),
    };
  });
  router.get('/customers/:externalUserId/loyalty', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    ctx.body = presentLoyaltySummary(await d.loyalty.summaryFor(externalUserId, viewerOf(ctx.state.principal)));
  });
  router.post('/customers/:externalUserId/loyalty/redeem', allow(api(ANY_ROLE, 'own')), async (ctx) => redeem(ctx, d));
  router.post('/customers/:externalUserId/loyalty/adjust', allow(api(OPERATORS, 'all')), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    const body = parseInput(adjustBody, bodyOf(ctx));
    const out = await d.loyalty.adjust(externalUserId, body, actorOf(ctx.state.principal), viewerOf(ctx.state.principal));
    auditNote(ctx, { action: 'loyalty.adjust', customerId: externalUserId, before: { balance: out.balance - (out.replayed ? 0 : out.entry.points) }, after: { balance: out.balance, points: out.entry.points } });
    ctx.status = out.replayed ? 200 : 201;
    ctx.body = presentWrite(out);
  });
  router.post('/customers/:externalUserId/loyalty/link', allow(api(ANY_ROLE, 'own')), async (ctx) => link(ctx, d));
  return router;
}

/** The sidebar's loyalty calls: the staff member acts as themself on the customers they follow (404 otherwise). */
export function loyaltySidebarRouter(d: LoyaltyRouteDeps): Router {
  const router = new Router({ prefix: '/sidebar/api', sensitive: true });
  router.get('/customers/:externalUserId/loyalty', allow(sidebarSession), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    ctx.body = presentLoyaltySummary(await d.loyalty.summaryFor(externalUserId, viewerOf(ctx.state.principal), 10));
  });
  router.post('/customers/:externalUserId/loyalty/redeem', allow(sidebarSession), async (ctx) => redeem(ctx, d));
  router.post('/customers/:externalUserId/loyalty/link', allow(sidebarSession), async (ctx) => link(ctx, d));
  return router;
}

async function redeem(ctx: Context, d: LoyaltyRouteDeps): Promise<void> {
  const { externalUserId } = parseInput(idParams, ctx.params);
  const body = parseInput(redeemBody, bodyOf(ctx));
  const out = await d.loyalty.redeem(externalUserId, body, actorOf(ctx.state.principal), viewerOf(ctx.state.principal));
  auditNote(ctx, { action: 'loyalty.redeem', customerId: externalUserId, after: { balance: out.balance, points: out.entry.points } });
  ctx.status = out.replayed ? 200 : 201;
  ctx.body = presentWrite(out);
}

async function link(ctx: Context, d: LoyaltyRouteDeps): Promise<void> {
  const { externalUserId } = parseInput(idParams, ctx.params);
  const l = await d.loyalty.linkFor(externalUserId, viewerOf(ctx.state.principal));
  // The URL holds the customer's token: the audit row keeps that a link was made, not the link.
  auditNote(ctx, { action: 'loyalty.link', customerId: externalUserId, after: { expiresAt: l.expiresAt.toISOString() } });
  ctx.body = { url: `${d.origin.get().replace(/\/$/, '')}${l.path}`, expiresAt: l.expiresAt.toISOString() };
}

const REFUSAL_STATUS = { malformed: 400, tampered: 403, expired: 410, gone: 404 } as const;

/**
 * `GET /p/<token>`: the customer's "我的积分" page (docs/loyalty.md §The customer page). The token is the only
 * credential: signed, one customer's, expiring. Rate limited per client address (loose: many phones share a carrier
 * address) and per token, 429 with a page. Every answer is uncached and unindexed, and refers nowhere.
 */
export function pointsPageRouter(d: LoyaltyRouteDeps & { perMinutePerAddress: number; perMinutePerToken: number }): Router {
  const router = new Router({ sensitive: true });
  const guard = new PublicPageGuard({ perMinutePerAddress: d.perMinutePerAddress, perMinutePerToken: d.perMinutePerToken, now: () => d.clock.now().getTime() });
  const policy = signedLinkRoute('the signed link is the credential: one customer, expiring, HMAC-checked before any read (docs/loyalty.md §The signed link)');
  router.get('/p/:token', allow(policy), async (ctx) => {
    const token = String(ctx.params.token ?? '');
    if (!guard.admit(ctx, token, renderPointsError('limited'))) return;
    const opened = await d.loyalty.openLink(token);
    if (!opened.ok) {
      ctx.status = REFUSAL_STATUS[opened.reason];
      ctx.body = renderPointsError(opened.reason);
      return;
    }
    ctx.body = renderPointsPage(opened.summary, d.tz);
  });
  return router;
}
