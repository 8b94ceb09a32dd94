import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WecomApiError } from '../../../src/shared/errors.js';
import { WecomTransportError } from '../../../src/wecom/client/errors.js';
import { WecomClient } from '../../../src/wecom/client/wecom.client.js';
import { StubHttpReply, WecomStub, hang } from '../../helpers/wecom-stub.js';
import { clientFor } from './support.js';

const MARK = 'externalcontact/mark_tag';
const TEMPLATE = 'externalcontact/add_msg_template';
const markInput = { userId: 'zhangsan', externalUserId: 'wmCustomer1', addTagIds: ['etVIP'] };
const templateInput = { chatType: 'single' as const, externalUserIds: ['wmCustomer1'], sender: 'zhangsan', text: '新品到店' };

describe(WecomClient.name, () => {
  let stub: WecomStub;
  let sut: WecomClient;

  beforeEach(async () => {
    stub = await WecomStub.start();
    stub.on(TEMPLATE, () => ({ msgid: 'msgA', fail_list: [] }));
  });
  afterEach(async () => {
    sut?.close();
    await stub.stop();
  });

  describe('business errors', () => {
    it('surfaces as WecomApiError with api, errcode and errmsg, without a retry', async () => {
      stub.on(MARK, () => ({ errcode: 84061, errmsg: 'not external contact, hint: [abc]' }));
      sut = clientFor(stub);

      const err = await sut.markTag(markInput).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(WecomApiError);
      expect(err).toMatchObject({ api: MARK, errcode: 84061, errmsg: 'not external contact, hint: [abc]' });
      expect(stub.callsTo(MARK)).toHaveLength(1);
    });

    it('maps 84061 from externalcontact/list to an empty list (docs/wecom-protocol.md §Staff and customer lists)', async () => {
      stub.fault('externalcontact/list', 84061);
      sut = clientFor(stub);

      await expect(sut.listExternalContacts('lisi')).resolves.toEqual([]);
    });
  });

  describe('transient errors', () => {
    it('retries -1 with backoff and succeeds', async () => {
      stub.fault(MARK, -1, 2);
      sut = clientFor(stub);

      await sut.markTag(markInput);

      expect(stub.callsTo(MARK).map((c) => c.errcode)).toEqual([-1, -1, undefined]);
    });

    it('gives up on -1 after maxAttempts', async () => {
      stub.fault(MARK, -1, 10);
      sut = clientFor(stub, { retry: { maxAttempts: 3, baseMs: 1, maxMs: 2 } });

      await expect(sut.markTag(markInput)).rejects.toMatchObject({ errcode: -1 });
      expect(stub.callsTo(MARK)).toHaveLength(3);
    });

    it('retries 45033 and an errcode answer to a non-idempotent write, since WeCom rejected it', async () => {
      stub.fault(TEMPLATE, 45033, 1).fault(TEMPLATE, -1, 1);
      sut = clientFor(stub);

      await expect(sut.addMsgTemplate(templateInput)).resolves.toEqual({ msgId: 'msgA', failList: [] });
      expect(stub.callsTo(TEMPLATE).map((c) => c.errcode)).toEqual([45033, -1, undefined]);
    });

    it('retries a 5xx on an idempotent call', async () => {
      let n = 0;
      stub.on(MARK, () => (++n === 1 ? new StubHttpReply(502, 'bad gateway') : {}));
      sut = clientFor(stub);

      await sut.markTag(markInput);

      expect(stub.callsTo(MARK)).toHaveLength(2);
    });
  });

  describe('unknown outcomes', () => {
    it('does not retry a non-idempotent write that timed out', async () => {
      stub.on(TEMPLATE, hang);
      sut = clientFor(stub, { timeoutMs: 400 });

      const err = await sut.addMsgTemplate(templateInput).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(WecomTransportError);
      expect(err).toMatchObject({ api: TEMPLATE, failure: 'timeout', isOutcomeUnknown: true });
      // The call has settled, so no retry can follow; wait only for a loaded stub to log what it got.
      await vi.waitFor(() => expect(stub.callsTo(TEMPLATE)).toHaveLength(1));
      expect(stub.callsTo(TEMPLATE)).toHaveLength(1);
    });

    it('retries an idempotent write that timed out', async () => {
      let n = 0;
      stub.on(MARK, (call) => (++n === 1 ? hang(call) : {}));
      sut = clientFor(stub, { timeoutMs: 400 });

      await sut.markTag(markInput);

      expect(stub.callsTo(MARK)).toHaveLength(2);
    });

    it('does not retry a non-idempotent write answered with a 5xx', async () => {
      stub.on('message/send', () => new StubHttpReply(504, 'gateway timeout'));
      sut = clientFor(stub, { agentId: 1000002 });

      const err = await sut.sendAppMessage({ toUsers: ['zhangsan'], content: { msgtype: 'text', content: 'hi' } }).catch((e: unknown) => e);

      expect(err).toMatchObject({ failure: 'http_status', httpStatus: 504, isOutcomeUnknown: true });
      expect(stub.callsTo('message/send')).toHaveLength(1);
    });

    it('retries a non-idempotent write that never left (connection refused)', async () => {
      const registry = new Registry();
      const dead = await WecomStub.start();
      sut = clientFor(dead, { registry, retry: { maxAttempts: 3, baseMs: 1, maxMs: 2 } });
      await sut.getFollowUserList(); // caches a token while the server is up
      await dead.stop();

      const err = await sut.addMsgTemplate(templateInput).catch((e: unknown) => e);

      expect(err).toMatchObject({ api: TEMPLATE, failure: 'network', networkCode: 'ECONNREFUSED', isOutcomeUnknown: false });
      const calls = await registry.getSingleMetric('wecom_api_calls_total')!.get();
      const refused = calls.values.find((v) => v.labels.api === TEMPLATE && v.labels.outcome === 'network');
      expect(refused?.value).toBe(3);
    });
  });

  describe('metrics', () => {
    it('counts calls by outcome, errors by errcode, and latency by api', async () => {
      const registry = new Registry();
      stub.fault(MARK, -1, 1);
      sut = clientFor(stub, { registry });

      await sut.markTag(markInput);

      const text = await registry.metrics();
      expect(text).toContain('wecom_api_calls_total{api="externalcontact/mark_tag",outcome="errcode"} 1');
      expect(text).toContain('wecom_api_calls_total{api="externalcontact/mark_tag",outcome="ok"} 1');
      expect(text).toContain('wecom_api_errors_total{api="externalcontact/mark_tag",errcode="-1"} 1');
      expect(text).toContain('wecom_api_latency_seconds_count{api="externalcontact/mark_tag"} 2');
    });

    it('lets two clients share one registry', async () => {
      const registry = new Registry();
      sut = clientFor(stub, { registry });
      const other = clientFor(stub, { registry });

      await sut.markTag(markInput);
      await other.markTag(markInput);
      other.close();

      expect(await registry.metrics()).toContain('wecom_api_calls_total{api="externalcontact/mark_tag",outcome="ok"} 2');
    });
  });
});
