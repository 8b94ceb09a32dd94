import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { buildCustomer } from '../factories/customers.js';
import { FixedClock } from '../../src/shared/clock.js';
import { CareScanRepository } from '../../src/persistence/repositories/care-scan.repository.js';

describe.each(testEngines())('customer notes (跟进记录) over HTTP (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock('2026-03-10T01:00:00Z');
  const tokens = { zhangsan: '', lisi: '', operator: '' };
  // 两人共同跟进 shared: followed by zhangsan and lisi; 只归李四 lisiOnly: followed by lisi alone.
  const shared = 'wmNoteShared0001';
  const lisiOnly = 'wmNoteLisi00001';

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    await buildCustomer(app.container, { externalUserId: shared, name: '王女士', owners: ['zhangsan', 'lisi'] });
    await buildCustomer(app.container, { externalUserId: lisiOnly, name: '赵先生', owners: ['lisi'] });
    tokens.zhangsan = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    tokens.lisi = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    tokens.operator = (await app.container.tokens.create({ role: 'operator' })).token;
  });
  afterAll(async () => app?.close());

  const notesOf = (ext: string) => `/api/v1/customers/${ext}/notes`;

  it('a note is stored, listed, shown open in the archive and written to the timeline', async () => {
    const created = await api(app, 'POST', notesOf(shared), { text: '客户想了解春季新品，下周回访', dueDate: '2026-03-17' }, tokens.zhangsan);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      externalUserId: shared,
      text: '客户想了解春季新品，下周回访',
      dueDate: '2026-03-17',
      userid: 'zhangsan',
      createdAt: '2026-03-10T01:00:00.000Z',
      doneAt: null,
    });

    const list = await api(app, 'GET', notesOf(shared), undefined, tokens.zhangsan);
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: [created.body], total: 1 });

    const archive = await api(app, 'GET', `/api/v1/customers/${shared}`, undefined, tokens.zhangsan);
    expect(archive.status).toBe(200);
    expect(archive.body.notes).toEqual([
      { id: created.body.id, externalUserId: shared, text: '客户想了解春季新品，下周回访', dueDate: '2026-03-17', userid: 'zhangsan', createdAt: '2026-03-10T01:00:00.000Z', doneAt: null },
    ]);
    const entry = archive.body.timeline.find((e: { kind: string }) => e.kind === 'note');
    expect(entry).toMatchObject({ kind: 'note', summary: '客户想了解春季新品，下周回访', staffUserid: 'zhangsan', source: 'note', occurredAt: '2026-03-10T01:00:00.000Z' });
    expect(entry.data).toEqual({ noteId: created.body.id, dueDate: '2026-03-17' });
  });

  it('staff write notes as themselves; admins and operators may name a known staff member', async () => {
    expect((await api(app, 'POST', notesOf(shared), { text: '代写', userid: 'lisi' }, tokens.zhangsan)).status).toBe(403);
    const own = await api(app, 'POST', notesOf(shared), { text: '自己写', userid: 'zhangsan' }, tokens.zhangsan);
    expect(own.status).toBe(201);
    expect(own.body.userid).toBe('zhangsan');

    const forLisi = await api(app, 'POST', notesOf(shared), { text: '运营指派给李四', userid: 'lisi', dueDate: null }, tokens.operator);
    expect(forLisi.status).toBe(201);
    expect(forLisi.body).toMatchObject({ userid: 'lisi', dueDate: null });
    const byAdmin = await api(app, 'POST', notesOf(shared), { text: '管理员备注' });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.userid).toBeNull();

    const unknownStaff = await api(app, 'POST', notesOf(shared), { text: 'x', userid: 'nobody' });
    expect(unknownStaff.status).toBe(400);
    expect(unknownStaff.body.error.code).toBe('unknown_staff');
  });

  it('staff see and write notes only of customers they follow (404 otherwise), and change only their own (403)', async () => {
    const lisiNote = await api(app, 'POST', notesOf(lisiOnly), { text: '只有李四跟进的客户', dueDate: '2026-03-12' }, tokens.lisi);
    expect(lisiNote.status).toBe(201);

    for (const [method, path, body] of [
      ['GET', notesOf(lisiOnly), undefined],
      ['POST', notesOf(lisiOnly), { text: '越权' }],
      ['PATCH', `/api/v1/notes/${lisiNote.body.id}`, { done: true }],
      ['DELETE', `/api/v1/notes/${lisiNote.body.id}`, undefined],
    ] as const) {
      const r = await api(app, method, path, body, tokens.zhangsan);
      expect(r.status, `${method} ${path}`).toBe(404);
    }
    expect((await api(app, 'GET', `/api/v1/customers/${lisiOnly}/notes`, undefined, tokens.zhangsan)).body.error.code).toBe('customer_not_found');

    // On the shared customer zhangsan sees lisi's note but may not change it.
    const sharedLisi = await api(app, 'POST', notesOf(shared), { text: '李四的记录' }, tokens.lisi);
    const seen = await api(app, 'GET', `${notesOf(shared)}?pageSize=100`, undefined, tokens.zhangsan);
    expect(seen.body.items.map((n: { id: string }) => n.id)).toContain(sharedLisi.body.id);
    const forbidden = await api(app, 'PATCH', `/api/v1/notes/${sharedLisi.body.id}`, { text: '改别人的' }, tokens.zhangsan);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('not_note_author');
    expect((await api(app, 'DELETE', `/api/v1/notes/${sharedLisi.body.id}`, undefined, tokens.zhangsan)).status).toBe(403);

    // Operators and admins may change anyone's.
    const edited = await api(app, 'PATCH', `/api/v1/notes/${sharedLisi.body.id}`, { text: '运营改过' }, tokens.operator);
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ text: '运营改过', userid: 'lisi' });
  });

  it('404 for an unknown customer or note; 400 for dates that do not exist', async () => {
    const unknownCustomer = await api(app, 'POST', notesOf('wmNobody'), { text: 'x' });
    expect(unknownCustomer.status).toBe(404);
    expect(unknownCustomer.body.error.code).toBe('customer_not_found');
    expect((await api(app, 'GET', notesOf('wmNobody'))).status).toBe(404);
    const unknownNote = await api(app, 'PATCH', '/api/v1/notes/00000000-0000-7000-8000-000000000000', { done: true });
    expect(unknownNote.status).toBe(404);
    expect(unknownNote.body.error.code).toBe('note_not_found');
    expect((await api(app, 'DELETE', '/api/v1/notes/00000000-0000-7000-8000-000000000000')).status).toBe(404);

    for (const dueDate of ['2026-02-30', '2026-13-01', '2026-2-3', '2026-03-10T00:00:00Z', '明天', '']) {
      const r = await api(app, 'POST', notesOf(shared), { text: '日期不对', dueDate });
      expect(r.status, dueDate).toBe(400);
      expect(r.body.error.code, dueDate).toBe('invalid_date');
      expect(r.body.error.message).toContain('YYYY-MM-DD');
    }
    expect((await api(app, 'POST', notesOf(shared), { text: '闰日', dueDate: '2028-02-29' })).status).toBe(201);
    expect((await api(app, 'POST', notesOf(shared), { text: '   ' })).status).toBe(400);
    expect((await api(app, 'POST', notesOf(shared), { text: 'x', extra: 1 })).status).toBe(400);
    const created = await api(app, 'POST', notesOf(shared), { text: '改日期' });
    const badPatch = await api(app, 'PATCH', `/api/v1/notes/${created.body.id}`, { dueDate: '2026-04-31' });
    expect(badPatch.status).toBe(400);
    expect(badPatch.body.error.code).toBe('invalid_date');
  });

  it('marking done closes the note for the care planner and the archive; reopening brings it back', async () => {
    const scan = new CareScanRepository(app.container.db);
    const dueIds = async () => (await scan.notesDue('2026-03-20', '', 100)).map((n) => n.id);
    const note = (await api(app, 'POST', notesOf(shared), { text: '20 号回访', dueDate: '2026-03-20' }, tokens.zhangsan)).body;
    expect(await dueIds()).toEqual([note.id]);

    clock.set('2026-03-11T02:30:00Z');
    const done = await api(app, 'PATCH', `/api/v1/notes/${note.id}`, { done: true }, tokens.zhangsan);
    expect(done.status).toBe(200);
    expect(done.body.doneAt).toBe('2026-03-11T02:30:00.000Z');
    expect(await dueIds()).toEqual([]);
    const archive = (await api(app, 'GET', `/api/v1/customers/${shared}`)).body;
    expect(archive.notes.map((n: { id: string }) => n.id)).not.toContain(note.id);
    expect(archive.notes.every((n: { doneAt: string | null }) => n.doneAt === null)).toBe(true);

    // Done twice keeps the first doneAt.
    clock.set('2026-03-12T02:30:00Z');
    expect((await api(app, 'PATCH', `/api/v1/notes/${note.id}`, { done: true }, tokens.zhangsan)).body.doneAt).toBe('2026-03-11T02:30:00.000Z');
    const doneList = await api(app, 'GET', `${notesOf(shared)}?status=done`);
    expect(doneList.body.items.map((n: { id: string }) => n.id)).toEqual([note.id]);

    const reopened = await api(app, 'PATCH', `/api/v1/notes/${note.id}`, { done: false, dueDate: '2026-03-21', text: '改到 21 号' }, tokens.zhangsan);
    expect(reopened.body).toMatchObject({ doneAt: null, dueDate: '2026-03-21', text: '改到 21 号' });
    expect(await dueIds()).toEqual([]);
    expect((await scan.notesDue('2026-03-21', '', 100)).map((n) => n.id)).toEqual([note.id]);
    const cleared = await api(app, 'PATCH', `/api/v1/notes/${note.id}`, { dueDate: null }, tokens.zhangsan);
    expect(cleared.body.dueDate).toBeNull();
  });

  it('the archive lists open notes soonest due first, undated last', async () => {
    const ext = 'wmNoteOrder0001';
    await buildCustomer(app.container, { externalUserId: ext, owners: ['zhangsan'] });
    for (const [text, dueDate] of [['无日期', null], ['四月', '2026-04-01'], ['三月', '2026-03-15']] as const) {
      await api(app, 'POST', notesOf(ext), { text, dueDate });
    }
    const { body } = await api(app, 'GET', `/api/v1/customers/${ext}`);
    expect(body.notes.map((n: { text: string }) => n.text)).toEqual(['三月', '四月', '无日期']);
  });

  it('lists page with page/pageSize, newest first', async () => {
    const ext = 'wmNotePages0001';
    await buildCustomer(app.container, { externalUserId: ext, owners: ['zhangsan'] });
    for (let i = 1; i <= 5; i++) {
      clock.advance(1000);
      await api(app, 'POST', notesOf(ext), { text: `第${i}条` });
    }
    const page2 = await api(app, 'GET', `${notesOf(ext)}?page=2&pageSize=2`);
    expect(page2.body.total).toBe(5);
    expect(page2.body.items.map((n: { text: string }) => n.text)).toEqual(['第3条', '第2条']);
    expect((await api(app, 'GET', `${notesOf(ext)}?pageSize=0`)).status).toBe(400);
    expect((await api(app, 'GET', `${notesOf(ext)}?status=later`)).status).toBe(400);
  });

  it('deleting a note removes it and its timeline entry; staff may delete their own', async () => {
    const note = (await api(app, 'POST', notesOf(shared), { text: '写错了，删掉' }, tokens.zhangsan)).body;
    const before = (await api(app, 'GET', `/api/v1/customers/${shared}`)).body;
    expect(before.timeline.some((e: { data: { noteId?: string } | null }) => e.data?.noteId === note.id)).toBe(true);
    const res = await fetch(`${app.url}/api/v1/notes/${note.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${tokens.zhangsan}` } });
    expect(res.status).toBe(204);
    const after = (await api(app, 'GET', `/api/v1/customers/${shared}`)).body;
    expect(after.timeline.some((e: { data: { noteId?: string } | null }) => e.data?.noteId === note.id)).toBe(false);
    expect(after.notes.some((n: { id: string }) => n.id === note.id)).toBe(false);
    expect((await api(app, 'PATCH', `/api/v1/notes/${note.id}`, { done: true })).status).toBe(404);
  });
});
