import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CORP } from '../../../src/wecom/sandbox-identity.js';
import { decodeQrPng } from '../../helpers/qr.js';
import { http, startMountedSandbox } from './harness.js';

describe('sandbox contact-way QR codes over HTTP', () => {
  let env: Awaited<ReturnType<typeof startMountedSandbox>>;
  let token: string;
  const api = (name: string, json: unknown) => http(`${env.base}/cgi-bin/externalcontact/${name}?access_token=${token}`, { json });

  beforeAll(async () => {
    env = await startMountedSandbox();
    env.sandbox.seed();
    token = (await http(`${env.base}/cgi-bin/gettoken?corpid=${SANDBOX_CORP.corpId}&corpsecret=${SANDBOX_CORP.secret}`)).body.access_token as string;
  });
  afterAll(() => env.close());

  it('answers qr_code as a PNG it serves, whose QR code links to the add page of that contact way', async () => {
    const { body: added } = await api('add_contact_way', { type: 1, scene: 2, state: 'ch_poster', user: ['lisi'], remark: '海报' });
    expect(added.qr_code).toBe(`${env.base}/qr/${added.config_id}.png`);
    expect((await api('get_contact_way', { config_id: added.config_id })).body.contact_way.qr_code).toBe(added.qr_code);

    const res = await fetch(added.qr_code as string);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const qr = decodeQrPng(Buffer.from(await res.arrayBuffer()));
    expect(qr.width).toBeGreaterThan(100);
    expect(qr.text).toBe(`${env.base}/qr/${added.config_id}`);

    const page = await fetch(qr.text!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('添加 李四');
  });

  it('adds a customer through the code, as a scan would: the relation carries the way’s state', async () => {
    const { body: added } = await api('add_contact_way', { type: 1, scene: 2, state: 'ch_scan', user: ['wangwu'] });
    const res = await fetch(`${env.base}/qr/${added.config_id}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=%E6%89%AB%E7%A0%81%E5%AE%A2%E6%88%B7' });
    expect(res.status).toBe(200);
    const externalUserId = /data-test="external-userid">([^<]+)</.exec(await res.text())?.[1];
    expect(externalUserId).toBeTruthy();
    const detail = await http(`${env.base}/cgi-bin/externalcontact/get?access_token=${token}&external_userid=${externalUserId}`);
    expect(detail.body.external_contact.name).toBe('扫码客户');
    expect(detail.body.follow_user[0]).toMatchObject({ userid: 'wangwu', state: 'ch_scan', add_way: 1 });
  });

  it('has no QR code for a mini-program contact way and none for an unknown one', async () => {
    const { body: added } = await api('add_contact_way', { type: 1, scene: 1, state: 'ch_mp', user: ['lisi'] });
    expect(added.qr_code).toBeUndefined();
    expect((await fetch(`${env.base}/qr/${added.config_id}.png`)).status).toBe(404);
    expect((await fetch(`${env.base}/qr/nosuchway.png`)).status).toBe(404);
    expect((await fetch(`${env.base}/qr/nosuchway`)).status).toBe(404);
  });
});
