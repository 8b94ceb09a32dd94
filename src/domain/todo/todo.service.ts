import type { Clock } from '../../shared/clock.js';
import { addDays, daysBetween, isLocalDate, localDate, localParts, zonedTimeToUtc } from '../../shared/dates.js';
import { NotFoundError, ValidationError, toError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Viewer } from '../customers/customer.service.js';
import type { StaffTaskRepository } from '../../persistence/repositories/staff-task.repository.js';
import type { TodoRepository, WaitingMassTaskRow } from '../../persistence/repositories/todo.repository.js';
import type { StaffTask } from './staff-task.types.js';
import type { CompletionRow, TodoItem, TodoKind, TodoList } from './todo.types.js';
import type { ChatSend, SourcedAttachment } from '../content/content.types.js';

const DAY_MS = 24 * 3_600_000;
/** The widest completion report, in days. */
const MAX_RANGE_DAYS = 366;

/** What the list needs from outside the to-do feature (plain functions the container writes). */
export interface TodoPorts {
  /** Customers' display names. */
  customerNames: (ids: string[]) => Promise<Map<string, string>>;
  /** Members' display names. */
  staffNames: (userids: string[]) => Promise<Map<string, string>>;
  /** Close a follow-up note as its author (the notes feature's own rules apply). */
  closeNote: (noteId: string, viewer: Viewer) => Promise<void>;
  /** 提醒成员群发 for one waiting task, within WeCom's 3 per task per 24 h; the zh-CN outcome. */
  remindMass: (task: { batchId: string; msgId: string; sender: string; broadcastId: string | null }, requestedBy: string) => Promise<{ reminded: boolean; message: string }>;
  /** An app message to a member within their per-member budget (StaffMessenger.send). */
  sendToMember: (userid: string, text: string, digestLine: string) => Promise<'sent' | 'deferred'>;
  /** The content library's sendChatMessage messages of tasks' attachments (ContentService.chatSends); absent: none. */
  chatSends?: (messages: { attachments: SourcedAttachment[]; preparedAt: Date }[]) => Promise<ChatSend[][]>;
}

const KIND_WORDS: Record<TodoKind, string> = { task: '员工任务', note: '跟进提醒', ticket: '客户反馈', mass_task: '群发待确认' };
const MASS_KIND_WORDS: Record<string, string> = { care: '客户关怀', winback: '唤醒活动', broadcast: '群发消息', loyalty: '会员升级祝贺', survey: '满意度问卷' };

/**
 * 今日待办 (docs/todo.md): each member's list for today across staff tasks, follow-up notes due, feedback tickets and
 * mass tasks waiting in 群发助手; the morning digest; the operators' completion report.
 */
export class TodoService {
  constructor(
    private readonly tasks: StaffTaskRepository,
    private readonly repo: TodoRepository,
    private readonly ports: TodoPorts,
    private readonly clock: Clock,
    private readonly tz: string,
    private readonly log: Logger,
  ) {}

