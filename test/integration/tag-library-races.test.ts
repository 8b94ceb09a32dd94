import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import type { WecomGateway } from '../../src/wecom/client/gateway.js';

/**
 * The local tag library against things happening while it is re-read. A reconcile lists WeCom's library and marks
 * deleted the local WeCom tags the list lacks; a tag stored locally after the list was read (a channel or rule creating
 * it meanwhile) is missing from the list only because the list is older, and must stay live. And a customer re-read that
 * carries a tag our copy holds as deleted re-reads that tag, rather than keeping a link no read shows.
 */
describe.each(testEngines())('tag library under concurrent changes (%s)', (engine) => {
  let app: TestApp;
  /** Runs once, between WeCom answering the next full library list and reconcile seeing the answer. */
  let duringNextList: (() => Promise<void>) | null = null;

  beforeAll(async () => {
    app = await startTestApp(engine, {
      overrides: { sandbox: { seed: true } },
      build: {
        wecom: (client: WecomGateway) =>
          Object.assign(Object.create(client) as WecomGateway, {
            async getCorpTagList(filter?: Parameters<WecomGateway['getCorpTagList']>[0]) {
              const groups = await client.getCorpTagList(filter);
              const hook = filter ? null : duringNextList;
              if (hook) {
                duringNextList = null;
                await new Promise((r) => setTimeout(r, 5));
                await hook();
              }
              return groups;
            },
          }),
      },
    });
    await app.container.archive.library.reconcile();
  });
  afterAll(async () => app?.close());

  const live = async (name: string) => (await app.container.archive.library.resolve(name)) !== null;

  it('a reconcile leaves live a tag created while WeCom listed the library, and still marks what WeCom deleted', async () => {
    const library = app.container.archive.library;
    const sandbox = app.container.sandbox!;
    const doomed = sandbox.store.tagGroups.flatMap((g) => g.tags).find((t) => !t.isDeleted)!;
    expect(await live(doomed.name)).toBe(true);
    // Deleted in WeCom with no callback reaching us: only a reconcile can find out.
    doomed.isDeleted = true;
    duringNextList = async () => {
      await library.ensureTags(['竞速组/列表之后新建']);
    };
    const result = await library.reconcile();
    expect(duringNextList).toBeNull();
    expect(await live('竞速组/列表之后新建')).toBe(true);
    expect(await live(doomed.name)).toBe(false);
    expect(result.markedDeleted).toBe(1);
  });

  it('a relation carrying a tag our copy holds as deleted makes the tag live again, as WeCom has it', async () => {
    const { library, repos } = app.container.archive;
    const tag = app.container.sandbox!.store.tagGroups.flatMap((g) => g.tags).find((t) => !t.isDeleted)!;
    await app.container.db.tx((em) => repos.tags.markTagsDeletedInTx(em, [tag.id], Date.now()));
    expect((await repos.tags.findByIds([tag.id]))[0].deletedAt).not.toBeNull();
    await library.ensureKnown([tag.id]);
    expect((await repos.tags.findByIds([tag.id]))[0].deletedAt).toBeNull();
  });
});
