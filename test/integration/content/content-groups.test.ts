import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { addGroup } from '../../fixtures/groups.js';
import { PDF, png } from '../../fixtures/content.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * 客户群群发 and 入群欢迎语 that pick 素材库 items, through the API and the sandbox: checked when saved against WeCom's
 * limits for those APIs (add_msg_template's 9 attachments and one text for the whole group; a welcome template's one
 * attachment per kind and 3000 bytes), resolved from cached media when WeCom is called, never uploading. A file whose
 * media id would be expired defers the group task (or parks the template) and uploads nothing; after the
 * content-media job it goes out with the fresh id.
 */
describe.each(testEngines())('group broadcasts and group welcome templates with 素材库 items (%s)', (engine) => {
  let app: TestApp;
  let dir: string;
  const clock = new FixedClock(sh('2026-10-01T10:00:00'));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'content-groups-'));
    app = await startTestApp(engine, { build: { clock }, overrides: { content: { dir } } });
    await addGroup(app.container, { owner: 'zhangsan', name: '素材一群', customers: 3 });
    await addGroup(app.container, { owner: 'lisi', name: '素材二群', customers: 2 });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function upload(kind: 'file' | 'image', title: string): Promise<string> {
    const form = new FormData();
    form.append('data', JSON.stringify({ kind, title }));
    form.append('file', new Blob([new Uint8Array(kind === 'file' ? PDF : png(8, 8))]), kind === 'file' ? 'rules.pdf' : 'a.png');
    const res = await fetch(`${app.url}/api/v1/content`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, body: form });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }
  const textItem = async (title: string, text: string) => (await api(app, 'POST', '/api/v1/content', { kind: 'text', title, text })).body.id as string;
  const linkItem = async (title: string, url: string) => (await api(app, 'POST', '/api/v1/content', { kind: 'link', title, url })).body.id as string;
  type Task = { chat_type: string; sender: string; text?: { content: string }; attachments?: { msgtype: string; file?: { media_id: string }; link?: { url: string } }[] };
  const groupTasks = () =>
    app.container.sandbox!.calls('externalcontact/add_msg_template').filter((c) => c.errcode === 0 && c.params.chat_type === 'group').map((c) => c.params as unknown as Task);
  // Each run stands for its own minute (the job's occasion).
  const runJob = (minutes = 1) => {
    clock.advance(minutes * 60_000);
    return app.container.scheduling.scheduler.runNow('group-broadcasts');
  };

  it('group broadcast: refuses variables, a tenth attachment and unknown items when saved; sends the items’ text and attachments', async () => {
    const greeting = await textItem('国庆问候', '国庆快乐，到店有礼');
    const named = await textItem('带称呼', '{{name}}您好');
    const link = await linkItem('国庆活动', 'https://shop.example.com/oct');
    const file = await upload('file', '活动细则');
    const body = (contentIds: string[], attachments: object[] = [], text = '各位好') => ({ name: '国庆群发', filter: { namePattern: '素材' }, message: { text, attachments, contentIds } });

    const unknown = await api(app, 'POST', '/api/v1/group-broadcasts', body(['no-such-item']));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toBe('素材不存在或已删除：no-such-item');
    const withVar = await api(app, 'POST', '/api/v1/group-broadcasts', body([named]));
    expect(withVar.status).toBe(400);
    expect(withVar.body.error.message).toBe('素材「带称呼」含模板变量 {{name}}：客户群群发不支持模板变量（同一条消息发给群里所有人）');
    const links: string[] = [];
    for (let i = 0; i < 9; i++) links.push(await linkItem(`链接${i}`, `https://e.example.com/${i}`));
    const ten = await api(app, 'POST', '/api/v1/group-broadcasts', body(links, [{ kind: 'link', title: '自带', url: 'https://e.example.com/x' }]));
    expect(ten.status).toBe(400);
    expect(ten.body.error.message).toBe('附件最多 9 个（企业微信群发与欢迎语规则），当前 10 个');
    const long = await textItem('长文', '字'.repeat(1333));
    const tooLong = await api(app, 'POST', '/api/v1/group-broadcasts', body([long]));
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.message).toContain('消息文本与所选话术素材合计超过企业微信 4000 字节上限');
    // Nothing saved by the refusals.
    expect((await api(app, 'GET', '/api/v1/group-broadcasts')).body.total).toBe(0);

    app.container.sandbox!.clearCalls();
    const uploads = app.container.sandbox!.store.media.size;
    const created = await api(app, 'POST', '/api/v1/group-broadcasts', body([greeting, link, file], [], '各位好'));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.message.contentIds).toEqual([greeting, link, file]);
    expect((await api(app, 'GET', `/api/v1/group-broadcasts/${created.body.id}`)).body.message.contentIds).toEqual([greeting, link, file]);
    expect((await runJob()).counts).toMatchObject({ submittedTasks: 2, deferredContent: 0 });
    const mediaId = (await app.container.content.service.get(file)).mediaId;
    const tasks = groupTasks();
    expect(tasks.map((t) => t.sender).sort()).toEqual(['lisi', 'zhangsan']);
    for (const t of tasks) {
      expect(t.text?.content).toBe('各位好\n\n国庆快乐，到店有礼');
      expect(t.attachments).toEqual([
        { msgtype: 'link', link: expect.objectContaining({ title: '国庆活动', url: 'https://shop.example.com/oct' }) },
        { msgtype: 'file', file: { media_id: mediaId } },
      ]);
    }
    // Resolved from cached media: no upload on the way.
    expect(app.container.sandbox!.store.media.size).toBe(uploads);
    // One broadcast to two groups: each item one use per group chat (docs/content.md §Use counts).
    expect((await app.container.content.service.get(greeting)).useCount).toBe(2);
  });

  it('group broadcast: a file whose media would be expired defers the tasks and uploads nothing; sends after the media job, and fails after 3 attempts', async () => {
    clock.set(sh('2026-10-05T10:00:00'));
    const file = await upload('file', '旧细则');
    const stale = (await app.container.content.service.get(file)).mediaId;
    // Scheduled four days later; the media job does not run in between.
    const created = await api(app, 'POST', '/api/v1/group-broadcasts', {
      name: '延后',
      filter: { namePattern: '素材一群' },
      message: { text: '', attachments: [], contentIds: [file] },
      sendAt: sh('2026-10-09T10:00:00').toISOString(),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const other = await api(app, 'POST', '/api/v1/group-broadcasts', {
      name: '一直不可发',
      filter: { namePattern: '素材二群' },
      message: { text: '请查收', attachments: [], contentIds: [file] },
      sendAt: sh('2026-10-09T10:00:00').toISOString(),
    });
    expect(other.status).toBe(201);
    clock.set(sh('2026-10-09T10:00:00'));
    app.container.sandbox!.clearCalls();
    const uploads = app.container.sandbox!.store.media.size;
    expect((await runJob()).counts).toMatchObject({ submittedTasks: 0, deferredContent: 2 });
    expect(groupTasks()).toHaveLength(0);
    expect(app.container.sandbox!.store.media.size).toBe(uploads);
    const waiting = (await api(app, 'GET', `/api/v1/group-broadcasts/${created.body.id}`)).body;
    expect(waiting).toMatchObject({ status: 'sending', rows: { planned: 1 } });
    // Not before the retry time.
    expect((await runJob()).counts).toMatchObject({ submittedTasks: 0, deferredContent: 0 });

    // The media job makes a fresh id; the next attempt sends the first broadcast with it.
    await app.container.scheduling.scheduler.runNow('content-media');
    const fresh = (await app.container.content.service.get(file)).mediaId;
    expect(fresh).not.toBe(stale);
    // The second broadcast's item is deleted meanwhile: it never becomes ready.
    const copy = await upload('file', '另一份');
    const third = await api(app, 'POST', '/api/v1/group-broadcasts', { name: '素材被删', filter: { namePattern: '素材二群' }, message: { text: '请查收', attachments: [], contentIds: [copy] } });
    expect(third.status).toBe(201);
    expect((await api(app, 'DELETE', `/api/v1/content/${copy}`)).status).toBe(204);
    await runJob(30);
    const sent = groupTasks();
    expect(sent.map((t) => [t.sender, t.text?.content, t.attachments]).sort()).toEqual([
      ['lisi', '请查收', [{ msgtype: 'file', file: { media_id: fresh } }]],
      ['zhangsan', undefined, [{ msgtype: 'file', file: { media_id: fresh } }]],
    ]);
    for (let i = 0; i < 2; i++) await runJob(30);
    const failed = (await api(app, 'GET', `/api/v1/group-broadcasts/${third.body.id}`)).body;
    expect(failed).toMatchObject({ rows: { failed: 1, planned: 0 }, ownerProgress: [{ userid: 'lisi', failedTasks: 1 }] });
    expect(groupTasks()).toHaveLength(2);
  });

  it('group welcome template: one attachment per kind and 3000 bytes with the items, {{name}} as %NICKNAME%; parked while not ready, then live after the media job', async () => {
    clock.set(sh('2026-10-12T10:00:00'));
    const hello = await textItem('欢迎词', '{{name}}，欢迎入群！');
    const staff = await textItem('带员工', '我是{{staff}}');
    const image = await upload('image', '群规');
    const image2 = await upload('image', '群规二');
    const file = await upload('file', '入群须知');
    const link = await linkItem('新人礼', 'https://shop.example/new');
    const post = (contentIds: string[], extra: object = {}) => api(app, 'POST', '/api/v1/group-welcome-templates', { name: '素材欢迎语', text: '你好', contentIds, ...extra });

    const twoImages = await post([image, image2]);
    expect(twoImages.status).toBe(400);
    expect(twoImages.body.error.message).toBe('入群欢迎语每种附件最多 1 个（企业微信规则），现在有 2 个图片');
    const ownAndItem = await post([link], { attachments: { link: { title: '自带', url: 'https://shop.example/own' } } });
    expect(ownAndItem.body.error.message).toBe('入群欢迎语每种附件最多 1 个（企业微信规则），现在有 2 个链接');
    const withStaff = await post([staff]);
    expect(withStaff.body.error.message).toBe('素材「带员工」含变量 {{staff}}：入群欢迎语只能用 {{name}}（入群者的昵称）');
    const long = await textItem('长欢迎', '字'.repeat(999));
    const tooLong = await post([long]);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.message).toBe('欢迎语文字与所选话术素材合计最多 3000 字节（约 1000 个汉字），现在是 3005 字节');
    expect((await api(app, 'GET', '/api/v1/group-welcome-templates')).body.total).toBe(0);

    const uploads = app.container.sandbox!.store.media.size;
    const created = await post([hello, image, file]);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ status: 'active', contentIds: [hello, image, file] });
    const item = async (id: string) => app.container.content.service.get(id);
    const inWecom = app.container.sandbox!.store.groupWelcomeTemplates.get(created.body.templateId)!;
    expect(inWecom.content).toEqual({
      text: { content: '你好\n\n%NICKNAME%，欢迎入群！' },
      image: { pic_url: (await item(image)).picUrl },
      file: { media_id: (await item(file)).mediaId },
    });
    expect(app.container.sandbox!.store.media.size).toBe(uploads);
    expect((await item(hello)).useCount).toBe(1);

    // Four days on, the file's media id is dead and the media job has not run: the template is parked with the reason,
    // nothing uploaded; after the job, 重试 adds it with the fresh id.
    clock.set(sh('2026-10-16T10:00:00'));
    const parked = await post([file], { name: '过期素材' });
    expect(parked.status).toBe(201);
    expect(parked.body).toMatchObject({ status: 'failed', templateId: null });
    expect(parked.body.lastError).toContain('素材「入群须知」的文件尚未上传到企业微信或即将过期');
    expect(app.container.sandbox!.store.media.size).toBe(uploads);
    // An active template's edit with an item not ready changes nothing and says why (409).
    const edit = await api(app, 'PATCH', `/api/v1/group-welcome-templates/${created.body.id}`, { text: '改过' });
    expect(edit.status).toBe(409);
    expect(edit.body.error.message).toContain('尚未上传到企业微信或即将过期');
    expect((await api(app, 'GET', '/api/v1/group-welcome-templates')).body.items.find((t: { id: string }) => t.id === created.body.id).text).toBe('你好');

    expect(parked.body.lastError).toMatch(/^等待素材：/);

    // The media job's refresh brings it live on its own, with the fresh id: no 重试 needed. 重试 afterwards (or while it
    // ran: the retry claims the row) adds nothing to WeCom's library.
    const templatesBefore = app.container.sandbox!.store.groupWelcomeTemplates.size;
    const job = await app.container.scheduling.scheduler.runNow('content-media');
    expect(job.status, JSON.stringify(job)).toBe('done');
    const live = (await api(app, 'GET', '/api/v1/group-welcome-templates')).body.items.find((t: { id: string }) => t.id === parked.body.id);
    expect(live).toMatchObject({ status: 'active', lastError: null });
    expect(app.container.sandbox!.store.groupWelcomeTemplates.get(live.templateId)!.content).toEqual({ text: { content: '你好' }, file: { media_id: (await item(file)).mediaId } });
    const again = await api(app, 'POST', `/api/v1/group-welcome-templates/${parked.body.id}/retry`, {});
    expect(again.body).toMatchObject({ status: 'active', templateId: live.templateId });
    expect(app.container.sandbox!.store.groupWelcomeTemplates.size).toBe(templatesBefore + 1);

    // Two 重试 at once (two operators, or one and the job) on a template whose media is fresh again: one adds it.
    clock.set(sh('2026-10-20T10:00:00'));
    const second = await post([file], { name: '再次过期' });
    expect(second.body).toMatchObject({ status: 'failed' });
    await app.container.content.media.refresh();
    const before = app.container.sandbox!.store.groupWelcomeTemplates.size;
    const both = await Promise.all([1, 2].map(() => api(app, 'POST', `/api/v1/group-welcome-templates/${second.body.id}/retry`, {})));
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    expect(app.container.sandbox!.store.groupWelcomeTemplates.size).toBe(before + 1);
    expect((await api(app, 'GET', '/api/v1/group-welcome-templates')).body.items.find((t: { id: string }) => t.id === second.body.id)).toMatchObject({ status: 'active' });
  });
});