  /**
   * Today's list of `userid`, across sources; with a customer (the sidebar opened in their chat), only theirs.
   * Overdue first, then by when each is due.
   */
  async today(userid: string, externalUserId: string | null = null): Promise<TodoList> {
    const now = this.clock.now();
    const today = localDate(now, this.tz);
    const [tasks, snoozed, notes, tickets, mass] = await Promise.all([
      this.tasks.openFor(userid, this.horizon(now, today), now, externalUserId),
      this.tasks.snoozedFor(userid, now, externalUserId),
      this.repo.notesDue(userid, today, externalUserId),
      this.repo.openTickets(userid, externalUserId),
      this.repo.waitingMassTasks(userid, externalUserId),
    ]);
    const ids = new Set<string>();
    for (const x of [...tasks, ...snoozed, ...notes, ...tickets]) if (x.externalUserId) ids.add(x.externalUserId);
    for (const m of mass) for (const c of m.customers) ids.add(c);
    const names = await this.ports.customerNames([...ids]);
    const name = (ext: string | null) => (ext ? (names.get(ext) ?? null) : null);

    const items: TodoItem[] = [
      ...(await this.withSends(tasks.map((t) => this.taskItem(t, name(t.externalUserId), now, today)), tasks)),
      ...notes.map((n): TodoItem => {
        const overdueDays = daysBetween(n.dueDate, today);
        return {
          key: `note:${n.id}`,
          kind: 'note',
          id: n.id,
          kindWords: KIND_WORDS.note,
          title: '跟进记录到期',
          text: n.text,
          attachments: [],
          externalUserId: n.externalUserId,
          customerName: name(n.externalUserId),
          customerCount: 1,
          dueAt: zonedTimeToUtc(addDays(n.dueDate, 1), '00:00', this.tz),
          isOverdue: overdueDays > 0,
          dueWords: overdueDays > 0 ? `已逾期 ${overdueDays} 天（${n.dueDate}）` : '今天到期',
          actions: ['note_done'],
        };
      }),
      ...tickets.map((t): TodoItem => {
        const isOverdue = t.status === 'open' && t.dueAt.getTime() < now.getTime();
        return {
          key: `ticket:${t.id}`,
          kind: 'ticket',
          id: String(t.id),
          kindWords: KIND_WORDS.ticket,
          title: `反馈工单 #${t.id}${t.category ? ` · ${t.category}` : ''}`,
          text: t.summary,
          attachments: [],
          externalUserId: t.externalUserId,
          customerName: name(t.externalUserId),
          customerCount: 1,
          dueAt: t.dueAt,
          isOverdue,
          dueWords: t.status === 'contacted' ? '已联系，待解决' : isOverdue ? `已超过首次联系时限（${this.when(t.dueAt, today)}）` : `请于 ${this.when(t.dueAt, today)} 前联系客户`,
          actions: ['open_ticket'],
        };
      }),
      ...mass.map((m) => this.massItem(m, name, today)),
    ];
    items.sort((a, b) => Number(b.isOverdue) - Number(a.isOverdue) || a.dueAt.getTime() - b.dueAt.getTime() || a.key.localeCompare(b.key));
    const counts: Record<TodoKind, number> = { task: 0, note: 0, ticket: 0, mass_task: 0 };
    for (const i of items) counts[i.kind] += 1;
    return {
      date: today,
      items,
      snoozed: snoozed.map((t) => ({ ...this.taskItem(t, name(t.externalUserId), now, today), snoozedUntil: t.snoozedUntil!, dueWords: `已推迟到 ${this.when(t.snoozedUntil!, today)}` })),
      counts,
    };
  }

  /**
   * Tasks due before this instant are today's: by the end of the local day, or within 24 hours, so a journey's task
   * created this morning and due tomorrow morning is in the list from the moment it exists, while a task entered for
   * next week waits for its day. See docs/todo.md §One list across sources
   */
  private horizon(now: Date, today: string): Date {
    return new Date(Math.max(zonedTimeToUtc(addDays(today, 1), '00:00', this.tz).getTime(), now.getTime() + DAY_MS));
  }

  /**
   * Each sendable task's one-tap send, prepared now: its text, then each attachment as the library makes it, so a
   * media id is the fresh one (docs/todo.md §One-tap send). Without the library an attachment cannot go, and says so.
   */
  private async withSends(items: TodoItem[], tasks: StaffTask[]): Promise<TodoItem[]> {
    const sendable = tasks.filter((_, i) => items[i].actions.includes('send'));
    const prepared = sendable.length === 0 ? [] : this.ports.chatSends ? await this.ports.chatSends(sendable.map((t) => ({ attachments: t.attachments, preparedAt: t.createdAt }))) : sendable.map((t) => t.attachments.map((): ChatSend => ({ label: '附件', chat: null, problem: '附件不能发送：本实例未启用素材库' })));
    const byId = new Map(sendable.map((t, i) => [t.id, prepared[i]]));
    return items.map((item, i) => {
      const attachments = byId.get(tasks[i].id);
      if (!attachments) return item;
      const text: ChatSend[] = item.text.trim() ? [{ label: '文字', chat: { msgtype: 'text', text: { content: item.text } }, problem: null }] : [];
      return { ...item, sends: [...text, ...attachments] };
    });
  }

