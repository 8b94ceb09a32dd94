import { newId } from '../../shared/ids.js';
import type { Clock } from '../../shared/clock.js';
import { ConflictError, ForbiddenError, NotFoundError, invalidField } from '../../shared/errors.js';
import type { Viewer } from '../customers/customer.service.js';
import type { StaffTaskRepository } from '../../persistence/repositories/staff-task.repository.js';
import type { NewStaffTask, StaffTask } from './staff-task.types.js';

/** The longest snooze: a week (a task parked longer is a task to skip, with a reason). */
export const MAX_SNOOZE_MS = 7 * 24 * 3_600_000;
/** Why a closed task cannot be changed, by its status. */
const CLOSED_WORDS: Partial<Record<StaffTask['status'], string>> = { done: '这项待办已完成', skipped: '这项待办已跳过', withdrawn: '这项待办已撤销：客户已退出旅程' };
/** add_msg_template's attachment limit, which sendChatMessage's prepared content follows too. */
const MAX_ATTACHMENTS = 9;

/**
 * 员工任务 (docs/todo.md §Staff tasks): created once per source key (a journey step, or a manual entry), closed as done
 * or skipped with a reason, or snoozed, by the member it belongs to only (docs/todo.md §Who may touch a task).
 */
export class StaffTaskService {
  constructor(
    private readonly repo: StaffTaskRepository,
    private readonly clock: Clock,
    /** Throws NotFoundError when the viewer may not see the customer (the archive's rule); absent: not checked. */
    private readonly visible?: (externalUserId: string, viewer: Viewer) => Promise<unknown>,
  ) {}

  /**
   * A task entered by hand (API): staff for themselves about a customer they follow, operators for any member. The
   * caller's request id is the source key, so a retried request creates it once.
   */
  async createManual(
    input: { requestId: string; userid?: string | null; externalUserId?: string | null; title: string; text?: string; dueAt: Date },
    viewer: Viewer,
  ): Promise<{ task: StaffTask; created: boolean }> {
    const userid = viewer.role === 'staff' ? viewer.userid : (input.userid ?? viewer.userid);
    if (viewer.role === 'staff' && input.userid && input.userid !== viewer.userid) throw new ForbiddenError('员工只能给自己添加待办', 'not_your_task');
    if (!userid) throw invalidField('userid', '请指定负责的成员');
    const ext = input.externalUserId ?? null;
    if (ext !== null && this.visible) await this.visible(ext, viewer);
    const { task, created } = await this.create(
      { source: 'manual', sourceRef: `${userid}:${input.requestId}`, userid, externalUserId: ext, title: input.title, text: input.text ?? '', attachments: [], dueAt: input.dueAt },
      viewer.userid ?? viewer.role,
    );
    if (!created && viewer.role === 'staff' && task.userid !== viewer.userid) throw new NotFoundError('待办不存在', 'task_not_found');
    return { task, created };
  }

  /**
   * Create a task, or return the one already created under the same (source, sourceRef): a unique key decides, so
   * two instances creating it at once leave one row and both get it back.
   */
  async create(t: NewStaffTask, createdBy: string | null = null): Promise<{ task: StaffTask; created: boolean }> {
    const input = validate(t);
    const now = this.clock.now();
    const task: StaffTask = { ...input, id: newId(now.getTime()), status: 'open', snoozedUntil: null, skipReason: null, doneAt: null, createdAt: now, updatedAt: now };
    if (await this.repo.insert(task, createdBy)) return { task, created: true };
    const first = await this.repo.bySource(input.source, input.sourceRef);
    if (!first) throw new Error(`staff task ${input.source}:${input.sourceRef} is neither new nor stored`);
    return { task: first, created: false };
  }

  /** Tasks by id (unknown ids are left out). */
  byIds(ids: string[]): Promise<Map<string, StaffTask>> {
    return this.repo.byIds(ids);
  }

  /** Open tasks with a reminder owed and unclaimed since `staleBefore` (docs/todo.md §Reminders). */
  owedReminders(staleBefore: Date, limit: number): Promise<StaffTask[]> {
    return this.repo.owedReminders(staleBefore, limit);
  }

  /** Claim a task's owed reminder; false when another holder has it, it was sent, or the task closed. */
  claimReminder(id: string, holder: string, now: Date, staleBefore: Date): Promise<boolean> {
    return this.repo.claimReminder(id, holder, now, staleBefore);
  }

  /** Record a claimed reminder as sent. */
  markReminded(id: string, holder: string, now: Date): Promise<boolean> {
    return this.repo.markReminded(id, holder, now);
  }

  /** Stop owing the reminders of closed tasks and of tasks created before `giveUpBefore`. */
  dropReminders(giveUpBefore: Date): Promise<number> {
    return this.repo.dropReminders(giveUpBefore);
  }

