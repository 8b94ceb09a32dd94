import { describe, expect, it } from 'vitest';
import { actorText, adjustMessage, thresholdText, tierAudience } from '../../src/web/console/lib/loyalty';

/** The words of the 积分与会员 page: thresholds, who made an entry, and what a give or deduct will do. */
describe('console loyalty words', () => {
  it('names a threshold by what tiers are measured by, never the code', () => {
    expect(thresholdText('points', 0)).toBe('无门槛');
    expect(thresholdText('points', 5000)).toBe('5,000 积分');
    expect(thresholdText('spend', 20000)).toBe('消费满 20,000 元');
  });

  it('says whose hand an entry is, in words', () => {
    const names = (u: string) => ({ zhangsan: '张三' })[u] ?? u;
    expect(actorText('zhangsan', names)).toBe('张三');
    expect(actorText('system', names)).toBe('系统');
    expect(actorText('token:7', names)).toBe('API 令牌');
    expect(actorText('ADMIN_TOKEN', names)).toBe('管理员令牌');
  });

  it('says the balance before and after a give or deduct, and when a deduction is more than the balance', () => {
    expect(adjustMessage('王芳', 150, 1000)).toBe('将为客户「王芳」赠送 150 积分，积分余额 1,000 → 1,150。此操作会记入操作日志。');
    expect(adjustMessage('王芳', -50, 150)).toBe('将从客户「王芳」的积分中扣减 50 积分，积分余额 150 → 100。此操作会记入操作日志。');
    expect(adjustMessage('王芳', -500, 150)).toBe('客户「王芳」当前只有 150 积分，不足以扣减 500 积分。');
  });

  it('quotes a tier name for the audience, so any name parses', () => {
    expect(tierAudience('金卡')).toBe('tier:"金卡"');
    expect(tierAudience('VIP "A"')).toBe('tier:"VIP \\"A\\""');
  });
});
