// 今日待办 (docs/todo.md §One list across sources): what a member's list is made of.
import type { ChatSend, SourcedAttachment } from '../content/content.types.js';

/** What an item is: a staff task (journey or manual), a follow-up note due, a feedback ticket, a mass task in 群发助手. */
export type TodoKind = 'task' | 'note' | 'ticket' | 'mass_task';

/** What a member can do with an item from the list. */
export type TodoAction = 'done' | 'snooze' | 'skip' | 'send' | 'note_done' | 'open_ticket' | 'remind_mass';

/** One item of today's list. */
export interface TodoItem {
  /** `<kind>:<id>`, stable across reloads. */
  key: string;
  kind: TodoKind;
  /** The id within its source (task id, note id, ticket id, batch id). */
  id: string;
  /** zh-CN: 旅程任务, 员工任务, 跟进提醒, 客户反馈, 群发待确认. */
  kindWords: string;
  title: string;
  /** The prepared content (a task), the note, what the customer said, the mass message. */
  text: string;
  attachments: SourcedAttachment[];
  /**
   * A task's one-tap send: the sendChatMessage messages in order (its text, then each attachment), each ready or with
   * why it cannot go now; the sidebar sends them only when every one is ready (docs/todo.md §One-tap send).
   */
  sends?: ChatSend[];
  /** The customer it is about; a mass task to several customers names the first and counts them. */
  externalUserId: string | null;
  customerName: string | null;
  customerCount: number;
  /** When it is due (a note: the end of its due date). */
  dueAt: Date;
  isOverdue: boolean;
  /** zh-CN: 今天 10:00 前, 已逾期 2 天, …. */
  dueWords: string;
  actions: TodoAction[];
}

/** A member's list for today. */
export interface TodoList {
  /** The local date it is for. */
  date: string;
  items: TodoItem[];
  /** Open staff tasks snoozed past now: shown apart, so a snooze never hides a task for good. */
  snoozed: (TodoItem & { snoozedUntil: Date })[];
  /** Items per kind. */
  counts: Record<TodoKind, number>;
}

/** One member's completion of their staff tasks due in a range (docs/todo.md §Completion). */
export interface CompletionRow {
  userid: string;
  name: string;
  total: number;
  done: number;
  /** Done after it was due. */
  late: number;
  skipped: number;
  /** Still open past due. */
  overdue: number;
  open: number;
  /** done / total, 0–100 (one decimal); null with no tasks. */
  donePercent: number | null;
}
