import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { journeyCustomerId, putSandboxCustomers } from '../../helpers/journey-corp.js';

const NOW = new Date('2026-07-01T10:00:00+08:00');
const PER_SENDER = 10_005;

/**
 * A broadcast larger than the dispatcher's page (docs/audiences.md §Releasing a planned broadcast): its rows are in
 * its customers' order, so each page of 10,000 due rows holds some of every sender's customers. Each member must get
 * one task per 10,000 of their customers, as the broadcast's estimate says, not one per page.
 */
describe.each(testEngines())('a large broadcast becomes one task per 10,000 customers of each sender on %s', (engine) => {
  let app: TestApp;
  let staff: string[];

  beforeAll(async () => {
    app = await startTestApp(engine);
    const sandbox = app.container.sandbox!;
    staff = [...sandbox.store.staff.keys()].slice(0, 2);
    putSandboxCustomers(sandbox.store, 2 * PER_SENDER, staff, Math.floor(NOW.getTime() / 1000));
    // A broadcast whose message has no variables, and its planned rows as the planner leaves them once released:
    // senders alternate in id order.
    await app.container.scheduling.broadcasts.repo.insert(
      { id: 'b-tasks', name: '春季上新', audience: 'all', text: '春季新品已上架', attachments: [], senderPolicy: 'owner', sendAt: NOW, audienceCount: 2 * PER_SENDER, tasksEstimate: 4, isPersonalized: false, createdBy: null },
      NOW,
    );
    const due = NOW.getTime() - 60_000;
    const expires = NOW.getTime() + 86_400_000;
    for (let start = 0; start < 2 * PER_SENDER; start += 500) {
      const n = Math.min(500, 2 * PER_SENDER - start);
      const params: unknown[] = [];
      for (let i = start; i < start + n; i++) {
        params.push('broadcast:b-tasks', 'b-tasks', journeyCustomerId(i), 'broadcast:b-tasks', staff[i % 2], due, expires);
      }
      await app.container.db.query(
        `INSERT INTO deliveries (source, kind, rule_id, broadcast_id, external_user_id, occasion, channel, priority, sender_userid, text, attachments,
           local_date, not_before, expires_at, status, run_id, created_at, updated_at)
         VALUES ${Array(n).fill("(?, 'broadcast', NULL, ?, ?, ?, 'mass_task', 0, ?, '春季新品已上架', '[]', '2026-07-01', ?, ?, 'planned', NULL, 0, 0)").join(', ')}`,
        params,
      );
    }
  });
  afterAll(() => app?.close());

  it('submits each sender’s 10,005 customers as two tasks, every customer once', async () => {
    const counts = await app.container.scheduling.dispatcher.dispatch(NOW);
    const calls = app.container.sandbox!.calls('externalcontact/add_msg_template').filter((c) => c.errcode === 0);
    const bySender = new Map<string, number[]>();
    const recipients: string[] = [];
    for (const c of calls) {
      const body = c.params as { sender: string; external_userid: string[] };
      bySender.set(body.sender, [...(bySender.get(body.sender) ?? []), body.external_userid.length]);
      recipients.push(...body.external_userid);
    }
    // Paged by id, each sender's customers used to go out in three tasks (5,000 + 5,000 + 5).
    expect(bySender.get(staff[0])).toEqual([10_000, 5]);
    expect(bySender.get(staff[1])).toEqual([10_000, 5]);
    expect(counts.submittedTasks).toBe(4);
    expect(new Set(recipients).size).toBe(2 * PER_SENDER);
    expect(recipients.length).toBe(2 * PER_SENDER);
    const [{ n }] = await app.container.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM deliveries WHERE broadcast_id = 'b-tasks' AND status = 'submitted'");
    expect(Number(n)).toBe(2 * PER_SENDER);
  });
});
