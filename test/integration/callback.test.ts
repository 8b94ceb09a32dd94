import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCipheriv } from 'node:crypto';
import { startTestApp, api, waitFor, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { contactEventXml, postCallback, SANDBOX_CREDS } from '../helpers/callbacks.js';
import { OFFICIAL } from '../fixtures/official-vectors.js';
import { encryptMessage, sealCallback, signCallback } from '../../src/wecom/crypto.js';
import type { EventHandler } from '../../src/domain/inbox/event-router.js';
import type { InboundEvent } from '../../src/domain/inbox/inbox.types.js';

const OFFICIAL_ENV = {
  WECOM_CORP_ID: OFFICIAL.corpId,
  WECOM_SECRET: 'unused-in-this-test',
  // Required with real credentials (docs/security.md §Proxies and the public origin).
  PUBLIC_URL: 'https://ops.example.com',
  WECOM_TOKEN: OFFICIAL.token,
  WECOM_ENCODING_AES_KEY: OFFICIAL.encodingAesKey,
  // The official vectors are from 2016; the replay window would (rightly) reject them.
  WECOM_REPLAY_WINDOW_SECONDS: '0',
};

async function countRows(app: TestApp): Promise<number> {
  const [{ n }] = await app.container.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM inbox_events');
  return Number(n);
}

async function metricValue(app: TestApp, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe.each(testEngines())('callback ingress on %s', (engine) => {
  describe('official vectors through the real endpoint', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp(engine, { env: OFFICIAL_ENV });
    });
    afterAll(() => app.close());

    it('answers the URL check with the bare decrypted echostr', async () => {
      const e = OFFICIAL.echo;
      // echostr contains '+' and '/': it must arrive URL-encoded and must not turn into spaces.
      const res = await fetch(
        `${app.url}/wecom/callback?msg_signature=${e.msg_signature}&timestamp=${e.timestamp}&nonce=${e.nonce}&echostr=${encodeURIComponent(e.echostr)}`,
      );
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(e.plain);
    });

    it('decrypts and stores the POST vector, keeping the 64-bit-safe MsgId as a string', async () => {
      const p = OFFICIAL.post;
      const res = await fetch(`${app.url}/wecom/callback?msg_signature=${p.msg_signature}&timestamp=${p.timestamp}&nonce=${p.nonce}`, {
        method: 'POST',
        body: p.body,
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('');
      const claimed = await app.container.repos.inbox.claim(10, Date.now(), 60000);
      expect(claimed).toHaveLength(1);
      expect(claimed[0].event.kind).toBe('text');
      expect(claimed[0].event.fields).toMatchObject({ FromUserName: 'ChenJiaShun', Content: '你好', MsgId: '1456453720', MsgType: 'text' });
    });
  });

  describe('while the callback Token/EncodingAESKey is being changed (WECOM_NEXT_*)', () => {
    // The new pair an admin is about to save in 接收消息 settings; WeCom checks it with a GET first
    // (docs/wecom-protocol.md §URL verification).
    const NEXT = { token: 'NewTokenAfterRotation', encodingAesKey: 'Rotated0Key1For2The3Sandbox4Corp5Is6Here789', receiveId: SANDBOX_CREDS.receiveId };
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp(engine, { env: { WECOM_NEXT_TOKEN: NEXT.token, WECOM_NEXT_ENCODING_AES_KEY: NEXT.encodingAesKey } });
    });
    afterAll(() => app.close());

    const nextKeyCount = async () => {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      return Number(text.split('\n').find((l) => l.startsWith('wecom_callback_next_key_total '))?.split(' ')[1] ?? 0);
    };

    it('passes WeCom\'s save-time URL check signed with the new pair', async () => {
      const echostr = encryptMessage(NEXT.encodingAesKey, 'echo-1700000000', NEXT.receiveId);
      const ts = String(Math.floor(Date.now() / 1000));
      const sig = signCallback(NEXT.token, ts, 'n1', echostr);
      const res = await fetch(`${app.url}/wecom/callback?msg_signature=${sig}&timestamp=${ts}&nonce=n1&echostr=${encodeURIComponent(echostr)}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('echo-1700000000');
    });

    it('stores events sealed with either pair, and counts those under the new one', async () => {
      const before = await nextKeyCount();
      const oldPair = await postCallback(app.url, contactEventXml('edit_external_contact', { externalUserId: 'wmRotateOld' }));
      const newPair = await postCallback(app.url, contactEventXml('edit_external_contact', { externalUserId: 'wmRotateNew' }), { creds: NEXT });
      expect([oldPair.status, newPair.status]).toEqual([200, 200]);
      const claimed = await app.container.repos.inbox.claim(10, Date.now(), 60000);
      expect(claimed.map((c) => c.event.fields.ExternalUserID).sort()).toEqual(['wmRotateNew', 'wmRotateOld']);
      expect(await nextKeyCount()).toBe(before + 1);
    });

    it('never decrypts with the key of a Token that did not sign, and refuses a third Token', async () => {
      const before = await countRows(app);
      // Signed with the new Token but encrypted with the old key: the signature picks the new key, which cannot open it.
      const mixed = await postCallback(app.url, contactEventXml('edit_external_contact', { externalUserId: 'wmRotateMixed' }), {
        creds: { ...SANDBOX_CREDS, token: NEXT.token },
      });
      expect(mixed.status).toBe(400);
      const stranger = await postCallback(app.url, contactEventXml('edit_external_contact', { externalUserId: 'wmRotateStranger' }), {
        creds: { ...NEXT, token: 'SomeoneElsesToken' },
      });
      expect(stranger.status).toBe(403);
      expect(await countRows(app)).toBe(before);
    });
  });

  describe('with the sandbox identity', () => {
    let app: TestApp;
    const runs: number[] = [];
    const probe: EventHandler = {
      name: 'probe',
      kinds: ['event/wecom_ops_probe'],
      async handle(e: InboundEvent) {
        runs.push(e.id);
        if (e.fields.Fail === 'always') throw new Error('probe asked to fail');
      },
    };
    beforeAll(async () => {
      app = await startTestApp(engine, { build: { handlers: [probe] }, overrides: { inbox: { maxAttempts: 2, backoffBaseMs: 1, backoffMaxMs: 5 } } });
    });
    afterAll(() => app.close());

    const probeXml = (id: string, extra = '') =>
      `<xml><ToUserName><![CDATA[${SANDBOX_CREDS.receiveId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
      `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType>` +
      `<Event><![CDATA[wecom_ops_probe]]></Event><ExternalUserID><![CDATA[${id}]]></ExternalUserID>${extra}</xml>`;

    it('stores a redelivered event once and runs its handler once, even when re-encrypted', async () => {
      const xml = probeXml('wmDuplicate01');
      const before = await countRows(app);
      // 2 identical deliveries + 2 re-encrypted ones (new random prefix, nonce and signature).
      const sealed = sealCallback(SANDBOX_CREDS, xml);
      const send = async (s: typeof sealed) =>
        (
          await fetch(`${app.url}/wecom/callback?${new URLSearchParams(s.query)}`, { method: 'POST', body: s.body })
        ).status;
      const statuses = [await send(sealed), await send(sealed), (await postCallback(app.url, xml)).status, (await postCallback(app.url, xml)).status];
      expect(statuses).toEqual([200, 200, 200, 200]);
      expect(await countRows(app)).toBe(before + 1);
      expect(await app.container.inboxProcessor.drain()).toBe(1);
      const [row] = await app.container.db.query<{ id: number; status: string; attempts: number }>(
        "SELECT id, status, attempts FROM inbox_events WHERE kind = 'event/wecom_ops_probe' ORDER BY id DESC LIMIT 1",
      );
      expect(row.status).toBe('done');
      expect(runs.filter((r) => r === Number(row.id))).toHaveLength(1);
      expect(await metricValue(app, 'wecom_callback_received_total', 'kind="event/wecom_ops_probe",result="duplicate"')).toBe(3);
      // One timeline entry for the customer, written with the completion.
      const timeline = await app.container.repos.timeline.listForCustomer('wmDuplicate01');
      expect(timeline).toHaveLength(1);
    });

    it('keeps an unknown event and marks it ignored', async () => {
      const xml = probeXml('wmUnknown01').replace('wecom_ops_probe', 'something_new_from_wecom');
      expect((await postCallback(app.url, xml)).status).toBe(200);
      await app.container.inboxProcessor.drain();
      const { body } = await api(app, 'GET', '/api/v1/events?status=ignored');
      expect(body.items.map((e: { kind: string }) => e.kind)).toContain('event/something_new_from_wecom');
    });

    it('retries a failing handler with backoff, parks it as failed, and lists it for operators', async () => {
      expect((await postCallback(app.url, probeXml('wmFailing01', '<Fail>always</Fail>'))).status).toBe(200);
      await waitFor(async () => {
        await app.container.inboxProcessor.drain();
        const { body } = await api(app, 'GET', '/api/v1/events?status=failed');
        return body.total === 1;
      }, 5000, 'the event to be parked');
      const { body } = await api(app, 'GET', '/api/v1/events?status=failed');
      expect(body.items[0]).toMatchObject({ kind: 'event/wecom_ops_probe', status: 'failed', attempts: 2 });
      expect(body.items[0].error).toContain('probe asked to fail');
      expect(Object.keys(body.items[0])).toEqual(expect.arrayContaining(['id', 'receivedAt', 'kind', 'status', 'attempts', 'error']));
      // Replay queues it again with a fresh budget; it fails again (the probe still fails) and is parked again.
      const replay = await api(app, 'POST', `/api/v1/events/${body.items[0].id}/replay`);
      expect(replay.body.status).toBe('pending');
      expect(replay.body.attempts).toBe(0);
    });

    it('requires a bearer token for the admin API', async () => {
      expect((await fetch(`${app.url}/api/v1/events`)).status).toBe(401);
      expect((await api(app, 'GET', '/api/v1/events', undefined, 'wrong-token')).status).toBe(401);
      const t = await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' });
      expect((await api(app, 'GET', '/api/v1/events', undefined, t.token)).status).toBe(403);
      const op = await app.container.tokens.create({ role: 'operator' });
      expect((await api(app, 'GET', '/api/v1/events', undefined, op.token)).status).toBe(200);
    });

    describe('refuses bad input, processes nothing, and counts the reason', () => {
      const xml = contactEventXml('add_external_contact', { externalUserId: 'wmRejected' });
      const key = Buffer.from(`${SANDBOX_CREDS.encodingAesKey}=`, 'base64');
      const rawEncrypt = (plain: Buffer) => {
        const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
        c.setAutoPadding(false);
        return Buffer.concat([c.update(plain), c.final()]).toString('base64');
      };
      const envelope = (encrypt: string) => `<xml><ToUserName><![CDATA[x]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`;
      const signedWith = (encrypt: string) => (q: Record<string, string>): [Record<string, string>, string] => [
        { ...q, msg_signature: signCallback(SANDBOX_CREDS.token, q.timestamp, q.nonce, encrypt) },
        envelope(encrypt),
      ];
      const cases: [string, number, Parameters<typeof postCallback>[2]][] = [
        ['missing_signature', 403, { mutate: (q, b) => [{ timestamp: q.timestamp, nonce: q.nonce }, b] }],
        ['bad_signature', 403, { mutate: (q, b) => [{ ...q, msg_signature: '0'.repeat(40) }, b] }],
        ['bad_signature', 403, { creds: { ...SANDBOX_CREDS, token: 'another-token' } }],
        ['stale_timestamp', 403, { timestamp: String(Math.floor(Date.now() / 1000) - 3600) }],
        ['bad_envelope', 400, { mutate: (q) => [q, 'not xml at all'] }],
        ['bad_ciphertext', 400, { mutate: signedWith(Buffer.alloc(40, 1).toString('base64')) }],
        ['bad_padding', 400, { mutate: signedWith(rawEncrypt(Buffer.alloc(64, 0))) }],
        ['wrong_receive_id', 403, { mutate: signedWith(encryptMessage(SANDBOX_CREDS.encodingAesKey, xml, 'wwSomeOtherCorp')) }],
        ['bad_xml', 400, { mutate: signedWith(encryptMessage(SANDBOX_CREDS.encodingAesKey, '<xml><Open>', SANDBOX_CREDS.receiveId)) }],
        ['bad_xml', 400, {
          mutate: signedWith(encryptMessage(SANDBOX_CREDS.encodingAesKey, '<!DOCTYPE x [<!ENTITY a "b">]><xml><A>&a;</A></xml>', SANDBOX_CREDS.receiveId)),
        }],
      ];
      it.each(cases)('%s → %i', async (reason, status, opts) => {
        const rowsBefore = await countRows(app);
        const metricBefore = await metricValue(app, 'wecom_callback_rejected_total', `reason="${reason}"`);
        const res = await postCallback(app.url, xml, opts);
        expect(res.status).toBe(status);
        expect(await countRows(app)).toBe(rowsBefore);
        expect(await metricValue(app, 'wecom_callback_rejected_total', `reason="${reason}"`)).toBe(metricBefore + 1);
      });

      it('body_too_large → 400 for a body over 1 MiB', async () => {
        const rowsBefore = await countRows(app);
        const sealed = sealCallback(SANDBOX_CREDS, xml);
        const res = await fetch(`${app.url}/wecom/callback?${new URLSearchParams(sealed.query)}`, {
          method: 'POST',
          body: sealed.body + ' '.repeat(1024 * 1024),
        });
        expect(res.status).toBe(400);
        expect(await countRows(app)).toBe(rowsBefore);
        expect(await metricValue(app, 'wecom_callback_rejected_total', 'reason="body_too_large"')).toBe(1);
      });

      it('bad_length → 400 when the length prefix overruns the plaintext', async () => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(9999);
        const body = Buffer.concat([Buffer.alloc(16, 1), len, Buffer.from('short')]);
        const pad = 32 - (body.length % 32);
        const res = await postCallback(app.url, xml, { mutate: signedWith(rawEncrypt(Buffer.concat([body, Buffer.alloc(pad, pad)]))) });
        expect(res.status).toBe(400);
        expect(await metricValue(app, 'wecom_callback_rejected_total', 'reason="bad_length"')).toBe(1);
      });
    });
  });

  describe('when the database cannot take the event', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp(engine);
    });
    afterAll(() => app.close().catch(() => undefined));

    it('answers 503 so that WeCom retries, never 200', async () => {
      await app.container.db.query('DROP TABLE inbox_events');
      const res = await postCallback(app.url, contactEventXml('add_external_contact', { externalUserId: 'wmNoDb' }));
      expect(res.status).toBe(503);
    });
  });
});
