import { describe, expect, it } from 'vitest';
import { formatAudience } from '../../../../src/domain/audiences/audience.format.js';
import { parseAudience } from '../../../../src/domain/audiences/audience.parser.js';
import type { AudienceExpr, AudiencePredicate } from '../../../../src/domain/audiences/audience.types.js';
import { createExprGenerator } from './audience.generator.js';

const sut = formatAudience;

const tag = (value: string): AudiencePredicate => ({ type: 'pred', field: 'tag', op: ':', value });

describe(formatAudience.name, () => {
  it.each([
    'tag:VIP AND (tag:"北京 门店" OR tag:上海) AND NOT activity:churned',
    'owner:zhangsan AND added>=2026-01-01 AND silent>=30d AND birthday:this-month',
    'rfm:重要价值 OR stage:loyal',
    'all',
    'NOT (tag:a AND tag:b)',
    'NOT NOT tag:a',
    'tag:a OR tag:b AND tag:c',
    'spent<99.5 AND orders>=0',
  ])('reproduces the canonical text %s', (text) => {
    expect(sut(parseAudience(text))).toBe(text);
  });

  it('canonicalises keywords, spacing and redundant parentheses', () => {
    expect(sut(parseAudience('  ((tag:a)) or tag:b and not (tag:c)  '))).toBe('tag:a OR tag:b AND NOT tag:c');
    expect(sut(parseAudience('TAG:"VIP" AND Activity:Churned AND silent>=007D'))).toBe(
      'tag:VIP AND activity:churned AND silent>=7d',
    );
    expect(sut(parseAudience(''))).toBe('all');
  });

  it('quotes only the values that need it', () => {
    expect(sut(tag('上海'))).toBe('tag:上海');
    expect(sut(tag('组名/标签'))).toBe('tag:组名/标签');
    expect(sut(tag('北京 门店'))).toBe('tag:"北京 门店"');
    expect(sut(tag('a:b'))).toBe('tag:"a:b"');
    expect(sut(tag('(x)'))).toBe('tag:"(x)"');
    expect(sut(tag('or'))).toBe('tag:"or"');
    expect(sut(tag('say "hi"'))).toBe(String.raw`tag:"say \"hi\""`);
    expect(sut(tag('a\\b'))).toBe(String.raw`tag:"a\\b"`);
  });

  it('adds parentheses where precedence needs them', () => {
    const or: AudienceExpr = { type: 'or', items: [tag('a'), tag('b')] };
    expect(sut({ type: 'and', items: [or, tag('c')] })).toBe('(tag:a OR tag:b) AND tag:c');
    expect(sut({ type: 'not', item: or })).toBe('NOT (tag:a OR tag:b)');
    expect(sut({ type: 'or', items: [{ type: 'and', items: [tag('a'), tag('b')] }, tag('c')] })).toBe(
      'tag:a AND tag:b OR tag:c',
    );
  });

  it('normalises ASTs the parser would not produce', () => {
    expect(sut({ type: 'and', items: [] })).toBe('all');
    expect(sut({ type: 'or', items: [] })).toBe('NOT all');
    expect(sut({ type: 'and', items: [tag('a')] })).toBe('tag:a');
    expect(sut({ type: 'and', items: [tag('a'), { type: 'and', items: [tag('b'), tag('c')] }] })).toBe(
      'tag:a AND tag:b AND tag:c',
    );
    expect(sut({ type: 'not', item: { type: 'or', items: [tag('a')] } })).toBe('NOT tag:a');
  });

  it('rejects predicates the language cannot express', () => {
    const bad = [
      { type: 'pred', field: 'tag', op: ':', value: '' },
      { type: 'pred', field: 'orders', op: '>=', value: 1.5 },
      { type: 'pred', field: 'spent', op: '>=', value: Number.NaN },
      { type: 'pred', field: 'silent', op: '>=', value: -1 },
      { type: 'pred', field: 'added', op: '>=', value: '2026-02-30' },
      { type: 'pred', field: 'activity', op: ':', value: 'asleep' },
      { type: 'pred', field: 'tag', op: '>=', value: 'x' },
      { type: 'pred', field: 'city', op: ':', value: 'x' },
    ];
    for (const pred of bad) expect(() => sut(pred as AudienceExpr), JSON.stringify(pred)).toThrow(TypeError);
  });

  describe('round trip', () => {
    const generate = createExprGenerator(20260101);
    const cases = Array.from({ length: 500 }, generate);

    it('parses every formatted expression back to the same AST', () => {
      for (const expr of cases) {
        const text = sut(expr);
        expect(parseAudience(text), text).toEqual(expr);
      }
    });

    it('is a fixed point: formatting the parse of a formatted text changes nothing', () => {
      for (const expr of cases) {
        const text = sut(expr);
        expect(sut(parseAudience(text))).toBe(text);
      }
    });

    it('exercises quoting, nesting and every node type', () => {
      const texts = cases.map(sut).join('\n');
      expect(texts).toContain('\\"');
      expect(texts).toContain('NOT (');
      expect(texts).toMatch(/\) AND/);
      expect(texts).toMatch(/\ball\b/);
    });
  });
});
