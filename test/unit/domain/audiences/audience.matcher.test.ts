import { describe, expect, it } from 'vitest';
import { matchAudience, type CustomerFacts } from '../../../../src/domain/audiences/audience.matcher.js';
import { parseAudience } from '../../../../src/domain/audiences/audience.parser.js';
import { createExprGenerator, createRandom } from './audience.generator.js';

// 2026-03-18 is a Wednesday; its week runs Monday 03-16 to Sunday 03-22.
const ctx = { today: '2026-03-18' };

function buildFacts(overrides: Partial<CustomerFacts> = {}): CustomerFacts {
  return {
    tags: [
      { name: 'VIP', group: '客户等级' },
      { name: '北京 门店', group: '门店' },
    ],
    owners: ['zhangsan', 'lisi'],
    activity: 'active',
    stage: 'loyal',
    rfm: '重要价值',
    channel: '门店海报',
    birthdayThisYear: '2026-03-20',
    gender: 'female',
    addedAt: '2025-12-01',
    lastInteractionDate: '2026-02-16',
    orderCount: 3,
    totalSpent: 599.5,
    ...overrides,
  };
}

function sut(text: string, facts: CustomerFacts = buildFacts(), today = ctx.today): boolean {
  return matchAudience(parseAudience(text), facts, { today });
}

