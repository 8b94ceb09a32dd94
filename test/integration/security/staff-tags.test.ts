import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../../helpers/databases.js';
import { api, startTestApp } from '../../helpers/app.js';
import type { Container } from '../../../src/container.js';
import type { ArchiveModule } from '../../../src/container.js';
import type { WecomSandbox } from '../../../src/wecom/sandbox/sandbox.js';
import type { DbEngine } from '../../../src/persistence/data-source.js';
import { CookieJar } from '../../helpers/cookie-jar.js';

/** The bot with its in-process sandbox (seeded demo corp) and the archive wired, workers running. */
interface ArchiveApp {
  url: string;
  container: Container;
  sandbox: WecomSandbox;
  archive: ArchiveModule;
  close(): Promise<void>;
}

async function startArchiveApp(engine: DbEngine, opts: { env?: NodeJS.ProcessEnv } = {}): Promise<ArchiveApp> {
  const app = await startTestApp(engine, {
    env: opts.env,
    overrides: { inbox: { pollIntervalMs: 200 }, sandbox: { seed: true } },
    build: { sandbox: { callbackRetryDelaysMs: [100, 100, 100] } },
    startServices: true,
  });
  const archive = app.container.archive;
  if (!archive || !app.container.sandbox) throw new Error('archive or sandbox not wired');
  return { url: app.url, container: app.container, sandbox: app.container.sandbox, archive, close: app.close };
}


/**
 * Staff apply existing tags only; naming an unknown one is refused with `unknown_tag` and
 * WeCom's add_corp_tag is never called, through the sidebar (real OAuth sign-in, session cookie) and staff tokens
 * alike. STAFF_MAY_CREATE_TAGS=true restores creation for staff. docs/security.md §Staff tags.
 */
