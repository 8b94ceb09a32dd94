/** A zh-CN error page for the sidebar's sign-in (shown inside WeCom's narrow toolbar), with a link to try again. */
export function presentSidebarErrorPage(input: { title: string; message: string; retry: boolean }): string {
  const esc = (v: string) => v.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(input.title)}</title><style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:24px 16px;color:#1f2329;background:#f5f6f7;font-size:15px;text-align:center}
h1{font-size:17px;color:#d83931}p{color:#646a73}a{display:inline-block;margin-top:12px;padding:8px 18px;background:#07c160;color:#fff;border-radius:4px;text-decoration:none}
</style></head><body><h1>${esc(input.title)}</h1><p>${esc(input.message)}</p>${input.retry ? '<a href="/sidebar/">重新打开</a>' : ''}</body></html>`;
}
