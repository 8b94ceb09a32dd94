import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { S3Storage } from '../../../src/domain/content/storage/content-storage.js';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { png } from '../../fixtures/content.js';

/**
 * The S3-compatible option (docs/content.md §Storage) against s3rver, a local S3 mock that speaks the S3 REST API:
 * the official AWS SDK stores, reads and deletes through it, and an app configured with CONTENT_STORAGE=s3 keeps
 * uploads there.
 */
describe.each(testEngines())('素材库 S3-compatible storage against a local mock (%s)', (engine) => {
  let server: S3rver;
  let endpoint: string;
  let dir: string;
  let app: TestApp;
  const s3 = (prefix = '') =>
    new S3Storage({ bucket: 'wecom-content', region: 'us-east-1', endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, prefix });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 's3rver-'));
    server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: 'wecom-content', configs: [] }] });
    const addr = await server.run();
    endpoint = `http://127.0.0.1:${addr.port}`;
    app = await startTestApp(engine, {
      overrides: { content: { storage: 's3', s3: { bucket: 'wecom-content', region: 'us-east-1', endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, prefix: 'site-a/' } } },
    });
  });
  afterAll(async () => {
    await app?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts, gets and removes objects through the AWS SDK', async () => {
    const storage = s3('t/');
    const key = '2026/12/01234567-89ab-7cde-8f01-23456789abcd.pdf';
    const data = Buffer.from('%PDF-1.4 hello s3');
    await storage.put(key, data, 'application/pdf');
    expect((await storage.get(key)).equals(data)).toBe(true);
    await storage.remove(key);
    await expect(storage.get(key)).rejects.toThrow();
    // Keys are the library's own: nothing a client sends becomes one.
    await expect(storage.put('../../etc/passwd', data, 'text/plain')).rejects.toThrow(/invalid content storage key/);
  });

  it('an app with CONTENT_STORAGE=s3 keeps an uploaded image in the bucket and serves it back', async () => {
    expect(app.container.content.storage.kind).toBe('s3');
    const pic = png(20, 20);
    const form = new FormData();
    form.append('data', JSON.stringify({ kind: 'image', title: 'S3 海报' }));
    form.append('file', new Blob([new Uint8Array(pic)]), 'poster.png');
    const res = await fetch(`${app.url}/api/v1/content`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, body: form });
    const body = (await res.json()) as { id: string; fileUrl: string };
    expect(res.status).toBe(201);
    const item = await app.container.content.service.get(body.id);
    // The object is in the bucket under the deployment's prefix.
    expect((await s3('site-a/').get(item.file!.key)).equals(pic)).toBe(true);
    const served = await fetch(`${app.url}${body.fileUrl}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(Buffer.from(await served.arrayBuffer()).equals(pic)).toBe(true);
  });
});