describe(matchAudience.name, () => {
  it('matches everyone with all', () => {
    expect(sut('all')).toBe(true);
    expect(sut('')).toBe(true);
    expect(sut('NOT all')).toBe(false);
  });

  it('evaluates the contract examples', () => {
    expect(sut('tag:VIP AND (tag:"北京 门店" OR tag:上海) AND NOT activity:churned')).toBe(true);
    expect(sut('tag:VIP AND (tag:"北京 门店" OR tag:上海) AND NOT activity:churned', buildFacts({ activity: 'churned' }))).toBe(false);
    expect(sut('owner:zhangsan AND added>=2025-01-01 AND silent>=30d AND birthday:this-month')).toBe(true);
    expect(sut('rfm:重要价值 OR stage:loyal', buildFacts({ rfm: null }))).toBe(true);
    expect(sut('rfm:重要价值 OR stage:loyal', buildFacts({ rfm: null, stage: 'new' }))).toBe(false);
  });

  it('honours precedence: a OR b AND c', () => {
    // a true, b false, c false: OR(a, AND(b, c)) is true; AND(OR(a, b), c) would be false.
    expect(sut('tag:VIP OR tag:nope AND tag:nope2')).toBe(true);
    expect(sut('(tag:VIP OR tag:nope) AND tag:nope2')).toBe(false);
  });

  describe('id', () => {
    it('matches a customer named in the list, exactly', () => {
      const facts = buildFacts({ externalUserId: 'wmB' });
      expect(sut('id:wmA,wmB', facts)).toBe(true);
      expect(sut('id:wmA', facts)).toBe(false);
      expect(sut('id:wmb', facts)).toBe(false);
      expect(sut('NOT id:wmA', facts)).toBe(true);
    });

    it('matches no customer whose id is not known', () => {
      expect(sut('id:wmB')).toBe(false);
    });
  });

  describe('group and ingroup', () => {
    it('match the groups the customer is in now, by chat id and by owner, exactly', () => {
      const facts = buildFacts({ groups: [{ chatId: 'wrA', owner: 'lisi' }] });
      expect(sut('group:wrA', facts)).toBe(true);
      expect(sut('group:wra', facts)).toBe(false);
      expect(sut('ingroup:lisi', facts)).toBe(true);
      expect(sut('ingroup:zhangsan', facts)).toBe(false);
      expect(sut('NOT group:wrB', facts)).toBe(true);
    });

    it('match nobody outside every group', () => {
      expect(sut('group:wrA OR ingroup:lisi')).toBe(false);
    });
  });

  describe('tag', () => {
    it('matches by name or by group/name', () => {
      expect(sut('tag:VIP')).toBe(true);
      expect(sut('tag:客户等级/VIP')).toBe(true);
      expect(sut('tag:"门店/北京 门店"')).toBe(true);
      expect(sut('tag:其他组/VIP')).toBe(false);
      expect(sut('tag:vip')).toBe(false);
    });

    it('matches a tag whose own name contains a slash', () => {
      expect(sut('tag:A/B', buildFacts({ tags: [{ name: 'A/B', group: 'G' }] }))).toBe(true);
    });
  });

  it('matches owner, stage, rfm and channel exactly', () => {
    expect(sut('owner:lisi')).toBe(true);
    expect(sut('owner:wangwu')).toBe(false);
    expect(sut('stage:loyal AND rfm:重要价值 AND channel:门店海报')).toBe(true);
    expect(sut('stage:loyal', buildFacts({ stage: undefined }))).toBe(false);
    expect(sut('channel:门店海报', buildFacts({ channel: null }))).toBe(false);
  });

  it('matches activity and gender', () => {
    expect(sut('activity:active')).toBe(true);
    expect(sut('activity:dormant')).toBe(false);
    expect(sut('activity:dormant', buildFacts({ activity: 'dormant' }))).toBe(true);
    expect(sut('gender:female')).toBe(true);
    expect(sut('gender:male OR gender:unknown')).toBe(false);
  });

  describe('birthday', () => {
    it.each<[string, string | null, boolean]>([
      ['today', '2026-03-18', true],
      ['today', '2026-03-19', false],
      ['this-week', '2026-03-16', true],
      ['this-week', '2026-03-22', true],
      ['this-week', '2026-03-15', false],
      ['this-week', '2026-03-23', false],
      ['this-month', '2026-03-01', true],
      ['this-month', '2026-03-31', true],
      ['this-month', '2026-04-01', false],
      ['none', null, true],
      ['none', '2026-03-18', false],
      ['today', null, false],
      ['this-week', null, false],
      ['this-month', null, false],
    ])('birthday:%s with birthday %s is %s', (window, birthday, expected) => {
      expect(sut(`birthday:${window}`, buildFacts({ birthdayThisYear: birthday }))).toBe(expected);
    });

    it('treats a missing birthday as none', () => {
      expect(sut('birthday:none', buildFacts({ birthdayThisYear: undefined }))).toBe(true);
    });

    it('starts the week on Monday, also on a Sunday', () => {
      const facts = buildFacts({ birthdayThisYear: '2026-03-16' });
      expect(sut('birthday:this-week', facts, '2026-03-22')).toBe(true);
      expect(sut('birthday:this-week', facts, '2026-03-23')).toBe(false);
    });
  });

  it('compares added dates inclusively and exclusively', () => {
    expect(sut('added>=2025-12-01')).toBe(true);
    expect(sut('added>2025-12-01')).toBe(false);
    expect(sut('added<=2025-12-01')).toBe(true);
    expect(sut('added<2025-12-01')).toBe(false);
    expect(sut('added<2026-01-01')).toBe(true);
  });

  describe('silent', () => {
    // Last interaction 2026-02-16 is 30 days before 2026-03-18.
    it.each<[string, boolean]>([
      ['silent>=30d', true],
      ['silent>30d', false],
      ['silent<=30d', true],
      ['silent<30d', false],
      ['silent>=31d', false],
    ])('%s is %s after 30 silent days', (text, expected) => {
      expect(sut(text)).toBe(expected);
    });

    it('counts from the day added when there was never an interaction', () => {
      const facts = buildFacts({ lastInteractionDate: null, addedAt: '2026-03-08' });
      expect(sut('silent>=10d', facts)).toBe(true);
      expect(sut('silent>=11d', facts)).toBe(false);
    });

    it('counts calendar days across a leap day and a year end', () => {
      expect(sut('silent>=366d', buildFacts({ lastInteractionDate: '2024-01-01' }), '2025-01-01')).toBe(true);
      expect(sut('silent>366d', buildFacts({ lastInteractionDate: '2024-01-01' }), '2025-01-01')).toBe(false);
    });
  });

  it('compares orders and spent', () => {
    expect(sut('orders>=3 AND orders<=3 AND NOT orders>3 AND orders<4')).toBe(true);
    expect(sut('orders<1', buildFacts({ orderCount: 0 }))).toBe(true);
    expect(sut('spent>=599.5 AND spent<600')).toBe(true);
    expect(sut('spent>599.5')).toBe(false);
  });

  it('matches a feedback ticket not yet resolved, and one past its deadline (docs/feedback.md §Audiences)', () => {
    expect(sut('ticket:open')).toBe(false);
    expect(sut('NOT ticket:open AND NOT ticket:overdue', buildFacts({ activeTicket: null }))).toBe(true);
    expect(sut('ticket:open AND NOT ticket:overdue', buildFacts({ activeTicket: { isOverdue: false } }))).toBe(true);
    expect(sut('ticket:open AND ticket:overdue', buildFacts({ activeTicket: { isOverdue: true } }))).toBe(true);
  });

  it('matches the churn-risk level of the last score, and no level before one (docs/churn.md §Audiences)', () => {
    expect(sut('risk:high OR risk:medium OR risk:low')).toBe(false);
    expect(sut('NOT risk:high', buildFacts({ churnLevel: null }))).toBe(true);
    expect(sut('risk:high AND NOT risk:medium', buildFacts({ churnLevel: 'high' }))).toBe(true);
    expect(sut('risk:low', buildFacts({ churnLevel: 'medium' }))).toBe(false);
  });

  it('matches days until and past the predicted next order (docs/repurchase.md §Audiences)', () => {
    // today 2026-03-18
    const dueIn = (d: string) => buildFacts({ repurchaseDueOn: d });
    expect(sut('due_in<=7d', dueIn('2026-03-25'))).toBe(true);
    expect(sut('due_in<=7d', dueIn('2026-03-26'))).toBe(false);
    expect(sut('due_in<=7d', dueIn('2026-03-18'))).toBe(true);
    // Overdue is not "due in": a past date matches no due_in term, even due_in<=7d.
    expect(sut('due_in<=7d', dueIn('2026-03-17'))).toBe(false);
    expect(sut('overdue>=1d', dueIn('2026-03-17'))).toBe(true);
    expect(sut('overdue>=14d', dueIn('2026-03-04'))).toBe(true);
    expect(sut('overdue>=14d', dueIn('2026-03-05'))).toBe(false);
    expect(sut('overdue<14d', dueIn('2026-03-05'))).toBe(true);
    expect(sut('overdue<14d', dueIn('2026-03-18'))).toBe(false);
    expect(sut('due_in>=0d OR overdue>=0d', buildFacts({ repurchaseDueOn: null }))).toBe(false);
    expect(sut('NOT due_in>=0d AND NOT overdue>=0d', buildFacts())).toBe(true);
  });

  it('rejects a malformed today', () => {
    expect(() => matchAudience({ type: 'all' }, buildFacts(), { today: '2026-3-18' })).toThrow(TypeError);
  });

  it('negates exactly: NOT x matches whenever x does not', () => {
    const generate = createExprGenerator(7);
    const random = createRandom(11);
    for (let i = 0; i < 300; i++) {
      const expr = generate();
      const facts = buildFacts({
        activity: (['active', 'dormant', 'churned'] as const)[Math.floor(random() * 3)],
        orderCount: Math.floor(random() * 1000),
        totalSpent: Math.floor(random() * 100000) / 100,
        lastInteractionDate: random() < 0.3 ? null : '2025-06-01',
      });
      expect(matchAudience({ type: 'not', item: expr }, facts, ctx)).toBe(!matchAudience(expr, facts, ctx));
    }
  });
});