  private taskItem(t: StaffTask, customerName: string | null, now: Date, today: string): TodoItem {
    const isOverdue = t.dueAt.getTime() < now.getTime();
    const days = daysBetween(localDate(t.dueAt, this.tz), today);
    const canSend = t.externalUserId !== null && (t.text.trim() !== '' || t.attachments.length > 0);
    return {
      key: `task:${t.id}`,
      kind: 'task',
      id: t.id,
      kindWords: t.source === 'journey' ? '旅程任务' : KIND_WORDS.task,
      title: t.title,
      text: t.text,
      attachments: t.attachments,
      externalUserId: t.externalUserId,
      customerName,
      customerCount: t.externalUserId ? 1 : 0,
      dueAt: t.dueAt,
      isOverdue,
      dueWords: isOverdue ? (days > 0 ? `已逾期 ${days} 天` : `已逾期（${this.when(t.dueAt, today)} 到期）`) : `${this.when(t.dueAt, today)} 前`,
      actions: canSend ? ['send', 'done', 'snooze', 'skip'] : ['done', 'snooze', 'skip'],
    };
  }

  private massItem(m: WaitingMassTaskRow, name: (ext: string | null) => string | null, today: string): TodoItem {
    const days = daysBetween(localDate(m.submittedAt, this.tz), today);
    const first = m.customers[0] ?? null;
    const who = m.waiting > 1 ? `${name(first) ?? '客户'} 等 ${m.waiting} 位客户` : (name(first) ?? '1 位客户');
    return {
      key: `mass_task:${m.batchId}`,
      kind: 'mass_task',
      id: m.batchId,
      kindWords: KIND_WORDS.mass_task,
      title: `在群发助手中确认发送${MASS_KIND_WORDS[m.kind] ? `「${MASS_KIND_WORDS[m.kind]}」` : ''}给 ${who}`,
      text: m.text,
      attachments: [],
      externalUserId: first,
      customerName: name(first),
      customerCount: m.waiting,
      dueAt: m.submittedAt,
      isOverdue: days > 0,
      dueWords: days > 0 ? `已等待 ${days} 天` : `今天 ${this.when(m.submittedAt, today).replace('今天 ', '')} 创建`,
      actions: ['remind_mass'],
    };
  }

