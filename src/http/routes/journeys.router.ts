import Router from '@koa/router';
import { z } from 'zod';
import { ANY_ROLE, OPERATORS, allow, api, sidebarSession } from '../access.js';
import type { JourneyService } from '../../domain/journeys/journey.service.js';
import { journeyEnrolInput, journeyInput, journeyMigrateInput, journeyPatch } from '../../domain/journeys/journey.schema.js';
import type { CustomerService } from '../../domain/customers/customer.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { auditNote } from '../write-guards.js';
import { bodyOf } from '../body.js';
import { presentJourney, presentJourneyStats, presentMembership, presentRun } from '../presenters/journey.presenter.js';
import { viewerOf } from './customers.router.js';

const idParams = z.object({ id: z.string().min(1).max(36) });
const memberParams = z.object({ id: z.string().min(1).max(36), membershipId: z.coerce.number().int().positive() });
const statusInput = z.object({ status: z.enum(['active', 'paused', 'archived'], { message: '状态须为 active（启用）、paused（暂停）或 archived（归档）' }) });
const membersQuery = pageQuery.extend({ status: z.enum(['active', 'completed', 'exited'], { message: '状态须为 active、completed 或 exited' }).optional() });
const ruleParams = z.object({ ruleId: z.string().min(1).max(36) });
const customerParams = z.object({ externalUserId: z.string().min(1).max(64) });

const by = (ctx: { state: { principal?: { userid?: string | null; name?: string } } }) => ctx.state.principal?.userid ?? ctx.state.principal?.name ?? null;

/**
 * 客户旅程 (docs/journeys.md): `GET/POST /api/v1/journeys`, `GET/PATCH /api/v1/journeys/:id` (a definition makes a new
 * version), `POST /:id/status` (activate, pause, archive), `POST /:id/enrol` (a selection by hand), `POST /:id/migrate`
 * (members to the newest version), `GET /:id/stats`, `GET /:id/members`, `GET /:id/members/:membershipId`,
 * `GET /templates/winback/:ruleId` and `POST /from-winback/:ruleId` (a win-back campaign as a journey). Operators.
 */
export function journeysRouter(d: { journeys: JourneyService }): Router {
  const router = new Router({ prefix: '/api/v1/journeys', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const items = await d.journeys.list();
    // With each current version (cached; versions never change), so a list can say what triggers each journey.
    const versions = await Promise.all(items.map((j) => d.journeys.version(j.id, j.currentVersion)));
    // And each one's counts (entered, active, converted; the holdout left out), one query for the list, not a stats
    // request per journey.
    const counts = await d.journeys.listCounts();
    const none = { entered: 0, active: 0, converted: 0 };
    ctx.body = { items: items.map((j, i) => ({ ...presentJourney(j, versions[i]), counts: counts.get(j.id) ?? none })), total: items.length };
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const input = parseInput(journeyInput, bodyOf(ctx));
    const j = await d.journeys.create(input, by(ctx));
    const { version } = await d.journeys.get(j.id);
    ctx.status = 201;
    ctx.body = presentJourney(j, version);
  });
  // 唤醒活动 as a journey (docs/journeys.md §Win-back as a journey): the template to start from, and the conversion.
  router.get('/templates/winback/:ruleId', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = await d.journeys.winbackTemplate(parseInput(ruleParams, ctx.params).ruleId);
  });
  router.post('/from-winback/:ruleId', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { journey, moved } = await d.journeys.fromWinback(parseInput(ruleParams, ctx.params).ruleId, by(ctx));
    ctx.status = 201;
    ctx.body = { ...presentJourney(journey, (await d.journeys.get(journey.id)).version), moved };
  });
  router.get('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { journey, version, versions } = await d.journeys.get(parseInput(idParams, ctx.params).id);
    ctx.body = { ...presentJourney(journey, version), versions: versions.map((v) => ({ version: v.version, createdBy: v.createdBy, createdAt: v.createdAt.toISOString() })) };
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const patch = parseInput(journeyPatch, bodyOf(ctx));
    const before = await d.journeys.get(id);
    auditNote(ctx, { before: presentJourney(before.journey, before.version) });
    const { journey, newVersion } = await d.journeys.update(id, patch, by(ctx));
    ctx.body = { ...presentJourney(journey, (await d.journeys.get(id)).version), newVersion };
  });
  router.post('/:id/status', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const { status } = parseInput(statusInput, bodyOf(ctx));
    const j = await d.journeys.setStatus(id, status);
    ctx.body = presentJourney(j);
  });
  router.post('/:id/enrol', allow(api(OPERATORS, 'all')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    ctx.body = await d.journeys.enrol(id, parseInput(journeyEnrolInput, bodyOf(ctx)).externalUserIds);
  });
  router.post('/:id/migrate', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    ctx.body = await d.journeys.migrate(id, parseInput(journeyMigrateInput, bodyOf(ctx) ?? {}).membershipIds);
  });
  router.get('/:id/stats', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = presentJourneyStats(await d.journeys.stats(parseInput(idParams, ctx.params).id));
  });
  router.get('/:id/members', allow(api(OPERATORS, 'all')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const { items, total } = await d.journeys.members(id, parseInput(membersQuery, ctx.query));
    ctx.body = { items: items.map(presentMembership), total };
  });
  router.get('/:id/members/:membershipId', allow(api(OPERATORS, 'all')), async (ctx) => {
    const { id, membershipId } = parseInput(memberParams, ctx.params);
    const { membership, runs } = await d.journeys.member(id, membershipId);
    ctx.body = { ...presentMembership(membership), runs: runs.map(presentRun) };
  });
  return router;
}

/**
 * 客户已回复: a 1:1 reply is invisible to the bot, so staff mark it (docs/journeys.md §Exits). The sidebar's route acts
 * as the signed-in member on their own customers; the API's takes a token (staff: their own customers).
 */
export function journeyRepliedRouters(d: { journeys: Pick<JourneyService, 'markReplied'>; customers: Pick<CustomerService, 'getVisible'> }): Router[] {
  const mark = async (params: unknown, principal: Parameters<typeof viewerOf>[0]) => {
    const { externalUserId } = parseInput(customerParams, params);
    // Someone else's customer is the same 404 as one that does not exist.
    await d.customers.getVisible(externalUserId, viewerOf(principal));
    return d.journeys.markReplied(externalUserId);
  };
  const sidebar = new Router({ prefix: '/sidebar/api', sensitive: true });
  sidebar.post('/customers/:externalUserId/replied', allow(sidebarSession), async (ctx) => {
    ctx.body = await mark(ctx.params, ctx.state.principal);
  });
  const apiRouter = new Router({ prefix: '/api/v1/customers', sensitive: true });
  apiRouter.post('/:externalUserId/replied', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    ctx.body = await mark(ctx.params, ctx.state.principal);
  });
  return [sidebar, apiRouter];
}
