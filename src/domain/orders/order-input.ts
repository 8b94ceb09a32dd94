import { parseLocalDate, zonedTimeToUtc } from '../../shared/dates.js';

/** One order as a file or request gave it, before validation. `line` is where it came from (CSV line, JSON position). */
export interface RawOrderRow {
  line: number;
  orderNo: unknown;
  externalUserId: unknown;
  amount: unknown;
  orderedAt: unknown;
}

/** A validated order row. Amounts are whole cents (分), instants UTC. */
export interface OrderRow {
  line: number;
  orderNo: string;
  externalUserId: string;
  amountCents: number;
  orderedAt: Date;
}

/** Why one row was refused. */
export interface OrderRowError {
  line: number;
  code: string;
  message: string;
}

/** Largest whole-yuan part accepted: 12 digits, as audience `spent>=` allows, keeps cents exact in a double. */
const MAX_YUAN_DIGITS = 12;
const AMOUNT_RE = new RegExp(`^(\\d{1,${MAX_YUAN_DIGITS}})(?:\\.(\\d{1,2}))?$`);
const GROUPED_RE = /^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;
// Date, optional wall time, optional offset (only after a time). Spreadsheets write 2026/3/1 9:05, so single digits pass.
const INSTANT_RE = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
// Excel turns long numeric ids into 2.02603E+15 when a CSV is saved through it; the digits are lost for good.
const SCIENTIFIC_RE = /^\d(?:\.\d+)?E\+\d+$/i;

/**
 * Exact yuan → cents: `199.90`, `"199.9"`, `"¥1,299.00"` become 19990, 19990, 129900.
 * Returns null for anything that is not a non-negative amount with at most two decimals.
 * Numbers go through their shortest decimal form (String(0.1) is "0.1"), so no binary fraction leaks in.
 */
export function parseAmountCents(value: unknown): number | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim().replace(/^[¥￥]\s*/, '');
    if (GROUPED_RE.test(text)) text = text.replace(/,/g, '');
  } else return null;
  const m = AMOUNT_RE.exec(text);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

/**
 * An order time as an instant. ISO-8601 with `Z` or an offset is taken as written; a wall time without one
 * ('2026-03-01 10:00', '2026-03-01T10:00:00', '2026/3/1 9:05', a bare date = midnight) is read in `tz`.
 * Returns null for malformed text and for dates or times that do not exist (2026-02-30, 24:00).
 */
export function parseOrderedAt(value: unknown, tz: string): Date | null {
  if (typeof value !== 'string') return null;
  const m = INSTANT_RE.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '00', s = '0', frac = '', offset] = m;
  const date = `${y}-${mo.padStart(2, '0')}-${d.padStart(2, '0')}`;
  try {
    parseLocalDate(date);
  } catch {
    return null;
  }
  const year = Number(y);
  if (year < 1970 || year > 2100 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  const extraMs = Number(s) * 1000 + Number(frac.slice(0, 3).padEnd(3, '0'));
  if (!offset) {
    // zonedTimeToUtc resolves whole minutes; offsets change on minute boundaries, so seconds add on safely.
    return new Date(zonedTimeToUtc(date, `${h.padStart(2, '0')}:${mi}`, tz).getTime() + extraMs);
  }
  let offsetMs = 0;
  if (offset.toUpperCase() !== 'Z') {
    const digits = offset.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 14 || om > 59) return null;
    offsetMs = (offset[0] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, Number(mo) - 1, Number(d));
  utc.setUTCHours(Number(h), Number(mi), 0, 0);
  return new Date(utc.getTime() + extraMs - offsetMs);
}

function idText(value: unknown): string | null {
  if (typeof value === 'string') return value.trim();
  // A JSON order number may arrive as a plain integer.
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return null;
}

/** Validate one raw row. Messages are zh-CN for operators; codes are stable for scripts. */
export function parseOrderRow(raw: RawOrderRow, tz: string): { ok: true; order: OrderRow } | { ok: false; error: OrderRowError } {
  const fail = (code: string, message: string) => ({ ok: false as const, error: { line: raw.line, code, message } });
  const orderNo = idText(raw.orderNo);
  if (!orderNo) return fail('missing_order_no', '缺少订单号 orderNo');
  if (orderNo.length > 64) return fail('invalid_order_no', `订单号超过 64 个字符：${orderNo.slice(0, 20)}…`);
  if (SCIENTIFIC_RE.test(orderNo)) return fail('invalid_order_no', `订单号 ${orderNo} 被表格软件转成了科学计数法，请将该列设为文本后重新导出`);
  const externalUserId = idText(raw.externalUserId);
  if (!externalUserId) return fail('missing_customer', '缺少客户ID externalUserId');
  if (externalUserId.length > 64) return fail('unknown_customer', `客户不存在：${externalUserId.slice(0, 20)}…`);
  if (raw.amount === undefined || raw.amount === null || raw.amount === '') return fail('missing_amount', '缺少金额 amount');
  const amountCents = parseAmountCents(raw.amount);
  if (amountCents === null) return fail('invalid_amount', `金额无效：${String(raw.amount).slice(0, 32)}（应为非负数，最多两位小数，如 199.90）`);
  if (raw.orderedAt === undefined || raw.orderedAt === null || raw.orderedAt === '') return fail('missing_ordered_at', '缺少下单时间 orderedAt');
  const orderedAt = parseOrderedAt(raw.orderedAt, tz);
  if (!orderedAt) {
    return fail('invalid_ordered_at', `下单时间无效：${String(raw.orderedAt).slice(0, 40)}（应为 ISO-8601 或 YYYY-MM-DD HH:mm[:ss] 的真实日期时间）`);
  }
  return { ok: true, order: { line: raw.line, orderNo, externalUserId, amountCents, orderedAt } };
}
