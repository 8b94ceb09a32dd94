// The audience language parsed in the browser, so the audience builder can show a typed or pasted expression as rows
// without a round trip. It mirrors the server's parser (src/domain/audiences/audience.parser.ts, docs/audiences.md
// §The language) token for token: the same tree, the same refusals at the same position. The server stays the judge
// (its count answers the syntax error shown under the box); test/console/audience-parse.test.ts checks the two agree.

export const AUDIENCE_FIELDS = ['tag', 'owner', 'activity', 'stage', 'rfm', 'channel', 'birthday', 'gender', 'added', 'silent', 'orders', 'spent', 'points', 'tier', 'nps', 'csat', 'answered', 'ticket', 'risk', 'due_in', 'overdue', 'group', 'ingroup', 'id'] as const;
export type AudienceField = (typeof AUDIENCE_FIELDS)[number];
export const COMPARE_FIELDS = ['added', 'silent', 'orders', 'spent', 'points', 'csat', 'due_in', 'overdue'] as const;
export const COMPARE_OPS = ['>=', '<=', '>', '<'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];
export const ACTIVITIES = ['active', 'dormant', 'churned'] as const;
export const BIRTHDAY_WINDOWS = ['today', 'this-week', 'this-month', 'none'] as const;
export const GENDERS = ['male', 'female', 'unknown'] as const;
export const NPS_BANDS = ['detractor', 'passive', 'promoter'] as const;
export const TICKET_STATES = ['open', 'overdue'] as const;
export const RISK_LEVELS = ['high', 'medium', 'low'] as const;
const TEXT_FIELDS = ['tag', 'owner', 'stage', 'rfm', 'channel', 'tier', 'group', 'ingroup'] as const;

export const MAX_AUDIENCE_LENGTH = 4000;
export const MAX_AUDIENCE_DEPTH = 64;
export const MAX_AUDIENCE_TERMS = 50;
const MAX_ID_LENGTH = 64;

/** One condition: the value is a string, except the numbers of `silent`, `orders` and `spent`. */
export interface AudiencePredicate {
  type: 'pred';
  field: AudienceField;
  op: ':' | CompareOp;
  value: string | number;
}
export type AudienceExpr = { type: 'all' } | { type: 'not'; item: AudienceExpr } | { type: 'and' | 'or'; items: AudienceExpr[] } | AudiencePredicate;

/** Where and why a text does not parse: the server's `details` of `invalid_audience`. */
export class AudienceParseError extends Error {
  constructor(
    /** 1-based column, in characters (code points). */
    readonly position: number,
    /** What was expected, in Chinese. */
    readonly expectedZh: string,
    /** What was expected, in English (the server's `details.expected`). */
    readonly expected: string,
    readonly found: string | null,
  ) {
    super(`第 ${position} 个字符处应为${expectedZh}`);
  }
}

interface Expectation {
  zh: string;
  en: string;
}
type TokenKind = 'lparen' | 'rparen' | 'op' | 'word' | 'string' | 'eof';
interface Token {
  kind: TokenKind;
  start: number;
  raw: string;
  value: string;
}

const WHITESPACE = /\s/u;
const DELIMITERS = new Set(['(', ')', '"', ':', '<', '>', '=']);
const KEYWORDS = new Set(['AND', 'OR', 'NOT']);
const ID_LIST = new RegExp(`^[^,\\s]{1,${MAX_ID_LENGTH}}(,[^,\\s]{1,${MAX_ID_LENGTH}})*$`, 'u');

const EXPECT_CONDITION: Expectation = { zh: '条件（如 tag:VIP、NOT、"(" 或 all）', en: 'a condition (such as tag:VIP, NOT, "(" or all)' };
const EXPECT_FIELD: Expectation = { zh: `字段名（${AUDIENCE_FIELDS.join('、')}）`, en: `a field name (${AUDIENCE_FIELDS.join(', ')})` };
const EXPECT_CONTINUATION: Expectation = { zh: 'AND、OR 或表达式结尾', en: 'AND, OR or end of input' };
const EXPECT_CLOSE: Expectation = { zh: '")"', en: '")"' };