  /** Withdraw the open tasks of journey memberships that ended (docs/todo.md §Withdrawn tasks). */
  withdrawJourneyTasks(membershipIds: number[], reason: string): Promise<number> {
    return membershipIds.length === 0 ? Promise.resolve(0) : this.repo.withdrawJourneyTasks(membershipIds, reason, this.clock.now());
  }

  /** A membership's open journey tasks go to the customer's new owner with it (docs/todo.md §Withdrawn tasks). */
  reassignJourneyTasks(membershipId: number, userid: string): Promise<number> {
    return this.repo.reassignJourneyTasks(membershipId, userid, this.clock.now());
  }

  /** A task the viewer may see: staff their own only (another member's is "not found", not "forbidden"). */
  async get(id: string, viewer: Viewer): Promise<StaffTask> {
    const t = await this.repo.byId(id);
    if (!t || (viewer.role === 'staff' && t.userid !== viewer.userid)) throw new NotFoundError('待办不存在', 'task_not_found');
    return t;
  }

  /** The member's own open task, for a change; operators and admins may look but not act on a member's work. */
  private async own(id: string, viewer: Viewer): Promise<StaffTask> {
    const t = await this.get(id, viewer);
    if (t.userid !== viewer.userid) throw new ForbiddenError('只能处理自己的待办', 'not_your_task');
    if (t.status !== 'open') throw new ConflictError(CLOSED_WORDS[t.status] ?? '这项待办已处理', 'task_closed');
    return t;
  }

  /** Mark the viewer's task done. */
  async done(id: string, viewer: Viewer): Promise<StaffTask> {
    await this.own(id, viewer);
    const now = this.clock.now();
    if (!(await this.repo.markDone(id, viewer.userid!, now))) throw new ConflictError('这项待办已处理', 'task_closed');
    return (await this.repo.byId(id))!;
  }

  /** Skip the viewer's task, with a reason (required: the operator's report shows it). */
  async skip(id: string, reason: unknown, viewer: Viewer): Promise<StaffTask> {
    const text = typeof reason === 'string' ? reason.trim() : '';
    if (text === '') throw invalidField('reason', '请填写跳过原因');
    if ([...text].length > 200) throw invalidField('reason', '跳过原因最多 200 个字');
    await this.own(id, viewer);
    if (!(await this.repo.markSkipped(id, text, viewer.userid!, this.clock.now()))) throw new ConflictError('这项待办已处理', 'task_closed');
    return (await this.repo.byId(id))!;
  }

  /** Snooze the viewer's task until a later time, at most a week ahead. */
  async snooze(id: string, until: unknown, viewer: Viewer): Promise<StaffTask> {
    const at = typeof until === 'string' || typeof until === 'number' ? new Date(until) : null;
    const now = this.clock.now();
    if (!at || Number.isNaN(at.getTime())) throw invalidField('until', '请选择推迟到的时间');
    if (at.getTime() <= now.getTime()) throw invalidField('until', '推迟到的时间必须晚于现在');
    if (at.getTime() - now.getTime() > MAX_SNOOZE_MS) throw invalidField('until', '最多推迟 7 天');
    await this.own(id, viewer);
    if (!(await this.repo.snooze(id, at, now))) throw new ConflictError('这项待办已处理', 'task_closed');
    return (await this.repo.byId(id))!;
  }
}

/** A task's input checked, with clear zh-CN errors (a journey's content was checked when the journey was saved). */
function validate(t: NewStaffTask): NewStaffTask {
  if (t.source !== 'journey' && t.source !== 'manual') throw invalidField('source', '任务来源无效');
  const sourceRef = typeof t.sourceRef === 'string' ? t.sourceRef.trim() : '';
  if (sourceRef === '' || sourceRef.length > 120) throw invalidField('sourceRef', '任务来源编号必须是 1–120 个字符');
  const userid = typeof t.userid === 'string' ? t.userid.trim() : '';
  if (userid === '' || userid.length > 64) throw invalidField('userid', '请指定负责的成员');
  const ext = t.externalUserId === null || t.externalUserId === undefined ? null : String(t.externalUserId).trim() || null;
  if (ext !== null && ext.length > 64) throw invalidField('externalUserId', '客户编号过长');
  const title = typeof t.title === 'string' ? t.title.trim() : '';
  if (title === '') throw invalidField('title', '请填写任务标题');
  if ([...title].length > 100) throw invalidField('title', '任务标题最多 100 个字');
  const text = typeof t.text === 'string' ? t.text : '';
  if ([...text].length > 4000) throw invalidField('text', '准备好的内容最多 4000 个字');
  const attachments = Array.isArray(t.attachments) ? t.attachments : [];
  if (attachments.length > MAX_ATTACHMENTS) throw invalidField('attachments', `附件最多 ${MAX_ATTACHMENTS} 个`);
  if (!(t.dueAt instanceof Date) || Number.isNaN(t.dueAt.getTime())) throw invalidField('dueAt', '请填写截止时间');
  return { source: t.source, sourceRef, userid, externalUserId: ext, title, text, attachments, dueAt: t.dueAt, remind: t.remind === true };
}
