import QRCode from 'qrcode';
import type { SandboxStore } from './store.js';
import { esc, page } from './oauth-authorize.js';

/**
 * The sandbox's QR codes for its 「联系我」 contact ways (docs/wecom-protocol.md §Contact ways). WeCom answers
 * `qr_code` as an image URL on its own image host, and the picture is a link that opens the add page in WeChat. The
 * sandbox does the same on its own address: `<sandbox>/qr/<config_id>.png` is a real QR code (PNG) whose link is
 * `<sandbox>/qr/<config_id>`, a page where a simulated customer adds the way's member, as scanning would.
 *
 * `<sandbox>` is the address the API call came in on (origin plus mount prefix), so a browser on the same machine as
 * the bot can load the image. A call made in-process, without HTTP, has no address: its `qr_code` is the bare path.
 */

/** The image WeCom would host for a scene-2 contact way. */
export function qrImageUrl(base: string, configId: string): string {
  return `${base}/qr/${encodeURIComponent(configId)}.png`;
}

/** The link inside the QR code: the sandbox's stand-in for WeChat's add page. */
export function qrAddUrl(base: string, configId: string): string {
  return `${base}/qr/${encodeURIComponent(configId)}`;
}

/** Pixels per side of the served PNG: large enough to print or scan from a screen. */
const QR_WIDTH = 344;

/** The QR code PNG of a link. */
export function renderQrPng(link: string): Promise<Buffer> {
  return QRCode.toBuffer(link, { type: 'png', width: QR_WIDTH, margin: 2, errorCorrectionLevel: 'M' });
}

/** What the QR pages answer. */
export interface QrResponse {
  httpStatus: number;
  type: 'png' | 'html';
  body: Buffer | string;
}

/** What the QR pages need of the sandbox. */
export interface QrHost {
  store: SandboxStore;
  addCustomer(input: { configId: string; name?: string }): Promise<{ externalUserId: string; userid: string }>;
  joinThroughCode(input: { configId: string; name?: string }): Promise<{ externalUserId: string; chatId: string }>;
}

const CONFIG_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `GET <sandbox>/qr/<id>.png` (the image), `GET <sandbox>/qr/<id>` (the add page) and `POST <sandbox>/qr/<id>` (a
 * customer adds the member; form field `name`). The POST acts as a WeChat user, so the caller lets only this
 * machine send it, like the controls (docs/security.md §Sandbox exposure).
 */
export async function handleQr(host: QrHost, method: string, rest: string, base: string, form: URLSearchParams): Promise<QrResponse | null> {
  const isImage = rest.endsWith('.png');
  const configId = isImage ? rest.slice(0, -'.png'.length) : rest;
  if (!CONFIG_ID.test(configId)) return null;
  const joinWay = host.store.joinWays.get(configId);
  if (joinWay && joinWay.scene === 2) return handleJoinWayQr(host, method, configId, isImage, base, form);
  const way = host.store.contactWays.get(configId);
  if (!way || way.scene !== 2) {
    if (isImage) return null;
    return { httpStatus: 404, type: 'html', body: page('二维码已失效', '<p class="err">该「联系我」二维码不存在或已被删除。</p>') };
  }
  if (isImage) return { httpStatus: 200, type: 'png', body: await renderQrPng(qrAddUrl(base, configId)) };
  const names = way.user.map((u) => host.store.staff.get(u)?.name ?? u).join('、');
  if (method === 'POST') {
    const name = (form.get('name') ?? '').trim().slice(0, 64) || undefined;
    const added = await host.addCustomer({ configId, name });
    const staff = host.store.staff.get(added.userid)?.name ?? added.userid;
    return {
      httpStatus: 200,
      type: 'html',
      body: page('已添加', `<p>${esc(name ?? '微信用户')} 已添加 ${esc(staff)} 为联系人（渠道 state：${esc(way.state ?? '无')}）。</p><p class="muted">客户 ID：<span data-test="external-userid">${esc(added.externalUserId)}</span></p>`),
    };
  }
  return {
    httpStatus: 200,
    type: 'html',
    body: page(
      '添加企业微信联系人',
      `<p>扫码后在微信里看到的页面（沙箱）：添加 ${esc(names)}${way.remark ? `（${esc(way.remark)}）` : ''}。</p>
<form method="post"><p><label>你的微信昵称 <input name="name" maxlength="64" placeholder="微信用户"></label></p><p><button type="submit">添加到通讯录</button></p></form>
<p class="muted">提交后，沙箱以一位新客户的身份通过这个二维码添加成员，并向机器人发送 add_external_contact 回调。</p>`,
    ),
  };
}

/**
 * A 群活码's image and join page (docs/wecom-protocol.md §Group join ways): the same shapes as a contact way's, and the
 * page's POST joins a simulated customer through the code.
 */
async function handleJoinWayQr(host: QrHost, method: string, configId: string, isImage: boolean, base: string, form: URLSearchParams): Promise<QrResponse> {
  if (isImage) return { httpStatus: 200, type: 'png', body: await renderQrPng(qrAddUrl(base, configId)) };
  if (method === 'POST') {
    const name = (form.get('name') ?? '').trim().slice(0, 64) || undefined;
    const joined = await host.joinThroughCode({ configId, name });
    const chat = host.store.groupChats.get(joined.chatId);
    return {
      httpStatus: 200,
      type: 'html',
      body: page('已加入群聊', `<p>${esc(name ?? '微信用户')} 已加入群聊「${esc(chat?.name ?? joined.chatId)}」。</p><p class="muted">客户 ID：<span data-test="external-userid">${esc(joined.externalUserId)}</span></p>`),
    };
  }
  return {
    httpStatus: 200,
    type: 'html',
    body: page(
      '加入群聊',
      `<p>扫码后在微信里看到的页面（沙箱）：加入企业的客户群。</p>
<form method="post"><p><label>你的微信昵称 <input name="name" maxlength="64" placeholder="微信用户"></label></p><p><button type="submit">加入群聊</button></p></form>
<p class="muted">提交后，沙箱以一位新客户的身份通过这个群活码入群（群满时自动建群），并向机器人发送 change_external_chat 回调。</p>`,
    ),
  };
}

/** The add page's answer to a refused add (the member is gone, the customer already added them…). */
export function qrErrorPage(message: string): string {
  return page('无法添加', `<p class="err">${esc(message)}</p>`);
}
