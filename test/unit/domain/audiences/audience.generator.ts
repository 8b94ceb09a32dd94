import { createPrng } from '../../../../src/shared/prng.js';
import type { AudienceExpr, AudiencePredicate, CompareOp } from '../../../../src/domain/audiences/audience.types.js';

/** A seeded PRNG, so a failing case reproduces from its seed. */
export const createRandom = createPrng;

// Values chosen to stress quoting: spaces, operators, quotes, backslashes, keywords, Chinese, emoji.
const TRICKY_TEXT = [
  'VIP',
  '北京 门店',
  '上海',
  '重要价值',
  'a:b',
  'x>=1',
  'say "hi"',
  'back\\slash',
  '\\"',
  'AND',
  'or',
  'Not',
  'all',
  '(paren)',
  '会员（金卡）',
  '组名/标签',
  "x'; DROP TABLE customers; --",
  '🎉 生日',
  'tab\there',
  '=',
  ' ',
];
const ALPHABET = ['a', 'Z', '9', '-', '_', '/', '中', '文', ' ', '"', '\\', ':', '(', ')', '<', '>', '=', "'", '。'];
const COMPARE: CompareOp[] = ['>=', '<=', '>', '<'];

/** Random audience ASTs in the canonical shape the parser yields. */
export function createExprGenerator(seed: number) {
  const random = createRandom(seed);
  const int = (max: number) => Math.floor(random() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];

  const text = (): string => {
    if (random() < 0.6) return pick(TRICKY_TEXT);
    const length = 1 + int(6);
    return Array.from({ length }, () => pick(ALPHABET)).join('');
  };
  const date = (): string => {
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${2000 + int(40)}-${pad(1 + int(12))}-${pad(1 + int(28))}`;
  };

  const predicate = (): AudiencePredicate => {
    const op = pick(COMPARE);
    switch (int(12)) {
      case 0:
        return { type: 'pred', field: 'tag', op: ':', value: text() };
      case 1:
        return { type: 'pred', field: 'owner', op: ':', value: text() };
      case 2:
        return { type: 'pred', field: pick(['stage', 'rfm', 'channel'] as const), op: ':', value: text() };
      case 3:
        return { type: 'pred', field: 'activity', op: ':', value: pick(['active', 'dormant', 'churned'] as const) };
      case 4:
        return {
          type: 'pred',
          field: 'birthday',
          op: ':',
          value: pick(['today', 'this-week', 'this-month', 'none'] as const),
        };
      case 5:
        return { type: 'pred', field: 'gender', op: ':', value: pick(['male', 'female', 'unknown'] as const) };
      case 6:
        return { type: 'pred', field: 'added', op, value: date() };
      case 7:
        return { type: 'pred', field: 'silent', op, value: int(400) };
      case 8:
        return { type: 'pred', field: 'orders', op, value: int(1000) };
      case 9:
        return { type: 'pred', field: 'spent', op, value: int(100000) / 100 };
      case 10: {
        // Ids never hold a blank or a comma (the list separator); anything else may need quoting.
        const id = () => Array.from({ length: 1 + int(8) }, () => pick(ALPHABET.filter((c) => c !== ' '))).join('');
        return { type: 'pred', field: 'id', op: ':', value: Array.from({ length: 1 + int(3) }, id).join(',') };
      }
      default:
        return { type: 'pred', field: 'tag', op: ':', value: text() };
    }
  };

  const expr = (depth: number, parent: AudienceExpr['type'] | null): AudienceExpr => {
    const roll = depth <= 0 ? int(10) : int(16);
    if (roll < 9) return predicate();
    if (roll === 9) return { type: 'all' };
    if (roll < 12) return { type: 'not', item: expr(depth - 1, 'not') };
    // Canonical shape: a junction never directly holds one of its own kind.
    const type = parent === 'and' ? 'or' : parent === 'or' ? 'and' : random() < 0.5 ? 'and' : 'or';
    const items = Array.from({ length: 2 + int(3) }, () => expr(depth - 1, type));
    return { type, items };
  };

  return () => expr(4, null);
}
