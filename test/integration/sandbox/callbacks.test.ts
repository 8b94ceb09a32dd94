import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { openCallback } from '../../../src/wecom/crypto.js';
import { SANDBOX_CORP } from '../../../src/wecom/sandbox-identity.js';
import { extractEncrypt, parseWecomXml } from '../../../src/wecom/xml.js';
import { close, http, listen, readText, startMountedSandbox } from './harness.js';

/** What the local "bot" receiver saw on one POST. */
interface Received {
  query: URLSearchParams;
  body: string;
}

/** A callback receiver whose answer per attempt is scripted: a status code, or 'hang' to never answer. */
async function startReceiver(script: Array<number | 'hang'> = []) {
  const received: Received[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readText(req);
    received.push({ query: new URL(req.url ?? '/', 'http://x').searchParams, body });
    const action = script[received.length - 1] ?? 200;
    if (action === 'hang') return; // never answers; the sandbox's timeout must fire
    res.statusCode = action;
    res.end('');
  });
  const url = `${await listen(server)}/wecom/callback`;
  return { url, received, close: () => { server.closeAllConnections(); return close(server); } };
}

/** Verify and decrypt one received callback with the bot's crypto, then parse it. */
function decrypt(r: Received, corp: { token: string; encodingAesKey: string; corpId: string }) {
  const encrypt = extractEncrypt(r.body);
  const plain = openCallback(
    { token: corp.token, encodingAesKey: corp.encodingAesKey, receiveId: corp.corpId },
    { signature: r.query.get('msg_signature') ?? undefined, timestamp: r.query.get('timestamp') ?? undefined, nonce: r.query.get('nonce') ?? undefined },
    encrypt,
  );
  return parseWecomXml(plain);
}

