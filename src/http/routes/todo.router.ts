import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ANY_ROLE, OPERATORS, allow, api, sidebarSession } from '../access.js';
import type { StaffTaskService } from '../../domain/todo/staff-task.service.js';
import type { TodoService } from '../../domain/todo/todo.service.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { auditNote } from '../write-guards.js';
import { presentStaffTask, presentTodoList } from '../presenters/todo.presenter.js';
import { viewerOf } from './customers.router.js';
import { invalidField } from '../../shared/errors.js';

const taskParams = z.object({ id: z.string().min(1).max(36) });
const noteParams = z.object({ id: z.string().min(1).max(36) });
const batchParams = z.object({ batchId: z.string().min(1).max(36) });
const todayQuery = z.object({ externalUserId: z.string().min(1).max(64).optional(), userid: z.string().min(1).max(64).optional() });
const snoozeBody = z.object({ until: z.string({ message: '请选择推迟到的时间' }).min(1, '请选择推迟到的时间').max(40) }).strict();
const skipBody = z.object({ reason: z.string({ message: '请填写跳过原因' }).trim().min(1, '请填写跳过原因').max(200, '跳过原因最多 200 个字') }).strict();
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, '日期格式须为 YYYY-MM-DD');
const completionQuery = z.object({ from: date, to: date, userid: z.string().min(1).max(64).optional() });
const createBody = z
  .object({
    requestId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '请求编号须为 8–64 位字母、数字、- 或 _（重试时沿用同一个）'),
    userid: z.string().min(1).max(64).nullish(),
    externalUserId: z.string().min(1).max(64).nullish(),
    title: z.string().trim().min(1, '请填写任务标题').max(100, '任务标题最多 100 个字'),
    text: z.string().max(4000, '准备好的内容最多 4000 个字').optional(),
    dueAt: z.iso.datetime({ offset: true, message: '截止时间须为带时区的 ISO 时间，如 2026-12-07T10:00:00+08:00' }),
  })
  .strict();

/** Who acted: the member, the token, or ADMIN_TOKEN. */
function actorOf(p: Principal): string {
  if (p.userid) return p.userid;
  if (p.tokenId) return `token:${p.tokenId}`;
  return 'ADMIN_TOKEN';
}

/** The task-closing writes both surfaces share; each audit-logged with the task's before and after. */
function taskWrites(router: Router, policy: Parameters<typeof allow>[0], prefix: string, tasks: StaffTaskService): void {
  const write = (action: string, fn: (ctx: Context, id: string) => Promise<ReturnType<typeof presentStaffTask>>) =>
    router.post(`${prefix}/:id/${action}`, allow(policy), async (ctx) => {
      const { id } = parseInput(taskParams, ctx.params);
      const after = await fn(ctx, id);
      auditNote(ctx, { action: `todo.task.${action}`, targetId: id, customerId: after.externalUserId ?? undefined, after: { status: after.status, snoozedUntil: after.snoozedUntil, skipReason: after.skipReason } });
      ctx.body = after;
    });
  write('done', async (ctx, id) => presentStaffTask(await tasks.done(id, viewerOf(ctx.state.principal))));
  write('snooze', async (ctx, id) => presentStaffTask(await tasks.snooze(id, parseInput(snoozeBody, bodyOf(ctx)).until, viewerOf(ctx.state.principal))));
  write('skip', async (ctx, id) => presentStaffTask(await tasks.skip(id, parseInput(skipBody, bodyOf(ctx)).reason, viewerOf(ctx.state.principal))));
}

/**
 * 今日待办 in the sidebar (docs/todo.md §In the sidebar): the member's own list (narrowed to the chat's customer), and
 * the actions on its items, each as the signed-in member.
 */
export function todoSidebarRouter(todo: TodoService, tasks: StaffTaskService): Router {
  const router = new Router({ prefix: '/sidebar/api', sensitive: true });
  router.get('/todo', allow(sidebarSession), async (ctx) => {
    const { externalUserId } = parseInput(todayQuery.omit({ userid: true }), ctx.query);
    ctx.body = presentTodoList(await todo.today(ctx.state.principal.userid, externalUserId ?? null));
  });
  taskWrites(router, sidebarSession, '/todo/tasks', tasks);
  router.post('/todo/notes/:id/done', allow(sidebarSession), async (ctx) => {
    const { id } = parseInput(noteParams, ctx.params);
    await todo.closeNote(id, viewerOf(ctx.state.principal));
    auditNote(ctx, { action: 'todo.note.done', targetId: id, after: { done: true } });
    ctx.body = { id, done: true };
  });
  router.post('/todo/mass-tasks/:batchId/remind', allow(sidebarSession), async (ctx) => {
    const { batchId } = parseInput(batchParams, ctx.params);
    const out = await todo.remindMass(batchId, viewerOf(ctx.state.principal), actorOf(ctx.state.principal));
    auditNote(ctx, { action: 'todo.mass.remind', targetId: batchId, after: out });
    ctx.body = out;
  });
  return router;
}

/**
 * `/api/v1/todo/*` (docs/todo.md §API): a member's list, manual tasks and their actions (staff their own only), and
 * the operators' completion report per member.
 */
export function todoApiRouter(todo: TodoService, tasks: StaffTaskService): Router {
  const router = new Router({ prefix: '/api/v1/todo', sensitive: true });
  router.get('/today', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(todayQuery, ctx.query);
    const p = ctx.state.principal as Principal;
    // Staff read their own list; operators and admins any member's (their own when they are a member).
    const userid = p.role === 'staff' ? p.userid : (q.userid ?? p.userid);
    if (!userid) throw invalidField('userid', '请用 userid 指定要查看的成员');
    ctx.body = presentTodoList(await todo.today(userid, q.externalUserId ?? null));
  });
  router.post('/tasks', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const body = parseInput(createBody, bodyOf(ctx));
    const { task, created } = await tasks.createManual({ ...body, dueAt: new Date(body.dueAt) }, viewerOf(ctx.state.principal));
    auditNote(ctx, created ? { action: 'todo.task.create', targetId: task.id, customerId: task.externalUserId ?? undefined, after: presentStaffTask(task) } : { skip: true });
    ctx.status = created ? 201 : 200;
    ctx.body = { ...presentStaffTask(task), created };
  });
  router.get('/tasks/:id', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    ctx.body = presentStaffTask(await tasks.get(parseInput(taskParams, ctx.params).id, viewerOf(ctx.state.principal)));
  });
  taskWrites(router, api(ANY_ROLE, 'own'), '/tasks', tasks);
  router.get('/completion', allow(api(OPERATORS, 'all')), async (ctx) => {
    ctx.body = await todo.completion(parseInput(completionQuery, ctx.query), viewerOf(ctx.state.principal));
  });
  return router;
}