/** Parses an expression; blank text or `all` is everyone. Throws AudienceParseError where the server's parser would. */
export function parseAudience(text: string): AudienceExpr {
  if (text.length > MAX_AUDIENCE_LENGTH) {
    throw new AudienceParseError(column(text, MAX_AUDIENCE_LENGTH), `不超过 ${MAX_AUDIENCE_LENGTH} 个字符的表达式`, `at most ${MAX_AUDIENCE_LENGTH} characters`, text.slice(MAX_AUDIENCE_LENGTH));
  }
  if (text.trim() === '') return { type: 'all' };
  return new Parser(text).parseAll();
}

export const isCompareField = (f: AudienceField): boolean => (COMPARE_FIELDS as readonly string[]).includes(f);
const isTextField = (f: AudienceField): boolean => (TEXT_FIELDS as readonly string[]).includes(f);
const isField = (name: string): name is AudienceField => (AUDIENCE_FIELDS as readonly string[]).includes(name);

function expectedOperator(field: AudienceField): { ops: readonly string[]; expectation: Expectation } {
  if (isCompareField(field)) return { ops: COMPARE_OPS, expectation: { zh: '比较符 >=、<=、> 或 <', en: 'one of >=, <=, >, <' } };
  return { ops: [':'], expectation: { zh: '":"', en: '":"' } };
}

function expectedValue(field: AudienceField): Expectation {
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

/** The predicate for a field, operator and raw value, or null when the value is malformed (the server's buildPredicate). */
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
      return allowed.includes(value) ? { type: 'pred', field, op: ':', value } : null;
    }
    case 'added':
      return isIsoDate(raw) ? { type: 'pred', field, op: op as CompareOp, value: raw } : null;
    case 'silent':
    case 'due_in':
    case 'overdue': {
      const m = /^(\d{1,5})d$/i.exec(raw);
      return m ? { type: 'pred', field, op: op as CompareOp, value: Number(m[1]) } : null;
    }
    case 'orders':
    case 'points':
      return /^\d{1,9}$/.test(raw) ? { type: 'pred', field, op: op as CompareOp, value: Number(raw) } : null;
    case 'csat':
      return /^[1-5]$/.test(raw) ? { type: 'pred', field, op: op as CompareOp, value: Number(raw) } : null;
    case 'answered':
      return /^[1-9]\d{0,8}$/.test(raw) ? { type: 'pred', field, op: ':', value: Number(raw) } : null;
    case 'spent':
      return /^\d{1,12}(\.\d{1,2})?$/.test(raw) ? { type: 'pred', field, op: op as CompareOp, value: Number(raw) } : null;
    case 'id':
      return ID_LIST.test(raw) ? { type: 'pred', field, op: ':', value: raw } : null;
    default:
      return raw.length > 0 ? { type: 'pred', field, op: ':', value: raw } : null;
  }
}

/** Whether text is a real calendar date written `YYYY-MM-DD`. */
export function isIsoDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const days = mo === 2 ? ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28) : [4, 6, 9, 11].includes(mo) ? 30 : 31;
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days;
}

