import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MP4, PDF, png } from '../../fixtures/content.js';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { buildCustomer } from '../../factories/customers.js';
import { FixedClock } from '../../../src/shared/clock.js';

const LINKED_APPID = 'wx0123456789abcdef';

async function upload(app: TestApp, data: object, file: { name: string; bytes: Buffer }): Promise<string> {
  const form = new FormData();
  form.append('data', JSON.stringify(data));
  form.append('file', new Blob([new Uint8Array(file.bytes)]), file.name);
  const res = await fetch(`${app.url}/api/v1/content`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, body: form });
  const body = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body.id;
}

interface Send {
  label: string;
  chat: ({ msgtype: string } & Record<string, Record<string, string>>) | null;
  problem: string | null;
}

// docs/todo.md §One-tap send: a journey task's 素材库 attachments keep their item, and the list prepares each for
// ww.sendChatMessage as the item is at that moment, through the library's one preparation (ContentService.chatSends),
// so a media id the sidebar sends is the one the media job keeps fresh; what cannot go says why, in zh-CN. The
// sandbox's sendChatMessage (the JS-SDK test mode's) accepts the prepared ids and refuses the ones the task was made
// with once they are past WeCom's 3 days.
describe.each(testEngines())("a task's one-tap send prepared by the content library (%s)", (engine) => {
  let app: TestApp;
  let dir: string;
  const clock = new FixedClock('2026-12-07T01:00:00Z');
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'task-send-'));
    app = await startTestApp(engine, { build: { clock }, overrides: { content: { dir, miniprogramAppIds: [LINKED_APPID] } } });
    await buildCustomer(app.container, { externalUserId: 'wmSend1', name: '周女士', owners: ['zhangsan'] });
    // An image that is not a quick reply: the library makes no chat media for it until a task needs it.
    ids.image = await upload(app, { kind: 'image', title: '新品海报' }, { name: 'poster.png', bytes: png(60, 60) });
    ids.card = await upload(app, { kind: 'miniprogram', title: '积分商城', appId: LINKED_APPID, page: 'pages/mall/index?from=task' }, { name: 'cover.png', bytes: png(50, 40) });
    ids.video = await upload(app, { kind: 'video', title: '开箱视频' }, { name: 'unbox.mp4', bytes: MP4 });
    ids.file = await upload(app, { kind: 'file', title: '保修卡' }, { name: 'warranty.pdf', bytes: PDF });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sendsOf = async (taskId: string): Promise<Send[]> => {
    const list = await api(app, 'GET', '/api/v1/todo/today?userid=zhangsan&externalUserId=wmSend1');
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    const item = (list.body.items as { id: string; sends?: Send[] }[]).find((i) => i.id === taskId);
    expect(item, 'the task is in the list').toBeDefined();
    return item!.sends!;
  };
  const chatSend = (message: object) => app.container.sandbox!.recordChatMessage({ externalUserId: 'wmSend1', chatId: null, message: message as { msgtype: string } });

  it('keeps each item on the task and prepares text, link, mini-program, video and file with the fresh media ids', async () => {
    const journey = await api(app, 'POST', '/api/v1/journeys', {
      name: '新客关怀',
      definition: {
        trigger: { kind: 'manual' },
        steps: [
          {
            kind: 'task',
            title: '第3天：送上保修卡',
            delay: { kind: 'after', minutes: 0 },
            text: '{{name}}您好，这是保修卡和开箱视频。',
            attachments: [{ kind: 'link', title: '保养指南', url: 'https://example.com/care', desc: '三步清洁' }],
            contentIds: [ids.image, ids.card, ids.video, ids.file],
            dueHours: 24,
          },
        ],
      },
    });
    expect(journey.status, JSON.stringify(journey.body)).toBe(201);
    expect((await api(app, 'POST', `/api/v1/journeys/${journey.body.id}/status`, { status: 'active' })).status).toBe(200);
    expect((await api(app, 'POST', `/api/v1/journeys/${journey.body.id}/enrol`, { externalUserIds: ['wmSend1'] })).body).toMatchObject({ entered: 1 });
    expect(await app.container.scheduling.journeys!.tick(clock.now())).toMatchObject({ tasks: 1 });
    // The member opens the list a minute later (due in 24 hours: today's).
    clock.advance(60_000);

    const [row] = await app.container.db.query<{ id: string }>("SELECT id FROM staff_tasks WHERE external_user_id = 'wmSend1'");
    ids.task = row.id;
    const task = (await app.container.todo.tasks.byIds([ids.task])).get(ids.task)!;
    // Read back from the table: the library's attachments name their items; the step's own link does not.
    expect(task.attachments.map((a) => [a.kind, a.contentId ?? null, a.contentTitle ?? null])).toEqual([
      ['link', null, null],
      ['image', ids.image, '新品海报'],
      ['miniprogram', ids.card, '积分商城'],
      ['video', ids.video, '开箱视频'],
      ['file', ids.file, '保修卡'],
    ]);
    ids.oldVideo = (task.attachments[3] as { mediaId: string }).mediaId;

    // The image has no chat media yet (sendChatMessage takes a media id, not its URL): it says so, and nothing is sent.
    expect((await sendsOf(ids.task))[2]).toEqual({ label: '图片「新品海报」', chat: null, problem: '图片「新品海报」尚未上传到企业微信或即将过期，系统会在后台重新上传，请稍后再发' });
    // The hourly media job makes it, as it does for quick replies, because an open task needs it.
    const job = app.container.scheduling.jobs.get('content-media');
    await job.run({ at: clock.now(), clock, occasionKey: 'test', isDryRun: false, runId: null, log: app.log, report: () => undefined });

    const sends = await sendsOf(ids.task);
    const lib = app.container.content.service;
    const [image, card, video, file] = [await lib.get(ids.image), await lib.get(ids.card), await lib.get(ids.video), await lib.get(ids.file)];
    expect(app.container.sandbox!.store.media.has(image.mediaId!)).toBe(true);
    expect(sends).toEqual([
      { label: '文字', chat: { msgtype: 'text', text: { content: '周女士您好，这是保修卡和开箱视频。' } }, problem: null },
      { label: '链接「保养指南」', chat: { msgtype: 'news', news: { link: 'https://example.com/care', title: '保养指南', desc: '三步清洁', imgUrl: '' } }, problem: null },
      { label: '图片「新品海报」', chat: { msgtype: 'image', image: { mediaid: image.mediaId! } }, problem: null },
      // The cover is the permanent uploadimg URL; the page gets the .html WeChat needs, its query kept.
      { label: '小程序「积分商城」', chat: { msgtype: 'miniprogram', miniprogram: { appid: LINKED_APPID, title: '积分商城', imgUrl: card.picUrl!, page: 'pages/mall/index.html?from=task' } }, problem: null },
      { label: '视频「开箱视频」', chat: { msgtype: 'video', video: { mediaid: video.mediaId! } }, problem: null },
      { label: '文件「保修卡」', chat: { msgtype: 'file', file: { mediaid: file.mediaId! } }, problem: null },
    ]);
    // Each one is what the sandbox's sendChatMessage takes.
    for (const s of sends) expect(chatSend(s.chat!)).toMatchObject({ ok: true });
  });

  it("sends the media the job made fresh, not the task's own ids once WeCom would refuse them", async () => {
    const job = app.container.scheduling.jobs.get('content-media');
    const runJob = () => job.run({ at: clock.now(), clock, occasionKey: 'test', isDryRun: false, runId: null, log: app.log, report: () => undefined });
    // Two days and an hour on the hourly job re-uploads; a day later the task's own ids are past 3 days.
    clock.advance(49 * 3600_000);
    await runJob();
    clock.advance(24 * 3600_000);
    const sends = await sendsOf(ids.task);
    const video = sends.find((s) => s.chat?.msgtype === 'video')!;
    expect(video.chat!.video.mediaid).not.toBe(ids.oldVideo);
    expect(video.chat!.video.mediaid).toBe((await app.container.content.service.get(ids.video)).mediaId);
    expect(sends.every((s) => s.problem === null)).toBe(true);
    expect(chatSend(video.chat!)).toMatchObject({ ok: true });
    // The id the task was created with is dead now, and the sandbox says so as WeCom does.
    expect(() => chatSend({ msgtype: 'video', video: { mediaid: ids.oldVideo } })).toThrow(/sendChatMessage:fail invalid media_id/);
    expect(() => chatSend({ msgtype: 'file', file: { mediaid: 'never-issued' } })).toThrow(/invalid media_id/);
  });

  it('says which attachment cannot go, and why, when its media is not fresh or its item was deleted', async () => {
    // Past three days with no job run: the library's ids are too old to send.
    clock.advance(3 * 24 * 3600_000);
    let sends = await sendsOf(ids.task);
    expect(sends.filter((s) => s.problem).map((s) => s.problem)).toEqual([
      '图片「新品海报」尚未上传到企业微信或即将过期，系统会在后台重新上传，请稍后再发',
      '视频「开箱视频」尚未上传到企业微信或即将过期，系统会在后台重新上传，请稍后再发',
      '文件「保修卡」尚未上传到企业微信或即将过期，系统会在后台重新上传，请稍后再发',
    ]);
    expect(sends.filter((s) => s.problem).every((s) => s.chat === null)).toBe(true);
    // The mini-program's cover URL is permanent: it still goes.
    expect(sends.find((s) => s.label === '小程序「积分商城」')!.chat).not.toBeNull();

    expect((await api(app, 'DELETE', `/api/v1/content/${ids.file}`)).status).toBe(204);
    sends = await sendsOf(ids.task);
    expect(sends.at(-1)).toEqual({ label: '文件「保修卡」', chat: null, problem: '文件「保修卡」已从素材库删除，不能发送' });
  });
});
