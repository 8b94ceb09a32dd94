import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { contactEventXml, SANDBOX_CREDS } from '../../helpers/callbacks.js';
import { sealCallback } from '../../../src/wecom/crypto.js';
import { capturedLogger } from '../../helpers/captured-logger.js';


/**
 * POST a body with Transfer-Encoding: chunked (no Content-Length, so the size is only known while reading), written
 * in 64 KiB chunks; resolves with the status and body the server answered, or rejects if the connection broke.
 */
function postChunked(url: string, path: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'text/xml', 'transfer-encoding': 'chunked' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    let at = 0;
    const writeMore = () => {
      while (at < body.length) {
        const chunk = body.subarray(at, at + 64 * 1024);
        at += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', writeMore);
      }
      req.end();
    };
    writeMore();
  });
}

describe.each(testEngines())('an oversized chunked callback on %s', (engine) => {
  let app: TestApp;
  const log = capturedLogger();
  const entries = () => log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  beforeAll(async () => {
    app = await startTestApp(engine, { logger: log.log });
  });
  afterAll(() => app?.close());

  const storedEvents = async () => Number((await app.container.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM inbox_events'))[0].n);

  it('answers 400 to 2.2 MB sent chunked, logs body_too_large with the address, stores nothing, and keeps serving', async () => {
    const sealed = sealCallback(SANDBOX_CREDS, contactEventXml('add_external_contact', { externalUserId: 'wmChunkedHuge' }));
    const body = Buffer.concat([Buffer.from(sealed.body), Buffer.alloc(2.2 * 1024 * 1024, 0x20)]);
    const before = await storedEvents();

    const res = await postChunked(app.url, `/wecom/callback?${new URLSearchParams(sealed.query)}`, body);

    expect(res.status).toBe(400);
    expect(res.text).toBe('body too large');
    const rejected = entries().find((l) => l.msg === 'callback rejected');
    expect(rejected).toMatchObject({ reason: 'body_too_large', ip: expect.stringMatching(/127\.0\.0\.1/) });
    expect(entries().filter((l) => l.msg === 'unhandled error')).toEqual([]);
    expect(await storedEvents()).toBe(before);
    // The same server still takes a well-formed callback afterwards.
    const ok = await postChunked(app.url, `/wecom/callback?${new URLSearchParams(sealed.query)}`, Buffer.from(sealed.body));
    expect(ok.status).toBe(200);
    expect(await storedEvents()).toBe(before + 1);
  });
});
