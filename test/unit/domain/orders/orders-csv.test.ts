import { describe, expect, it } from 'vitest';
import { parseCsv, parseOrdersCsv } from '../../../../src/domain/orders/orders-csv.js';
import { ValidationError } from '../../../../src/shared/errors.js';

describe(parseCsv.name, () => {
  it('splits records on LF and CRLF, keeps quoted commas, doubled quotes and line breaks', () => {
    const sut = 'a,b,c\r\n"1,5","say ""hi""","two\nlines"\n\nx,,\n';
    expect(parseCsv(sut)).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1,5', 'say "hi"', 'two\nlines'] },
      { line: 5, fields: ['x', '', ''] },
    ]);
  });

  it('drops a UTF-8 BOM and reads a last record without a line break', () => {
    expect(parseCsv('\uFEFForderNo\nA1')).toEqual([
      { line: 1, fields: ['orderNo'] },
      { line: 2, fields: ['A1'] },
    ]);
  });

  it('refuses an unclosed quote, naming the line it opened on', () => {
    expect(() => parseCsv('a,b\n1,"oops\n2,3\n')).toThrow(/第 2 行/);
  });
});

describe(parseOrdersCsv.name, () => {
  it('maps English or Chinese headers in any order and ignores extra columns', () => {
    const sut = '\uFEFF金额,备注,下单时间,客户ID,订单号\r\n"1,299.00",加急,2026-03-01 10:00,wmA,NO1\r\n';
    expect(parseOrdersCsv(sut)).toEqual([{ line: 2, orderNo: 'NO1', externalUserId: 'wmA', amount: '1,299.00', orderedAt: '2026-03-01 10:00' }]);
    expect(parseOrdersCsv('order_no,external_user_id,Amount,ordered_at\nN,w,1,2026-03-01')[0]).toMatchObject({ orderNo: 'N', externalUserId: 'w' });
  });

  it('refuses a file whose header lacks a column, or that is not UTF-8', () => {
    const err = (() => {
      try {
        parseOrdersCsv('orderNo,amount\nA,1');
      } catch (e) {
        return e;
      }
    })() as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.code).toBe('invalid_csv_header');
    expect(err.message).toContain('externalUserId, orderedAt');
    expect(() => parseOrdersCsv('')).toThrow(ValidationError);
    expect(() => parseOrdersCsv('\uFFFD\uFFFD,amount\n')).toThrow(/UTF-8/);
  });
});
