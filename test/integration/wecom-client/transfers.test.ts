import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WecomTransportError } from '../../../src/wecom/client/errors.js';
import { WecomClient } from '../../../src/wecom/client/wecom.client.js';
import { WecomStub, hang } from '../../helpers/wecom-stub.js';
import { clientFor } from './support.js';

const ONJOB = 'externalcontact/transfer_customer';
const RESIGNED = 'externalcontact/resigned/transfer_customer';
const RESULT = 'externalcontact/transfer_result';

describe(WecomClient.name, () => {
  let stub: WecomStub;
  let sut: WecomClient;

  beforeEach(async () => {
    stub = await WecomStub.start();
  });
  afterEach(async () => {
    sut?.close();
    await stub.stop();
  });

  describe('transferCustomers', () => {
    it('reports each customer’s errcode, and sends the success message on-job only (docs/wecom-protocol.md §Customer transfers)', async () => {
      stub.on(ONJOB, () => ({ customer: [{ external_userid: 'wmA', errcode: 0 }, { external_userid: 'wmB', errcode: 40128 }] }));
      stub.on(RESIGNED, () => ({ customer: [{ external_userid: 'wmA', errcode: 84061 }] }));
      sut = clientFor(stub);

      const onjob = await sut.transferCustomers({ kind: 'onjob', handoverUserId: 'zhangsan', takeoverUserId: 'lisi', externalUserIds: ['wmA', 'wmB'], successMessage: '您好' });
      const resigned = await sut.transferCustomers({ kind: 'resigned', handoverUserId: 'wangwu', takeoverUserId: 'lisi', externalUserIds: ['wmA'], successMessage: '您好' });

      expect(onjob).toEqual([{ externalUserId: 'wmA', errcode: 0 }, { externalUserId: 'wmB', errcode: 40128 }]);
      expect(resigned).toEqual([{ externalUserId: 'wmA', errcode: 84061 }]);
      expect(stub.callsTo(ONJOB)[0].body).toEqual({ handover_userid: 'zhangsan', takeover_userid: 'lisi', external_userid: ['wmA', 'wmB'], transfer_success_msg: '您好' });
      expect(stub.callsTo(RESIGNED)[0].body).toEqual({ handover_userid: 'wangwu', takeover_userid: 'lisi', external_userid: ['wmA'] });
    });

    it('throws a whole-call errcode and refuses more than 100 customers before calling', async () => {
      stub.fault(RESIGNED, 40097);
      sut = clientFor(stub);

      await expect(sut.transferCustomers({ kind: 'resigned', handoverUserId: 'zhangsan', takeoverUserId: 'lisi', externalUserIds: ['wmA'] })).rejects.toMatchObject({ errcode: 40097 });
      const many = Array.from({ length: 101 }, (_, i) => `wm${i}`);
      await expect(sut.transferCustomers({ kind: 'onjob', handoverUserId: 'zhangsan', takeoverUserId: 'lisi', externalUserIds: many })).rejects.toBeInstanceOf(RangeError);
      expect(stub.callsTo(ONJOB)).toHaveLength(0);
    });

    it('does not repeat a transfer whose outcome is unknown: a second one would count against 2 per 90 days', async () => {
      stub.on(ONJOB, hang);
      sut = clientFor(stub, { timeoutMs: 100 });

      const err = await sut.transferCustomers({ kind: 'onjob', handoverUserId: 'zhangsan', takeoverUserId: 'lisi', externalUserIds: ['wmA'] }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(WecomTransportError);
      expect(err).toMatchObject({ isOutcomeUnknown: true });
      expect(stub.callsTo(ONJOB)).toHaveLength(1);
    });
  });

  describe('getTransferResults', () => {
    it('follows next_cursor across pages and maps takeover_time', async () => {
      stub.on(RESULT, (call) => {
        const cursor = (call.body as { cursor?: string }).cursor;
        return cursor === 'P2'
          ? { customer: [{ external_userid: 'wmC', status: 3, takeover_time: 0 }], next_cursor: '' }
          : { customer: [{ external_userid: 'wmA', status: 1, takeover_time: 1775000000 }, { external_userid: 'wmB', status: 2, takeover_time: 1775086400 }], next_cursor: 'P2' };
      });
      sut = clientFor(stub);

      const results = await sut.getTransferResults('onjob', 'zhangsan', 'lisi');

      expect(results).toEqual([
        { externalUserId: 'wmA', status: 1, takeoverAt: new Date(1775000000 * 1000) },
        { externalUserId: 'wmB', status: 2, takeoverAt: new Date(1775086400 * 1000) },
        { externalUserId: 'wmC', status: 3 },
      ]);
      expect(stub.callsTo(RESULT).map((c) => c.body)).toEqual([
        { handover_userid: 'zhangsan', takeover_userid: 'lisi' },
        { handover_userid: 'zhangsan', takeover_userid: 'lisi', cursor: 'P2' },
      ]);
    });

    it('reads the resigned records from resigned/transfer_result', async () => {
      stub.on('externalcontact/resigned/transfer_result', () => ({ customer: [{ external_userid: 'wmA', status: 2, takeover_time: 1775086400 }] }));
      sut = clientFor(stub);

      await expect(sut.getTransferResults('resigned', 'wangwu', 'lisi')).resolves.toEqual([{ externalUserId: 'wmA', status: 2, takeoverAt: new Date(1775086400 * 1000) }]);
      expect(stub.callsTo(RESULT)).toHaveLength(0);
    });
  });

  describe('getUnassignedList', () => {
    it('maps one page and ends the list on is_last even when a cursor comes back (docs/wecom-protocol.md §Customer transfers)', async () => {
      const UNASSIGNED = 'externalcontact/get_unassigned_list';
      stub.on(UNASSIGNED, (req) =>
        (req.body as { cursor?: string }).cursor
          ? { info: [{ handover_userid: 'wangwu', external_userid: 'wmC', dimission_time: 1775000000 }], is_last: true, next_cursor: 'junk' }
          : { info: [{ handover_userid: 'wangwu', external_userid: 'wmA', dimission_time: 1775000000 }], is_last: false, next_cursor: 'c2' },
      );
      sut = clientFor(stub);

      const first = await sut.getUnassignedList({ pageSize: 5000 });
      expect(first).toEqual({ items: [{ handoverUserId: 'wangwu', externalUserId: 'wmA', dimissionAt: new Date(1775000000 * 1000) }], nextCursor: 'c2' });
      const last = await sut.getUnassignedList({ cursor: first.nextCursor });
      expect(last.nextCursor).toBe('');
      // page_size is clamped to WeCom's maximum of 1000 before the call.
      expect(stub.callsTo(UNASSIGNED).map((c) => c.body)).toEqual([{ page_size: 1000 }, { cursor: 'c2' }]);
    });
  });
});
