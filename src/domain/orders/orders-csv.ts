import { PayloadTooLargeError, ValidationError } from '../../shared/errors.js';
import type { RawOrderRow } from './order-input.js';

/** One CSV record and the physical line it starts on (1-based; the header is usually line 1). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * An incremental RFC 4180 reader: text goes in piece by piece (`push`), whole records come out, so a file is never
 * held in memory whole (docs/security.md §Order import limits). Comma-separated, `"` quotes fields that hold commas,
 * quotes (doubled) or line breaks, CRLF or LF; a quote opens a field only at its start. A leading UTF-8 BOM
 * (Excel's "CSV UTF-8") is dropped. An unclosed quote is a 400 naming the line it opened on, since everything
 * after it would otherwise be swallowed into one field.
 *
 * Not csv-parse: it counts the CR and LF of a CRLF inside a quoted cell as two lines and reports an unclosed quote
 * at the end of the file, and the line numbers in import reports are what operators fix their files by.
 */
export class CsvReader {
  private fields: string[] = [];
  private field = '';
  private line = 1;
  private recordLine = 1;
  private quoteLine = 0;
  private inQuotes = false;
  private started = false;
  /** A `"` in quotes or a CR at the end of a piece: what it means depends on the next character. */
  private carry = '';

  /** Feed the next piece of text; returns the records it completed. */
  push(text: string): CsvRecord[] {
    let src = this.carry + text;
    this.carry = '';
    if (!this.started && src.length > 0) {
      this.started = true;
      if (src.charCodeAt(0) === 0xfeff) src = src.slice(1);
    }
    return this.scan(src, false);
  }

  /** The end of the text: the last record, or a 400 for an unclosed quote. */
  end(): CsvRecord[] {
    const src = this.carry;
    this.carry = '';
    const out = this.scan(src, true);
    if (this.inQuotes) throw new ValidationError(`CSV 第 ${this.quoteLine} 行的引号没有闭合 / unclosed quote opened on line ${this.quoteLine}`, { line: this.quoteLine }, 'invalid_csv');
    if (this.field !== '' || this.fields.length > 0) this.endRecord(out);
    return out;
  }

  private endRecord(out: CsvRecord[]): void {
    this.fields.push(this.field);
    // A blank line is one empty field: nothing to import, not an error.
    if (!(this.fields.length === 1 && this.fields[0].trim() === '')) out.push({ line: this.recordLine, fields: this.fields });
    this.fields = [];
    this.field = '';
  }

  private scan(src: string, isLast: boolean): CsvRecord[] {
    const out: CsvRecord[] = [];
    for (let i = 0; i < src.length; i++) {
      const ch = src[i];
      if (!isLast && i === src.length - 1 && ((this.inQuotes && ch === '"') || (!this.inQuotes && ch === '\r'))) {
        this.carry = ch;
        break;
      }
      if (this.inQuotes) {
        if (ch === '"') {
          if (src[i + 1] === '"') {
            this.field += '"';
            i++;
          } else this.inQuotes = false;
        } else {
          if (ch === '\n') this.line++;
          this.field += ch;
        }
        continue;
      }
      if (ch === '"' && this.field.trim() === '') {
        this.field = '';
        this.inQuotes = true;
        this.quoteLine = this.line;
      } else if (ch === ',') {
        this.fields.push(this.field);
        this.field = '';
      } else if (ch === '\n' || ch === '\r') {
        if (ch === '\r' && src[i + 1] === '\n') i++;
        this.endRecord(out);
        this.line++;
        this.recordLine = this.line;
      } else this.field += ch;
    }
    return out;
  }
}

/** Every record of a whole CSV text (tests, small inputs). */
export function parseCsv(text: string): CsvRecord[] {
  const reader = new CsvReader();
  return [...reader.push(text), ...reader.end()];
}

/** Header names accepted for each column, compared after lower-casing and dropping spaces, `_` and `-`. */
const HEADERS: Record<keyof Omit<RawOrderRow, 'line'>, string[]> = {
  orderNo: ['orderno', '订单号', '订单编号'],
  externalUserId: ['externaluserid', '客户id'],
  amount: ['amount', '金额', '订单金额'],
  orderedAt: ['orderedat', '下单时间'],
};

const normalize = (h: string) => h.trim().toLowerCase().replace(/[\s_-]/g, '');

/** Caps on one CSV import (docs/security.md §Order import limits). */
export interface CsvImportLimits {
  /** Data rows (the header not counted); one more is a 413 and nothing is imported. */
  maxRows: number;
  /** Bytes of the file; more is a 413. */
  maxBytes: number;
}