/** A value as the parser reads it back: bare when it can be, else quoted with `"` and `\` escaped. */
export function formatValue(field: AudienceField, raw: string): string {
  if (!isTextField(field) && field !== 'id') return raw;
  const isBare = /^[^\s()":<>=\\]+$/u.test(raw) && !/^(and|or|not)$/i.test(raw);
  return isBare ? raw : `"${raw.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Fields whose value is a number of days written with `d`. */
export const isDaysField = (field: AudienceField): boolean => field === 'silent' || field === 'due_in' || field === 'overdue';

/** The text of one predicate (`silent`, `due_in` and `overdue` take their `d`). */
export function formatPredicate(p: AudiencePredicate): string {
  const raw = isDaysField(p.field) ? `${p.value}d` : String(p.value);
  return `${p.field}${p.op}${formatValue(p.field, raw)}`;
}

class Parser {
  private pos = 0;
  private lookahead: Token | null = null;
  private depth = 0;
  private terms = 0;

  constructor(private readonly text: string) {}

  parseAll(): AudienceExpr {
    const expr = this.parseOr();
    const next = this.peek();
    if (next.kind !== 'eof') this.fail(next, EXPECT_CONTINUATION);
    return expr;
  }

  private parseOr(): AudienceExpr {
    const items = [this.parseAnd()];
    while (this.isKeyword(this.peek(), 'OR')) {
      this.next();
      items.push(this.parseAnd());
    }
    return junction('or', items);
  }

  private parseAnd(): AudienceExpr {
    const items = [this.parseUnary()];
    while (this.isKeyword(this.peek(), 'AND')) {
      this.next();
      items.push(this.parseUnary());
    }
    return junction('and', items);
  }

  private parseUnary(): AudienceExpr {
    const token = this.peek();
    if (this.isKeyword(token, 'NOT')) {
      this.next();
      return this.nested(token, () => ({ type: 'not', item: this.parseUnary() }));
    }
    return this.parsePrimary();
  }

  private parsePrimary(): AudienceExpr {
    const token = this.peek();
    if (token.kind === 'lparen') {
      this.next();
      const inner = this.nested(token, () => this.parseOr());
      const close = this.peek();
      if (close.kind !== 'rparen') this.fail(close, close.kind === 'eof' ? EXPECT_CLOSE : { zh: 'AND、OR 或 ")"', en: 'AND, OR or ")"' });
      this.next();
      return inner;
    }
    if (token.kind === 'word' && !this.isKeyword(token)) this.countTerm(token);
    if (token.kind === 'word' && token.value.toLowerCase() === 'all') {
      this.next();
      return { type: 'all' };
    }
    if (token.kind === 'word' && !this.isKeyword(token)) return this.parsePredicate();
    if (token.kind === 'string') this.fail(token, EXPECT_FIELD);
    return this.fail(token, EXPECT_CONDITION);
  }

  private parsePredicate(): AudienceExpr {
    const fieldToken = this.next();
    const field = fieldToken.value.toLowerCase();
    if (!isField(field)) this.failUnknownField(fieldToken);
    const f = field as AudienceField;
    const { ops, expectation } = expectedOperator(f);
    const opToken = this.peek();
    if (opToken.kind !== 'op' || !ops.includes(opToken.value)) this.fail(opToken, expectation);
    this.next();
    const valueToken = this.peek();
    if (valueToken.kind === 'word' && this.isKeyword(valueToken)) {
      this.fail(valueToken, {
        zh: `${expectedValue(f).zh}（关键字作值时需加引号，如 "${valueToken.value}"）`,
        en: `${expectedValue(f).en} (quote keywords used as values, as in "${valueToken.value}")`,
      });
    }
    if (valueToken.kind !== 'word' && valueToken.kind !== 'string') this.fail(valueToken, expectedValue(f));
    this.next();
    const predicate = buildPredicate(f, opToken.value, valueToken.value);
    if (!predicate) return this.fail(valueToken, expectedValue(f));
    return predicate;
  }

  private failUnknownField(token: Token): never {
    // A full-width colon from a Chinese input method: point at it rather than at the word.
    const fullWidth = token.value.indexOf('：');
    if (fullWidth > 0 && isField(token.value.slice(0, fullWidth).toLowerCase())) {
      throw new AudienceParseError(column(this.text, token.start + fullWidth), '半角冒号 ":"', 'an ASCII colon ":"', '：');
    }
    return this.fail(token, EXPECT_FIELD);
  }

  private countTerm(token: Token): void {
    if (++this.terms > MAX_AUDIENCE_TERMS) {
      this.fail(token, { zh: `表达式结尾（最多 ${MAX_AUDIENCE_TERMS} 个条件，请缩小人群条件）`, en: `end of input (at most ${MAX_AUDIENCE_TERMS} conditions)` });
    }
  }

  private nested<T>(opener: Token, parse: () => T): T {
    if (++this.depth > MAX_AUDIENCE_DEPTH) this.fail(opener, { zh: `不超过 ${MAX_AUDIENCE_DEPTH} 层的嵌套`, en: `at most ${MAX_AUDIENCE_DEPTH} levels of nesting` });
    const result = parse();
    this.depth--;
    return result;
  }

  private isKeyword(token: Token, keyword?: string): boolean {
    if (token.kind !== 'word') return false;
    const upper = token.value.toUpperCase();
    return keyword === undefined ? KEYWORDS.has(upper) : upper === keyword;
  }

  private fail(token: Token, expected: Expectation): never {
    throw new AudienceParseError(column(this.text, token.start), expected.zh, expected.en, token.kind === 'eof' ? null : token.raw);
  }

  private peek(): Token {
    this.lookahead ??= this.scan();
    return this.lookahead;
  }

  private next(): Token {
    const token = this.peek();
    this.lookahead = null;
    return token;
  }

  private scan(): Token {
    const { text } = this;
    while (this.pos < text.length && WHITESPACE.test(text[this.pos])) this.pos++;
    const start = this.pos;
    if (start >= text.length) return { kind: 'eof', start, raw: '', value: '' };
    const ch = text[start];
    if (ch === '(' || ch === ')') {
      this.pos++;
      return { kind: ch === '(' ? 'lparen' : 'rparen', start, raw: ch, value: ch };
    }
    if (ch === '"') return this.scanString(start);
    if (ch === ':' || ch === '=') {
      this.pos++;
      return { kind: 'op', start, raw: ch, value: ch };
    }
    if (ch === '<' || ch === '>') {
      this.pos += text[start + 1] === '=' ? 2 : 1;
      const raw = text.slice(start, this.pos);
      return { kind: 'op', start, raw, value: raw };
    }
    while (this.pos < text.length && !WHITESPACE.test(text[this.pos]) && !DELIMITERS.has(text[this.pos])) this.pos++;
    const raw = text.slice(start, this.pos);
    return { kind: 'word', start, raw, value: raw };
  }

  private scanString(start: number): Token {
    const { text } = this;
    let value = '';
    let i = start + 1;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '"') {
        this.pos = i + 1;
        return { kind: 'string', start, raw: text.slice(start, this.pos), value };
      }
      if (ch === '\\') {
        const escaped = text[i + 1];
        if (escaped !== '"' && escaped !== '\\') throw new AudienceParseError(column(text, i), '转义 \\" 或 \\\\', 'an escape \\" or \\\\', escaped === undefined ? null : text.slice(i, i + 2));
        value += escaped;
        i += 2;
        continue;
      }
      value += ch;
      i++;
    }
    throw new AudienceParseError(column(text, start), '与此处引号配对的 "', 'a closing " for the quote opened here', null);
  }
}

function junction(type: 'and' | 'or', items: AudienceExpr[]): AudienceExpr {
  if (items.length === 1) return items[0];
  return { type, items: items.flatMap((item) => (item.type === type ? item.items : [item])) };
}

/** 1-based column of a UTF-16 index, counting code points. */
function column(text: string, index: number): number {
  let count = 1;
  for (const _ of text.slice(0, index)) count++;
  return count;
}

/** The UTF-16 index of a 1-based code-point column (to place a caret under the box). */
export function indexOfColumn(text: string, position: number): number {
  let i = 0;
  let col = 1;
  for (const ch of text) {
    if (col >= position) break;
    i += ch.length;
    col++;
  }
  return i;
}
