import type { ResolvedSandboxOptions } from './api-types.js';
import type { SandboxStore } from './store.js';

/**
 * The sandbox's stand-in for `https://open.weixin.qq.com/connect/oauth2/authorize`
 * (docs/wecom-protocol.md §Staff sign-in for web pages), served at `<sandbox>/connect/oauth2/authorize`. In WeCom the
 * client already knows who is signed in and redirects at once; offline there is nobody signed in, so the page lets you
 * pick a member (or a non-member) and then redirects to `redirect_uri?code=CODE&state=STATE` exactly as WeCom does.
 * Sandbox-only query parameters skip the page: `userid=<member>` signs in as that member, `external=1` as a WeChat user
 * who is not a member.
 */

/** What the authorize endpoint answers: a redirect or an HTML page. */
export interface AuthorizeResponse {
  httpStatus: number;
  location?: string;
  html?: string;
}

/** The part of the sandbox the page needs. */
export interface AuthorizeHost {
  options: ResolvedSandboxOptions;
  store: SandboxStore;
  issueOauthCode(userid: string): string;
  issueExternalOauthCode(input?: { externalUserId?: string }): string;
}

// state: a-zA-Z0-9, at most 128 bytes (docs/wecom-protocol.md §Staff sign-in for web pages; the web login takes the same).
const STATE = /^[a-zA-Z0-9]{0,128}$/;

/**
 * The checks both sign-in stand-ins share: `state`'s form, and a `redirect_uri` that can only be this site's own
 * `callbackPath`. WeCom checks the domain against the app's configured one; the sandbox knows exactly one site, the
 * bot, so a code for any member never goes anywhere else (docs/security.md §Sandbox exposure). `zh`/`en` name the
 * callback in the refusal, and `code` is WeCom's errcode for the redirect, where its docs give one.
 */
export function checkStateAndRedirect(
  q: Record<string, string>,
  siteOrigins: string[],
  callback: { path: string; zh: string; en: string; code?: string },
): string | null {
  if (!STATE.test(q.state ?? '')) return 'state 只能是 a-zA-Z0-9，且不超过 128 字节';
  let url: URL;
  try {
    url = new URL(q.redirect_uri ?? '');
  } catch {
    return 'redirect_uri 不是有效的网址';
  }
  const code = callback.code ? `（${callback.code}）` : '';
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `redirect_uri 必须是 http 或 https 网址${code}`;
  if (!siteOrigins.includes(url.origin) || url.pathname !== callback.path) {
    const allowed = siteOrigins.length ? siteOrigins.map((o) => `${o}${callback.path}`).join('、') : '（尚未知道本站地址 / site address not known yet）';
    const why = callback.code ? `${callback.code} redirect_uri 与可信域名不一致` : '与应用的授权回调域不一致';
    return `redirect_uri 只能是本站的${callback.zh}：${allowed}（${why}）/ redirect_uri must be this site's ${callback.en}`;
  }
  return null;
}

/** Where the bot's sidebar receives the code (src/http/routes/sidebar.router.ts). */
export const SIDEBAR_OAUTH_CALLBACK_PATH = '/sidebar/oauth/callback';

/**
 * Handle one authorize request. `siteOrigins` are this site's own origins (PUBLIC_URL, the bot's listen URL): the
 * stand-in hands codes only to `<one of them>/sidebar/oauth/callback`, the way WeCom checks the app's 可信域名.
 */
export function handleAuthorize(host: AuthorizeHost, query: Record<string, string>, siteOrigins: string[]): AuthorizeResponse {
  const problem = checkRequest(host.options, query, siteOrigins);
  if (problem) return { httpStatus: 400, html: page('无法完成授权', `<p class="err">${esc(problem)}</p>`) };
  const redirect = new URL(query.redirect_uri);
  const back = (code: string) => {
    redirect.searchParams.set('code', code);
    redirect.searchParams.set('state', query.state ?? '');
    return { httpStatus: 302, location: redirect.toString() };
  };
  if (query.userid) {
    if (!host.store.staff.has(query.userid)) return { httpStatus: 404, html: page('无法完成授权', `<p class="err">沙箱企业中没有成员 ${esc(query.userid)}</p>`) };
    return back(host.issueOauthCode(query.userid));
  }
  if (query.external === '1') return back(host.issueExternalOauthCode({ externalUserId: query.external_userid || undefined }));
  return { httpStatus: 200, html: pickerPage(host, query) };
}

/** What WeCom itself would refuse, in its words where its docs have them. */
function checkRequest(options: ResolvedSandboxOptions, q: Record<string, string>, siteOrigins: string[]): string | null {
  if (q.appid !== options.corp.corpId) return `appid 不是本企业的 CorpID（40013 invalid corpid）`;
  if (q.response_type !== 'code') return 'response_type 必须为 code';
  if (q.scope !== 'snsapi_base' && q.scope !== 'snsapi_privateinfo') return 'scope 必须为 snsapi_base 或 snsapi_privateinfo';
  // snsapi_privateinfo needs agentid; when given it must be the app's
  // (docs/wecom-protocol.md §Staff sign-in for web pages).
  if (q.scope === 'snsapi_privateinfo' && !q.agentid) return 'scope 为 snsapi_privateinfo 时必须带 agentid';
  if (q.agentid && q.agentid !== String(options.corp.agentId)) return `agentid ${q.agentid} 不是本企业的应用（40056 invalid agentid）`;
  // WeCom checks the domain against the app's 可信域名 (50001).
  return checkStateAndRedirect(q, siteOrigins, { path: SIDEBAR_OAUTH_CALLBACK_PATH, zh: '侧边栏登录回调', en: 'sidebar sign-in callback', code: '50001' });
}

function pickerPage(host: AuthorizeHost, query: Record<string, string>): string {
  const link = (extra: Record<string, string>) => {
    const p = new URLSearchParams({ ...query, ...extra });
    return `?${p.toString()}`;
  };
  const staff = [...host.store.staff.values()]
    .map((s) => `<li><a href="${esc(link({ userid: s.userid }))}">${esc(s.name)}<span class="muted"> ${esc(s.userid)}${s.position ? ` · ${esc(s.position)}` : ''}</span></a></li>`)
    .join('');
  const body =
    `<p>这是内置企业微信沙箱的模拟授权页。真实企业微信会直接识别当前登录的成员；这里请选择以哪位成员身份打开：</p>` +
    `<ul>${staff || '<li class="muted">沙箱中还没有成员（POST /sandbox/_control/seed）</li>'}</ul>` +
    `<p class="muted">授权后跳转到：${esc(query.redirect_uri)}</p>` +
    `<p><a href="${esc(link({ external: '1' }))}">以非企业成员（外部微信用户）身份打开</a></p>`;
  return page('企业微信沙箱 · 模拟登录', body);
}

/** The sandbox's sign-in pages' frame (shared with the web login stand-in). */
export function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:16px;color:#1f2329;background:#f5f6f7;font-size:15px}
h1{font-size:18px;color:#07c160}ul{list-style:none;padding:0}li a{display:block;background:#fff;margin:6px 0;padding:12px;border-radius:6px;color:#1f2329;text-decoration:none}
.muted{color:#8f959e;font-size:13px}.err{color:#d83931}
</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
}

export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
