import type { AuthorizeHost, AuthorizeResponse } from './oauth-authorize.js';
import { checkStateAndRedirect, esc, page } from './oauth-authorize.js';

/**
 * The sandbox's stand-in for WeCom's web login page `https://login.work.weixin.qq.com/wwlogin/sso/login`
 * (企业微信扫码登录 for a self-built app, docs/wecom-protocol.md §Web login for the console), served at
 * `<sandbox>/wwlogin/sso/login`. WeCom shows a QR code that a member scans with the WeCom app (or a button when the
 * desktop client is signed in); offline nobody can scan, so the page lists the members to pick from and then redirects
 * to `redirect_uri?code=CODE&state=STATE` exactly as WeCom does. A member outside the app's visible range is refused
 * on this page, as WeCom's page refuses them ("无权限"). Sandbox-only query parameter: `userid=<member>` skips the page.
 */

/** Where the bot's console receives the code (src/http/routes/console-auth.router.ts). */
export const CONSOLE_LOGIN_CALLBACK_PATH = '/console/auth/callback';

/** Handle one web login request; `siteOrigins` as for the OAuth stand-in (the app's callback domain). */
export function handleWebLogin(host: AuthorizeHost, query: Record<string, string>, siteOrigins: string[]): AuthorizeResponse {
  const problem = checkRequest(host, query, siteOrigins);
  if (problem) return { httpStatus: 400, html: page('无法完成登录', `<p class="err">${esc(problem)}</p>`) };
  if (query.userid) {
    const member = host.store.staff.get(query.userid);
    if (!member) return { httpStatus: 404, html: page('无法完成登录', `<p class="err">沙箱企业中没有成员 ${esc(query.userid)}</p>`) };
    if (member.isOutsideVisibleRange) {
      return { httpStatus: 403, html: page('无权限', `<p class="err">${esc(member.name)}（${esc(member.userid)}）不在该应用的可见范围内，无法登录。</p>`) };
    }
    const redirect = new URL(query.redirect_uri);
    redirect.searchParams.set('code', host.issueOauthCode(query.userid));
    redirect.searchParams.set('state', query.state ?? '');
    return { httpStatus: 302, location: redirect.toString() };
  }
  return { httpStatus: 200, html: pickerPage(host, query) };
}

/** What WeCom itself would refuse. */
function checkRequest(host: AuthorizeHost, q: Record<string, string>, siteOrigins: string[]): string | null {
  const corp = host.options.corp;
  if (q.login_type !== 'CorpApp') return 'login_type 必须为 CorpApp（企业自建应用登录）';
  if (q.appid !== corp.corpId) return 'appid 不是本企业的 CorpID（40013 invalid corpid）';
  if (!q.agentid) return 'login_type 为 CorpApp 时必须带 agentid';
  if (q.agentid !== String(corp.agentId)) return `agentid ${q.agentid} 不是本企业的应用（40056 invalid agentid）`;
  // WeCom checks redirect_uri against the app's 企业微信授权登录 callback domain ("该链接无法访问").
  return checkStateAndRedirect(q, siteOrigins, { path: CONSOLE_LOGIN_CALLBACK_PATH, zh: '控制台登录回调', en: 'console sign-in callback' });
}

function pickerPage(host: AuthorizeHost, query: Record<string, string>): string {
  const link = (extra: Record<string, string>) => `?${new URLSearchParams({ ...query, ...extra }).toString()}`;
  const staff = [...host.store.staff.values()]
    .filter((s) => s.resignedAtMs === undefined)
    .map(
      (s) =>
        `<li><a href="${esc(link({ userid: s.userid }))}">${esc(s.name)}<span class="muted"> ${esc(s.userid)}${s.position ? ` · ${esc(s.position)}` : ''}${s.isOutsideVisibleRange ? ' · 不在应用可见范围' : ''}</span></a></li>`,
    )
    .join('');
  const body =
    `<p>这是内置企业微信沙箱的模拟扫码登录页。真实企业微信在这里显示二维码，由成员用企业微信扫码确认；这里请选择以哪位成员身份登录运营控制台：</p>` +
    `<ul>${staff || '<li class="muted">沙箱中还没有成员（POST /sandbox/_control/seed）</li>'}</ul>` +
    `<p class="muted">登录后跳转到：${esc(query.redirect_uri)}</p>`;
  return page('企业微信沙箱 · 模拟扫码登录', body);
}
