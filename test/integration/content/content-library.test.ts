import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GIF, MP4, PDF, png } from '../../fixtures/content.js';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { ContentNotReadyError } from '../../../src/domain/content/content.service.js';
import { WecomApiError } from '../../../src/shared/errors.js';
import { localDate } from '../../../src/shared/dates.js';

const LINKED_APPID = 'wx0123456789abcdef';

async function upload(app: TestApp, data: object, file: { name: string; bytes: Buffer } | null, token = TEST_ADMIN_TOKEN, path = '/api/v1/content', method = 'POST') {
  const form = new FormData();
  form.append('data', JSON.stringify(data));
  if (file) form.append('file', new Blob([new Uint8Array(file.bytes)]), file.name);
  const res = await fetch(`${app.url}${path}`, { method, headers: { authorization: `Bearer ${token}` }, body: form });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe.each(testEngines())('素材库 content library over HTTP with the sandbox (%s)', (engine) => {
  let app: TestApp;
  let dir: string;
  const clock = new FixedClock('2026-12-01T02:00:00Z');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'content-'));
    app = await startTestApp(engine, { build: { clock }, overrides: { content: { dir, miniprogramAppIds: [LINKED_APPID] } } });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds two-character Chinese words (and single characters) through its own bigram index', async () => {
    const make = (body: object) => api(app, 'POST', '/api/v1/content', body);
    const coupon = await make({ kind: 'text', group: '促销话术', title: '双十一优惠券', text: '{{name}}您好，双十一全场满300减50，点击领取。', tags: ['大促'] });
    const member = await make({ kind: 'text', group: '会员', title: '会员日提醒', text: '每月8号会员日，积分翻倍。', tags: ['优惠'] });
    const link = await make({ kind: 'link', group: '促销话术', title: '新品上市', text: '春季新款到店', url: 'https://shop.example.com/new' });
    expect([coupon.status, member.status, link.status], JSON.stringify(coupon.body)).toEqual([201, 201, 201]);
    const search = async (q: string) => ((await api(app, 'GET', `/api/v1/content?q=${encodeURIComponent(q)}&pageSize=100`)).body.items as { id: string }[]).map((i) => i.id);
    // 优惠: in one item's title and in the other's tag.
    expect((await search('优惠')).sort()).toEqual([coupon.body.id, member.body.id].sort());
    expect(await search('会员')).toEqual([member.body.id]);
    expect(await search('新品')).toEqual([link.body.id]);
    expect(await search('积分翻倍')).toEqual([member.body.id]);
    // One character: anywhere in a word.
    expect(await search('券')).toEqual([coupon.body.id]);
    expect(await search('春季 到店')).toEqual([link.body.id]);
    expect(await search('优惠 会员')).toEqual([member.body.id]);
    expect(await search('秒杀')).toEqual([]);
    // The quick replies migrated from before the library are items too, and searchable.
    const greetings = (await api(app, 'GET', `/api/v1/content?q=${encodeURIComponent('问候')}&quickReply=true`)).body;
    expect(greetings.total).toBeGreaterThanOrEqual(2);
    // Groups and tags, filtered.
    expect((await api(app, 'GET', `/api/v1/content?group=${encodeURIComponent('促销话术')}`)).body.total).toBe(2);
    expect((await api(app, 'GET', `/api/v1/content?tag=${encodeURIComponent('大促')}`)).body.items.map((i: { id: string }) => i.id)).toEqual([coupon.body.id]);
    const facets = (await api(app, 'GET', '/api/v1/content/facets')).body;
    expect(facets.groups).toContainEqual({ name: '促销话术', count: 2 });
    expect(facets.tags).toContainEqual({ name: '优惠', count: 1 });
    // An edit re-indexes: the old word is gone, the new one found.
    expect((await api(app, 'PATCH', `/api/v1/content/${link.body.id}`, { title: '夏季清仓' })).status).toBe(200);
    expect(await search('新品')).toEqual([]);
    expect(await search('清仓')).toEqual([link.body.id]);
  });

  it('uploads an image, link cover, file, video and mini-program card; sniffs types; serves the file back', async () => {
    const pic = png(40, 30);
    const image = await upload(app, { kind: 'image', group: '海报', title: '门店海报' }, { name: '海报.png', bytes: pic });
    expect(image.status, JSON.stringify(image.body)).toBe(201);
    expect(image.body).toMatchObject({ kind: 'image', kindWords: '图片', file: { name: '海报.png', type: 'image/png', size: pic.length }, mediaReady: true, mediaStatus: '已上传企业微信' });
    expect(image.body.picUrl).toMatch(/^https:\/\/wework\.qpic\.cn\//);
    const served = await fetch(`${app.url}${image.body.fileUrl}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await served.arrayBuffer()).equals(pic)).toBe(true);

    const file = await upload(app, { kind: 'file', title: '价目表' }, { name: 'price.pdf', bytes: PDF });
    expect(file.status).toBe(201);
    expect(file.body.file.type).toBe('application/pdf');
    expect(app.container.sandbox!.store.media.has((await app.container.content.service.get(file.body.id)).mediaId!)).toBe(true);
    const video = await upload(app, { kind: 'video', title: '开箱视频' }, { name: 'unbox.mp4', bytes: MP4 });
    expect(video.status, JSON.stringify(video.body)).toBe(201);
    expect(video.body.file.type).toBe('video/mp4');
    const card = await upload(app, { kind: 'miniprogram', title: '积分商城', appId: LINKED_APPID, page: 'pages/index/index' }, { name: 'cover.png', bytes: pic });
    expect(card.status, JSON.stringify(card.body)).toBe(201);
    const link = await upload(app, { kind: 'link', title: '会员权益', url: 'https://shop.example.com/vip', text: '查看权益' }, { name: 'c.png', bytes: pic });
    expect(link.status).toBe(201);

    // The composer's resolver: text rendered, attachments in order, from cached media only.
    const msg = await app.container.content.service.resolve([image.body.id, link.body.id, card.body.id, file.body.id, video.body.id]);
    expect(msg.attachments.map((a) => a.kind)).toEqual(['image', 'link', 'miniprogram', 'file', 'video']);
    // WeCom takes them: a mass-message task with all five attachments.
    const customer = app.container.sandbox!.store.allRelations()[0];
    const task = await app.container.wecom.addMsgTemplate({ sender: customer.userid, externalUserIds: [customer.externalUserId], text: '新品推荐', attachments: msg.attachments });
    expect(task.msgId).toBeTruthy();
  });

  it('refuses at save a wrong type or an oversize attachment, with the limit in the zh-CN message', async () => {
    const gif = await upload(app, { kind: 'image', title: '动图' }, { name: 'a.gif', bytes: GIF });
    expect(gif.status).toBe(400);
    expect(gif.body.error.message).toBe('图片仅支持 JPG 或 PNG 格式（企业微信附件规则），该文件是 image/gif');
    const big = png(1100, 1000, true);
    expect(big.length).toBeGreaterThan(2 * 1024 * 1024);
    const oversize = await upload(app, { kind: 'image', title: '大图' }, { name: 'big.png', bytes: big });
    expect(oversize.status).toBe(400);
    expect(oversize.body.error.message).toMatch(/^图片不能超过 2 MB（企业微信附件规则），该文件 4\.\d MB$/);
    const notMp4 = await upload(app, { kind: 'video', title: '视频' }, { name: 'v.mp4', bytes: PDF });
    expect(notMp4.body.error.message).toBe('视频仅支持 MP4 格式（企业微信附件规则），该文件是 application/pdf');
    const unlinked = await upload(app, { kind: 'miniprogram', title: '商城', appId: 'wxffffffffffffffff', page: 'p/i' }, { name: 'c.png', bytes: png(8, 8) });
    expect(unlinked.status).toBe(400);
    expect(unlinked.body.error.message).toContain('未关联到企业');
    expect((await upload(app, { kind: 'image', title: '无文件' }, null)).body.error.message).toBe('请上传文件');
    // Nothing of the refused saves was kept.
    expect((await api(app, 'GET', `/api/v1/content?q=${encodeURIComponent('大图')}`)).body.total).toBe(0);
    // At most 9 attachments in one message.
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await api(app, 'POST', '/api/v1/content', { kind: 'link', title: `链接${i}`, url: `https://e.example.com/${i}` })).body.id);
    const ten = await api(app, 'POST', '/api/v1/content/check', { contentIds: ids });
    expect(ten.status).toBe(400);
    expect(ten.body.error.message).toBe('附件最多 9 个（企业微信群发与欢迎语规则），当前 10 个');
    expect((await api(app, 'POST', '/api/v1/content/check', { contentIds: ids.slice(0, 9) })).body).toEqual({ ok: true, attachments: 9 });
    // Staff read, only operators write.
    const staff = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    expect((await api(app, 'GET', '/api/v1/content', undefined, staff)).status).toBe(200);
    expect((await api(app, 'POST', '/api/v1/content', { kind: 'text', title: 't', text: 'x' }, staff)).status).toBe(403);
  });

  it('refuses a file over CONTENT_MAX_BYTES while it streams in, with the limit', async () => {
    const small = await startTestApp(engine, { overrides: { content: { dir, maxBytes: 4096 } } });
    try {
      const r = await upload(small, { kind: 'file', title: '大文件' }, { name: 'x.pdf', bytes: Buffer.concat([PDF, Buffer.alloc(10_000, 0x20)]) });
      expect(r.status).toBe(413);
      expect(r.body.error.message).toBe('文件不能超过 4 KB（CONTENT_MAX_BYTES）');
    } finally {
      await small.close();
    }
  });

  it('counts media/uploadimg against 1,000 a day and 3,000 a month and refuses clearly past it', async () => {
    const day = localDate(clock.now(), 'Asia/Shanghai');
    const used = (await api(app, 'GET', '/api/v1/content/facets')).body.imageQuota;
    expect(used.day).toBeGreaterThan(0);
    expect(used).toMatchObject({ dayLimit: 1000, monthLimit: 3000 });
    await app.container.db.query('UPDATE content_upload_quota SET used = ? WHERE period = ?', [999, `d:${day}`]);
    expect((await upload(app, { kind: 'image', title: '最后一张' }, { name: 'a.png', bytes: png(9, 9) })).status).toBe(201);
    const refused = await upload(app, { kind: 'image', title: '超额' }, { name: 'b.png', bytes: png(9, 9) });
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toBe('今日图片上传额度已用完（企业微信 media/uploadimg 每天至多 1000 张），明天再上传图片、链接封面或小程序封面');
    // A text item needs no image and still saves; the day's count did not move past 1000.
    expect((await api(app, 'POST', '/api/v1/content', { kind: 'text', title: '文字', text: '不受影响' })).status).toBe(201);
    expect((await api(app, 'GET', '/api/v1/content/facets')).body.imageQuota.day).toBe(1000);
    // The month's budget too.
    await app.container.db.query('UPDATE content_upload_quota SET used = ? WHERE period = ?', [0, `d:${day}`]);
    await app.container.db.query('UPDATE content_upload_quota SET used = ? WHERE period = ?', [3000, `m:${day.slice(0, 7)}`]);
    const month = await upload(app, { kind: 'image', title: '超额' }, { name: 'b.png', bytes: png(9, 9) });
    expect(month.body.error.message).toBe('本月图片上传额度已用完（企业微信 media/uploadimg 每月至多 3000 张），下月再上传图片、链接封面或小程序封面');
    await app.container.db.query('DELETE FROM content_upload_quota');
  });

  it('re-uploads media older than two days by the job before a scheduled send, never during it (fake clock)', async () => {
    clock.set('2026-12-10T02:00:00Z');
    const svc = app.container.content.service;
    const store = app.container.sandbox!.store;
    const made = await upload(app, { kind: 'file', title: '活动细则' }, { name: 'rules.pdf', bytes: PDF });
    const first = (await svc.get(made.body.id)).mediaId!;
    const customer = store.allRelations()[0];
    const send = (attachments: Awaited<ReturnType<typeof svc.resolve>>['attachments']) =>
      app.container.wecom.addMsgTemplate({ sender: customer.userid, externalUserIds: [customer.externalUserId], attachments });
    const job = app.container.scheduling.jobs.get('content-media');
    const runJob = () => job.run({ at: clock.now(), clock, occasionKey: 'test', isDryRun: false, runId: null, log: app.log, report: () => undefined });

    // Two days and an hour on, the hourly job re-uploads; the send three days after the upload finds a fresh id.
    clock.advance(49 * 3600_000);
    expect(await runJob()).toMatchObject({ uploaded: expect.any(Number) });
    const second = (await svc.get(made.body.id)).mediaId!;
    expect(second).not.toBe(first);
    clock.advance(24 * 3600_000);
    const uploadsBefore = store.media.size;
    const msg = await svc.resolve([made.body.id]);
    expect(msg.attachments).toEqual([{ kind: 'file', mediaId: second }]);
    expect((await send(msg.attachments)).msgId).toBeTruthy();
    // The send uploaded nothing.
    expect(store.media.size).toBe(uploadsBefore);
    // The first id is past WeCom's 3 days: the sandbox refuses it with 40007, as WeCom would.
    await expect(send([{ kind: 'file', mediaId: first }])).rejects.toSatisfy((e: unknown) => e instanceof WecomApiError && e.errcode === 40007);

    // Had the job not run (the id is now over three days old), the send refuses and still uploads nothing.
    clock.advance(2 * 24 * 3600_000);
    await expect(svc.resolve([made.body.id])).rejects.toBeInstanceOf(ContentNotReadyError);
    expect(store.media.size).toBe(uploadsBefore);
    const view = (await api(app, 'GET', `/api/v1/content/${made.body.id}`)).body;
    expect(view).toMatchObject({ mediaReady: false, mediaStatus: '等待上传企业微信' });
    await runJob();
    // The job re-uploads every stale item of the library (earlier tests left some), this one among them.
    expect(store.media.size).toBeGreaterThan(uploadsBefore);
    expect((await svc.resolve([made.body.id])).attachments).toEqual([{ kind: 'file', mediaId: (await svc.get(made.body.id)).mediaId }]);
  });

  it('counts uses: a quick reply sent from the sidebar and a planned message', async () => {
    const item = await api(app, 'POST', '/api/v1/content', { kind: 'text', group: '问候', title: '节日问候', text: '{{name}}节日快乐', quickReply: true });
    // A message planned for one customer (the composers count after the ledger took it), then a sidebar send.
    await app.container.content.service.recordUses([item.body.id], 1);
    await app.container.sidebar.replies.recordSent(item.body.id);
    const top = (await api(app, 'GET', '/api/v1/content?order=uses&pageSize=1')).body.items[0];
    expect(top).toMatchObject({ id: item.body.id, useCount: 2 });
    expect(top.lastUsedAt).toBe(clock.now().toISOString());
    // It is a quick reply too, with its 话术分组 as the category.
    expect((await api(app, 'GET', `/api/v1/quick-replies/${item.body.id}`)).body).toMatchObject({ kind: 'text', category: '问候', title: '节日问候' });
  });
});
