import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseAudience as clientParse, AudienceParseError, indexOfColumn } from '../../src/web/console/lib/audience-parse';
import { parseAudience as serverParse } from '../../src/domain/audiences/audience.parser';
import { formatAudience } from '../../src/domain/audiences/audience.format';
import { AudienceSyntaxError } from '../../src/domain/audiences/audience-syntax.error';
import { createExprGenerator } from '../unit/domain/audiences/audience.generator';

type Outcome = { ok: true; tree: unknown } | { ok: false; position: number; expected: string; found: string | null };

function server(text: string): Outcome {
  try {
    return { ok: true, tree: serverParse(text) };
  } catch (err) {
    if (!(err instanceof AudienceSyntaxError)) throw err;
    return { ok: false, ...err.details };
  }
}

function client(text: string): Outcome {
  try {
    return { ok: true, tree: clientParse(text) };
  } catch (err) {
    if (!(err instanceof AudienceParseError)) throw err;
    return { ok: false, position: err.position, expected: err.expected, found: err.found };
  }
}

// Hand-written corner cases: every field, operators, quoting, keywords, full-width colon, limits, ids.
const CORPUS = [
  '',
  '   ',
  'all',
  'ALL',
  'NOT all',
  'tag:VIP',
  'tag:"等级/VIP" AND tag:北京 AND NOT activity:churned AND spent>=100',
  'tag:VIP AND (tag:"北京 门店" OR tag:上海) AND NOT activity:churned',
  'owner:zhangsan AND added>=2025-01-01 AND silent>=30d AND birthday:this-month',
  'rfm:重要价值 OR stage:loyal',
  'gender:FEMALE AND orders<3 AND spent<=99.99 AND silent<7D',
  'id:wmA,wmB',
  'id:"wmA,wmB" OR id:wmC',
  'id:wmA,',
  'id:"wm A"',
  `id:${'x'.repeat(64)}`,
  `id:${'x'.repeat(65)}`,
  'tag："VIP"',
  'tag:VIP AND',
  'tag:VIP OR OR tag:b',
  '(tag:a OR tag:b',
  'tag:a)',
  'tag:"unterminated',
  'tag:"bad \\n escape"',
  'tag:"say \\"hi\\""',
  'tag:AND',
  'tag:"AND"',
  'nosuch:1',
  '"tag":x',
  'spent>=1.234',
  'orders>=-1',
  'added>=2026-02-30',
  'added:2026-01-01',
  'silent>=30',
  'activity:sleeping',
  'birthday:next-week',
  'tag:a b',
  'NOT NOT tag:a',
  '((((tag:a))))',
  `${'('.repeat(65)}tag:a${')'.repeat(65)}`,
  `${'NOT '.repeat(64)}tag:a`,
  Array.from({ length: 50 }, (_, i) => `tag:t${i}`).join(' OR '),
  Array.from({ length: 51 }, (_, i) => `tag:t${i}`).join(' OR '),
  `tag:${'长'.repeat(3996)}`,
  `tag:${'长'.repeat(3997)}`,
  'tag:🎉 AND nosuch:1',
  'tag:a\u3000AND tag:b',
  'tag:a>=b',
  'spent=1',
  'nps:Detractor AND csat<=2 AND answered:3',
  'ticket:open OR ticket:OVERDUE',
  'NOT ticket:open',
  'ticket:closed',
  'ticket>=1',
  'risk:high OR risk:MEDIUM',
  'NOT risk:low',
  'risk:extreme',
  'risk>=60',
  'due_in<=7d OR overdue>=14D',
  'NOT due_in<7d AND overdue<=30d',
  'due_in:7d',
  'overdue>=14',
  'group:wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA OR ingroup:zhangsan',
  'NOT group:"wr 1" AND ingroup:lisi',
  'group>=3',
  'ingroup:',
];

const HOSTILE = ['"', '\\', "'", '%', '_', '/', ' ', '(', ')', ':', '<', '>', '=', ',', 'a', 'Z', '中', '🎉', '\t', '：', 'tag', 'id', 'spent', 'NOT ', ' AND ', ' OR ', 'all', '>=', '1', '30d', '2026-01-01'];

describe('the console audience parser and the server parser', () => {
  it.each(CORPUS.map((t) => [t.length > 60 ? `${t.slice(0, 60)}… (${t.length})` : t, t]))('agree on %s', (_, text) => {
    expect(client(text)).toEqual(server(text));
  });

  it('agree on 2,000 canonical expressions of random trees (accepted by both, the same tree)', () => {
    const next = createExprGenerator(99);
    for (let i = 0; i < 2000; i++) {
      const text = formatAudience(next());
      const s = server(text);
      expect(s.ok).toBe(true);
      expect(client(text), text).toEqual(s);
    }
  });

  it('agree on random hostile text (mostly refused: the same position and expectation)', () => {
    let refused = 0;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...HOSTILE), { maxLength: 30 }).map((xs) => xs.join('')), (text) => {
        const s = server(text);
        if (!s.ok) refused++;
        expect(client(text)).toEqual(s);
      }),
      { numRuns: 3000, seed: 12 },
    );
    expect(refused).toBeGreaterThan(1000);
  });

  it('maps an error column back to the place in the text, counting an emoji as one character', () => {
    const text = 'tag:🎉 AND nosuch:1';
    const err = client(text);
    expect(err).toMatchObject({ ok: false, position: 11 });
    expect(text.slice(indexOfColumn(text, 11))).toBe('nosuch:1');
  });
});
