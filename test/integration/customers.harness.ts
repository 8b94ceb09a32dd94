import type Koa from 'koa';
import type { Container, SchedulingOptions } from '../../src/container.js';
import type { WecomSandbox } from '../../src/wecom/sandbox/sandbox.js';
import type { WecomGateway } from '../../src/wecom/client/gateway.js';
import type { ArchiveModule } from '../../src/container.js';
import type { DbEngine } from '../../src/persistence/data-source.js';
import { startTestApp } from '../helpers/app.js';
import { CounterDeltaRepository } from '../../src/persistence/repositories/counter-delta.repository.js';

/** The bot over a real database with its in-process WeCom sandbox, callbacks flowing back over real HTTP. */
export interface ArchiveApp {
  url: string;
  /** The Koa app behind `url`. */
  koa: Koa;
  sandbox: WecomSandbox;
  container: Container;
  archive: ArchiveModule;
  wecom: WecomGateway;
  close(): Promise<void>;
}

/** Start the bot (workers running) with the archive wired to the container's sandbox-backed client. */
export async function startArchiveApp(
  engine: DbEngine,
  opts: { adminUserids?: string[]; startServices?: boolean; seed?: boolean; env?: NodeJS.ProcessEnv; scheduling?: SchedulingOptions } = {},
): Promise<ArchiveApp> {
  const app = await startTestApp(engine, {
    env: opts.env,
    overrides: { alerts: { adminUserids: opts.adminUserids ?? [] }, inbox: { pollIntervalMs: 200 }, sandbox: { seed: opts.seed ?? true } },
    build: { sandbox: { callbackRetryDelaysMs: [100, 100, 100] }, ...(opts.scheduling ? { scheduling: opts.scheduling } : {}) },
    startServices: opts.startServices ?? true,
  });
  if (!app.container.sandbox) throw new Error('sandbox not wired');
  return { url: app.url, koa: app.koa, sandbox: app.container.sandbox, container: app.container, archive: app.container.archive, wecom: app.container.wecom, close: app.close };
}

/** Everything the archive holds, as comparable JSON, for replay tests (timeline ids excluded: ordering only). */
export async function snapshotArchive(c: Container): Promise<string> {
  // Counts still waiting as deltas (MySQL) are folded first, as every product read of them does
  // (docs/analytics.md §Counters every add shares): a background fold between two snapshots would otherwise show.
  await new CounterDeltaRepository(c.db).fold();
  const q = (sql: string) => c.db.query(sql);
  const out = {
    customers: await q('SELECT external_user_id, name, activity, channel_id, first_added_at, last_interaction_at FROM customers ORDER BY external_user_id'),
    relations: await q('SELECT userid, external_user_id, remark, status, state, last_event_time FROM follow_relations ORDER BY userid, external_user_id'),
    customerTags: await q('SELECT external_user_id, tag_id, userid, source, rule_id FROM customer_tags ORDER BY external_user_id, tag_id, userid, source'),
    tags: await q('SELECT id, group_id, name, deleted_at FROM tags ORDER BY id'),
    groups: await q('SELECT id, name, deleted_at FROM tag_groups ORDER BY id'),
    stats: await q('SELECT channel_id, day, adds, deletes FROM channel_stats ORDER BY channel_id, day'),
    timeline: await q('SELECT external_user_id, kind, source, source_id FROM timeline_entries ORDER BY source, source_id'),
    chats: await q('SELECT chat_id, name, owner, notice, admin_list, status, member_count, external_count, dismissed_at FROM group_chats ORDER BY chat_id'),
    memberships: await q('SELECT chat_id, member_id, type, join_time, join_scene, invitor, state, group_nickname, name, left_at, quit_scene, current_mark FROM group_memberships ORDER BY chat_id, member_id, id'),
    kf: await q('SELECT open_kfid, `cursor` FROM kf_cursors ORDER BY open_kfid'),
  };
  return JSON.stringify(out);
}