describe.each(testEngines())('staff and company-wide tags (%s)', (engine) => {
  async function browse(app: ArchiveApp, jar: CookieJar, path: string, init: RequestInit = {}): Promise<Response> {
    const url = path.startsWith('http') ? path : `${app.url}${path}`;
    const headers = new Headers(init.headers);
    if (jar.values.size > 0) headers.set('cookie', jar.header());
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    jar.take(res);
    return res;
  }

  /** Sign in through the sidebar's OAuth flow against the sandbox's stand-in page, as `userid`. */
  async function signIn(app: ArchiveApp, userid: string): Promise<CookieJar> {
    const jar = new CookieJar();
    const start = await browse(app, jar, '/sidebar/');
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('location')!, app.url);
    authorize.hash = '';
    authorize.searchParams.set('userid', userid);
    const picked = await browse(app, jar, authorize.toString());
    expect(picked.status).toBe(302);
    const done = await browse(app, jar, picked.headers.get('location')!);
    expect(done.status).toBe(302);
    expect(jar.values.has('wo_sidebar')).toBe(true);
    return jar;
  }

  async function sidebarTags(app: ArchiveApp, jar: CookieJar, ext: string, body: unknown) {
    const res = await browse(app, jar, `/sidebar/api/customers/${ext}/tags`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-requested-with': 'XMLHttpRequest' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  const corpTagCreations = (app: ArchiveApp) => app.sandbox.calls('externalcontact/add_corp_tag').length;
  const markTagCalls = (app: ArchiveApp) => app.sandbox.calls('externalcontact/mark_tag').length;
  const localTagNamed = async (app: ArchiveApp, name: string) => (await app.container.db.query('SELECT id FROM tags WHERE name = ?', [name])).length;
  const sandboxTagNamed = (app: ArchiveApp, name: string) => app.sandbox.store.tagGroups.some((g) => g.tags.some((t) => t.name === name));
  const ownCustomer = (app: ArchiveApp, userid: string) => app.sandbox.store.relationsOfUser(userid).find((r) => !r.isDeletedByCustomer)!.externalUserId;

  describe('by default (STAFF_MAY_CREATE_TAGS unset)', () => {
    let app: ArchiveApp;
    let mine: string;
    beforeAll(async () => {
      app = await startArchiveApp(engine);
      await app.archive.fullSync.run();
      mine = ownCustomer(app, 'zhangsan');
    });
    afterAll(async () => app?.close());

    it('refuses a new tag from the sidebar with unknown_tag, calls neither add_corp_tag nor mark_tag, and applies nothing', async () => {
      const jar = await signIn(app, 'zhangsan');
      const creations = corpTagCreations(app);
      const marks = markTagCalls(app);

      const res = await sidebarTags(app, jar, mine, { add: ['新组/新标签'] });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('unknown_tag');
      expect(res.body.error.message).toContain('标签「新组/新标签」不存在，请联系运营人员创建');

      // One unknown name refuses the whole request: the existing VIP is not applied either.
      const mixed = await sidebarTags(app, jar, mine, { add: ['客户等级/VIP', '新组/新标签', '另一个新标签'] });
      expect(mixed.status).toBe(400);
      expect(mixed.body.error.details).toEqual({ unknown: ['新组/新标签', '另一个新标签'] });

      expect(corpTagCreations(app)).toBe(creations);
      expect(markTagCalls(app)).toBe(marks);
      expect(sandboxTagNamed(app, '新标签')).toBe(false);
      expect(await localTagNamed(app, '新标签')).toBe(0);
    });

    it('still lets staff apply a tag that exists', async () => {
      const jar = await signIn(app, 'zhangsan');
      await sidebarTags(app, jar, mine, { remove: ['VIP'] });
      const creations = corpTagCreations(app);
      const res = await sidebarTags(app, jar, mine, { add: ['客户等级/VIP'] });
      expect(res.status).toBe(200);
      expect(res.body.tags.map((t: { name: string }) => t.name)).toContain('VIP');
      expect(corpTagCreations(app)).toBe(creations);
    });

    it('refuses the same for a staff API token, while an operator still creates the tag', async () => {
      const staff = await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' });
      const operator = await app.container.tokens.create({ role: 'operator' });
      const creations = corpTagCreations(app);

      const refused = await api(app, 'POST', `/api/v1/customers/${mine}/tags`, { add: ['新组/员工建的'] }, staff.token);
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('unknown_tag');
      expect(corpTagCreations(app)).toBe(creations);
      expect(sandboxTagNamed(app, '员工建的')).toBe(false);

      const created = await api(app, 'POST', `/api/v1/customers/${mine}/tags`, { add: ['新组/运营建的'] }, operator.token);
      expect(created.status).toBe(200);
      expect(corpTagCreations(app)).toBe(creations + 1);
      expect(sandboxTagNamed(app, '运营建的')).toBe(true);
      // Once it exists, staff may apply it.
      const applied = await api(app, 'POST', `/api/v1/customers/${mine}/tags`, { add: ['新组/运营建的'] }, staff.token);
      expect(applied.status).toBe(200);
      expect(corpTagCreations(app)).toBe(creations + 1);
    });
  });

  describe('with STAFF_MAY_CREATE_TAGS=true', () => {
    let app: ArchiveApp;
    beforeAll(async () => {
      app = await startArchiveApp(engine, { env: { STAFF_MAY_CREATE_TAGS: 'true' } });
      await app.archive.fullSync.run();
    });
    afterAll(async () => app?.close());

    it('lets staff create a tag from the sidebar, as before', async () => {
      const jar = await signIn(app, 'zhangsan');
      const creations = corpTagCreations(app);
      const res = await sidebarTags(app, jar, ownCustomer(app, 'zhangsan'), { add: ['新组/新标签'] });
      expect(res.status).toBe(200);
      expect(corpTagCreations(app)).toBe(creations + 1);
      expect(sandboxTagNamed(app, '新标签')).toBe(true);
    });
  });
});
