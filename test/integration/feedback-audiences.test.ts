import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { buildCustomer } from '../factories/customers.js';
import { FixedClock } from '../../src/shared/clock.js';
import { compileAudience } from '../../src/domain/audiences/audience.compiler.js';
import { parseAudience } from '../../src/domain/audiences/audience.parser.js';

// docs/feedback.md §Audiences: `ticket:open` (a ticket not yet resolved) and `ticket:overdue` (still open past its
// first-contact deadline), counted through the API on both engines, from the tickets' indexes.

describe.each(testEngines())('feedback ticket audiences (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock('2026-12-01T02:00:00Z');
  let staffToken = '';
  let answerId = 7000;
  const scored = (ext: string, score: number) =>
    app.container.feedback.onSurveyScored({ externalUserid: ext, surveyId: 1, answerId: ++answerId, kind: 'nps', score, comment: '不满意', answeredAt: clock.now() });
  const count = async (audience: string, token?: string) => {
    const res = await api(app, 'POST', '/api/v1/audiences/count', { audience }, token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.count as number;
  };
  const ticketOf = async (ext: string) => ((await api(app, 'GET', `/api/v1/customers/${ext}/feedback`)).body.items as { id: number }[])[0];

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock }, env: { FEEDBACK_FIRST_CONTACT_HOURS: '24', FEEDBACK_ESCALATE_TO: 'sunqi' } });
    for (const [ext, owner] of [['wmTkOpen', 'zhangsan'], ['wmTkContacted', 'zhangsan'], ['wmTkResolved', 'zhangsan'], ['wmTkNone', 'zhangsan'], ['wmTkLisi', 'lisi']] as const) {
      await buildCustomer(app.container, { externalUserId: ext, name: ext, owners: [owner] });
    }
    staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    for (const ext of ['wmTkOpen', 'wmTkContacted', 'wmTkResolved', 'wmTkLisi']) expect(await scored(ext, 2)).toBe('opened');
    expect((await api(app, 'POST', `/api/v1/feedback/tickets/${(await ticketOf('wmTkContacted')).id}/contact`, { note: '已电话联系' })).status).toBe(200);
    expect((await api(app, 'POST', `/api/v1/feedback/tickets/${(await ticketOf('wmTkResolved')).id}/resolve`, { note: '已补发', category: '其他' })).status).toBe(200);
  }, 60_000);
  afterAll(() => app?.close());

  it('counts customers with a ticket not yet resolved, and none overdue before the deadline', async () => {
    expect(await count('ticket:open')).toBe(3);
    expect(await count('NOT ticket:open')).toBe(2);
    expect(await count('ticket:overdue')).toBe(0);
    expect(await count('NOT ticket:overdue')).toBe(5);
    // A staff member counts only the customers they follow.
    expect(await count('ticket:open', staffToken)).toBe(2);
    const list = await api(app, 'GET', `/api/v1/customers?audience=${encodeURIComponent('ticket:open AND owner:zhangsan')}`);
    expect(list.body.items.map((c: { externalUserId: string }) => c.externalUserId).sort()).toEqual(['wmTkContacted', 'wmTkOpen']);
  });

  it('counts a ticket still open past its first-contact deadline as overdue; a contacted one is not', async () => {
    clock.advance(25 * 3_600_000);
    expect(await count('ticket:overdue')).toBe(2);
    expect(await count('ticket:open AND NOT ticket:overdue')).toBe(1);
    const overdue = (await api(app, 'GET', '/api/v1/feedback/tickets?overdue=true')).body.items.map((t: { externalUserId: string }) => t.externalUserId).sort();
    expect(overdue).toEqual(['wmTkLisi', 'wmTkOpen']);
    // Resolving takes the customer out of both; a detractor again reopens the ticket with a new deadline.
    expect((await api(app, 'POST', `/api/v1/feedback/tickets/${(await ticketOf('wmTkOpen')).id}/resolve`, { note: '已致歉', category: '其他' })).status).toBe(200);
    expect(await count('ticket:open')).toBe(2);
    expect(await count('ticket:overdue')).toBe(1);
    expect(await scored('wmTkOpen', 1)).toBe('reopened');
    expect(await count('ticket:open')).toBe(3);
    expect(await count('ticket:overdue')).toBe(1);
  });

  it('refuses an unknown state in zh-CN, naming the states', async () => {
    const bad = await api(app, 'POST', '/api/v1/audiences/count', { audience: 'ticket:closed' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('open 或 overdue');
  });

  it('reads the tickets through their indexes, not every ticket per customer', async () => {
    const plan = async (text: string): Promise<string> => {
      const c = compileAudience(parseAudience(text), { engine, today: '2026-12-02', timezone: 'Asia/Shanghai', now: clock.now().getTime() });
      const sql = `SELECT COUNT(*) AS n FROM customers c WHERE ${c.sql}`;
      const rows = await app.container.db.query<Record<string, unknown>>(engine === 'mysql' ? `EXPLAIN ${sql}` : `EXPLAIN QUERY PLAN ${sql}`, c.params);
      return JSON.stringify(rows);
    };
    expect(await plan('ticket:open')).toContain('ux_feedback_tickets_active');
    expect(await plan('ticket:overdue')).toContain('ix_feedback_tickets_status_due');
  });
});
