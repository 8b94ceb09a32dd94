import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromExpr, normalizeModel, readExpression, toExpression, type BuilderItem, type BuilderModel, type ConditionRow } from '../../src/web/console/lib/audience-builder';
import { parseAudience } from '../../src/web/console/lib/audience-parse';
import { parseAudience as serverParse } from '../../src/domain/audiences/audience.parser';

const join = fc.constantFrom('and' as const, 'or' as const);
const op = fc.constantFrom('>=' as const, '<=' as const, '>' as const, '<' as const);
// Values as an operator may leave them: hostile text, keywords, case, leading zeros, empty (an incomplete row).
const text = fc.oneof(
  fc.constantFrom('VIP', '等级/VIP', '北京 门店', 'AND', 'or', 'all', 'say "hi"', 'back\\slash', '(x)', 'a:b', ' ', '🎉', ''),
  fc.string({ minLength: 0, maxLength: 8 }),
);
const row: fc.Arbitrary<ConditionRow> = fc.oneof(
  fc.tuple(fc.constantFrom('tag' as const, 'owner' as const, 'stage' as const, 'rfm' as const, 'channel' as const), text, fc.boolean()).map(([field, value, negate]) => ({ kind: 'row' as const, field, op: ':' as const, value, negate })),
  fc.tuple(fc.constantFrom('active', 'DORMANT', 'churned', 'nope', ''), fc.boolean()).map(([value, negate]) => ({ kind: 'row' as const, field: 'activity' as const, op: ':' as const, value, negate })),
  fc.tuple(fc.constantFrom('today', 'this-week', 'this-month', 'none'), fc.boolean()).map(([value, negate]) => ({ kind: 'row' as const, field: 'birthday' as const, op: ':' as const, value, negate })),
  fc.tuple(fc.constantFrom('male', 'female', 'unknown'), fc.boolean()).map(([value, negate]) => ({ kind: 'row' as const, field: 'gender' as const, op: ':' as const, value, negate })),
  fc.tuple(op, fc.constantFrom('2026-01-31', '2025-02-29', '2024-02-29', ''), fc.boolean()).map(([o, value, negate]) => ({ kind: 'row' as const, field: 'added' as const, op: o, value, negate })),
  fc.tuple(fc.constantFrom('silent' as const, 'orders' as const), op, fc.constantFrom('0', '7', '030', '1.5', ''), fc.boolean()).map(([field, o, value, negate]) => ({ kind: 'row' as const, field, op: o, value, negate })),
  fc.tuple(op, fc.constantFrom('0', '99.5', '100.00', '1.234', ''), fc.boolean()).map(([o, value, negate]) => ({ kind: 'row' as const, field: 'spent' as const, op: o, value, negate })),
  fc.tuple(fc.constantFrom('wmA', 'wmA,wmB', 'wm"x', 'wm a', ''), fc.boolean()).map(([value, negate]) => ({ kind: 'row' as const, field: 'id' as const, op: ':' as const, value, negate })),
);
const item: fc.Arbitrary<BuilderItem> = fc.oneof(
  { weight: 3, arbitrary: row },
  { weight: 1, arbitrary: fc.tuple(join, fc.boolean(), fc.array(row, { minLength: 0, maxLength: 4 })).map(([j, negate, rows]) => ({ kind: 'group' as const, join: j, negate, rows })) },
);
const model: fc.Arbitrary<BuilderModel> = fc.tuple(join, fc.array(item, { maxLength: 5 })).map(([j, items]) => ({ join: j, items }));

describe('the audience builder: rows ⇄ expression', () => {
  it('rows → expression → rows gives the rows back (as the expression keeps them), and the server reads the same tree', () => {
    fc.assert(
      fc.property(model, (m) => {
        const text = toExpression(m);
        const reading = readExpression(text, m.join);
        expect(reading, text).toEqual({ kind: 'rows', model: normalizeModel(m) });
        expect(parseAudience(text)).toEqual(serverParse(text));
        // And the kept rows mean the same expression.
        expect(parseAudience(toExpression(normalizeModel(m)))).toEqual(parseAudience(text));
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('writes 全部满足 / 任一满足, 排除 and one level of groups', () => {
    const m: BuilderModel = {
      join: 'and',
      items: [
        { kind: 'row', field: 'tag', op: ':', value: '等级/VIP', negate: false },
        { kind: 'group', join: 'or', negate: false, rows: [{ kind: 'row', field: 'tag', op: ':', value: '北京 门店', negate: false }, { kind: 'row', field: 'owner', op: ':', value: 'zhangsan', negate: false }] },
        { kind: 'row', field: 'activity', op: ':', value: 'churned', negate: true },
        { kind: 'row', field: 'silent', op: '>=', value: '30', negate: false },
      ],
    };
    expect(toExpression(m)).toBe('tag:等级/VIP AND (tag:"北京 门店" OR owner:zhangsan) AND NOT activity:churned AND silent>=30d');
    expect(toExpression({ join: 'or', items: [] })).toBe('');
  });

  it('says when an expression cannot be shown as rows, and reads syntax errors as errors', () => {
    expect(readExpression('tag:a AND (tag:b OR (tag:c AND tag:d))', 'and').kind).toBe('too-deep');
    expect(readExpression('NOT NOT tag:a', 'and').kind).toBe('too-deep');
    expect(readExpression('tag:a AND all', 'and').kind).toBe('too-deep');
    expect(readExpression('tag:a AND', 'and').kind).toBe('error');
    expect(fromExpr(parseAudience('NOT (tag:a AND tag:b)'), 'or')).toEqual({
      join: 'or',
      items: [{ kind: 'group', join: 'and', negate: true, rows: [{ kind: 'row', field: 'tag', op: ':', value: 'a', negate: false }, { kind: 'row', field: 'tag', op: ':', value: 'b', negate: false }] }],
    });
  });
});
