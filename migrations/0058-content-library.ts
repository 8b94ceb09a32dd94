import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';
import { searchGrams } from '../src/shared/grams.js';

/**
 * 素材库 / 话术库 (docs/content.md): content items (text, image, link, mini-program card, file, video) in groups and
 * tags, with the bot's own bigram index for search (docs/content.md §Search), the WeCom media each item was uploaded
 * as (docs/content.md §Media lifecycle) and the uploadimg budget. Quick replies become items: every quick_replies row
 * is copied in with its id, seed key and tombstone, so seeded defaults an operator deleted stay deleted.
 */
export class ContentLibrary1795000000058 implements MigrationInterface {
  name = 'ContentLibrary1795000000058';

  async up(q: QueryRunner): Promise<void> {
    const engine = engineOfDataSource(q.connection);
    const c = columns(engine);
    // Grams and tags compare byte for byte: MySQL's default collations fold case and rank every emoji equal.
    const bin = engine === 'mysql' ? { charset: 'utf8mb4', collation: 'utf8mb4_bin' } : {};
    await q.createTable(
      new Table({
        name: 'content_items',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          c.varchar('seed_key', 64, { isNullable: true }),
          // text | image | link | miniprogram | file | video
          c.varchar('kind', 16),
          // 分组 (话术分组 for quick replies).
          c.varchar('group_name', 32),
          c.varchar('title', 64),
          // text: the message ({{name}}, {{staff}}); link: its description.
          c.text('text', { isNullable: true }),
          c.varchar('url', 1000, { isNullable: true }),
          c.varchar('app_id', 64, { isNullable: true }),
          c.varchar('page', 255, { isNullable: true }),
          c.json('tags'),
          // Listed in the sidebar's 快捷回复.
          c.bool('quick_reply'),
          c.int('sort'),
          // The stored file: image/file/video content, or the cover of a link or mini-program card.
          c.varchar('file_key', 200, { isNullable: true }),
          c.varchar('file_name', 200, { isNullable: true }),
          c.varchar('file_type', 100, { isNullable: true }),
          c.int('file_size', { isNullable: true, default: null }),
          // media/uploadimg's permanent URL (image, link cover).
          c.varchar('pic_url', 1000, { isNullable: true }),
          // media/upload's temporary id and when WeCom made it (file, video, image, mini-program cover).
          c.varchar('media_id', 200, { isNullable: true }),
          c.epochMs('media_uploaded_at', { isNullable: true }),
          // Why the last upload failed, for operators; cleared by the next success.
          c.varchar('media_error', 300, { isNullable: true }),
          c.int('use_count'),
          c.epochMs('last_used_at', { isNullable: true }),
          c.varchar('created_by', 100, { isNullable: true }),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
          c.epochMs('deleted_at', { isNullable: true }),
        ],
        uniques: [{ name: 'uq_content_items_seed_key', columnNames: ['seed_key'] }],
        indices: [
          new TableIndex({ name: 'ix_content_items_list', columnNames: ['deleted_at', 'group_name', 'sort'] }),
          new TableIndex({ name: 'ix_content_items_media', columnNames: ['media_uploaded_at'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'content_grams',
        engine: c.tableEngine,
        columns: [
          { ...c.varchar('gram', 8), ...bin, isPrimary: true },
          { ...c.varchar('item_id', 36), isPrimary: true },
        ],
        indices: [new TableIndex({ name: 'ix_content_grams_item', columnNames: ['item_id'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'content_item_tags',
        engine: c.tableEngine,
        columns: [
          { ...c.varchar('tag', 32), ...bin, isPrimary: true },
          { ...c.varchar('item_id', 36), isPrimary: true },
        ],
        indices: [new TableIndex({ name: 'ix_content_item_tags_item', columnNames: ['item_id'] })],
      }),
    );
    // media/uploadimg's budget per corp (docs/wecom-protocol.md §Media): one row per day ('d:YYYY-MM-DD') and month.
    await q.createTable(
      new Table({
        name: 'content_upload_quota',
        engine: c.tableEngine,
        columns: [{ ...c.varchar('period', 16), isPrimary: true }, c.int('used')],
      }),
    );
    await q.query(
      `INSERT INTO content_items (id, seed_key, kind, group_name, title, text, tags, quick_reply, sort, use_count, created_at, updated_at, deleted_at)
       SELECT id, seed_key, 'text', category, title, text, '[]', 1, sort, 0, created_at, updated_at, deleted_at FROM quick_replies`,
    );
    const rows = (await q.query('SELECT id, title, text, group_name FROM content_items')) as { id: string; title: string; text: string | null; group_name: string }[];
    for (const r of rows) {
      const grams = [...searchGrams(`${r.title} ${r.text ?? ''} ${r.group_name}`)];
      for (let i = 0; i < grams.length; i += 200) {
        const chunk = grams.slice(i, i + 200);
        await q.query(`INSERT INTO content_grams (gram, item_id) VALUES ${chunk.map(() => '(?,?)').join(',')}`, chunk.flatMap((g) => [g, r.id]));
      }
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('content_upload_quota');
    await q.dropTable('content_item_tags');
    await q.dropTable('content_grams');
    await q.dropTable('content_items');
  }
}
