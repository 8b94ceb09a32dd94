import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { addSandboxCustomer } from '../../fixtures/scheduling.js';
import { PDF } from '../../fixtures/content.js';

const sh = (local: string) => new Date(`${local}+08:00`);
const TASK_API = 'externalcontact/add_msg_template';

/**
 * A broadcast that picks 素材库 items: checked when saved (unknown items, more than 9 attachments), resolved into
 * text and attachments when it is planned. A file whose media id would be expired at planning defers the broadcast
 * and uploads nothing; after the content-media job it goes out with the fresh id.
 */
describe.each(testEngines())('broadcasts with 素材库 items (%s)', (engine) => {
  let app: TestApp;
  let dir: string;
  const clock = new FixedClock(sh('2026-10-01T10:00:00'));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'content-bc-'));
    app = await startTestApp(engine, { build: { clock }, overrides: { content: { dir } } });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function fileItem(title: string): Promise<string> {
    const form = new FormData();
    form.append('data', JSON.stringify({ kind: 'file', title }));
    form.append('file', new Blob([new Uint8Array(PDF)]), 'rules.pdf');
    const res = await fetch(`${app.url}/api/v1/content`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, body: form });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }
  const tasks = () =>
    app.container.sandbox!.calls(TASK_API).filter((c) => c.errcode === 0).map((c) => c.params as { text?: { content: string }; attachments?: { msgtype: string; file?: { media_id: string }; link?: { url: string } }[] });
  const runBroadcasts = () => {
    clock.advance(60_000);
    return app.container.scheduling.scheduler.runNow('broadcasts');
  };

  it('refuses unknown items and a tenth attachment when saved, and sends the items’ text and attachments', async () => {
    const customer = await addSandboxCustomer(app.container, 'zhangsan', { name: '王女士' });
    expect((await api(app, 'POST', `/api/v1/customers/${customer}/tags`, { add: ['素材测试'], remove: [] })).status).toBe(200);
    const text = (await api(app, 'POST', '/api/v1/content', { kind: 'text', title: '国庆问候', text: '{{name}}国庆快乐！' })).body.id as string;
    const link = (await api(app, 'POST', '/api/v1/content', { kind: 'link', title: '国庆活动', url: 'https://shop.example.com/oct' })).body.id as string;
    const file = await fileItem('活动细则');
    const message = (contentIds: string[], attachments: object[] = []) => ({ name: '国庆', audience: 'tag:素材测试', message: { text: '您好', attachments, contentIds } });

    const unknown = await api(app, 'POST', '/api/v1/broadcasts', message(['no-such-item']));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toBe('素材不存在或已删除：no-such-item');
    const links: string[] = [];
    for (let i = 0; i < 9; i++) links.push((await api(app, 'POST', '/api/v1/content', { kind: 'link', title: `链接${i}`, url: `https://e.example.com/${i}` })).body.id);
    const ten = await api(app, 'POST', '/api/v1/broadcasts', message(links, [{ kind: 'link', title: '自带', url: 'https://e.example.com/x' }]));
    expect(ten.status).toBe(400);
    expect(ten.body.error.message).toBe('附件最多 9 个（企业微信群发与欢迎语规则），当前 10 个');

    app.container.sandbox!.clearCalls();
    const created = await api(app, 'POST', '/api/v1/broadcasts', message([text, link, file]));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.message.contentIds).toEqual([text, link, file]);
    expect((await runBroadcasts()).counts).toMatchObject({ planned: 1, submittedTasks: 1 });
    const [task] = tasks();
    expect(task.text?.content).toBe('您好\n\n王女士国庆快乐！');
    const mediaId = (await app.container.content.service.get(file)).mediaId;
    expect(task.attachments).toEqual([
      { msgtype: 'link', link: expect.objectContaining({ title: '国庆活动', url: 'https://shop.example.com/oct' }) },
      { msgtype: 'file', file: { media_id: mediaId } },
    ]);
    // Planned once: each item counts one use.
    expect((await app.container.content.service.get(text)).useCount).toBe(1);
  });

  it('defers a broadcast whose file media would be expired and uploads nothing; sends after the media job', async () => {
    clock.set(sh('2026-10-05T10:00:00'));
    const customer = await addSandboxCustomer(app.container, 'lisi', { name: '赵先生' });
    expect((await api(app, 'POST', `/api/v1/customers/${customer}/tags`, { add: ['过期测试'], remove: [] })).status).toBe(200);
    const file = await fileItem('旧细则');
    const stale = (await app.container.content.service.get(file)).mediaId;
    // Scheduled four days later; the media job does not run in between (a stopped scheduler, say).
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '延后', audience: 'tag:过期测试', message: { text: '请查收', attachments: [], contentIds: [file] }, sendAt: sh('2026-10-09T10:00:00').toISOString() });
    expect(created.status).toBe(201);
    clock.set(sh('2026-10-09T10:00:00'));
    app.container.sandbox!.clearCalls();
    const uploads = app.container.sandbox!.store.media.size;
    await runBroadcasts();
    expect(tasks()).toHaveLength(0);
    expect(app.container.sandbox!.store.media.size).toBe(uploads);
    expect((await api(app, 'GET', `/api/v1/broadcasts/${created.body.id}`)).body.status).not.toBe('failed');
    // The media job makes a fresh id; the next planning sends with it.
    await app.container.scheduling.scheduler.runNow('content-media');
    const fresh = (await app.container.content.service.get(file)).mediaId;
    expect(fresh).not.toBe(stale);
    clock.advance(5 * 60_000);
    await runBroadcasts();
    expect(tasks().map((t) => t.attachments)).toEqual([[{ msgtype: 'file', file: { media_id: fresh } }]]);
  });
});
