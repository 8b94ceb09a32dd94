import { describe, expect, it } from 'vitest';
import { isOptOutRequest } from '../../../../src/domain/customers/consent.js';

describe(isOptOutRequest.name, () => {
  it.each(['退订', ' TD ', 'td', '取消订阅', '拒收。', '不要再发了！'])('treats %j as an opt-out', (text) => {
    expect(isOptOutRequest(text)).toBe(true);
  });

  it.each(['请问怎么退订会员卡？', '我不想退订', 'TD是什么', '', '退订 谢谢你们的活动'])('treats %j as an ordinary message', (text) => {
    expect(isOptOutRequest(text)).toBe(false);
  });
});
