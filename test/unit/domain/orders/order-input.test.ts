import { describe, expect, it } from 'vitest';
import { parseAmountCents, parseOrderedAt, parseOrderRow } from '../../../../src/domain/orders/order-input.js';

describe(parseAmountCents.name, () => {
  it('turns yuan into exact cents from strings and numbers', () => {
    expect(parseAmountCents('199.90')).toBe(19990);
    expect(parseAmountCents('199.9')).toBe(19990);
    expect(parseAmountCents(199.9)).toBe(19990);
    expect(parseAmountCents('0.10')).toBe(10);
    expect(parseAmountCents(0.29)).toBe(29);
    expect(parseAmountCents(1.005)).toBeNull();
    expect(parseAmountCents('1000')).toBe(100000);
    expect(parseAmountCents(0)).toBe(0);
    expect(parseAmountCents(' ¥1,299.00 ')).toBe(129900);
    expect(parseAmountCents('￥88')).toBe(8800);
    expect(parseAmountCents('999999999999.99')).toBe(99999999999999);
  });

  it('never lets a binary fraction leak in: 0.1 + 0.2 worth of orders is 30 cents', () => {
    expect(parseAmountCents('0.1')! + parseAmountCents('0.2')!).toBe(30);
    expect(parseAmountCents(19.99)! * 3).toBe(5997);
  });

  it('refuses negatives, more than two decimals, exponents and junk', () => {
    for (const bad of ['-5', -5, '1.999', '1e3', 1e21, '.5', '5.', '1,2,3', '12,34.5', 'abc', '', NaN, Infinity, null, true, {}]) {
      expect(parseAmountCents(bad), String(bad)).toBeNull();
    }
  });
});

describe(parseOrderedAt.name, () => {
  const tz = 'Asia/Shanghai';
  it('reads a wall time without an offset in the app time zone', () => {
    expect(parseOrderedAt('2026-03-01 10:00', tz)?.toISOString()).toBe('2026-03-01T02:00:00.000Z');
    expect(parseOrderedAt('2026-03-01 10:00:30', tz)?.toISOString()).toBe('2026-03-01T02:00:30.000Z');
    expect(parseOrderedAt('2026-03-01T10:00:00', tz)?.toISOString()).toBe('2026-03-01T02:00:00.000Z');
    expect(parseOrderedAt('2026/3/1 9:05', tz)?.toISOString()).toBe('2026-03-01T01:05:00.000Z');
    expect(parseOrderedAt('2026-03-01', tz)?.toISOString()).toBe('2026-02-28T16:00:00.000Z');
    expect(parseOrderedAt('2026-03-01 10:00', 'UTC')?.toISOString()).toBe('2026-03-01T10:00:00.000Z');
  });

  it('honours Shanghai’s 1990 summer time for local wall times', () => {
    expect(parseOrderedAt('1990-07-01 12:00', tz)?.toISOString()).toBe('1990-07-01T03:00:00.000Z');
  });

  it('takes ISO-8601 with Z or an offset as written', () => {
    expect(parseOrderedAt('2026-03-01T10:00:00Z', tz)?.toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(parseOrderedAt('2026-03-01T10:00:00.123+08:00', tz)?.toISOString()).toBe('2026-03-01T02:00:00.123Z');
    expect(parseOrderedAt('2026-03-01T10:00-0530', tz)?.toISOString()).toBe('2026-03-01T15:30:00.000Z');
  });

  it('refuses dates and times that do not exist', () => {
    for (const bad of ['2026-02-30 10:00', '2026-13-01', '2026-03-01 24:00', '2026-03-01 10:60', '2026-03-01 10:00:60', '2026-03-01T10:00+15:00', '20260301', '03/01/2026', 'yesterday', '', 1772330400000]) {
      expect(parseOrderedAt(bad, tz), String(bad)).toBeNull();
    }
  });
});

describe(parseOrderRow.name, () => {
  const row = (o: Partial<Record<'orderNo' | 'externalUserId' | 'amount' | 'orderedAt', unknown>>) => ({
    line: 7,
    orderNo: 'A001',
    externalUserId: 'wmA',
    amount: '10',
    orderedAt: '2026-03-01 10:00',
    ...o,
  });

  it('validates and normalises a good row', () => {
    expect(parseOrderRow(row({ orderNo: ' A001 ', amount: 12.5 }), 'Asia/Shanghai')).toEqual({
      ok: true,
      order: { line: 7, orderNo: 'A001', externalUserId: 'wmA', amountCents: 1250, orderedAt: new Date('2026-03-01T02:00:00Z') },
    });
    expect(parseOrderRow(row({ orderNo: 10086 }), 'Asia/Shanghai')).toMatchObject({ ok: true, order: { orderNo: '10086' } });
  });

  it('names the problem with a stable code and the line', () => {
    const codeOf = (o: Parameters<typeof row>[0]) => {
      const r = parseOrderRow(row(o), 'Asia/Shanghai');
      return r.ok ? 'ok' : `${r.error.line}:${r.error.code}`;
    };
    expect(codeOf({ orderNo: '' })).toBe('7:missing_order_no');
    expect(codeOf({ orderNo: 'x'.repeat(65) })).toBe('7:invalid_order_no');
    expect(codeOf({ orderNo: '2.02603E+15' })).toBe('7:invalid_order_no');
    expect(codeOf({ externalUserId: undefined })).toBe('7:missing_customer');
    expect(codeOf({ amount: '' })).toBe('7:missing_amount');
    expect(codeOf({ amount: '12.345' })).toBe('7:invalid_amount');
    expect(codeOf({ orderedAt: undefined })).toBe('7:missing_ordered_at');
    expect(codeOf({ orderedAt: '2026-02-30' })).toBe('7:invalid_ordered_at');
  });
});
