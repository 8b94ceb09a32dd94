import { AudienceSyntaxError, type Expectation } from './audience-syntax.error.js';
import { AUDIENCE_FIELDS, type AudienceExpr, type AudienceField } from './audience.types.js';
import { buildPredicate, expectedOperator, expectedValue } from './audience.values.js';

/** Longest expression accepted, in UTF-16 units; a broadcast audience is a line, not a document. */
export const MAX_AUDIENCE_LENGTH = 4000;
/** Deepest nesting of parentheses and NOTs, so hostile input cannot exhaust the stack. */
export const MAX_AUDIENCE_DEPTH = 64;
/**
 * Most conditions (predicates and `all`) in one expression. Every condition costs work per customer in SQL, and
 * a staff member may ask for any audience: 330 OR'd terms once froze the bot (docs/security.md §Audience queries).
 * Real segments use a handful; 50 leaves room for long lists of tags or owners.
 */
export const MAX_AUDIENCE_TERMS = 50;

/**
 * Parses an audience expression into its AST. `all` or blank text means everyone.
 * Grammar: `or := and (OR and)*`, `and := unary (AND unary)*`, `unary := NOT unary | primary`,
 * `primary := "(" or ")" | all | field op value`. Keywords are case-insensitive.
 * Throws AudienceSyntaxError naming the 1-based position and what was expected.
 */
export function parseAudience(text: string): AudienceExpr {
  if (text.length > MAX_AUDIENCE_LENGTH) {
    throw new AudienceSyntaxError(
      column(text, MAX_AUDIENCE_LENGTH),
      { zh: `不超过 ${MAX_AUDIENCE_LENGTH} 个字符的表达式`, en: `at most ${MAX_AUDIENCE_LENGTH} characters` },
      text.slice(MAX_AUDIENCE_LENGTH),
    );
  }
  if (text.trim() === '') return { type: 'all' };
  return new Parser(text).parseAll();
}

type TokenKind = 'lparen' | 'rparen' | 'op' | 'word' | 'string' | 'eof';

interface Token {
  kind: TokenKind;
  /** UTF-16 index of the first character. */
  start: number;
  /** The source text of the token, quotes included. */
  raw: string;
  /** For words and strings: the value, with quotes and escapes removed. */
  value: string;
}

const WHITESPACE = /\s/u;
// Characters that end a bare word. Anything else, Chinese included, may appear unquoted.
const DELIMITERS = new Set(['(', ')', '"', ':', '<', '>', '=']);
const KEYWORDS = new Set(['AND', 'OR', 'NOT']);

const EXPECT_CONDITION: Expectation = {
  zh: '条件（如 tag:VIP、NOT、"(" 或 all）',
  en: 'a condition (such as tag:VIP, NOT, "(" or all)',
};
const EXPECT_FIELD: Expectation = {
  zh: `字段名（${AUDIENCE_FIELDS.join('、')}）`,
  en: `a field name (${AUDIENCE_FIELDS.join(', ')})`,
};
const EXPECT_CONTINUATION: Expectation = { zh: 'AND、OR 或表达式结尾', en: 'AND, OR or end of input' };
const EXPECT_CLOSE: Expectation = { zh: '")"', en: '")"' };

/** Recursive-descent parser over a lazily scanned token stream, so the leftmost error wins. */
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
      if (close.kind !== 'rparen') {
        this.fail(close, close.kind === 'eof' ? EXPECT_CLOSE : { zh: 'AND、OR 或 ")"', en: 'AND, OR or ")"' });
      }
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

    const { ops, expectation } = expectedOperator(field);
    const opToken = this.peek();
    if (opToken.kind !== 'op' || !ops.includes(opToken.value)) this.fail(opToken, expectation);
    this.next();

    const valueToken = this.peek();
    if (valueToken.kind === 'word' && this.isKeyword(valueToken)) {
      this.fail(valueToken, {
        zh: `${expectedValue(field).zh}（关键字作值时需加引号，如 "${valueToken.value}"）`,
        en: `${expectedValue(field).en} (quote keywords used as values, as in "${valueToken.value}")`,
      });
    }
    if (valueToken.kind !== 'word' && valueToken.kind !== 'string') this.fail(valueToken, expectedValue(field));
    this.next();

    const predicate = buildPredicate(field, opToken.value, valueToken.value);
    if (!predicate) return this.fail(valueToken, expectedValue(field));
    return predicate;
  }

  private failUnknownField(token: Token): never {
    // Chinese input methods often type a full-width colon; point at it rather than at the word.
    const fullWidth = token.value.indexOf('：');
    if (fullWidth > 0 && isField(token.value.slice(0, fullWidth).toLowerCase())) {
      throw new AudienceSyntaxError(
        column(this.text, token.start + fullWidth),
        { zh: '半角冒号 ":"', en: 'an ASCII colon ":"' },
        '：',
      );
    }
    return this.fail(token, EXPECT_FIELD);
  }

  private countTerm(token: Token): void {
    if (++this.terms > MAX_AUDIENCE_TERMS) {
      this.fail(token, {
        zh: `表达式结尾（最多 ${MAX_AUDIENCE_TERMS} 个条件，请缩小人群条件）`,
        en: `end of input (at most ${MAX_AUDIENCE_TERMS} conditions)`,
      });
    }
  }

  private nested<T>(opener: Token, parse: () => T): T {
    if (++this.depth > MAX_AUDIENCE_DEPTH) {
      this.fail(opener, {
        zh: `不超过 ${MAX_AUDIENCE_DEPTH} 层的嵌套`,
        en: `at most ${MAX_AUDIENCE_DEPTH} levels of nesting`,
      });
    }
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
    throw new AudienceSyntaxError(column(this.text, token.start), expected, token.kind === 'eof' ? null : token.raw);
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

  /** A "…" string; inside it `\"` is a quote and `\\` a backslash, and nothing else is special. */
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
        if (escaped !== '"' && escaped !== '\\') {
          throw new AudienceSyntaxError(
            column(text, i),
            { zh: '转义 \\" 或 \\\\', en: 'an escape \\" or \\\\' },
            escaped === undefined ? null : text.slice(i, i + 2),
          );
        }
        value += escaped;
        i += 2;
        continue;
      }
      value += ch;
      i++;
    }
    throw new AudienceSyntaxError(
      column(text, start),
      { zh: '与此处引号配对的 "', en: 'a closing " for the quote opened here' },
      null,
    );
  }
}

function junction(type: 'and' | 'or', items: AudienceExpr[]): AudienceExpr {
  if (items.length === 1) return items[0];
  // A parenthesised group of the same kind adds nothing: `(a AND b) AND c` is `a AND b AND c`.
  return { type, items: items.flatMap((item) => (item.type === type ? item.items : [item])) };
}

function isField(name: string): name is AudienceField {
  return (AUDIENCE_FIELDS as readonly string[]).includes(name);
}

/** 1-based column of a UTF-16 index, counting code points so an emoji is one character. */
function column(text: string, index: number): number {
  let count = 1;
  for (const _ of text.slice(0, index)) count++;
  return count;
}
