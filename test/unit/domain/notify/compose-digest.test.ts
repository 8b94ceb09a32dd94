import { describe, expect, it } from 'vitest';
import { composeDigest } from '../../../../src/domain/notify/staff-messenger.js';
import { byteLength, WECOM_APP_TEXT_MAX_BYTES } from '../../../../src/shared/template.js';

const at = new Date('2026-04-01T02:05:00Z');

describe(composeDigest.name, () => {
  it('numbers the lines with their Beijing time, all of them when they fit', () => {
    const { text, taken } = composeDigest([{ line: '删人提醒：客户「王小明」删除了员工 张三', createdAt: at }, { line: '删人提醒：客户「李雷」删除了员工 张三', createdAt: at }], 'Asia/Shanghai');
    expect(taken).toBe(2);
    expect(text).toContain('以下 2 条提醒延后送达：');
    expect(text).toContain('1. 删人提醒：客户「王小明」删除了员工 张三（4/1 10:05）');
    expect(text).toContain('2. 删人提醒：客户「李雷」删除了员工 张三');
    expect(text).not.toContain('其余稍后发送');
  });

  it('stops at WeCom\'s 2,048 bytes and says the rest follow; a lone over-long line is cut, not stuck', () => {
    const lines = Array.from({ length: 50 }, (_, i) => ({ line: `删人提醒：客户「测试客户${i}号」删除了员工 张三，请及时跟进挽回`, createdAt: at }));
    const { text, taken } = composeDigest(lines, 'Asia/Shanghai');
    expect(taken).toBeGreaterThan(5);
    expect(taken).toBeLessThan(50);
    expect(byteLength(text)).toBeLessThanOrEqual(WECOM_APP_TEXT_MAX_BYTES);
    expect(text).toContain(`以下 ${taken} 条提醒延后送达（其余稍后发送）`);
    const long = composeDigest([{ line: '很长'.repeat(2000), createdAt: at }], 'Asia/Shanghai');
    expect(long.taken).toBe(1);
    expect(byteLength(long.text)).toBeLessThanOrEqual(WECOM_APP_TEXT_MAX_BYTES);
  });
});
