import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startTestApp, TEST_ADMIN_TOKEN, waitFor, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { PDF, png } from '../../fixtures/content.js';

/**
 * 渠道活码 welcomes that pick 素材库 items: checked when the channel is saved, resolved from cached media when a
 * customer scans, within the welcome_code's 20 s. An item whose media is not ready is left out, the welcome still
 * goes out, and the customer's timeline says what was left out and why; nothing is uploaded on that path.
 */
describe.each(testEngines())('channel welcomes with 素材库 items (%s)', (engine) => {
  let app: TestApp;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'content-welcome-'));
    app = await startTestApp(engine, {
      overrides: { content: { dir }, alerts: { adminUserids: [] }, inbox: { pollIntervalMs: 200 }, sandbox: { seed: true } },
      build: { sandbox: { callbackRetryDelaysMs: [100, 100, 100] } },
      startServices: true,
    });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function fileItem(data: object, name: string, bytes: Buffer): Promise<string> {
    const form = new FormData();
    form.append('data', JSON.stringify(data));
    form.append('file', new Blob([new Uint8Array(bytes)]), name);
    const res = await fetch(`${app.url}/api/v1/content`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, body: form });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }
  const sandbox = () => app.container.sandbox!;
  async function scan(state: string, name: string) {
    const way = [...sandbox().store.contactWays.values()].find((w) => w.state === state)!;
    const added = await sandbox().addCustomer({ configId: way.configId, name });
    const sent = (await waitFor(() => sandbox().store.welcomeSent.find((w) => w.welcomeCode === added.welcomeCode), 5000, 'welcome'))!;
    return { added, sent };
  }
  const welcomeEntry = (externalUserId: string) =>
    waitFor(async () => (await app.container.db.query<{ summary: string }>("SELECT summary FROM timeline_entries WHERE external_user_id = ? AND source = 'welcome'", [externalUserId]))[0] ?? null, 5000, 'welcome timeline entry');

  let text: string;
  let image: string;
  let file: string;

  it('refuses unknown items and a tenth attachment when saved, in zh-CN', async () => {
    const unknown = await api(app, 'POST', '/api/v1/channels', { name: '未知素材渠道', staff: ['lisi'], welcome: { text: '您好', contentIds: ['no-such-item'] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toBe('素材不存在或已删除：no-such-item');
    expect(unknown.body.error.details.fields).toHaveProperty(['welcome.contentIds']);
    const links: string[] = [];
    for (let i = 0; i < 9; i++) links.push((await api(app, 'POST', '/api/v1/content', { kind: 'link', title: `链接${i}`, url: `https://e.example.com/${i}` })).body.id);
    const ten = await api(app, 'POST', '/api/v1/channels', { name: '十个附件渠道', staff: ['lisi'], welcome: { text: '您好', attachments: [{ kind: 'link', title: '自带', url: 'https://e.example.com/x' }], contentIds: links } });
    expect(ten.status).toBe(400);
    expect(ten.body.error.message).toBe('附件最多 9 个（企业微信群发与欢迎语规则），当前 10 个');
    const plain = await api(app, 'POST', '/api/v1/channels', { name: '先无素材渠道', staff: ['lisi'], welcome: { text: '您好' } });
    expect(plain.status).toBe(201);
    const patched = await api(app, 'PATCH', `/api/v1/channels/${plain.body.id}`, { welcome: { text: '您好', contentIds: ['gone'] } });
    expect(patched.status).toBe(400);
    expect(patched.body.error.message).toBe('素材不存在或已删除：gone');
  });

  it('sends the items’ text, the library image’s URL and the file’s cached media id with the welcome, uploading nothing', async () => {
    text = (await api(app, 'POST', '/api/v1/content', { kind: 'text', title: '新人礼', text: '{{name}}，送您一份新人礼，{{staff}}随时为您服务' })).body.id as string;
    image = await fileItem({ kind: 'image', title: '门店海报' }, '海报.png', png(40, 30));
    // A file: a channel's own attachments cannot be files (a media id dies in 3 days), a library item's can.
    file = await fileItem({ kind: 'file', title: '会员手册' }, 'book.pdf', PDF);
    const created = await api(app, 'POST', '/api/v1/channels', { name: '素材渠道', staff: ['lisi'], welcome: { text: '{{name}}您好', contentIds: [text, image, file] } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.welcome.contentIds).toEqual([text, image, file]);
    const { picUrl } = await app.container.content.service.get(image);
    const { mediaId } = await app.container.content.service.get(file);
    const uploads = sandbox().store.media.size;

    const { added, sent } = await scan(created.body.state, '王五');
    expect(sent.text).toEqual({ content: '王五您好\n\n王五，送您一份新人礼，李四随时为您服务' });
    expect(sent.attachments).toEqual([
      { msgtype: 'image', image: { pic_url: picUrl } },
      { msgtype: 'file', file: { media_id: mediaId } },
    ]);
    expect(sandbox().store.media.size).toBe(uploads);
    expect((await welcomeEntry(added.externalUserId))!.summary).toBe('发送欢迎语（渠道：素材渠道）');
    await waitFor(async () => (await app.container.content.service.get(file)).useCount === 1, 5000, 'use counted');
  });

  it('leaves out an item whose media is not ready, still welcomes, and records why on the timeline', async () => {
    // The file's media id four days old (the media job stopped, say): expired for WeCom.
    await app.container.db.query('UPDATE content_items SET media_uploaded_at = ? WHERE id = ?', [Date.now() - 4 * 86_400_000, file]);
    const created = await api(app, 'POST', '/api/v1/channels', { name: '过期素材渠道', staff: ['lisi'], welcome: { text: '{{name}}您好', contentIds: [text, file, image] } });
    expect(created.status).toBe(201);
    const uploads = sandbox().store.media.size;

    const { added, sent } = await scan(created.body.state, '赵六');
    expect(sent.text).toEqual({ content: '赵六您好\n\n赵六，送您一份新人礼，李四随时为您服务' });
    expect(sent.attachments).toEqual([{ msgtype: 'image', image: { pic_url: (await app.container.content.service.get(image)).picUrl } }]);
    expect(sandbox().store.media.size).toBe(uploads);
    expect((await welcomeEntry(added.externalUserId))!.summary).toBe(
      '发送欢迎语（渠道：过期素材渠道），素材未随欢迎语发送：素材「会员手册」的文件尚未上传到企业微信或即将过期，系统会在后台重新上传，请稍后再发',
    );
  });
});
