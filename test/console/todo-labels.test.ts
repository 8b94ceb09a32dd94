import { describe, expect, it } from 'vitest';
import { auditActionText } from '../../src/web/console/lib/labels';

// 操作日志 shows the to-do writes in words (docs/todo.md §API), never as todo.task.skip.
describe('今日待办 in the audit log', () => {
  it('names each write', () => {
    expect(['todo.task.create', 'todo.task.done', 'todo.task.snooze', 'todo.task.skip', 'todo.note.done', 'todo.mass.remind'].map(auditActionText)).toEqual([
      '今日待办 · 新建任务',
      '今日待办 · 完成任务',
      '今日待办 · 推迟任务',
      '今日待办 · 跳过任务',
      '今日待办 · 完成跟进记录',
      '今日待办 · 提醒去群发助手发送',
    ]);
  });
});