function columnsOf(header: CsvRecord): Record<keyof typeof HEADERS, number> {
  const names = header.fields.map(normalize);
  const index = {} as Record<keyof typeof HEADERS, number>;
  const missing: string[] = [];
  for (const [key, aliases] of Object.entries(HEADERS) as [keyof typeof HEADERS, string[]][]) {
    const at = names.findIndex((n) => aliases.includes(n));
    if (at < 0) missing.push(key);
    index[key] = at;
  }
  if (missing.length > 0) {
    throw new ValidationError(
      `CSV 表头缺少列：${missing.join(', ')}（需要 orderNo,externalUserId,amount,orderedAt 或 订单号,客户ID,金额,下单时间） / missing columns: ${missing.join(', ')}`,
      { missing },
      'invalid_csv_header',
    );
  }
  return index;
}

/** The 413 for a file with more data rows than `maxRows`. */
export function tooManyRowsError(maxRows: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `一次最多导入 ${maxRows} 行订单，本次超出上限，未导入任何订单；请拆分文件后分批导入 / more than ${maxRows} orders in one import: nothing was imported, split the file`,
    'too_many_rows',
    { maxRows },
  );
}

/** The 413 for a file larger than `maxBytes`. */
export function csvTooLargeError(maxBytes: number): PayloadTooLargeError {
  const mb = Math.round((maxBytes / (1024 * 1024)) * 10) / 10;
  return new PayloadTooLargeError(`CSV 文件超过 ${mb} MB 上限，未导入任何订单；请拆分文件后分批导入 / the CSV is larger than ${mb} MB: nothing was imported`, 'csv_too_large', { maxBytes });
}

/**
 * Order rows from a CSV read piece by piece (an HTTP body, a file stream): a header row
 * `orderNo,externalUserId,amount,orderedAt` (or 订单号,客户ID,金额,下单时间), columns in any order, extra columns ignored.
 * The whole file is refused (and nothing imported) for a missing column (400), text that is not UTF-8 (400), more
 * than `maxRows` data rows or more than `maxBytes` bytes (413); reading stops at the first of these, so an
 * oversized upload costs neither the memory nor the time of reading it all (docs/security.md §Order import limits).
 */
export async function readOrdersCsv(source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, limits: CsvImportLimits): Promise<RawOrderRow[]> {
  // Not fatal: bytes that are not UTF-8 become U+FFFD, and any U+FFFD refuses the file (GBK from Excel on Chinese Windows).
  const decoder = new TextDecoder('utf-8');
  const reader = new CsvReader();
  const rows: RawOrderRow[] = [];
  let index: Record<keyof typeof HEADERS, number> | null = null;
  let bytes = 0;
  const take = (text: string) => {
    if (text.includes('\uFFFD')) {
      throw new ValidationError('CSV 不是 UTF-8 编码，请在 Excel 中另存为“CSV UTF-8（逗号分隔）” / the CSV is not UTF-8', undefined, 'invalid_encoding');
    }
    addRecords(reader.push(text));
  };
  const addRecords = (records: CsvRecord[]) => {
    for (const r of records) {
      if (!index) {
        index = columnsOf(r);
        continue;
      }
      if (rows.length >= limits.maxRows) throw tooManyRowsError(limits.maxRows);
      rows.push({ line: r.line, orderNo: r.fields[index.orderNo], externalUserId: r.fields[index.externalUserId], amount: r.fields[index.amount], orderedAt: r.fields[index.orderedAt] });
    }
  };
  for await (const chunk of source) {
    if (typeof chunk === 'string') {
      bytes += Buffer.byteLength(chunk);
      if (bytes > limits.maxBytes) throw csvTooLargeError(limits.maxBytes);
      take(chunk);
      continue;
    }
    bytes += chunk.length;
    if (bytes > limits.maxBytes) throw csvTooLargeError(limits.maxBytes);
    take(decoder.decode(chunk, { stream: true }));
  }
  take(decoder.decode());
  addRecords(reader.end());
  if (!index) throw new ValidationError('CSV 为空 / the CSV is empty', undefined, 'invalid_csv_header');
  return rows;
}

/** `readOrdersCsv` over a whole text (tests, small inputs). */
export function parseOrdersCsv(text: string, limits: CsvImportLimits = { maxRows: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER }): Promise<RawOrderRow[]> {
  return readOrdersCsv([text], limits);
}
