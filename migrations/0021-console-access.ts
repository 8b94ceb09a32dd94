import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * The operator console's access (docs/security.md §Console sign-in and roles, §Audit log, §Idempotency keys):
 * - `member_roles`: the console role (admin | operator | staff) given to a WeCom member;
 * - `console_sessions`: signed-in console browsers, by the sha256 of the cookie, so a logout or a role change ends a
 *   session at once and the idle timeout slides;
 * - `audit_log`: every write through the API, the console and the CLI, append-only;
 * - `idempotency_keys`: the first answer to a POST sent with an `Idempotency-Key`, kept 24 h.
 */
export class ConsoleAccess1795000000021 implements MigrationInterface {
  name = 'ConsoleAccess1795000000021';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'member_roles',
        engine: c.tableEngine,
        columns: [c.varchar('userid', 64, { isPrimary: true }), c.varchar('role', 16), c.varchar('granted_by', 120), c.epochMs('granted_at')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'console_sessions',
        engine: c.tableEngine,
        columns: [
          c.varchar('id', 64, { isPrimary: true }),
          c.varchar('userid', 64),
          c.varchar('name', 100),
          c.varchar('csrf_token', 64),
          c.epochMs('created_at'),
          c.epochMs('last_seen_at'),
          c.varchar('ip', 64),
        ],
        indices: [new TableIndex({ name: 'ix_console_sessions_userid', columnNames: ['userid'] }), new TableIndex({ name: 'ix_console_sessions_seen', columnNames: ['last_seen_at'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'audit_log',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.epochMs('at'),
          c.varchar('actor_kind', 16),
          c.varchar('actor_id', 100),
          c.varchar('actor_name', 100),
          c.varchar('actor_role', 16),
          c.varchar('source', 16),
          c.varchar('ip', 64),
          c.varchar('method', 8),
          c.varchar('route', 200),
          c.varchar('action', 64),
          c.varchar('target_id', 128, { isNullable: true }),
          c.varchar('customer_id', 128, { isNullable: true }),
          c.int('status'),
          c.json('request_json'),
          c.json('before_json'),
          c.json('after_json'),
          c.epochMs('redacted_at', { isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: 'ix_audit_log_at', columnNames: ['at'] }),
          new TableIndex({ name: 'ix_audit_log_actor', columnNames: ['actor_id', 'at'] }),
          new TableIndex({ name: 'ix_audit_log_action', columnNames: ['action', 'at'] }),
          new TableIndex({ name: 'ix_audit_log_target', columnNames: ['target_id'] }),
          new TableIndex({ name: 'ix_audit_log_customer', columnNames: ['customer_id'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'idempotency_keys',
        engine: c.tableEngine,
        columns: [
          c.varchar('principal_key', 120, { isPrimary: true }),
          c.varchar('route', 200, { isPrimary: true }),
          c.varchar('idem_key', 200, { isPrimary: true }),
          c.varchar('request_hash', 64),
          c.int('status'),
          c.json('response_json'),
          c.epochMs('created_at'),
        ],
        indices: [new TableIndex({ name: 'ix_idempotency_keys_created', columnNames: ['created_at'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['idempotency_keys', 'audit_log', 'console_sessions', 'member_roles']) await q.dropTable(t);
  }
}
