import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AudienceSyntaxError } from '../../../../src/domain/audiences/audience-syntax.error.js';
import { MAX_AUDIENCE_DEPTH, parseAudience } from '../../../../src/domain/audiences/audience.parser.js';
import {
  AUDIENCE_FIELDS,
  type AudienceExpr,
  type AudiencePredicate,
} from '../../../../src/domain/audiences/audience.types.js';
import { ValidationError } from '../../../../src/shared/errors.js';

const sut = parseAudience;

const tag = (value: string): AudiencePredicate => ({ type: 'pred', field: 'tag', op: ':', value });

/** Parses and returns the thrown AudienceSyntaxError, failing the test if none is thrown. */
function syntaxError(text: string): AudienceSyntaxError {
  try {
    sut(text);
  } catch (err) {
    expect(err).toBeInstanceOf(AudienceSyntaxError);
    return err as AudienceSyntaxError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe(parseAudience.name, () => {
  describe('the contract examples', () => {
    it('parses tags, a quoted tag, a group and NOT', () => {
      expect(sut('tag:VIP AND (tag:"北京 门店" OR tag:上海) AND NOT activity:churned')).toEqual({
        type: 'and',
        items: [
          tag('VIP'),
          { type: 'or', items: [tag('北京 门店'), tag('上海')] },
          { type: 'not', item: { type: 'pred', field: 'activity', op: ':', value: 'churned' } },
        ],
      });
    });

    it('parses owner, dates, durations and birthdays', () => {
      expect(sut('owner:zhangsan AND added>=2026-01-01 AND silent>=30d AND birthday:this-month')).toEqual({
        type: 'and',
        items: [
          { type: 'pred', field: 'owner', op: ':', value: 'zhangsan' },
          { type: 'pred', field: 'added', op: '>=', value: '2026-01-01' },
          { type: 'pred', field: 'silent', op: '>=', value: 30 },
          { type: 'pred', field: 'birthday', op: ':', value: 'this-month' },
        ],
      });
    });

    it('parses Chinese bare values', () => {
      expect(sut('rfm:重要价值 OR stage:loyal')).toEqual({
        type: 'or',
        items: [
          { type: 'pred', field: 'rfm', op: ':', value: '重要价值' },
          { type: 'pred', field: 'stage', op: ':', value: 'loyal' },
        ],
      });
    });
  });

  describe('everyone', () => {
    it.each(['', '   ', '\n\t', 'all', 'ALL', ' All '])('reads %j as everyone', (text) => {
      expect(sut(text)).toEqual({ type: 'all' });
    });

    it('accepts all as an operand', () => {
      expect(sut('all AND NOT tag:x')).toEqual({ type: 'and', items: [{ type: 'all' }, { type: 'not', item: tag('x') }] });
    });
  });

  describe('precedence', () => {
    it('binds AND tighter than OR', () => {
      expect(sut('tag:a OR tag:b AND tag:c')).toEqual({
        type: 'or',
        items: [tag('a'), { type: 'and', items: [tag('b'), tag('c')] }],
      });
      expect(sut('tag:a AND tag:b OR tag:c')).toEqual({
        type: 'or',
        items: [{ type: 'and', items: [tag('a'), tag('b')] }, tag('c')],
      });
    });

    it('lets parentheses override precedence', () => {
      expect(sut('(tag:a OR tag:b) AND tag:c')).toEqual({
        type: 'and',
        items: [{ type: 'or', items: [tag('a'), tag('b')] }, tag('c')],
      });
    });

    it('binds NOT tighter than AND', () => {
      expect(sut('NOT tag:a AND tag:b')).toEqual({ type: 'and', items: [{ type: 'not', item: tag('a') }, tag('b')] });
    });

    it('negates a parenthesised group and stacks NOTs', () => {
      expect(sut('NOT (tag:a OR tag:b)')).toEqual({
        type: 'not',
        item: { type: 'or', items: [tag('a'), tag('b')] },
      });
      expect(sut('NOT NOT tag:a')).toEqual({ type: 'not', item: { type: 'not', item: tag('a') } });
    });

    it('flattens redundant groups of the same kind and unwraps single items', () => {
      expect(sut('(tag:a AND tag:b) AND (tag:c AND tag:d)')).toEqual({
        type: 'and',
        items: [tag('a'), tag('b'), tag('c'), tag('d')],
      });
      expect(sut('tag:a OR (tag:b OR tag:c)')).toEqual({ type: 'or', items: [tag('a'), tag('b'), tag('c')] });
      expect(sut('((tag:a))')).toEqual(tag('a'));
    });

    it('treats keywords case-insensitively', () => {
      expect(sut('tag:a or tag:b and not tag:c')).toEqual(sut('tag:a OR tag:b AND NOT tag:c'));
      expect(sut('tag:a Or tag:b AnD nOt tag:c')).toEqual(sut('tag:a OR tag:b AND NOT tag:c'));
    });

    it('needs no spaces around parentheses and tolerates extra whitespace', () => {
      expect(sut('(tag:a OR tag:b)AND(tag:c)')).toEqual(sut('(tag:a OR tag:b) AND tag:c'));
      expect(sut('  tag : a \n AND\u3000tag:b ')).toEqual({ type: 'and', items: [tag('a'), tag('b')] });
    });
  });

  describe('values', () => {
    it('keeps spaces and operators inside quotes', () => {
      expect(sut('tag:"北京 门店"')).toEqual(tag('北京 门店'));
      expect(sut('tag:"a AND b OR (c)"')).toEqual(tag('a AND b OR (c)'));
      expect(sut('tag:"x>=1:y"')).toEqual(tag('x>=1:y'));
    });

    it('unescapes \\" and \\\\ inside quotes', () => {
      expect(sut(String.raw`tag:"say \"hi\""`)).toEqual(tag('say "hi"'));
      expect(sut(String.raw`tag:"a\\b"`)).toEqual(tag('a\\b'));
    });

    it('accepts keywords as values only when quoted', () => {
      expect(sut('tag:"AND"')).toEqual(tag('AND'));
      expect(syntaxError('tag:AND').details).toMatchObject({ position: 5, found: 'AND' });
    });

    it('allows all, Chinese punctuation, emoji and group/name in bare values', () => {
      expect(sut('tag:all')).toEqual(tag('all'));
      expect(sut('tag:会员（金卡）')).toEqual(tag('会员（金卡）'));
      expect(sut('tag:🎉生日')).toEqual(tag('🎉生日'));
      expect(sut('tag:客户等级/VIP')).toEqual(tag('客户等级/VIP'));
    });

    it('accepts quoted values for typed fields', () => {
      expect(sut('added>="2026-01-01"')).toEqual({ type: 'pred', field: 'added', op: '>=', value: '2026-01-01' });
    });

    it('reads field names and enumerated values case-insensitively', () => {
      expect(sut('TAG:Vip')).toEqual(tag('Vip'));
      expect(sut('Activity:Churned')).toEqual({ type: 'pred', field: 'activity', op: ':', value: 'churned' });
      expect(sut('silent>=30D')).toEqual({ type: 'pred', field: 'silent', op: '>=', value: 30 });
    });
  });

  describe('predicates', () => {
    it.each<[string, AudienceExpr]>([
      ['tag:VIP', tag('VIP')],
      ['tag:"客户等级/金卡"', tag('客户等级/金卡')],
      ['owner:zhangsan', { type: 'pred', field: 'owner', op: ':', value: 'zhangsan' }],
      ['activity:active', { type: 'pred', field: 'activity', op: ':', value: 'active' }],
      ['activity:dormant', { type: 'pred', field: 'activity', op: ':', value: 'dormant' }],
      ['activity:churned', { type: 'pred', field: 'activity', op: ':', value: 'churned' }],
      ['stage:loyal', { type: 'pred', field: 'stage', op: ':', value: 'loyal' }],
      ['rfm:重要价值', { type: 'pred', field: 'rfm', op: ':', value: '重要价值' }],
      ['channel:门店海报', { type: 'pred', field: 'channel', op: ':', value: '门店海报' }],
      ['birthday:today', { type: 'pred', field: 'birthday', op: ':', value: 'today' }],
      ['birthday:this-week', { type: 'pred', field: 'birthday', op: ':', value: 'this-week' }],
      ['birthday:this-month', { type: 'pred', field: 'birthday', op: ':', value: 'this-month' }],
      ['birthday:none', { type: 'pred', field: 'birthday', op: ':', value: 'none' }],
      ['gender:male', { type: 'pred', field: 'gender', op: ':', value: 'male' }],
      ['gender:female', { type: 'pred', field: 'gender', op: ':', value: 'female' }],
      ['gender:unknown', { type: 'pred', field: 'gender', op: ':', value: 'unknown' }],
      ['added>=2026-01-01', { type: 'pred', field: 'added', op: '>=', value: '2026-01-01' }],
      ['added<=2024-02-29', { type: 'pred', field: 'added', op: '<=', value: '2024-02-29' }],
      ['added>2026-12-31', { type: 'pred', field: 'added', op: '>', value: '2026-12-31' }],
      ['added<2026-01-01', { type: 'pred', field: 'added', op: '<', value: '2026-01-01' }],
      ['silent>=30d', { type: 'pred', field: 'silent', op: '>=', value: 30 }],
      ['silent>7d', { type: 'pred', field: 'silent', op: '>', value: 7 }],
      ['silent<=0d', { type: 'pred', field: 'silent', op: '<=', value: 0 }],
      ['silent<90d', { type: 'pred', field: 'silent', op: '<', value: 90 }],
      ['orders>=3', { type: 'pred', field: 'orders', op: '>=', value: 3 }],
      ['orders<1', { type: 'pred', field: 'orders', op: '<', value: 1 }],
      ['spent>=500', { type: 'pred', field: 'spent', op: '>=', value: 500 }],
      ['spent<99.5', { type: 'pred', field: 'spent', op: '<', value: 99.5 }],
      ['due_in<=7d', { type: 'pred', field: 'due_in', op: '<=', value: 7 }],
      ['overdue>=14D', { type: 'pred', field: 'overdue', op: '>=', value: 14 }],
    ])('parses %s', (text, expected) => {
      expect(sut(text)).toEqual(expected);
    });

    it.each([
      ['id:wmA', 'wmA'],
      ['id:wmA,wmB,wm-c_9', 'wmA,wmB,wm-c_9'],
      ['id:"wmA,wmB"', 'wmA,wmB'],
      ['ID:wmA', 'wmA'],
    ])('parses the id list %s', (text, value) => {
      expect(sut(text)).toEqual({ type: 'pred', field: 'id', op: ':', value });
    });

    it.each(['id:"wmA, wmB"', 'id:wmA,', 'id:,wmA', 'id:wmA,,wmB', 'id:""', `id:${'x'.repeat(65)}`, 'id>=wmA'])('refuses the id list %s', (text) => {
      expect(() => sut(text)).toThrow(AudienceSyntaxError);
    });

    it('counts an id list as one condition however many ids it names', () => {
      const ids = Array.from({ length: 100 }, (_, i) => `wm${String(i).padStart(30, '0')}`);
      expect(sut(`id:${ids.join(',')}`)).toMatchObject({ field: 'id', value: ids.join(',') });
    });

    it('covers every field', () => {
      const seen = new Set<string>();
      const text =
        'tag:a AND owner:u AND activity:active AND stage:s AND rfm:r AND channel:c AND birthday:today' +
        ' AND gender:male AND added>=2026-01-01 AND silent>=1d AND orders>=1 AND spent>=1 AND points>=1000 AND tier:金卡' +
        ' AND nps:detractor AND csat<=2 AND answered:3 AND ticket:open AND risk:high AND due_in<=7d AND overdue>=14d AND group:wr1 AND ingroup:u AND id:wm1';
      for (const item of (sut(text) as { items: AudiencePredicate[] }).items) seen.add(item.field);
      expect([...seen]).toEqual([...AUDIENCE_FIELDS]);
    });
  });

  describe('errors', () => {
    it.each<[string, string, number, string | null]>([
      ['unclosed paren', '(tag:a OR tag:b', 16, null],
      ['unclosed paren before more input', '(tag:a OR tag:b tag:c', 17, 'tag'],
      ['dangling AND', 'tag:VIP AND', 12, null],
      ['dangling OR before )', '(tag:a OR) AND tag:b', 10, ')'],
      ['dangling NOT', 'tag:a AND NOT', 14, null],
      ['double keyword', 'tag:a AND OR tag:b', 11, 'OR'],
      ['unknown field', 'tag:a AND city:北京', 11, 'city'],
      ['bare word without field', 'VIP', 1, 'VIP'],
      ['quoted field', '"tag":a', 1, '"tag"'],
      ['wrong operator for a text field', 'tag>=VIP', 4, '>='],
      ['wrong operator for a date', 'added:2026-01-01', 6, ':'],
      ['missing value', 'tag: AND tag:b', 6, 'AND'],
      ['missing value at end', 'owner:', 7, null],
      ['bad date', 'added>=2026-13-01', 8, '2026-13-01'],
      ['impossible date', 'added>=2026-02-29', 8, '2026-02-29'],
      ['date without padding', 'added>=2026-1-1', 8, '2026-1-1'],
      ['duration without unit', 'silent>=30', 9, '30'],
      ['duration in weeks', 'silent>=4w', 9, '4w'],
      ['negative orders', 'orders>=-1', 9, '-1'],
      ['fractional orders', 'orders>=1.5', 9, '1.5'],
      ['too-precise amount', 'spent>=1.234', 8, '1.234'],
      ['unknown enum', 'activity:sleeping', 10, 'sleeping'],
      ['unknown birthday window', 'birthday:next-week', 10, 'next-week'],
      ['empty quoted value', 'tag:""', 5, '""'],
      ['unterminated quote', 'tag:VIP AND tag:"北京 门店', 17, null],
      ['unknown escape', String.raw`tag:"a\nb"`, 7, '\\n'],
      ['stray closing paren', 'tag:a) OR tag:b', 6, ')'],
      ['empty parens', '()', 2, ')'],
      ['implicit AND', 'tag:a tag:b', 7, 'tag'],
      ['unquoted colon in a value', 'tag:a:b', 6, ':'],
      ['full-width colon', 'tag：VIP', 4, '：'],
    ])('reports %s', (_name, text, position, found) => {
      const err = syntaxError(text);
      expect(err.details.position).toBe(position);
      expect(err.details.found).toBe(found);
      expect(err.message).toContain(`第 ${position} 个字符处应为`);
      expect(err.message).toContain(`at position ${position}`);
    });

    it('is a 400 invalid_audience ValidationError with Chinese first and English after', () => {
      const err = syntaxError('(tag:a OR tag:b');
      expect(err).toBeInstanceOf(ValidationError);
      expect(err).toMatchObject({ status: 400, code: 'invalid_audience', expose: true });
      expect(err.message).toBe('第 16 个字符处应为 ")"，实际为输入结尾（expected ")" at position 16, found end of input）');
      expect(err.details).toEqual({ position: 16, expected: '")"', found: null });
    });

    it('names the expected field list for an unknown field', () => {
      const err = syntaxError('foo:bar');
      expect(err.details.expected).toContain('tag, owner, activity');
      expect(err.message).toMatch(/^第 1 个字符处应为字段名/);
    });

    it('names the expected format of a value', () => {
      expect(syntaxError('added>=2026/01/01').details.expected).toBe('a date as YYYY-MM-DD');
      expect(syntaxError('silent>=thirty').details.expected).toBe('a number of days such as 30d');
    });

    it('points at the opening quote of an unterminated string', () => {
      expect(syntaxError('tag:"abc').details).toEqual({
        position: 5,
        expected: 'a closing " for the quote opened here',
        found: null,
      });
    });

    it('counts positions in characters, so Chinese and emoji count as one', () => {
      expect(syntaxError('tag:北京 AND').details.position).toBe(11);
      expect(syntaxError('tag:🎉🎉 AND').details.position).toBe(11);
    });

    it('reports the leftmost error first', () => {
      expect(syntaxError('foo:x AND tag:"unterminated').details.position).toBe(1);
    });

    it('limits nesting depth instead of overflowing the stack', () => {
      const deep = `${'('.repeat(MAX_AUDIENCE_DEPTH + 1)}tag:a${')'.repeat(MAX_AUDIENCE_DEPTH + 1)}`;
      expect(syntaxError(deep).details.position).toBe(MAX_AUDIENCE_DEPTH + 1);
      expect(syntaxError(`${'NOT '.repeat(10_000)}tag:a`)).toBeInstanceOf(AudienceSyntaxError);
      const ok = `${'('.repeat(MAX_AUDIENCE_DEPTH)}tag:a${')'.repeat(MAX_AUDIENCE_DEPTH)}`;
      expect(sut(ok)).toEqual(tag('a'));
    });

    it('limits the length of the expression', () => {
      expect(syntaxError(`tag:${'a'.repeat(5000)}`).details.position).toBe(4001);
    });
  });

  describe('injection safety', () => {
    const hostile = [
      `tag:"x'; DROP TABLE customers; --"`,
      `owner:"1' OR '1'='1"`,
      `tag:x';DELETE`,
      `channel:"\\" OR 1=1 --"`,
      `stage:"); SELECT * FROM users; --"`,
    ];

    it.each(hostile)('yields %s as a plain value, verbatim', (text) => {
      const expr = sut(text) as AudiencePredicate;
      expect(expr.type).toBe('pred');
      expect(Object.keys(expr).sort()).toEqual(['field', 'op', 'type', 'value']);
      expect(typeof expr.value).toBe('string');
    });

    it('keeps SQL-looking text as data, never as structure', () => {
      expect(sut(`tag:"x'; DROP TABLE customers; --"`)).toEqual(tag("x'; DROP TABLE customers; --"));
      expect(sut(`owner:"1' OR '1'='1"`)).toEqual({ type: 'pred', field: 'owner', op: ':', value: "1' OR '1'='1" });
      expect(() => sut(`tag:a) OR 1=1 --`)).toThrow(AudienceSyntaxError);
      expect(() => sut(`tag:a; DROP TABLE customers`)).toThrow(AudienceSyntaxError);
    });

    it('only ever yields whitelisted fields and operators, and plain JSON data', () => {
      const walk = (expr: AudienceExpr): void => {
        if (expr.type === 'and' || expr.type === 'or') expr.items.forEach(walk);
        else if (expr.type === 'not') walk(expr.item);
        else if (expr.type === 'pred') {
          expect(AUDIENCE_FIELDS).toContain(expr.field);
          expect([':', '>=', '<=', '>', '<']).toContain(expr.op);
          expect(['string', 'number']).toContain(typeof expr.value);
        }
      };
      for (const text of hostile) {
        const expr = sut(`${text} AND NOT (${text} OR tag:a)`);
        walk(expr);
        expect(JSON.parse(JSON.stringify(expr))).toEqual(expr);
      }
    });

    it('contains no SQL in the audience language sources', () => {
      for (const file of ['audience.parser.ts', 'audience.format.ts', 'audience.matcher.ts', 'audience.values.ts']) {
        const source = readFileSync(new URL(`../../../../src/domain/audiences/${file}`, import.meta.url), 'utf8');
        expect(source, file).not.toMatch(/\b(SELECT|INSERT|UPDATE|DELETE|WHERE|FROM)\b/);
        expect(source, file).not.toMatch(/from '(typeorm|mysql2|better-sqlite3)'/);
      }
    });
  });
});
