/** A zh-CN page for a console sign-in that could not finish (refused or failed), with a link to try again. */
export function presentConsoleSignInPage(input: { title: string; message: string; retry: boolean }): string {
  const esc = (v: string) => v.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(input.title)} · 运营控制台</title><style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:64px 16px;color:#1f2329;background:#f5f6f7;font-size:15px;text-align:center}
main{max-width:520px;margin:0 auto;background:#fff;border-radius:8px;padding:32px 24px}
h1{font-size:18px;color:#d83931}p{color:#646a73;line-height:1.7}a{display:inline-block;margin-top:12px;padding:8px 18px;background:#07c160;color:#fff;border-radius:4px;text-decoration:none}
</style></head><body><main><h1>${esc(input.title)}</h1><p>${esc(input.message)}</p>${input.retry ? '<a href="/console/login">重新登录</a>' : ''}</main></body></html>`;
}
