import { describe, expect, it } from 'vitest';
import { CsvReader, parseCsv, parseOrdersCsv, readOrdersCsv } from '../../../../src/domain/orders/orders-csv.js';
import { PayloadTooLargeError, ValidationError } from '../../../../src/shared/errors.js';

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

describe(CsvReader.name, () => {
  it('gives the same records however the text is cut into pieces (a CRLF or a doubled quote across a cut)', () => {
    const sut = '\uFEFFa,b,c\r\n"1,5","say ""hi""","two\r\nlines"\r\n\r\nx,,\ry\n""""\r';
    const whole = parseCsv(sut);
    expect(whole.map((r) => r.line)).toEqual([1, 2, 5, 6, 7]);
    for (let cut = 0; cut <= sut.length; cut++) {
      for (const step of [1, 2, 3]) {
        const reader = new CsvReader();
        const got = [...reader.push(sut.slice(0, cut))];
        for (let i = cut; i < sut.length; i += step) got.push(...reader.push(sut.slice(i, i + step)));
        got.push(...reader.end());
        expect(got, `cut at ${cut}, then ${step} at a time`).toEqual(whole);
      }
    }
  });
});

describe(readOrdersCsv.name, () => {
  it('maps English or Chinese headers in any order and ignores extra columns', async () => {
    const sut = '\uFEFF金额,备注,下单时间,客户ID,订单号\r\n"1,299.00",加急,2026-03-01 10:00,wmA,NO1\r\n';
    expect(await parseOrdersCsv(sut)).toEqual([{ line: 2, orderNo: 'NO1', externalUserId: 'wmA', amount: '1,299.00', orderedAt: '2026-03-01 10:00' }]);
    expect((await parseOrdersCsv('order_no,external_user_id,Amount,ordered_at\nN,w,1,2026-03-01'))[0]).toMatchObject({ orderNo: 'N', externalUserId: 'w' });
  });

  it('refuses a file whose header lacks a column, or that is not UTF-8', async () => {
    const err = (await parseOrdersCsv('orderNo,amount\nA,1').catch((e: unknown) => e)) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.code).toBe('invalid_csv_header');
    expect(err.message).toContain('externalUserId, orderedAt');
    await expect(parseOrdersCsv('')).rejects.toThrow(ValidationError);
    await expect(parseOrdersCsv('\uFFFD\uFFFD,amount\n')).rejects.toThrow(/UTF-8/);
    // GBK bytes arriving in pieces, one cut inside a character.
    const gbk = Buffer.from([0xb6, 0xa9, 0xb5, 0xa5, 0xba, 0xc5, 0x2c, 0x61]);
    await expect(readOrdersCsv([gbk.subarray(0, 3), gbk.subarray(3)], { maxRows: 10, maxBytes: 100 })).rejects.toMatchObject({ code: 'invalid_encoding' });
  });

  it('decodes UTF-8 characters cut across pieces', async () => {
    const bytes = Buffer.from('订单号,客户ID,金额,下单时间\n单1,wmA,1,2026-03-01\n');
    const pieces = [...Array(bytes.length).keys()].map((i) => bytes.subarray(i, i + 1));
    expect(await readOrdersCsv(pieces, { maxRows: 10, maxBytes: 1000 })).toEqual([{ line: 2, orderNo: '单1', externalUserId: 'wmA', amount: '1', orderedAt: '2026-03-01' }]);
  });

  it('stops at one row over maxRows or one byte over maxBytes with a 413 naming the limit, without reading on', async () => {
    const header = 'orderNo,externalUserId,amount,orderedAt\n';
    const row = (i: number) => `N${i},wmA,1,2026-03-01\n`;
    let pulled = 0;
    async function* endless() {
      yield Buffer.from(header);
      for (let i = 0; ; i++) {
        pulled++;
        yield Buffer.from(row(i));
      }
    }
    const over = (await readOrdersCsv(endless(), { maxRows: 3, maxBytes: 1e9 }).catch((e: unknown) => e)) as PayloadTooLargeError;
    expect(over).toBeInstanceOf(PayloadTooLargeError);
    expect(over.status).toBe(413);
    expect(over.code).toBe('too_many_rows');
    expect(over.message).toContain('一次最多导入 3 行订单');
    expect(pulled).toBe(4);
    expect(await readOrdersCsv([header, row(1), row(2), row(3)], { maxRows: 3, maxBytes: 1e9 })).toHaveLength(3);
    // Blank lines are not rows.
    expect(await readOrdersCsv([header, row(1), '\n', row(2), row(3), '\r\n'], { maxRows: 3, maxBytes: 1e9 })).toHaveLength(3);

    const text = header + row(1);
    await expect(readOrdersCsv([Buffer.from(text)], { maxRows: 10, maxBytes: Buffer.byteLength(text) })).resolves.toHaveLength(1);
    await expect(readOrdersCsv([Buffer.from(text)], { maxRows: 10, maxBytes: Buffer.byteLength(text) - 1 })).rejects.toMatchObject({ status: 413, code: 'csv_too_large' });
  });
});
