import type { StaffTask } from '../../domain/todo/staff-task.types.js';
import type { TodoItem, TodoList } from '../../domain/todo/todo.types.js';

const STATUS_WORDS = { open: '待处理', done: '已完成', skipped: '已跳过', withdrawn: '已撤销' } as const;

/** A staff task with ISO times and its status in words. */
export function presentStaffTask(t: StaffTask) {
  return {
    id: t.id,
    source: t.source,
    sourceRef: t.sourceRef,
    userid: t.userid,
    externalUserId: t.externalUserId,
    title: t.title,
    text: t.text,
    attachments: t.attachments,
    dueAt: t.dueAt.toISOString(),
    status: t.status,
    statusWords: STATUS_WORDS[t.status],
    snoozedUntil: t.snoozedUntil?.toISOString() ?? null,
    skipReason: t.skipReason,
    doneAt: t.doneAt?.toISOString() ?? null,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}

/** One item of today's list with ISO times. */
export function presentTodoItem(i: TodoItem & { snoozedUntil?: Date }) {
  return { ...i, dueAt: i.dueAt.toISOString(), ...(i.snoozedUntil ? { snoozedUntil: i.snoozedUntil.toISOString() } : {}) };
}

/** Today's list. */
export function presentTodoList(l: TodoList) {
  return { date: l.date, items: l.items.map(presentTodoItem), snoozed: l.snoozed.map(presentTodoItem), counts: l.counts, total: l.items.length };
}
