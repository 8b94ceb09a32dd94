import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource } from '../../../src/persistence/data-source.js';
import { Db } from '../../../src/persistence/db.js';
import { FieldCipher } from '../../../src/shared/field-cipher.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { WecomClient } from '../../../src/wecom/client/wecom.client.js';
import { WecomCredentialRepository } from '../../../src/persistence/repositories/wecom-credential.repository.js';
import { startSandboxServer, type RunningSandbox } from '../../../src/wecom/sandbox/server.js';
import { SANDBOX_CORP } from '../../../src/wecom/sandbox-identity.js';
import { noteMysqlSkipped } from '../../helpers/databases.js';
import { startTestApp, TEST_DATA_KEY, type TestApp } from '../../helpers/app.js';

noteMysqlSkipped();

/**
 * Several instances on one MySQL share one access token (docs/reliability.md §Shared WeCom credentials): gettoken runs
 * once per expiry, and a token WeCom invalidates early is replaced once, not once per instance.
 */
describe.skipIf(!process.env.TEST_MYSQL_URL)('access tokens shared across instances on MySQL', () => {
  let app: TestApp;
  let sandbox: RunningSandbox;
  const extra: Db[] = [];
  const cipher = new FieldCipher(TEST_DATA_KEY);

  beforeAll(async () => {
    app = await startTestApp('mysql'); // creates and migrates the database
    sandbox = await startSandboxServer({ port: 0, seed: true });
  });
  afterAll(async () => {
    for (const db of extra) await db.dataSource.destroy();
    await sandbox?.close();
    await app?.close();
  });

  /** One "instance": its own pool on the shared database and its own client. */
  async function instance(): Promise<WecomClient> {
    const ds = createDataSource({ databaseUrl: app.db.url });
    await ds.initialize();
    const db = new Db(ds);
    extra.push(db);
    return new WecomClient({
      apiBase: sandbox.url,
      corpId: SANDBOX_CORP.corpId,
      secret: SANDBOX_CORP.secret,
      logger: silentLogger,
      retry: { maxAttempts: 3, baseMs: 5, maxMs: 20 },
      credentialStore: new WecomCredentialRepository(db, cipher),
    });
  }

  it('three instances calling at once fetch one token; after WeCom revokes it, one refresh serves them all', async () => {
    const clients = [await instance(), await instance(), await instance()];
    const burst = () => Promise.all(clients.flatMap((c) => Array.from({ length: 20 }, () => c.getFollowUserList())));
    const gettokens = () => sandbox.sandbox.calls('gettoken').length;

    await burst();
    expect(gettokens()).toBe(1);
    await burst();
    expect(gettokens()).toBe(1);

    sandbox.sandbox.injectFault({ invalidateTokens: true });
    await burst();
    expect(gettokens()).toBe(2);
    expect(sandbox.sandbox.calls().filter((c) => c.api !== 'gettoken' && c.errcode !== 0 && c.errcode !== 40014)).toEqual([]);

    // The token is a credential: the row holds ciphertext, never the token itself.
    const [row] = await app.container.db.query<{ value_enc: string }>('SELECT value_enc FROM wecom_credentials');
    const issued = [...sandbox.sandbox.store.accessTokens.keys()];
    expect(issued.some((t) => row.value_enc.includes(t))).toBe(false);
  });

  it('an instance whose DATA_KEY cannot open the cached token fetches a fresh one instead of failing every call', async () => {
    const before = sandbox.sandbox.calls('gettoken').length;
    const ds = createDataSource({ databaseUrl: app.db.url });
    await ds.initialize();
    const db = new Db(ds);
    extra.push(db);
    const stranger = new WecomClient({
      apiBase: sandbox.url,
      corpId: SANDBOX_CORP.corpId,
      secret: SANDBOX_CORP.secret,
      logger: silentLogger,
      retry: { maxAttempts: 3, baseMs: 5, maxMs: 20 },
      // A key the other instances do not have (a key rollout it missed).
      credentialStore: new WecomCredentialRepository(db, new FieldCipher(Buffer.alloc(32, 5).toString('base64'))),
    });
    await stranger.getFollowUserList();
    expect(sandbox.sandbox.calls('gettoken').length).toBe(before + 1);
  });
});
