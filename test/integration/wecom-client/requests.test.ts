import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WecomClient } from '../../../src/wecom/client/wecom.client.js';
import { WecomStub, type StubCall } from '../../helpers/wecom-stub.js';
import { clientFor } from './support.js';

const contact = { external_userid: 'wmCustomer1', name: '李四', type: 1, gender: 2 };
const follower = (userid: string) => ({ userid, remark: '', description: '', createtime: 1_700_000_000, tags: [], add_way: 1 });

describe(WecomClient.name, () => {
  let stub: WecomStub;
  let sut: WecomClient;

  beforeEach(async () => {
    stub = await WecomStub.start();
    sut = clientFor(stub, { agentId: 1000002 });
  });
  afterEach(async () => {
    sut.close();
    await stub.stop();
  });

  describe('request shape', () => {
    it('puts the access_token in the query string and never in the body', async () => {
      await sut.markTag({ userId: 'zhangsan', externalUserId: 'wmCustomer1', addTagIds: ['etVIP'] });

      const [call] = stub.callsTo('externalcontact/mark_tag');
      expect(call.query.access_token).toBe(stub.issuedTokens[0]);
      expect(call.rawBody.toString()).not.toContain(stub.issuedTokens[0]);
      expect(call.body).toEqual({ userid: 'zhangsan', external_userid: 'wmCustomer1', add_tag: ['etVIP'] });
    });

    it('uploads media as multipart field "media" with the type in the query (docs/wecom-protocol.md §Media)', async () => {
      stub.on('media/upload', () => ({ type: 'image', media_id: 'MEDIA1', created_at: '1380000000' }));

      const media = await sut.uploadMedia({ type: 'image', filename: 'cover.png', data: Buffer.from('PNGDATA!'), contentType: 'image/png' });

      const [call] = stub.callsTo('media/upload');
      expect(call.query.type).toBe('image');
      expect(call.contentType).toMatch(/^multipart\/form-data; boundary=/);
      expect(call.rawBody.toString()).toMatch(/name="media"; filename="cover.png"/);
      expect(call.rawBody.toString()).toContain('PNGDATA!');
      expect(media).toEqual({ type: 'image', mediaId: 'MEDIA1', createdAt: new Date(1_380_000_000_000) });
    });

    it('uploads a permanent image as multipart field "media" and answers its URL (docs/wecom-protocol.md §Media)', async () => {
      stub.on('media/uploadimg', () => ({ url: 'https://wework.qpic.cn/wwpic/1/0' }));

      const image = await sut.uploadImage({ filename: 'poster.png', data: Buffer.from('PNGDATA!'), contentType: 'image/png' });

      const [call] = stub.callsTo('media/uploadimg');
      expect(call.contentType).toMatch(/^multipart\/form-data; boundary=/);
      expect(call.rawBody.toString()).toMatch(/name="media"; filename="poster.png"/);
      expect(image).toEqual({ url: 'https://wework.qpic.cn/wwpic/1/0' });
    });

    it('sends app messages with the agentid and "|"-joined recipients (docs/wecom-protocol.md §App messages to staff)', async () => {
      stub.on('message/send', () => ({ invaliduser: 'ghost|gone', msgid: 'm1' }));

      const result = await sut.sendAppMessage({ toUsers: ['a', 'b', 'ghost', 'gone'], content: { msgtype: 'markdown', content: '**hi**' } });

      expect(stub.callsTo('message/send')[0].body).toEqual({ touser: 'a|b|ghost|gone', msgtype: 'markdown', agentid: 1000002, markdown: { content: '**hi**' } });
      expect(result).toEqual({ msgId: 'm1', invalidUsers: ['ghost', 'gone'], invalidParties: [], invalidTags: [], unlicensedUsers: [] });
    });

    it('creates contact ways with WeCom numbers for type and scene (docs/wecom-protocol.md §Contact ways)', async () => {
      stub.on('externalcontact/add_contact_way', () => ({ config_id: 'cfg1', qr_code: 'https://qr/1' }));

      const created = await sut.addContactWay({ type: 'single', scene: 'qrcode', users: ['zhangsan'], state: 'ch_1', skipVerify: true });

      expect(stub.callsTo('externalcontact/add_contact_way')[0].body).toEqual({ type: 1, scene: 2, user: ['zhangsan'], state: 'ch_1', skip_verify: true });
      expect(created).toEqual({ configId: 'cfg1', qrCode: 'https://qr/1' });
    });

    it('resolves OAuth codes to members and external users (docs/wecom-protocol.md §Staff sign-in for web pages)', async () => {
      stub.on('auth/getuserinfo', (call) => (call.query.code === 'member-code' ? { userid: 'zhangsan' } : { openid: 'o1', external_userid: 'wm1' }));

      await expect(sut.getUserInfoByCode('member-code')).resolves.toEqual({ kind: 'member', userId: 'zhangsan' });
      await expect(sut.getUserInfoByCode('guest-code')).resolves.toEqual({ kind: 'external', openId: 'o1', externalUserId: 'wm1' });
    });
  });

  describe('paging', () => {
    it('merges every follow_user page of externalcontact/get (docs/wecom-protocol.md §Customer details)', async () => {
      const pages: Record<string, unknown> = {
        '': { external_contact: contact, follow_user: [follower('u1'), follower('u2')], next_cursor: 'p2' },
        p2: { external_contact: contact, follow_user: [follower('u3')], next_cursor: 'p3' },
        p3: { external_contact: contact, follow_user: [follower('u4')], next_cursor: '' },
      };
      stub.on('externalcontact/get', (call) => pages[call.query.cursor ?? '']);

      const detail = await sut.getExternalContact('wmCustomer1');

      expect(detail.contact).toEqual({ externalUserId: 'wmCustomer1', name: '李四', type: 1, gender: 2 });
      expect(detail.followUsers.map((f) => f.userId)).toEqual(['u1', 'u2', 'u3', 'u4']);
      expect(detail.followUsers[0].addedAt).toEqual(new Date(1_700_000_000_000));
      expect(stub.callsTo('externalcontact/get').map((c) => c.query.cursor)).toEqual([undefined, 'p2', 'p3']);
    });

    it('stops with an error when WeCom repeats a cursor instead of looping forever', async () => {
      stub.on('externalcontact/get', () => ({ external_contact: contact, follow_user: [], next_cursor: 'same' }));

      await expect(sut.getExternalContact('wmCustomer1')).rejects.toThrow(/cursor/);
      expect(stub.callsTo('externalcontact/get')).toHaveLength(2);
    });

    it('iterates batch/get_by_user over chunks of 100 userids and every cursor (docs/wecom-protocol.md §Batch customer details)', async () => {
      stub.on('externalcontact/batch/get_by_user', (call: StubCall) => {
        const body = call.body as { userid_list: string[]; cursor?: string };
        const entry = { external_contact: contact, follow_info: { ...follower(body.userid_list[0]), tag_id: ['etA'] } };
        return body.cursor ? { external_contact_list: [entry], next_cursor: '' } : { external_contact_list: [entry], next_cursor: 'more' };
      });
      const userIds = Array.from({ length: 150 }, (_, i) => `u${i}`);

      const pages = [];
      for await (const page of sut.iterateBatchGetByUser(userIds)) pages.push(page);

      const bodies = stub.callsTo('externalcontact/batch/get_by_user').map((c) => c.body as { userid_list: string[]; cursor?: string; limit: number });
      expect(bodies.map((b) => [b.userid_list.length, b.cursor, b.limit])).toEqual([
        [100, undefined, 100],
        [100, 'more', 100],
        [50, undefined, 100],
        [50, 'more', 100],
      ]);
      expect(pages.flatMap((p) => p.items.map((i) => i.followInfo.tagIds))).toEqual([['etA'], ['etA'], ['etA'], ['etA']]);
    });

    it('rejects more than 100 userids in one batch/get_by_user page', async () => {
      await expect(sut.batchGetByUser({ userIds: Array.from({ length: 101 }, (_, i) => `u${i}`) })).rejects.toThrow(RangeError);
      expect(stub.callsTo('externalcontact/batch/get_by_user')).toHaveLength(0);
    });

    it('collects every page of get_groupmsg_send_result (docs/wecom-protocol.md §Mass message results)', async () => {
      stub.on('externalcontact/get_groupmsg_send_result', (call) => {
        const body = call.body as { cursor?: string };
        return body.cursor
          ? { send_list: [{ external_userid: 'wm2', userid: 'zhangsan', status: 3 }], next_cursor: '' }
          : { send_list: [{ external_userid: 'wm1', userid: 'zhangsan', status: 1, send_time: 1_700_000_100 }], next_cursor: 'c2' };
      });

      const results = await sut.getGroupMsgSendResult('msgA', 'zhangsan');

      expect(results).toEqual([
        { userId: 'zhangsan', externalUserId: 'wm1', status: 1, sentAt: new Date(1_700_000_100_000) },
        { userId: 'zhangsan', externalUserId: 'wm2', status: 3 },
      ]);
      expect(stub.callsTo('externalcontact/get_groupmsg_send_result')[0].body).toEqual({ msgid: 'msgA', userid: 'zhangsan', limit: 1000 });
    });
  });
});
