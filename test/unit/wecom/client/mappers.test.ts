import { describe, expect, it } from 'vitest';
import { fromWireAttachment, toFollowUser, toKfMessage, toMember, toWireAttachment, toWireKfSend } from '../../../../src/wecom/client/mappers.js';
import type { MessageAttachment } from '../../../../src/wecom/client/types.js';

describe('toFollowUser', () => {
  it('maps follow_user (docs/wecom-protocol.md §Customer details), keeping personal tags without an id', () => {
    const sut = toFollowUser({
      userid: 'tommy',
      remark: '李总',
      createtime: 1525881637,
      state: '外联二维码1',
      oper_userid: 'woAJ',
      add_way: 3,
      tags: [
        { group_name: 'g', tag_name: 'VIP', tag_id: 'etA', type: 1 },
        { group_name: 'g', tag_name: '老朋友', type: 2 },
      ],
    });

    expect(sut).toEqual({
      userId: 'tommy',
      remark: '李总',
      description: '',
      addedAt: new Date(1525881637_000),
      tags: [
        { groupName: 'g', tagName: 'VIP', tagId: 'etA', type: 1 },
        { groupName: 'g', tagName: '老朋友', type: 2 },
      ],
      remarkMobiles: [],
      operUserId: 'woAJ',
      addWay: 3,
      state: '外联二维码1',
    });
  });
});

describe('attachments', () => {
  it.each<MessageAttachment>([
    { kind: 'image', mediaId: 'M1' },
    { kind: 'link', title: 't', url: 'https://x', desc: 'd' },
    { kind: 'miniprogram', title: 't', picMediaId: 'P', appId: 'wx1', page: '/p' },
    { kind: 'video', mediaId: 'V' },
    { kind: 'file', mediaId: 'F' },
  ])('round-trips $kind through the wire shape (docs/wecom-protocol.md §Welcome messages)', (attachment) => {
    const wire = toWireAttachment(attachment);

    expect(wire.msgtype).toBe(attachment.kind);
    expect(fromWireAttachment(wire)).toEqual(attachment);
  });
});

describe('KF', () => {
  it('names the payload key after msgtype both ways (docs/wecom-protocol.md §WeChat customer service)', () => {
    expect(toWireKfSend({ toUser: 'wm1', openKfId: 'wk1', content: { msgtype: 'text', content: '您好' } })).toEqual({
      touser: 'wm1',
      open_kfid: 'wk1',
      msgtype: 'text',
      text: { content: '您好' },
    });
    expect(
      toKfMessage({ msgid: 'm', open_kfid: 'wk1', external_userid: 'wm1', send_time: 1700000000, origin: 3, msgtype: 'text', text: { content: 'hi' } }),
    ).toEqual({ msgId: 'm', openKfId: 'wk1', externalUserId: 'wm1', sentAt: new Date(1700000000_000), origin: 3, msgType: 'text', body: { content: 'hi' } });
  });
});

describe('toMember', () => {
  it('maps user/get (doc path/90196) to a camelCase member, dropping an empty position', () => {
    expect(toMember({ errcode: 0, errmsg: 'ok', userid: 'zhangsan', name: '张三', department: [1, 2], position: '', status: 1 })).toEqual({
      userId: 'zhangsan',
      name: '张三',
      status: 1,
      departmentIds: [1, 2],
    });
    expect(toMember({ userid: 'lisi', name: '李四', position: '店长' })).toEqual({ userId: 'lisi', name: '李四', position: '店长', departmentIds: [] });
  });
});
