import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api, waitFor } from '../helpers/app.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';
import { BulkTagJobRepository } from '../../src/persistence/repositories/bulk-tag-job.repository.js';
import { BulkTaggingService } from '../../src/domain/customers/bulk-tagging.service.js';
import { ValidationError } from '../../src/shared/errors.js';
import { createLogger } from '../../src/shared/logger.js';

interface Job {
  id: string;
  status: 'running' | 'done';
  total: number;
  done: number;
  failed: number;
  pending: number;
  skipped?: number;
  failures: { externalUserId: string; error: string }[];
}

/** 批量打标签 / 移除标签 (POST /api/v1/customers/bulk-tags): the same WeCom path as one edit, as a durable job. */
describe.each(testEngines())('bulk tag changes from the customer list (%s)', (engine) => {
  let app: ArchiveApp;
  let ids: string[];
  let vipId: string;

  beforeAll(async () => {
    app = await startArchiveApp(engine);
    await app.archive.fullSync.run();
    ids = (await api<{ items: { externalUserId: string }[] }>(app, 'GET', '/api/v1/customers?pageSize=100')).body.items.map((i) => i.externalUserId).sort();
    vipId = (await app.archive.library.ensureTags(['客户等级/VIP']))[0].id;
  }, 60_000);
  afterAll(async () => app?.close());

  /** Whether WeCom shows the tag on every active relation of the customer, and the archive has it. */
  async function tagged(ext: string, tagId: string): Promise<boolean> {
    const owners = (await app.archive.repos.relations.activeUserids(ext)) as string[];
    const inWecom = owners.every((u) => app.sandbox.store.findRelation(u, ext)!.tagIds.includes(tagId));
    const local = (await app.archive.repos.tags.listForCustomer(ext)).some((t) => t.tagId === tagId);
    return owners.length > 0 && inWecom && local;
  }

  it('tags hand-picked customers in WeCom and the archive, skips ids it cannot act on, and lands in the audit log', async () => {
    const picked = ids.slice(0, 3);
    const marks = app.sandbox.calls('externalcontact/mark_tag').length;
    const res = await api<Job>(app, 'POST', '/api/v1/customers/bulk-tags', { customers: [...picked, 'wmNobodyHere'], add: ['客户等级/VIP'] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'done', total: 3, done: 3, failed: 0, pending: 0, skipped: 1 });
    for (const ext of picked) expect(await tagged(ext, vipId)).toBe(true);
    expect(app.sandbox.calls('externalcontact/mark_tag').length).toBeGreaterThan(marks);

    const audit = await api<{ items: { action: string; targetId: string; request: { customers: string[] }; after: { total: number } }[] }>(app, 'GET', '/api/v1/audit-log?action=customers.bulk-tags');
    const row = audit.body.items.find((r) => r.targetId === res.body.id)!;
    expect(row.request.customers).toEqual([...picked, 'wmNobodyHere']);
    expect(row.after.total).toBe(3);

    // An erasure (PIPL) takes the customer out of the job's items too; the audit row's request is redacted.
    expect((await api(app, 'POST', `/api/v1/customers/${picked[2]}/erase`, {})).status).toBe(200);
    expect(await app.container.db.query('SELECT * FROM bulk_tag_items WHERE external_user_id = ?', [picked[2]])).toEqual([]);
    const redacted = (await api<{ items: { targetId: string; request: unknown }[] }>(app, 'GET', '/api/v1/audit-log?action=customers.bulk-tags')).body.items.find((r) => r.targetId === res.body.id)!;
    expect(JSON.stringify(redacted)).not.toContain(picked[2]);
    picked.pop();

    // Removing by audience (every customer the filter matches), through the same path.
    const removed = await api<Job>(app, 'POST', '/api/v1/customers/bulk-tags', { audience: `id:${picked.join(',')} AND tag:"客户等级/VIP"`, remove: ['客户等级/VIP'] });
    expect(removed.body).toMatchObject({ status: 'done', total: 2, done: 2 });
    for (const ext of picked) expect(await tagged(ext, vipId)).toBe(false);
  });

  it('answers 202 for a job that takes longer, which the console follows to the end; a customer WeCom refuses is reported, the others go on', async () => {
    const picked = ids.slice(3, 23);
    app.sandbox.injectFault({ latencyMs: 250, api: 'externalcontact/mark_tag' });
    app.sandbox.injectFault({ api: 'externalcontact/mark_tag', errcode: 40068, count: 1 });
    try {
      const res = await api<Job>(app, 'POST', '/api/v1/customers/bulk-tags', { customers: picked, add: ['客户等级/VIP'] });
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('running');
      expect(res.body.done + res.body.failed).toBeLessThan(20);
      const seen: number[] = [];
      const end = await waitFor(async () => {
        const p = (await api<Job>(app, 'GET', `/api/v1/customers/bulk-tags/${res.body.id}`)).body;
        seen.push(p.done + p.failed);
        return p.status === 'done' ? p : null;
      }, 30_000, 'the bulk job to finish');
      if (!end) throw new Error('unreachable');
      expect(end).toMatchObject({ total: 20, done: 19, failed: 1, pending: 0 });
      expect(end.failures[0].error).toContain('40068');
      // Progress moved while it ran.
      expect(new Set(seen).size).toBeGreaterThan(2);
      const ok = picked.filter((p) => p !== end.failures[0].externalUserId);
      for (const ext of ok) expect(await tagged(ext, vipId)).toBe(true);
    } finally {
      app.sandbox.clearFaults();
    }
  }, 60_000);

  it('a job whose worker stopped is resumed from where it stopped (the bulk-tags job), not while another holds its lease', async () => {
    const repo = new BulkTagJobRepository(app.container.db);
    const picked = ids.slice(23, 28);
    const id = `00000000-0000-7000-8000-${engine === 'mysql' ? '00000000000a' : '00000000000b'}`;
    await repo.create({ id, requestedBy: 'test', viewer: { role: 'admin', userid: null }, addTagIds: [vipId], removeTagIds: [], customers: picked }, new Date());
    // Another worker holds it: nothing is resumed.
    expect(await repo.lease(id, 'elsewhere', new Date(), 60_000)).toBe(true);
    expect(await app.archive.bulkTags.resumeAbandoned()).toEqual({ resumed: 0 });
    // Its lease ran out (the worker died).
    await app.container.db.query('UPDATE bulk_tag_jobs SET lease_until = ? WHERE id = ?', [Date.now() - 1, id]);
    expect(await app.archive.bulkTags.resumeAbandoned()).toEqual({ resumed: 1 });
    const job = await repo.find(id);
    expect(job!.status).toBe('done');
    expect(await repo.progress(id)).toMatchObject({ done: 5, failed: 0, pending: 0 });
    for (const ext of picked) expect(await tagged(ext, vipId)).toBe(true);
  });

  it('staff act only on their own customers and see only their own jobs', async () => {
    const own = (await app.archive.repos.relations.activeOwnersOf(ids)) as Map<string, string[]>;
    // Two members with customers of their own (followed by the one and not the other).
    const only = (u: string, not: string) => ids.filter((id) => own.get(id)?.includes(u) && !own.get(id)?.includes(not));
    const staffIds = [...app.sandbox.store.staff.keys()];
    const pairs = staffIds.flatMap((a) => staffIds.filter((b) => b !== a).map((b) => [a, b] as const));
    const [u1, u2] = pairs.find(([a, b]) => only(a, b).length >= 2 && only(b, a).length >= 2)!;
    const mine = only(u1, u2).slice(0, 2);
    const theirs = only(u2, u1).slice(0, 2);
    expect(mine.length).toBe(2);
    expect(theirs.length).toBe(2);
    const staff1 = (await app.container.tokens.create({ role: 'staff', userid: u1 })).token;
    const staff2 = (await app.container.tokens.create({ role: 'staff', userid: u2 })).token;
    const res = await api<Job>(app, 'POST', '/api/v1/customers/bulk-tags', { customers: [...mine, ...theirs], add: ['客户等级/VIP'], remove: [] }, staff1);
    expect(res.body).toMatchObject({ status: 'done', total: 2, skipped: 2 });
    expect((await api(app, 'GET', `/api/v1/customers/bulk-tags/${res.body.id}`, undefined, staff2)).status).toBe(404);
    expect((await api(app, 'GET', `/api/v1/customers/bulk-tags/${res.body.id}`, undefined, staff1)).status).toBe(200);
    // Only others' customers: nothing to do, said next to the field.
    const none = await api(app, 'POST', '/api/v1/customers/bulk-tags', { customers: theirs, add: ['客户等级/VIP'] }, staff1);
    expect(none.status).toBe(400);
    expect(none.body.error.details.fields.customers).toContain('不在您的跟进范围内');
    // By audience, a staff member's "all" is their own customers.
    const all = await api<Job>(app, 'POST', '/api/v1/customers/bulk-tags', { audience: 'all', remove: ['客户等级/VIP'] }, staff1);
    const count = (await api<{ count: number }>(app, 'POST', '/api/v1/audiences/count', { audience: 'all' }, staff1)).body.count;
    expect(all.body.total).toBe(count);
  });

  it('refuses what it cannot do with a 400 naming the field: too many customers, no tags, both or neither target, a bad audience', async () => {
    const many = Array.from({ length: 5001 }, (_, i) => `wm${i}`);
    const tooMany = await api(app, 'POST', '/api/v1/customers/bulk-tags', { customers: many, add: ['客户等级/VIP'] });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.details.fields.customers).toContain('5000');
    const noTags = await api(app, 'POST', '/api/v1/customers/bulk-tags', { customers: ids.slice(0, 1) });
    expect(noTags.status).toBe(400);
    expect(noTags.body.error.details.fields.add).toBeTruthy();
    const both = await api(app, 'POST', '/api/v1/customers/bulk-tags', { customers: ids.slice(0, 1), audience: 'all', add: ['客户等级/VIP'] });
    expect(both.status).toBe(400);
    // An audience past the bound: refused before anything is written, next to `audience`.
    const small = new BulkTaggingService(new BulkTagJobRepository(app.container.db), app.archive.customers, app.archive.repos.tags, app.container.clock, createLogger({ level: 'silent' }), 'test', 3);
    const refused = await small.request({ audience: 'all', add: ['客户等级/VIP'], remove: [] }, { role: 'admin', userid: null }, 'test').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).details).toEqual({ fields: { audience: '一次最多为 3 位客户批量修改标签，请缩小筛选条件后分批进行' } });
    const bad = await api(app, 'POST', '/api/v1/customers/bulk-tags', { audience: 'tag:(', add: ['客户等级/VIP'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_audience');
  });
});
