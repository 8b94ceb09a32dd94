import type { LoyaltySummary, WriteOutcome } from '../../domain/loyalty/loyalty.service.js';
import type { PointEntry } from '../../domain/loyalty/loyalty.types.js';
import { entryWords } from '../../domain/loyalty/loyalty-words.js';
import { localDate, localParts } from '../../shared/dates.js';
import { esc, h5ErrorPage, h5Page } from './h5-page.js';

/** An entry for staff and operators: the words, the points, the time; the reference only as its kind of thing. */
export function presentPointEntry(e: PointEntry & { words?: string }) {
  return {
    id: e.id,
    kind: e.kind,
    reason: e.reason,
    words: e.words ?? entryWords(e),
    points: e.points,
    note: e.note,
    actor: e.actor,
    createdAt: e.createdAt.toISOString(),
    expiresAt: e.expiresAt?.toISOString() ?? null,
  };
}

/** The API and sidebar answer for a customer's points. */
export function presentLoyaltySummary(s: LoyaltySummary) {
  return {
    balance: s.balance,
    tier: { rank: s.tier.rank, name: s.tier.name, threshold: s.tier.threshold, benefits: s.tier.benefits },
    next: s.next ? { rank: s.next.rank, name: s.next.name, threshold: s.next.threshold, missing: s.next.missing, progressPercent: s.next.progressPercent } : null,
    basis: s.basis,
    measured: s.measured,
    expiring: s.expiring ? { at: s.expiring.at.toISOString(), points: s.expiring.points } : null,
    recent: s.recent.map(presentPointEntry),
  };
}

/** A write's answer. */
export function presentWrite(o: WriteOutcome) {
  return { entry: presentPointEntry(o.entry), replayed: o.replayed, balance: o.balance };
}

// The page's own style; the shell and the shared style are h5Page's.
const STYLE = `.hero{background:linear-gradient(135deg,#b8860b,#e6b422);color:#fff}
.hero h1{font-size:15px;font-weight:normal;margin:0;opacity:.9}.balance{font-size:40px;font-weight:600;line-height:1.2;margin:4px 0}
.tier{display:inline-block;background:rgba(255,255,255,.25);border-radius:999px;padding:2px 12px;font-size:14px}
.bar{height:8px;background:#eceef2;border-radius:4px;overflow:hidden;margin:8px 0}.bar i{display:block;height:100%;background:#e6b422}
ul{list-style:none;margin:0;padding:0}li{display:flex;justify-content:space-between;align-items:center;padding:10px 0;border-top:1px solid #f0f1f3}li:first-child{border-top:0}
.plus{color:#d4380d;font-weight:600}.minus{color:#1f2329;font-weight:600}`;

const page = (title: string, body: string) => h5Page(title, body, STYLE);

const fmtDate = (d: Date, tz: string) => localDate(d, tz).replace(/^(\d{4})-(\d{2})-(\d{2})$/, '$1年$2月$3日');
const fmtTime = (d: Date, tz: string) => {
  const p = localParts(d, tz);
  return `${fmtDate(d, tz)} ${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
};
const num = (n: number) => n.toLocaleString('zh-CN');

/** The customer's "我的积分" page (docs/loyalty.md §The customer page): no script, no external asset. */
export function renderPointsPage(s: LoyaltySummary, tz: string): string {
  const unit = s.basis === 'spend' ? '元' : '积分';
  const progress = s.next
    ? `<div class="bar" role="progressbar" aria-valuenow="${s.next.progressPercent}" aria-valuemin="0" aria-valuemax="100"><i style="width:${s.next.progressPercent}%"></i></div>
       <div class="muted">${s.basis === 'spend' ? `近期消费 ${num(s.measured)} 元，` : ''}再${s.basis === 'spend' ? '消费' : '累计'} ${num(s.next.missing)} ${unit}即可升级为「${esc(s.next.name)}」</div>`
    : '<div class="muted">您已是最高等级会员</div>';
  const expiring = s.expiring ? `<div class="muted">${num(s.expiring.points)} 积分将于 ${fmtDate(new Date(s.expiring.at.getTime() - 1), tz)} 到期</div>` : '';
  const items =
    s.recent.length === 0
      ? '<p class="muted">暂无积分记录</p>'
      : `<ul>${s.recent
          .map(
            (e) =>
              `<li><div><div>${esc(e.words)}</div><div class="muted">${fmtTime(e.createdAt, tz)}</div></div><div class="${e.points >= 0 ? 'plus' : 'minus'}">${e.points >= 0 ? '+' : '−'}${num(Math.abs(e.points))}</div></li>`,
          )
          .join('')}</ul>`;
  return page(
    '我的积分',
    `<section class="card hero"><h1>我的积分</h1><div class="balance">${num(s.balance)}</div><span class="tier">${esc(s.tier.name)}会员</span></section>
<section class="card"><h2>会员等级</h2><div>当前等级：<b>${esc(s.tier.name)}</b></div>${s.tier.benefits ? `<div class="muted">会员权益：${esc(s.tier.benefits)}</div>` : ''}${progress}${expiring}</section>
<section class="card"><h2>最近积分记录</h2>${items}</section>
<p class="muted">个人信息说明：本页展示您在本店的积分与会员等级，仅用于积分累计、兑换和会员服务，不用于其他目的，也不会提供给第三方。本链接仅供您本人查看，请勿转发；如需查询、更正或删除您的信息，请联系为您服务的顾问。</p>`,
  );
}

/** A kind error page: what happened and what to do, never any data. */
export function renderPointsError(kind: 'malformed' | 'tampered' | 'expired' | 'gone' | 'limited'): string {
  const text: Record<typeof kind, [string, string]> = {
    malformed: ['链接不完整', '这个积分链接不完整或已损坏，请从顾问发给您的消息中重新打开。'],
    tampered: ['链接无效', '这个积分链接无法识别，请联系为您服务的顾问获取新的链接。'],
    expired: ['链接已过期', '为保护您的信息，积分链接有有效期。请联系为您服务的顾问获取新的链接。'],
    gone: ['未找到积分信息', '这个链接对应的积分信息已不存在。如有疑问，请联系为您服务的顾问。'],
    limited: ['访问太频繁', '请稍候一分钟再刷新页面。'],
  };
  const [title, body] = text[kind];
  return h5ErrorPage(title, body);
}
