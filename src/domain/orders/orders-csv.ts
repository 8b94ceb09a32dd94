import { ValidationError } from '../../shared/errors.js';
import type { RawOrderRow } from './order-input.js';

/** One CSV record and the physical line it starts on (1-based; the header is usually line 1). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * RFC 4180 records: comma-separated, `"` quotes fields that hold commas, quotes (doubled) or line breaks, CRLF or LF.
 * A leading UTF-8 BOM (Excel's "CSV UTF-8") is dropped. An unclosed quote is a 400 naming the line it opened on,
 * since everything after it would otherwise be swallowed into one field.
 */
export function parseCsv(text: string): CsvRecord[] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoteLine = 0;
  let inQuotes = false;
  const endRecord = () => {
    fields.push(field);
    // A blank line is one empty field: nothing to import, not an error.
    if (!(fields.length === 1 && fields[0].trim() === '')) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
  };
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (inQuotes) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field.trim() === '') {
      field = '';
      inQuotes = true;
      quoteLine = line;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && src[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else field += ch;
  }
  if (inQuotes) throw new ValidationError(`CSV 第 ${quoteLine} 行的引号没有闭合 / unclosed quote opened on line ${quoteLine}`, { line: quoteLine }, 'invalid_csv');
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}

/** Header names accepted for each column, compared after lower-casing and dropping spaces, `_` and `-`. */
const HEADERS: Record<keyof Omit<RawOrderRow, 'line'>, string[]> = {
  orderNo: ['orderno', '订单号', '订单编号'],
  externalUserId: ['externaluserid', '客户id'],
  amount: ['amount', '金额', '订单金额'],
  orderedAt: ['orderedat', '下单时间'],
};

const normalize = (h: string) => h.trim().toLowerCase().replace(/[\s_-]/g, '');

/**
 * Order rows from CSV text with a header row `orderNo,externalUserId,amount,orderedAt` (or 订单号,客户ID,金额,下单时间),
 * columns in any order, extra columns ignored. A missing column is a 400 for the whole file.
 */
export function parseOrdersCsv(text: string): RawOrderRow[] {
  // Text decoded from GBK (Excel's default "CSV" on Chinese Windows) as UTF-8 is full of U+FFFD; refuse it whole.
  if (text.includes('\uFFFD')) {
    throw new ValidationError('CSV 不是 UTF-8 编码，请在 Excel 中另存为“CSV UTF-8（逗号分隔）” / the CSV is not UTF-8', undefined, 'invalid_encoding');
  }
  const [header, ...records] = parseCsv(text);
  if (!header) throw new ValidationError('CSV 为空 / the CSV is empty', undefined, 'invalid_csv_header');
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
  return records.map((r) => ({
    line: r.line,
    orderNo: r.fields[index.orderNo],
    externalUserId: r.fields[index.externalUserId],
    amount: r.fields[index.amount],
    orderedAt: r.fields[index.orderedAt],
  }));
}
