import { describe, expect, it } from 'vitest';
import { auditActionText } from '../../src/web/console/lib/labels';

// 操作日志 shows the journeys' writes in words (docs/journeys.md), never as journeys.enrol.
describe('客户旅程 in the audit log', () => {
  it('names each write', () => {
    expect(['journeys.create', 'journeys.update', 'journeys.status', 'journeys.enrol', 'journeys.migrate', 'journeys.from-winback', 'customers.replied'].map(auditActionText)).toEqual([
      '客户旅程 · 新建',
      '客户旅程 · 修改',
      '客户旅程 · 修改状态',
      '客户旅程 · 手动加入客户',
      '客户旅程 · 成员迁移到最新版本',
      '客户旅程 · 由唤醒活动转为客户旅程',
      '客户 · 标记客户已回复',
    ]);
  });
});
