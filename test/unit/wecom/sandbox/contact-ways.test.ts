import { describe, expect, it } from 'vitest';
import { buildSandbox, callApi, tokenFor } from './sandbox-harness.js';

async function seeded() {
  const { sut, clock } = buildSandbox();
  sut.seed();
  return { sut, clock, token: await tokenFor(sut) };
}

describe('WecomSandbox contact ways', () => {
  it('creates, reads, updates and deletes a contact way', async () => {
    const { sut, token } = await seeded();
    const added = await callApi(sut, token, 'externalcontact/add_contact_way', { type: 1, scene: 2, state: 'ch_spring', user: ['zhangsan'], remark: '春季活动' });
    expect(added).toMatchObject({ errcode: 0, config_id: expect.any(String), qr_code: `/qr/${added.config_id}.png` /* in-process: no address, the bare path */ });
    const got = await callApi(sut, token, 'externalcontact/get_contact_way', { config_id: added.config_id });
    expect(got.contact_way).toMatchObject({ config_id: added.config_id, type: 1, scene: 2, state: 'ch_spring', user: ['zhangsan'], skip_verify: true, is_temp: false });
    await callApi(sut, token, 'externalcontact/update_contact_way', { config_id: added.config_id, state: 'ch_summer', user: ['lisi'] });
    expect((await callApi(sut, token, 'externalcontact/get_contact_way', { config_id: added.config_id })).contact_way).toMatchObject({ state: 'ch_summer', user: ['lisi'] });
    expect((await callApi(sut, token, 'externalcontact/del_contact_way', { config_id: added.config_id })).errcode).toBe(0);
    expect((await callApi(sut, token, 'externalcontact/get_contact_way', { config_id: added.config_id })).errcode).toBe(40058);
  });

  it('rejects a state over 30 characters, an unknown member and a type-1 way with two members', async () => {
    const { sut, token } = await seeded();
    const base = { type: 1, scene: 2, user: ['zhangsan'] };
    expect((await callApi(sut, token, 'externalcontact/add_contact_way', { ...base, state: 's'.repeat(31) })).errcode).toBe(40058);
    expect((await callApi(sut, token, 'externalcontact/add_contact_way', { ...base, state: 's'.repeat(30) })).errcode).toBe(0);
    expect((await callApi(sut, token, 'externalcontact/add_contact_way', { ...base, user: ['ghost'] })).errcode).toBe(40003);
    expect((await callApi(sut, token, 'externalcontact/add_contact_way', { ...base, user: ['zhangsan', 'lisi'] })).errcode).toBe(40058);
  });

  it('attributes a customer who scans the way to its member and state', async () => {
    const { sut, token } = await seeded();
    const { config_id } = await callApi(sut, token, 'externalcontact/add_contact_way', { type: 2, scene: 2, state: 'ch_multi', user: ['lisi', 'wangwu'] });
    const { externalUserId, userid } = await sut.addCustomer({ configId: config_id, name: '陈小姐' });
    expect(userid).toBe('lisi');
    const detail = await callApi(sut, token, 'externalcontact/get', undefined, { external_userid: externalUserId });
    expect(detail.external_contact.name).toBe('陈小姐');
    expect(detail.follow_user[0]).toMatchObject({ userid: 'lisi', state: 'ch_multi', add_way: 1, oper_userid: externalUserId });
  });
});

describe('WecomSandbox welcome messages', () => {
  it('accepts a welcome_code once; the second use answers 41051', async () => {
    const { sut, token } = await seeded();
    const { welcomeCode } = await sut.addCustomer({ userid: 'zhangsan' });
    const body = { welcome_code: welcomeCode, text: { content: '欢迎！' } };
    expect((await callApi(sut, token, 'externalcontact/send_welcome_msg', body)).errcode).toBe(0);
    expect((await callApi(sut, token, 'externalcontact/send_welcome_msg', body)).errcode).toBe(41051);
    expect(sut.store.welcomeSent).toHaveLength(1);
  });

  it('answers 41050 for a code older than 20 s and for an unknown code', async () => {
    const { sut, clock, token } = await seeded();
    const { welcomeCode } = await sut.addCustomer({ userid: 'zhangsan' });
    clock.advance(20_001);
    expect((await callApi(sut, token, 'externalcontact/send_welcome_msg', { welcome_code: welcomeCode, text: { content: 'hi' } })).errcode).toBe(41050);
    expect((await callApi(sut, token, 'externalcontact/send_welcome_msg', { welcome_code: 'nope', text: { content: 'hi' } })).errcode).toBe(41050);
  });

  it('still accepts the code at exactly 20 s', async () => {
    const { sut, clock, token } = await seeded();
    const { welcomeCode } = await sut.addCustomer({ userid: 'zhangsan' });
    clock.advance(20_000);
    expect((await callApi(sut, token, 'externalcontact/send_welcome_msg', { welcome_code: welcomeCode, text: { content: 'hi' } })).errcode).toBe(0);
  });

  it('validates content: empty → 40063, > 9 attachments → 41064, unknown media → 40007, text > 4000 bytes → 45002', async () => {
    const { sut, token } = await seeded();
    const send = async (extra: Record<string, unknown>) => {
      const { welcomeCode } = await sut.addCustomer({ userid: 'zhangsan' });
      return (await callApi(sut, token, 'externalcontact/send_welcome_msg', { welcome_code: welcomeCode, ...extra })).errcode;
    };
    expect(await send({})).toBe(40063);
    const link = { msgtype: 'link', link: { title: 't', url: 'https://example.com' } };
    expect(await send({ attachments: Array.from({ length: 10 }, () => link) })).toBe(41064);
    expect(await send({ attachments: [{ msgtype: 'image', image: { media_id: 'missing' } }] })).toBe(40007);
    expect(await send({ text: { content: '字'.repeat(1334) } })).toBe(45002);
    expect(await send({ attachments: [link] })).toBe(0);
  });
});
