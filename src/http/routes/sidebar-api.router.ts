import Router from '@koa/router';
import type { RepurchaseService } from '../../domain/repurchase/repurchase.service.js';
import { allow, sidebarSession } from '../access.js';
import { z } from 'zod';
import type { CustomerService } from '../../domain/customers/customer.service.js';
import type { NoteService } from '../../domain/customers/note.service.js';
import type { QuickReplyService } from '../../domain/quick-replies/quick-reply.service.js';
import type { JssdkConfigService } from '../../domain/sidebar/jssdk-config.service.js';
import type { StaffService } from '../../domain/customers/staff.service.js';
import type { GroupSidebarService, GroupSidebarView } from '../../domain/sidebar/group-sidebar.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import type { SelfOrigin } from '../origin.js';
import { presentArchive, presentTags } from '../presenters/customer.presenter.js';
import { presentNote } from '../presenters/note.presenter.js';
import { presentRenderedQuickReply } from '../presenters/quick-reply.presenter.js';
import { tagsBody, viewerOf } from './customers.router.js';
import { NotFoundError } from '../../shared/errors.js';

/** The group view with ISO times. */
function presentGroupView(v: GroupSidebarView) {
  return {
    ...v,
    members: v.members.map((m) => ({ ...m, joinedAt: m.joinedAt?.toISOString() ?? null })),
    sop: v.sop?.map((s) => ({ planName: s.planName, title: s.title, action: s.action, operation: s.operation, text: s.text, dueAt: s.dueAt.toISOString(), outcome: s.outcome })) ?? null,
  };
}

const idParams = z.object({ externalUserId: z.string().min(1).max(64) });
const chatParams = z.object({ chatId: z.string().min(1, '群 ID 不能为空').max(64, '群 ID 最长 64 个字符') });
const configQuery = z.object({ url: z.string().min(1).max(2048) });
const replyParams = z.object({ id: z.string().min(1).max(36) });
const repliesQuery = z.object({ externalUserId: z.string().min(1).max(64).optional() });
const notesQuery = pageQuery.extend({ status: z.enum(['open', 'done']).optional() });
// Staff always write as themselves here, so unlike the admin API there is no `userid` field.
const noteBody = z.object({ text: z.string().trim().min(1).max(2000), dueDate: z.string().max(32).nullable().optional() }).strict();

/** What the sidebar API works with. */
export interface SidebarApiDeps {
  customers: CustomerService;
  notes: NoteService;
  replies: QuickReplyService;
  jssdk: JssdkConfigService;
  staff: Pick<StaffService, 'displayName'>;
  /** The predicted next order on the customer card (docs/repurchase.md §Where it shows); absent: none shown. */
  repurchase?: Pick<RepurchaseService, 'forCustomer'>;
  /** 客户群 in a group chat's sidebar (docs/groups.md §Sidebar in a group chat); absent: 404. */
  groups?: Pick<GroupSidebarService, 'view'>;
  /** This site's origin (PUBLIC_URL or the listen URL, never the request's): the only one whose pages are signed. */
  origin: Pick<SelfOrigin, 'get'>;
}

/**
 * `/sidebar/api/*`: what the staff sidebar page calls. Authenticated by the sidebar session cookie only and acting
 * as that staff member, so the archive, tag and note rules are CustomerService's and NoteService's own (a staff
 * member sees only customers they follow, 404 otherwise). Writes need the CSRF header.
 */
export function sidebarApiRouter(d: SidebarApiDeps): Router {
  const router = new Router({ prefix: '/sidebar/api', sensitive: true });

  router.get('/me', allow(sidebarSession), async (ctx) => {
    const { userid } = ctx.state.principal;
    ctx.body = { userid, name: await d.staff.displayName(userid) };
  });
  router.get('/jssdk-config', allow(sidebarSession), async (ctx) => {
    const { url } = parseInput(configQuery, ctx.query);
    ctx.body = await d.jssdk.configFor(url, d.origin.get());
  });
  router.get('/customers/:externalUserId', allow(sidebarSession), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    const viewer = viewerOf(ctx.state.principal);
    const archive = presentArchive(await d.customers.getArchive(externalUserId, viewer), viewer);
    ctx.body = { ...archive, repurchase: d.repurchase ? await d.repurchase.forCustomer(externalUserId) : null };
  });
  router.post('/customers/:externalUserId/tags', allow(sidebarSession), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    ctx.body = { tags: presentTags(await d.customers.changeTags(externalUserId, parseInput(tagsBody, bodyOf(ctx)), viewerOf(ctx.state.principal))) };
  });
  router.get('/customers/:externalUserId/notes', allow(sidebarSession), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    const { items, total } = await d.notes.list(externalUserId, parseInput(notesQuery, ctx.query), viewerOf(ctx.state.principal));
    ctx.body = { items: items.map(presentNote), total };
  });
  router.post('/customers/:externalUserId/notes', allow(sidebarSession), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    ctx.status = 201;
    ctx.body = presentNote(await d.notes.add(externalUserId, parseInput(noteBody, bodyOf(ctx)), viewerOf(ctx.state.principal)));
  });
  // 客户群 (docs/groups.md §Sidebar in a group chat): the group the sidebar was opened in, for a member who owns,
  // administers or is in it; any other group is the same 404 as one that does not exist.
  router.get('/groups/:chatId', allow(sidebarSession), async (ctx) => {
    const { chatId } = parseInput(chatParams, ctx.params);
    if (!d.groups) throw new NotFoundError('没有找到这个客户群，或你不在群中', 'group_not_found');
    ctx.body = presentGroupView(await d.groups.view(chatId, ctx.state.principal.userid));
  });
  router.get('/quick-replies', allow(sidebarSession), async (ctx) => {
    const { externalUserId } = parseInput(repliesQuery, ctx.query);
    const items = await d.replies.listRendered(externalUserId, viewerOf(ctx.state.principal));
    ctx.body = { items: items.map(presentRenderedQuickReply), total: items.length };
  });
  // The sidebar sent a quick reply through sendChatMessage: one use of its library item (docs/content.md §Use counts).
  router.post('/quick-replies/:id/sent', allow(sidebarSession), async (ctx) => {
    const { id } = parseInput(replyParams, ctx.params);
    await d.replies.recordSent(id);
    ctx.status = 204;
  });
  return router;
}
