import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { addSandboxCustomer, ledgerOf } from '../../fixtures/scheduling.js';
import { PDF, png } from '../../fixtures/content.js';

const sh = (local: string) => new Date(`${local}+08:00`);
const TASK_API = 'externalcontact/add_msg_template';

/**
 * Care rules that pick 素材库 items: checked when saved (unknown items, more than 9 attachments with the rule's own),
 * resolved each time the care job plans the rule, with variables filled per customer. A file whose media id would be
 * expired defers the rule (the run fails with the reason, nothing sent, nothing uploaded); the hourly content-media
 * job runs it again after each refresh until it is done, and it then sends with the fresh id, each customer once.
 */
describe.each(testEngines())('care rules with 素材库 items (%s)', (engine) => {
  let app: TestApp;
  let dir: string;
  const clock = new FixedClock(sh('2026-10-01T09:00:00'));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'content-care-'));
    app = await startTestApp(engine, { build: { clock }, overrides: { content: { dir } } });
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
  const tasks = () =>
    app.container.sandbox!.calls(TASK_API).filter((c) => c.errcode === 0).map((c) => c.params as { external_userid?: string[]; text?: { content: string }; attachments?: object[] });
  const rule = (name: string, birthday: { month: number; day: number }, contentIds: string[], extra: object = {}) => ({
    name,
    occasion: { type: 'birthday' },
    // Only this test's customers, ahead of the default birthday rule (one care message per customer per day).
    audience: `tag:${name}`,
    template: '{{name}}，生日快乐！',
    priority: 1000,
    contentIds,
    ...extra,
    _birthday: birthday,
  });
  const create = (r: ReturnType<typeof rule>) => {
    const { _birthday, ...body } = r;
    void _birthday;
    return api(app, 'POST', '/api/v1/care-rules', body);
  };

  it('refuses unknown items and a tenth attachment when saved, in zh-CN, and on a PATCH too', async () => {
    const unknown = await create(rule('未知素材', { month: 10, day: 1 }, ['no-such-item']));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toBe('素材不存在或已删除：no-such-item');
    const links: string[] = [];
    for (let i = 0; i < 9; i++) links.push((await api(app, 'POST', '/api/v1/content', { kind: 'link', title: `链接${i}`, url: `https://e.example.com/${i}` })).body.id);
    const ten = await create(rule('十个附件', { month: 10, day: 1 }, links, { attachments: [{ kind: 'link', title: '自带', url: 'https://e.example.com/x' }] }));
    expect(ten.status).toBe(400);
    expect(ten.body.error.message).toBe('附件最多 9 个（企业微信群发与欢迎语规则），当前 10 个');
    const plain = await create(rule('先无素材', { month: 10, day: 1 }, []));
    expect(plain.status).toBe(201);
    const patched = await api(app, 'PATCH', `/api/v1/care-rules/${plain.body.id}`, { contentIds: ['gone'] });
    expect(patched.status).toBe(400);
    expect(patched.body.error.message).toBe('素材不存在或已删除：gone');
    expect((await api(app, 'GET', `/api/v1/care-rules/${plain.body.id}`)).body.contentIds).toEqual([]);
    // A win-back rule sends its steps, never the rule's items.
    const winback = await api(app, 'POST', '/api/v1/care-rules', { name: '挽回素材', occasion: { type: 'winback', steps: [{ day: 0, template: '好久不见' }] }, template: 'x', contentIds: [links[0]] });
    expect(winback.status).toBe(400);
    expect(winback.body.error.message).toContain('挽回活动暂不支持素材库素材');
    expect((await api(app, 'PATCH', `/api/v1/care-rules/${plain.body.id}`, { enabled: false })).status).toBe(200);
  });

  it('plans a birthday message whose attachment is the library image’s cached URL, with the item’s text filled per customer', async () => {
    clock.set(sh('2026-10-08T09:00:00'));
    const image = await fileItem({ kind: 'image', title: '生日海报' }, '海报.png', png(40, 30));
    const picUrl = (await app.container.content.service.get(image)).picUrl;
    expect(picUrl).toMatch(/^https:\/\//);
    const text = (await api(app, 'POST', '/api/v1/content', { kind: 'text', title: '生日券', text: '{{name}}，送您一张生日券，{{staff}}敬上' })).body.id as string;
    const created = await create(rule('素材生日', { month: 10, day: 8 }, [text, image]));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.contentIds).toEqual([text, image]);
    const customer = await addSandboxCustomer(app.container, 'zhangsan', { name: '王女士', birthday: { calendar: 'solar', month: 10, day: 8 } });
    expect((await api(app, 'POST', `/api/v1/customers/${customer}/tags`, { add: ['素材生日'], remove: [] })).status).toBe(200);
    app.container.sandbox!.clearCalls();
    const uploads = app.container.sandbox!.store.media.size;

    const run = await app.container.scheduling.scheduler.runNow('care');
    expect(run.status, run.error ?? '').toBe('done');
    const mine = tasks().filter((t) => t.external_userid?.includes(customer));
    expect(mine).toHaveLength(1);
    expect(mine[0].text?.content).toBe('王女士，生日快乐！\n\n王女士，送您一张生日券，张三敬上');
    expect(mine[0].attachments).toEqual([{ msgtype: 'image', image: { pic_url: picUrl } }]);
    // Resolving read the cached URL; nothing was uploaded on the send path.
    expect(app.container.sandbox!.store.media.size).toBe(uploads);
    expect((await ledgerOf(app.container.db, customer)).filter((r) => r.source === `care:${created.body.id}`)).toMatchObject([{ status: 'submitted' }]);
    // One use per item for the rule's day.
    expect((await app.container.content.service.get(image)).useCount).toBe(1);
    expect((await app.container.content.service.get(text)).useCount).toBe(1);
  });

  it('defers a rule whose file media would be expired, uploads nothing, and the hourly media job re-runs it once the media is fresh, sending nothing twice (fake clock)', async () => {
    clock.set(sh('2026-10-10T09:00:00'));
    // The default birthday rules off: a deferred rule leaves the customer's daily slot to a lower-priority rule
    // (docs/content.md §Composers), and this test is about the deferred rule's own retries.
    for (const r of (await api(app, 'GET', '/api/v1/care-rules')).body.items as { id: string; seedKey: string | null; occasion: { type: string } }[]) {
      if (r.seedKey && r.occasion.type === 'birthday') expect((await api(app, 'PATCH', `/api/v1/care-rules/${r.id}`, { enabled: false })).status).toBe(200);
    }
    const file = await fileItem({ kind: 'file', title: '会员细则' }, 'rules.pdf', PDF);
    const stale = (await app.container.content.service.get(file)).mediaId;
    const created = await create(rule('过期素材', { month: 10, day: 14 }, [file]));
    expect(created.status).toBe(201);
    const customer = await addSandboxCustomer(app.container, 'lisi', { name: '赵先生', birthday: { calendar: 'solar', month: 10, day: 14 } });
    expect((await api(app, 'POST', `/api/v1/customers/${customer}/tags`, { add: ['过期素材'], remove: [] })).status).toBe(200);
    // A rule without items, planned by the same run: its customer must get it once, whatever the retries do.
    const plain = await create(rule('同日无素材', { month: 10, day: 14 }, []));
    expect(plain.status).toBe(201);
    const other = await addSandboxCustomer(app.container, 'zhangsan', { name: '钱女士', birthday: { calendar: 'solar', month: 10, day: 14 } });
    expect((await api(app, 'POST', `/api/v1/customers/${other}/tags`, { add: ['同日无素材'], remove: [] })).status).toBe(200);
    const scheduler = app.container.scheduling.scheduler;
    const sent = (ext: string) => tasks().filter((t) => t.external_userid?.includes(ext));
    const careRun = async () => (await app.container.scheduling.repos.jobRuns.findByOccasion('care', '2026-10-14'))!;

    // Four days later, the media job not having run (a stopped scheduler, say): the id is past its 3 days. The 09:00
    // fire, as node-cron performs it.
    clock.set(sh('2026-10-14T09:00:00'));
    app.container.sandbox!.clearCalls();
    const uploads = app.container.sandbox!.store.media.size;
    const run = await scheduler.fire('care', sh('2026-10-14T09:00:00'));
    expect(run.status).toBe('failed');
    expect(run.error).toContain('规则「过期素材」今日未计划：素材「会员细则」的文件尚未上传到企业微信或即将过期');
    expect(run.error).toContain('content-media 任务每小时更新素材后会自动重新运行 care 任务');
    expect(sent(customer)).toHaveLength(0);
    expect(await ledgerOf(app.container.db, customer)).toHaveLength(0);
    expect(sent(other)).toHaveLength(1);
    expect(app.container.sandbox!.store.media.size).toBe(uploads);

    // 09:17, the media job's hour: WeCom refuses the upload, so the re-run defers the rule again and stays failed.
    clock.set(sh('2026-10-14T09:17:00'));
    app.container.sandbox!.injectFault({ api: 'media/upload', errcode: 48002, count: 1 });
    const first = await scheduler.fire('content-media', sh('2026-10-14T09:17:00'));
    expect(first.status, first.error ?? '').toBe('done');
    expect(first.counts).toMatchObject({ uploaded: 0, failed: 1, careRetried: 1, careRetryFailed: 1 });
    expect(await careRun()).toMatchObject({ status: 'failed', trigger: 'catch-up', attempt: 2 });
    expect(sent(customer)).toHaveLength(0);

    // 10:17: the upload succeeds, and the same job run plans the deferred rule with the fresh id.
    clock.set(sh('2026-10-14T10:17:00'));
    const second = await scheduler.fire('content-media', sh('2026-10-14T10:17:00'));
    expect(second.counts).toMatchObject({ failed: 0, careRetried: 1, careRetryFailed: 0 });
    expect((second.counts as { uploaded: number }).uploaded).toBeGreaterThanOrEqual(1);
    const fresh = (await app.container.content.service.get(file)).mediaId;
    expect(fresh).not.toBe(stale);
    expect(await careRun()).toMatchObject({ status: 'done', attempt: 3 });
    expect(sent(customer).map((t) => t.attachments)).toEqual([[{ msgtype: 'file', file: { media_id: fresh } }]]);

    // 11:17: the day's care run is done, so nothing is re-run; a manual run of the day does nothing either.
    clock.set(sh('2026-10-14T11:17:00'));
    const third = await scheduler.fire('content-media', sh('2026-10-14T11:17:00'));
    expect(third.counts).not.toHaveProperty('careRetried');
    expect((await scheduler.runNow('care')).status).toBe('skipped');
    // Every customer once: one WeCom task and one ledger row each.
    expect(sent(customer)).toHaveLength(1);
    expect(sent(other)).toHaveLength(1);
    expect((await ledgerOf(app.container.db, customer)).filter((r) => r.source === `care:${created.body.id}`)).toHaveLength(1);
    expect((await ledgerOf(app.container.db, other)).filter((r) => r.source === `care:${plain.body.id}`)).toHaveLength(1);
  });
});
