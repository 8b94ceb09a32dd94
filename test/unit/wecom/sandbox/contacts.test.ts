import { describe, expect, it } from 'vitest';
import { buildSandbox, callApi, tokenFor } from './sandbox-harness.js';

async function seeded(overrides = {}) {
  const { sut, clock } = buildSandbox(overrides);
  sut.seed();
  return { sut, clock, token: await tokenFor(sut) };
}

describe('WecomSandbox external contacts', () => {
  it('lists the follow users and a member\'s customers', async () => {
    const { sut, token } = await seeded();
    expect((await callApi(sut, token, 'externalcontact/get_follow_user_list')).follow_user).toEqual(['zhangsan', 'lisi', 'wangwu', 'zhaoliu', 'sunqi']);
    const list = await callApi(sut, token, 'externalcontact/list', undefined, { userid: 'zhangsan' });
    expect(list.external_userid).toEqual(sut.store.relationsOfUser('zhangsan').map((r) => r.externalUserId));
  });

  it('answers 41035 without external_userid and 40096 for an unknown one', async () => {
    const { sut, token } = await seeded();
    expect((await callApi(sut, token, 'externalcontact/get')).errcode).toBe(41035);
    expect((await callApi(sut, token, 'externalcontact/get', undefined, { external_userid: 'wmUnknown' })).errcode).toBe(40096);
  });

  it('pages follow_user by cursor when a customer has more followers than the page size', async () => {
    const { sut, token } = await seeded({ followUserPageSize: 2 });
    const { externalUserId } = await sut.addCustomer({ userid: 'zhangsan' });
    for (const userid of ['lisi', 'wangwu', 'zhaoliu', 'sunqi']) await sut.addCustomer({ userid, externalUserId });
    const seen: string[] = [];
    let cursor = '';
    let pages = 0;
    do {
      const res = await callApi(sut, token, 'externalcontact/get', undefined, { external_userid: externalUserId, ...(cursor ? { cursor } : {}) });
      expect(res.errcode).toBe(0);
      seen.push(...res.follow_user.map((f: { userid: string }) => f.userid));
      cursor = res.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(['zhangsan', 'lisi', 'wangwu', 'zhaoliu', 'sunqi']);
  });

  it('returns every (customer, follower) pair exactly once through batch/get_by_user, clamping limit to 100', async () => {
    const { sut, token } = await seeded();
    const userids = ['zhangsan', 'lisi', 'wangwu', 'zhaoliu', 'sunqi'];
    const pairs: string[] = [];
    let cursor = '';
    do {
      const res = await callApi(sut, token, 'externalcontact/batch/get_by_user', { userid_list: userids, cursor, limit: 1000 });
      expect(res.errcode).toBe(0);
      expect(res.external_contact_list.length).toBeLessThanOrEqual(100);
      for (const row of res.external_contact_list) pairs.push(`${row.follow_info.userid}/${row.external_contact.external_userid}`);
      cursor = res.next_cursor;
    } while (cursor);
    const expected = sut.store.allRelations().map((r) => `${r.userid}/${r.externalUserId}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    expect(pairs.sort()).toEqual(expected.sort());
  });

  it('defaults batch/get_by_user to 50 per page and rejects more than 100 userids', async () => {
    const { sut, token } = await seeded();
    const res = await callApi(sut, token, 'externalcontact/batch/get_by_user', { userid_list: ['zhangsan', 'lisi'] });
    expect(res.external_contact_list).toHaveLength(50);
    expect(res.next_cursor).not.toBe('');
    const many = Array.from({ length: 101 }, () => 'zhangsan');
    expect((await callApi(sut, token, 'externalcontact/batch/get_by_user', { userid_list: many })).errcode).toBe(40058);
  });

  it('keeps batch cursors stable when a relation on an earlier page is deleted', async () => {
    const { sut, token } = await seeded();
    const first = await callApi(sut, token, 'externalcontact/batch/get_by_user', { userid_list: ['zhangsan'], limit: 10 });
    const firstIds = first.external_contact_list.map((r: any) => r.external_contact.external_userid);
    sut.store.removeRelation('zhangsan', firstIds[0]);
    const second = await callApi(sut, token, 'externalcontact/batch/get_by_user', { userid_list: ['zhangsan'], limit: 10, cursor: first.next_cursor });
    const expectedNext = sut.store.relationsOfUser('zhangsan').map((r) => r.externalUserId).slice(9, 19);
    expect(second.external_contact_list.map((r: any) => r.external_contact.external_userid)).toEqual(expectedNext);
  });

  it('marks tags per relation only, and answers 84061 for a customer the member does not have', async () => {
    const { sut, token } = await seeded();
    const { externalUserId } = await sut.addCustomer({ userid: 'zhangsan' });
    await sut.addCustomer({ userid: 'lisi', externalUserId });
    const vip = sut.store.tagGroups[0].tags[0].id;
    expect((await callApi(sut, token, 'externalcontact/mark_tag', { userid: 'zhangsan', external_userid: externalUserId, add_tag: [vip] })).errcode).toBe(0);
    const detail = await callApi(sut, token, 'externalcontact/get', undefined, { external_userid: externalUserId });
    const tagsBy = Object.fromEntries(detail.follow_user.map((f: any) => [f.userid, f.tags.map((t: any) => t.tag_id)]));
    expect(tagsBy).toEqual({ zhangsan: [vip], lisi: [] });
    expect(detail.follow_user[0].tags[0]).toEqual({ group_name: '客户等级', tag_name: 'VIP', tag_id: vip, type: 1 });
    expect((await callApi(sut, token, 'externalcontact/mark_tag', { userid: 'wangwu', external_userid: externalUserId, add_tag: [vip] })).errcode).toBe(84061);
    expect((await callApi(sut, token, 'externalcontact/mark_tag', { userid: 'zhangsan', external_userid: externalUserId, add_tag: ['etNope'] })).errcode).toBe(40068);
    expect((await callApi(sut, token, 'externalcontact/mark_tag', { userid: 'zhangsan', external_userid: externalUserId })).errcode).toBe(40063);
  });

  it('updates remarks with the documented limits, overwriting remark_mobiles and clearing them with [""]', async () => {
    const { sut, token } = await seeded();
    const { externalUserId } = await sut.addCustomer({ userid: 'zhangsan' });
    const base = { userid: 'zhangsan', external_userid: externalUserId };
    expect((await callApi(sut, token, 'externalcontact/remark', { ...base, remark: '王总', remark_mobiles: ['13800000001'] })).errcode).toBe(0);
    expect(sut.store.findRelation('zhangsan', externalUserId)).toMatchObject({ remark: '王总', remarkMobiles: ['13800000001'] });
    await callApi(sut, token, 'externalcontact/remark', { ...base, remark_mobiles: [''] });
    expect(sut.store.findRelation('zhangsan', externalUserId)?.remarkMobiles).toEqual([]);
    expect((await callApi(sut, token, 'externalcontact/remark', { ...base, remark: '一'.repeat(21) })).errcode).toBe(40058);
    expect((await callApi(sut, token, 'externalcontact/remark', base)).errcode).toBe(40063);
  });

  it('keeps serving a relation the customer deleted, and answers 84061 after the member deletes the customer', async () => {
    const { sut, token } = await seeded();
    const { externalUserId } = await sut.addCustomer({ userid: 'zhangsan' });
    await sut.customerDeletesStaff({ userid: 'zhangsan', externalUserId });
    expect((await callApi(sut, token, 'externalcontact/remark', { userid: 'zhangsan', external_userid: externalUserId, remark: 'x' })).errcode).toBe(0);
    await sut.staffDeletesCustomer({ userid: 'zhangsan', externalUserId });
    expect((await callApi(sut, token, 'externalcontact/remark', { userid: 'zhangsan', external_userid: externalUserId, remark: 'x' })).errcode).toBe(84061);
    expect((await callApi(sut, token, 'externalcontact/get', undefined, { external_userid: externalUserId })).errcode).toBe(84061);
  });
});
