import type { Expectation } from './audience-syntax.error.js';
import {
  ACTIVITIES,
  BIRTHDAY_WINDOWS,
  COMPARE_FIELDS,
  COMPARE_OPS,
  GENDERS,
  NPS_BANDS,
  TEXT_FIELDS,
  TICKET_STATES,
  RISK_LEVELS,
  type AudienceField,
  type AudiencePredicate,
  type CompareOp,
} from './audience.types.js';

/** Longest external_userid an `id:` term takes (the column is varchar(64)). */
export const MAX_ID_LENGTH = 64;
// One or more ids separated by commas; no blanks, so `id:a,b` and `id:"a,b"` are the same list.
const ID_LIST = new RegExp(`^[^,\\s]{1,${MAX_ID_LENGTH}}(,[^,\\s]{1,${MAX_ID_LENGTH}})*$`, 'u');

/** The customer ids an `id:` value names, in order, without repeats. */
export function audienceIds(value: string): string[] {
  return [...new Set(value.split(','))];
}

/** The operators a field accepts, and how to say so in an error. */
export function expectedOperator(field: AudienceField): { ops: readonly string[]; expectation: Expectation } {
  if (isCompareField(field)) {
    return {
      ops: COMPARE_OPS,
      expectation: { zh: '比较符 >=、<=、> 或 <', en: 'one of >=, <=, >, <' },
    };
  }
  return { ops: [':'], expectation: { zh: '":"', en: '":"' } };
}

/** What a field's value must look like, for error messages. */
export function expectedValue(field: AudienceField): Expectation {
  switch (field) {
    case 'activity':
      return { zh: 'active、dormant 或 churned', en: 'active, dormant or churned' };
    case 'birthday':
      return { zh: 'today、this-week、this-month 或 none', en: 'today, this-week, this-month or none' };
    case 'gender':
      return { zh: 'male、female 或 unknown', en: 'male, female or unknown' };
    case 'nps':
      return { zh: 'detractor、passive 或 promoter', en: 'detractor, passive or promoter' };
    case 'csat':
      return { zh: '1–5 的整数', en: 'an integer from 1 to 5' };
    case 'answered':
      return { zh: '问卷编号（正整数）', en: 'a survey id (a positive integer)' };
    case 'ticket':
      return { zh: 'open 或 overdue', en: 'open or overdue' };
    case 'risk':
      return { zh: 'high、medium 或 low', en: 'high, medium or low' };
    case 'added':
      return { zh: 'YYYY-MM-DD 格式的日期', en: 'a date as YYYY-MM-DD' };
    case 'silent':
    case 'due_in':
    case 'overdue':
      return { zh: '天数（如 30d）', en: 'a number of days such as 30d' };
    case 'orders':
    case 'points':
      return { zh: '非负整数', en: 'a non-negative integer' };
    case 'spent':
      return { zh: '金额（如 500 或 99.5）', en: 'an amount such as 500 or 99.5' };
    case 'id':
      return { zh: `客户 ID，多个用英文逗号分隔（不含空格，每个不超过 ${MAX_ID_LENGTH} 个字符）`, en: `customer ids separated by commas (no spaces, each at most ${MAX_ID_LENGTH} characters)` };
    default:
      return { zh: '非空的值', en: 'a non-empty value' };
  }
}

/**
 * Builds the predicate for a field, operator and raw value text, or returns null when
 * the value is malformed. The caller has already checked the operator.
 * Enumerated values and the `d` of durations are case-insensitive.
 */
export function buildPredicate(field: AudienceField, op: string, raw: string): AudiencePredicate | null {
  switch (field) {
    case 'activity':
    case 'birthday':
    case 'gender':
    case 'nps':
    case 'ticket':
    case 'risk': {
      const allowed: readonly string[] =
        field === 'activity'
          ? ACTIVITIES
          : field === 'birthday'
            ? BIRTHDAY_WINDOWS
            : field === 'nps'
              ? NPS_BANDS
              : field === 'ticket'
                ? TICKET_STATES
                : field === 'risk'
                  ? RISK_LEVELS
                  : GENDERS;
      const value = raw.toLowerCase();
      return allowed.includes(value) ? ({ type: 'pred', field, op: ':', value } as AudiencePredicate) : null;
    }
    case 'added':
      return isIsoDate(raw) ? { type: 'pred', field, op: op as CompareOp, value: raw } : null;
    case 'silent':
    case 'due_in':
    case 'overdue': {
      const match = /^(\d{1,5})d$/i.exec(raw);
      return match ? { type: 'pred', field, op: op as CompareOp, value: Number(match[1]) } : null;
    }
    case 'orders':
    case 'points':
      return /^\d{1,9}$/.test(raw) ? { type: 'pred', field, op: op as CompareOp, value: Number(raw) } : null;
    case 'csat':
      return /^[1-5]$/.test(raw) ? { type: 'pred', field, op: op as CompareOp, value: Number(raw) } : null;
    case 'answered':
      return /^[1-9]\d{0,8}$/.test(raw) ? { type: 'pred', field, op: ':', value: Number(raw) } : null;
    case 'spent':
      // Amounts are in yuan with at most fen precision; the bound keeps them exact doubles.
      return /^\d{1,12}(\.\d{1,2})?$/.test(raw)
        ? { type: 'pred', field, op: op as CompareOp, value: Number(raw) }
        : null;
    case 'id':
      return ID_LIST.test(raw) ? { type: 'pred', field, op: ':', value: raw } : null;
    default:
      return raw.length > 0 ? { type: 'pred', field, op: ':', value: raw } : null;
  }
}

/** Whether a field takes an ordering operator rather than `:`. */
export function isCompareField(field: AudienceField): field is (typeof COMPARE_FIELDS)[number] {
  return (COMPARE_FIELDS as readonly string[]).includes(field);
}

/** Whether a field takes free text (and so may need quoting when formatted). */
export function isTextField(field: AudienceField): field is (typeof TEXT_FIELDS)[number] {
  return (TEXT_FIELDS as readonly string[]).includes(field);
}

/** Whether text is a real calendar date written `YYYY-MM-DD`. */
export function isIsoDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** Days since 1970-01-01 for a `YYYY-MM-DD` date (proleptic Gregorian; no time zone involved). */
export function toDayNumber(iso: string): number {
  const [y, m, d] = iso.split('-').map(Number);
  // Howard Hinnant's days_from_civil: exact for any year, unlike Date.UTC's two-digit-year quirk.
  const year = m <= 2 ? y - 1 : y;
  const era = Math.floor(year / 400);
  const yoe = year - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
