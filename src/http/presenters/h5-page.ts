/**
 * The shell of the customers' signed H5 pages (我的积分 /p, 满意度调查 /s): one small zh-CN HTML document with inline
 * CSS, no script and no external asset, made for WeChat's browser at 375 px and up
 * (docs/loyalty.md §The customer page, docs/surveys.md §The customer's page).
 */

/** HTML-escape text for an element or a quoted attribute. */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const BASE_STYLE = `*{box-sizing:border-box}body{margin:0;font:15px/1.6 -apple-system,BlinkMacSystemFont,"PingFang SC","Hiragino Sans GB","Microsoft YaHei",sans-serif;background:#f5f6f8;color:#1f2329}
main{max-width:480px;margin:0 auto;padding:16px}
.card{background:#fff;border-radius:12px;padding:16px;margin-bottom:12px;box-shadow:0 1px 2px rgba(0,0,0,.05)}
h2{font-size:16px;margin:0 0 8px}.muted{color:#8f959e;font-size:13px}
.err{text-align:center;padding:48px 16px}.err h1{font-size:20px}`;

/** A whole page: the shared style, then the page's own. */
export function h5Page(title: string, body: string, style = ''): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1,viewport-fit=cover"><meta name="robots" content="noindex"><title>${esc(title)}</title><style>${BASE_STYLE}${style ? `\n${style}` : ''}</style></head><body><main>${body}</main></body></html>`;
}

/** A kind error page: a title and a sentence, never any data. */
export function h5ErrorPage(title: string, body: string): string {
  return h5Page(title, `<section class="card err"><h1>${esc(title)}</h1><p class="muted">${esc(body)}</p></section>`);
}
