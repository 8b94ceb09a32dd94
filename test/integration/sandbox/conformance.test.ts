import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CORP } from '../../../src/wecom/sandbox-identity.js';
import { http, startMountedSandbox } from './harness.js';
import { shapeMismatches } from './shape.js';

/** A sample WeCom response from test/fixtures/wecom (shapes: docs/wecom-protocol.md, a section per API). */
function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../fixtures/wecom/${name}.json`, import.meta.url), 'utf8'));
}

/**
 * Keys the samples show that the sandbox legitimately omits for its data (docs/wecom-protocol.md §Customer details:
 * corp_* only for WeCom users, etc.).
 */
const CONTACT_OPTIONAL = ['position', 'corp_name', 'corp_full_name', 'unionid', 'external_profile'];

describe('shapeMismatches', () => {
  it('reports missing keys, wrong types and keys the sample lacks', () => {
    const sample = { a: 1, list: [{ x: 's', y: 1 }, { x: 't' }] };
    expect(shapeMismatches({ a: 1, list: [{ x: 's' }] }, sample)).toEqual([]);
    expect(shapeMismatches({ a: '1', list: [{ x: 's', z: 2 }] }, sample)).toEqual(['a: expected number, got string', 'list[].z: not in the sample']);
    expect(shapeMismatches({ list: [] }, sample)).toEqual(['a: missing', 'list: empty, so its elements cannot be checked']);
  });
});

describe('WecomSandbox conformance with WeCom\'s samples', () => {
  let env: Awaited<ReturnType<typeof startMountedSandbox>>;
  let token: string;
  const api = (path: string, query: Record<string, string> = {}) =>
    `${env.base}/cgi-bin/${path}?${new URLSearchParams({ access_token: token, ...query })}`;
  const expectConforms = (actual: unknown, name: string, optional: string[] = []) => {
    expect((actual as { errcode: number }).errcode).toBe(0);
    expect(shapeMismatches(actual, fixture(name), optional)).toEqual([]);
  };

  beforeAll(async () => {
    env = await startMountedSandbox();
    env.sandbox.seed();
    const res = await http(`${env.base}/cgi-bin/gettoken?corpid=${SANDBOX_CORP.corpId}&corpsecret=${SANDBOX_CORP.secret}`);
    expectConforms(res.body, 'gettoken');
    token = res.body.access_token;
  });
  afterAll(() => env.close());

  it('get_jsapi_ticket and ticket/get', async () => {
    expectConforms((await http(api('get_jsapi_ticket'))).body, 'get_jsapi_ticket');
    expectConforms((await http(api('ticket/get', { type: 'agent_config' }))).body, 'get_jsapi_ticket');
  });

  it('externalcontact/get_follow_user_list and list', async () => {
    expectConforms((await http(api('externalcontact/get_follow_user_list'))).body, 'externalcontact_get_follow_user_list');
    expectConforms((await http(api('externalcontact/list', { userid: 'zhangsan' }))).body, 'externalcontact_list');
  });

  it('externalcontact/get, for a tagged customer and a WeCom-user customer', async () => {
    const tagged = env.sandbox.store.allRelations().find((r) => r.tagIds.length > 0 && r.remarkMobiles.length > 0)!;
    const wecomUser = [...env.sandbox.store.customers.values()].find((c) => c.type === 2)!;
    for (const id of [tagged.externalUserId, wecomUser.externalUserId]) {
      const res = await http(api('externalcontact/get', { external_userid: id }));
      expectConforms(res.body, 'externalcontact_get', [...CONTACT_OPTIONAL.map((k) => `external_contact.${k}`), 'follow_user[].tags']);
    }
  });

  it('externalcontact/batch/get_by_user', async () => {
    const res = await http(api('externalcontact/batch/get_by_user'), { json: { userid_list: ['zhangsan', 'lisi'], limit: 100 } });
    expectConforms(res.body, 'externalcontact_batch_get_by_user', [
      ...CONTACT_OPTIONAL.map((k) => `external_contact_list[].external_contact.${k}`),
      'external_contact_list[].follow_info.remark_corp_name',
      'external_contact_list[].follow_info.state',
      'external_contact_list[].follow_info.tag_id',
      'external_contact_list[].follow_info.remark_mobiles',
    ]);
  });

  it('get_corp_tag_list (deleted flags only when filtering by id) and add_corp_tag', async () => {
    const all = await http(api('externalcontact/get_corp_tag_list'), { json: {} });
    expectConforms(all.body, 'externalcontact_get_corp_tag_list', ['tag_group[].deleted', 'tag_group[].tag[].deleted']);
    const tagId = all.body.tag_group[0].tag[0].id;
    expectConforms((await http(api('externalcontact/get_corp_tag_list'), { json: { tag_id: [tagId] } })).body, 'externalcontact_get_corp_tag_list');
    const added = await http(api('externalcontact/add_corp_tag'), { json: { group_name: '会员卡', tag: [{ name: '金卡' }] } });
    expectConforms(added.body, 'externalcontact_add_corp_tag');
  });

  it('add_contact_way and get_contact_way', async () => {
    const added = await http(api('externalcontact/add_contact_way'), { json: { type: 2, scene: 2, state: 'conf', user: ['zhangsan', 'lisi'], conclusions: { text: { content: '谢谢' } } } });
    expectConforms(added.body, 'externalcontact_add_contact_way');
    const got = await http(api('externalcontact/get_contact_way'), { json: { config_id: added.body.config_id } });
    expectConforms(got.body, 'externalcontact_get_contact_way', ['contact_way.style', 'contact_way.party', 'contact_way.expires_in', 'contact_way.chat_expires_in', 'contact_way.unionid']);
  });

  it('the mass-message family: add_msg_template, list, task, send result', async () => {
    const targets = env.sandbox.store.relationsOfUser('wangwu').slice(0, 2).map((r) => r.externalUserId);
    const created = await http(api('externalcontact/add_msg_template'), {
      json: { external_userid: [...targets, 'wmGhost'], sender: 'wangwu', text: { content: '周末活动' }, attachments: [{ msgtype: 'link', link: { title: '活动', picurl: 'https://example.com/p.png', desc: '周末见', url: 'https://example.com' } }] },
    });
    expectConforms(created.body, 'externalcontact_add_msg_template');
    const nowS = Math.floor(env.clock.now().getTime() / 1000);
    const list = await http(api('externalcontact/get_groupmsg_list_v2'), { json: { chat_type: 'single', start_time: nowS - 60, end_time: nowS + 60 } });
    expectConforms(list.body, 'externalcontact_get_groupmsg_list_v2', ['group_msg_list[].creator']);
    const control = await http(`${env.base}/_control/groupmsg/confirm`, { json: { msgid: created.body.msgid } });
    expect(control.body).toEqual({ sent: 2, overQuota: 0, notFriend: 0 });
    const task = await http(api('externalcontact/get_groupmsg_task'), { json: { msgid: created.body.msgid } });
    expectConforms(task.body, 'externalcontact_get_groupmsg_task');
    const result = await http(api('externalcontact/get_groupmsg_send_result'), { json: { msgid: created.body.msgid, userid: 'wangwu' } });
    expectConforms(result.body, 'externalcontact_get_groupmsg_send_result', ['send_list[].chat_id']);
  });

  it('groupchat/list and groupchat/get', async () => {
    const list = await http(api('externalcontact/groupchat/list'), { json: { limit: 10 } });
    expectConforms(list.body, 'externalcontact_groupchat_list');
    const got = await http(api('externalcontact/groupchat/get'), { json: { chat_id: list.body.group_chat_list[0].chat_id, need_name: 1 } });
    expectConforms(got.body, 'externalcontact_groupchat_get', ['group_chat.admin_list']);
  });

  it('message/send', async () => {
    const res = await http(api('message/send'), { json: { touser: 'zhangsan|ghost', msgtype: 'text', agentid: SANDBOX_CORP.agentId, text: { content: '提醒' } } });
    expectConforms(res.body, 'message_send', ['response_code']);
  });

  it('media/upload with a multipart `media` field, created_at as a string', async () => {
    const form = new FormData();
    form.append('media', new Blob([Buffer.from('\x89PNG fake image bytes')], { type: 'image/png' }), 'a.png');
    const res = await fetch(api('media/upload', { type: 'image' }), { method: 'POST', body: form });
    const body = (await res.json()) as { media_id: string };
    expectConforms(body, 'media_upload');
    expect(env.sandbox.store.media.get(body.media_id)).toMatchObject({ filename: 'a.png', type: 'image' });
  });

  it('auth/getuserinfo', async () => {
    const { body: issued } = await http(`${env.base}/_control/oauth/code`, { json: { userid: 'lisi' } });
    const res = await http(api('auth/getuserinfo', { code: issued.code }));
    expectConforms(res.body, 'auth_getuserinfo', ['user_ticket']);
    expect(res.body.userid).toBe('lisi');
  });

  it('kf/sync_msg and kf/send_msg', async () => {
    await http(`${env.base}/_control/kf/message`, { json: { openKfId: 'wkConf', externalUserId: 'wmKfConf', text: '你好' } });
    const synced = await http(api('kf/sync_msg'), { json: { open_kfid: 'wkConf' } });
    expectConforms(synced.body, 'kf_sync_msg', ['msg_list[].servicer_userid']);
    const sent = await http(api('kf/send_msg'), { json: { touser: 'wmKfConf', open_kfid: 'wkConf', msgtype: 'text', text: { content: '在的' } } });
    expectConforms(sent.body, 'kf_send_msg');
  });

  it('answers every error with errcode and errmsg', async () => {
    const res = await http(`${env.base}/cgi-bin/externalcontact/get?external_userid=x`);
    expect(res.body).toEqual({ errcode: 41001, errmsg: expect.any(String) });
    const bad = await fetch(api('externalcontact/mark_tag'), { method: 'POST', body: '{not json' });
    expect(await bad.json()).toEqual({ errcode: 40035, errmsg: expect.any(String) });
  });
});