describe('WecomSandbox callbacks', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function setup(script: Array<number | 'hang'> = [], extra = {}) {
    const receiver = await startReceiver(script);
    const env = await startMountedSandbox({ callbackUrl: receiver.url, callbackRetryDelaysMs: [5, 5, 5], callbackTimeoutMs: 300, ...extra });
    env.sandbox.seed();
    cleanups.push(receiver.close, env.close);
    return { receiver, env };
  }

  it('delivers add_external_contact that decrypts with openCallback, carrying State and a working WelcomeCode', async () => {
    const { receiver, env } = await setup();
    const res = await http(`${env.base}/_control/customers/add`, { json: { userid: 'zhangsan', state: 'store_sh', name: '刘女士' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ externalUserId: expect.any(String), welcomeCode: expect.any(String), callback: { status: 'delivered', attempts: 1, lastHttpStatus: 200 } });
    expect(receiver.received).toHaveLength(1);
    const msg = decrypt(receiver.received[0], env.sandbox.options.corp);
    expect(msg).toEqual({
      ToUserName: SANDBOX_CORP.corpId,
      FromUserName: 'sys',
      CreateTime: String(Math.floor(env.clock.now().getTime() / 1000)),
      MsgType: 'event',
      Event: 'change_external_contact',
      ChangeType: 'add_external_contact',
      UserID: 'zhangsan',
      ExternalUserID: res.body.externalUserId,
      State: 'store_sh',
      WelcomeCode: res.body.welcomeCode,
    });
    expect(receiver.received[0].query.get('timestamp')).toBe(msg.CreateTime);
    const { access_token } = (await http(`${env.base}/cgi-bin/gettoken?corpid=${SANDBOX_CORP.corpId}&corpsecret=${SANDBOX_CORP.secret}`)).body;
    const welcome = await http(`${env.base}/cgi-bin/externalcontact/send_welcome_msg?access_token=${access_token}`, {
      json: { welcome_code: msg.WelcomeCode, text: { content: '欢迎光临' } },
    });
    expect(welcome.body.errcode).toBe(0);
  });

  it('retries after a non-200 answer and after a timeout, like WeCom', async () => {
    const { receiver, env } = await setup([500, 'hang', 200]);
    const res = await http(`${env.base}/_control/customers/add`, { json: { userid: 'lisi' } });
    // lastMs: the answered attempt's POST → answer, as WeCom would time the receiver's acknowledgement.
    expect(res.body.callback).toEqual({ id: 1, status: 'delivered', attempts: 3, lastHttpStatus: 200, lastMs: expect.any(Number) });
    expect(res.body.callback.lastMs).toBeLessThan(2000);
    expect(receiver.received).toHaveLength(3);
    // Every attempt is independently signed and decrypts to the same event.
    const payloads = receiver.received.map((r) => decrypt(r, env.sandbox.options.corp).ExternalUserID);
    expect(new Set(payloads)).toEqual(new Set([res.body.externalUserId]));
  });

  it('gives up after three retries and records the failure', async () => {
    const { receiver, env } = await setup([503, 503, 503, 503, 200]);
    const res = await http(`${env.base}/_control/customers/add`, { json: { userid: 'wangwu' } });
    expect(res.body.callback).toMatchObject({ status: 'failed', attempts: 4, lastHttpStatus: 503 });
    expect(receiver.received).toHaveLength(4);
    const { body } = await http(`${env.base}/_control/callbacks`);
    expect(body.items[0]).toMatchObject({ status: 'failed', attempts: [{ httpStatus: 503 }, { httpStatus: 503 }, { httpStatus: 503 }, { httpStatus: 503 }] });
  });

  it('sends del_follow_user, del_external_contact with Source and edit_external_contact', async () => {
    const { receiver, env } = await setup();
    const { body: added } = await http(`${env.base}/_control/customers/add`, { json: { userid: 'zhaoliu' } });
    const relation = { userid: 'zhaoliu', externalUserId: added.externalUserId };
    const edited = await http(`${env.base}/_control/relations/edit`, { json: { ...relation, addTags: ['VIP'], remark: '王总' } });
    expect(edited.body.tagIds).toHaveLength(1);
    await http(`${env.base}/_control/customers/delete-staff`, { json: relation });
    await http(`${env.base}/_control/staff/delete-customer`, { json: { ...relation, source: 'DELETE_BY_TRANSFER' } });
    const events = receiver.received.slice(1).map((r) => decrypt(r, env.sandbox.options.corp));
    expect(events.map((e) => e.ChangeType)).toEqual(['edit_external_contact', 'del_follow_user', 'del_external_contact']);
    expect(events[2]).toMatchObject({ UserID: 'zhaoliu', ExternalUserID: added.externalUserId, Source: 'DELETE_BY_TRANSFER' });
    expect(events[0]).not.toHaveProperty('WelcomeCode');
    expect(env.sandbox.store.findRelation('zhaoliu', added.externalUserId)).toBeUndefined();
  });

  it('sends change_external_tag for console tag changes', async () => {
    const { receiver, env } = await setup();
    const created = await http(`${env.base}/_control/tags/change`, { json: { action: 'create', groupName: '会员等级', names: ['银卡', '金卡'] } });
    expect(created.body.ids).toHaveLength(3);
    const [groupId, silverId] = created.body.ids;
    await http(`${env.base}/_control/tags/change`, { json: { action: 'update', id: silverId, name: '白银卡' } });
    await http(`${env.base}/_control/tags/change`, { json: { action: 'delete', id: groupId } });
    const events = receiver.received.map((r) => decrypt(r, env.sandbox.options.corp)).map((e) => [e.Event, e.TagType, e.ChangeType, e.Id]);
    expect(events).toEqual([
      ['change_external_tag', 'tag_group', 'create', groupId],
      ['change_external_tag', 'tag', 'create', silverId],
      ['change_external_tag', 'tag', 'create', created.body.ids[2]],
      ['change_external_tag', 'tag', 'update', silverId],
      ['change_external_tag', 'tag_group', 'delete', groupId],
    ]);
  });

  it('sends kf_msg_or_event whose Token pulls the message through kf/sync_msg', async () => {
    const { receiver, env } = await setup();
    await http(`${env.base}/_control/kf/message`, { json: { openKfId: 'wkShop', externalUserId: 'wmKfUser1', text: '请问还有货吗' } });
    const event = decrypt(receiver.received[0], env.sandbox.options.corp);
    expect(event).toMatchObject({ ToUserName: SANDBOX_CORP.corpId, MsgType: 'event', Event: 'kf_msg_or_event', OpenKfId: 'wkShop', Token: expect.stringMatching(/^ENC/) });
    const { access_token } = (await http(`${env.base}/cgi-bin/gettoken?corpid=${SANDBOX_CORP.corpId}&corpsecret=${SANDBOX_CORP.kfSecret}`)).body;
    const synced = await http(`${env.base}/cgi-bin/kf/sync_msg?access_token=${access_token}`, { json: { token: event.Token, open_kfid: 'wkShop' } });
    expect(synced.body.msg_list).toEqual([expect.objectContaining({ external_userid: 'wmKfUser1', msgtype: 'text', text: { content: '请问还有货吗' } })]);
  });

  it('delivers arbitrary XML through deliverCallback and POST /_control/callbacks', async () => {
    const { receiver, env } = await setup();
    const xml = '<xml><ToUserName><![CDATA[x]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[msgaudit_notify]]></Event></xml>';
    expect((await http(`${env.base}/_control/callbacks`, { json: { xml } })).body).toMatchObject({ status: 'delivered' });
    expect(decrypt(receiver.received[0], env.sandbox.options.corp).Event).toBe('msgaudit_notify');
  });

  it('records callbacks without posting when no callback URL is set, and accepts one at runtime', async () => {
    const { receiver, env } = await setup();
    await http(`${env.base}/_control/config`, { json: { callbackUrl: null } });
    const res = await http(`${env.base}/_control/customers/add`, { json: { userid: 'sunqi' } });
    expect(res.body.callback).toMatchObject({ status: 'no_url', attempts: 0 });
    await http(`${env.base}/_control/config`, { json: { callbackUrl: receiver.url } });
    await http(`${env.base}/_control/customers/add`, { json: { userid: 'sunqi' } });
    expect(receiver.received).toHaveLength(1);
  });
});