  /** "今天 10:00", "明天 10:00", or "12月5日 10:00" on another day. */
  private when(at: Date, today: string): string {
    const p = localParts(at, this.tz);
    const hm = `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
    const day = localDate(at, this.tz);
    return day === today ? `今天 ${hm}` : day === addDays(today, 1) ? `明天 ${hm}` : `${p.month}月${p.day}日 ${hm}`;
  }

  /** Mark a follow-up note of the list done (the notes feature checks it is the viewer's). */
  async closeNote(noteId: string, viewer: Viewer): Promise<void> {
    await this.ports.closeNote(noteId, viewer);
  }

  /** Ask WeCom to remind the viewer of one of their own tasks waiting in 群发助手. */
  async remindMass(batchId: string, viewer: Viewer, requestedBy: string): Promise<{ reminded: boolean; message: string }> {
    if (!viewer.userid) throw new NotFoundError('群发任务不存在或已发送', 'mass_task_not_found');
    const task = (await this.repo.waitingMassTasks(viewer.userid, null, 1000)).find((m) => m.batchId === batchId);
    if (!task) throw new NotFoundError('群发任务不存在或已发送', 'mass_task_not_found');
    return this.ports.remindMass({ batchId: task.batchId, msgId: task.msgId, sender: viewer.userid, broadcastId: task.broadcastId }, requestedBy);
  }

  /** How many items each member's list has today (the digest's count: the same sources as the list). */
  async countsToday(): Promise<Map<string, Record<TodoKind, number>>> {
    const now = this.clock.now();
    const today = localDate(now, this.tz);
    const [tasks, notes, tickets, mass] = await Promise.all([
      this.tasks.openCounts(this.horizon(now, today), now),
      this.repo.notesDueCounts(today),
      this.repo.openTicketCounts(),
      this.repo.waitingMassTaskCounts(),
    ]);
    const out = new Map<string, Record<TodoKind, number>>();
    const add = (m: Map<string, number>, kind: TodoKind) => {
      for (const [userid, n] of m) {
        const c = out.get(userid) ?? { task: 0, note: 0, ticket: 0, mass_task: 0 };
        c[kind] += n;
        out.set(userid, c);
      }
    };
    add(tasks, 'task');
    add(notes, 'note');
    add(tickets, 'ticket');
    add(mass, 'mass_task');
    return out;
  }

  /**
   * The morning digest (docs/todo.md §Morning digest): "今天有 N 项待办" to each member with items, once per member and
   * local date across instances (a claim row per member and day), within the member's app message budget.
   */
  async sendDigests(instanceId: string): Promise<{ members: number; sent: number; deferred: number; failed: number; already: number }> {
    const now = this.clock.now();
    const today = localDate(now, this.tz);
    const counts = await this.countsToday();
    const left = await this.repo.resigned([...counts.keys()]);
    const out = { members: 0, sent: 0, deferred: 0, failed: 0, already: 0 };
    for (const [userid, c] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
      const n = c.task + c.note + c.ticket + c.mass_task;
      if (n === 0 || left.has(userid)) continue;
      out.members += 1;
      if (!(await this.repo.claimDigest(userid, today, n, instanceId, now))) {
        out.already += 1;
        continue;
      }
      const text = digestText(n, c);
      try {
        const outcome = await this.ports.sendToMember(userid, text, `今天有 ${n} 项待办`);
        await this.repo.finishDigest(userid, today, outcome, this.clock.now());
        out[outcome] += 1;
      } catch (err) {
        // Parked, not retried: the job's report and the row say it failed; the sidebar list is there anyway.
        await this.repo.finishDigest(userid, today, 'failed', this.clock.now());
        out.failed += 1;
        this.log.warn({ err: toError(err), userid }, 'the to-do digest could not be sent');
      }
    }
    return out;
  }

  /**
   * Per member, their staff tasks due from `from` through `to` (local dates, inclusive): done, late, skipped, overdue
   * (docs/todo.md §Completion). Staff see their own row only.
   */
  async completion(q: { from: string; to: string; userid?: string }, viewer: Viewer): Promise<{ from: string; to: string; items: CompletionRow[] }> {
    if (!isLocalDate(q.from) || !isLocalDate(q.to)) throw new ValidationError('日期须为 YYYY-MM-DD 格式的真实日期', undefined, 'invalid_date');
    if (q.to < q.from) throw new ValidationError('结束日期不能早于开始日期', undefined, 'invalid_range');
    if (daysBetween(q.from, q.to) >= MAX_RANGE_DAYS) throw new ValidationError(`日期范围最多 ${MAX_RANGE_DAYS} 天`, undefined, 'invalid_range');
    const userid = viewer.role === 'staff' ? viewer.userid : (q.userid ?? null);
    const rows = await this.tasks.completion(zonedTimeToUtc(q.from, '00:00', this.tz), zonedTimeToUtc(addDays(q.to, 1), '00:00', this.tz), this.clock.now(), userid);
    const names = await this.ports.staffNames(rows.map((r) => r.userid));
    return {
      from: q.from,
      to: q.to,
      items: rows.map((r) => ({ ...r, name: names.get(r.userid) ?? r.userid, donePercent: r.total === 0 ? null : Math.round((r.done / r.total) * 1000) / 10 })),
    };
  }
}

/** The digest's words: the total and what it is made of. */
export function digestText(n: number, c: Record<TodoKind, number>): string {
  const parts = [
    c.task ? `任务 ${c.task} 项` : '',
    c.note ? `跟进提醒 ${c.note} 项` : '',
    c.ticket ? `客户反馈 ${c.ticket} 项` : '',
    c.mass_task ? `群发待确认 ${c.mass_task} 项` : '',
  ].filter(Boolean);
  return `【今日待办】今天有 ${n} 项待办：${parts.join('、')}。打开与客户的聊天，在侧边栏「今日待办」中处理。`;
}
