import type { SopDueStep, SopLinkRefusal, SopLinkView, SopPlanView, SopReport } from '../../domain/group-sop/group-sop.service.js';
import type { SopQuotaUse } from '../../domain/group-sop/sop-quota.js';
import { SOP_OPERATION_TEXT } from '../../domain/group-sop/group-sop-runner.js';
import { esc, h5ErrorPage, h5Page } from './h5-page.js';

/** A plan as the API shows it. */
export function presentSopPlan(p: SopPlanView) {
  return {
    id: p.id,
    name: p.name,
    isPaused: p.isPaused,
    target: p.target,
    schedule: p.schedule,
    steps: p.steps,
    windowMinutes: p.windowMinutes,
    groupCount: p.groupCount,
    quota: presentSopQuota(p.quota),
    groupsQuota: p.groupsQuota,
    createdBy: p.createdBy,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

/** A plan's quota use (the editor's warning). */
export function presentSopQuota(q: SopQuotaUse) {
  return { rule: q.rule, posts: q.posts, limit: q.limit, level: q.level, warning: q.warning };
}

/** A plan's report. */
export function presentSopReport(r: SopReport) {
  return {
    from: r.from,
    to: r.to,
    steps: r.steps,
    items: r.lines.map((l) => ({ ...l, fireAt: l.fireAt.toISOString(), doneAt: l.doneAt?.toISOString() ?? null })),
    total: r.lines.length,
  };
}

/** The steps due today in a group. */
export function presentSopDue(s: SopDueStep) {
  return { ...s, dueAt: s.dueAt.toISOString() };
}

const OUTCOME_TEXT = { done: '已完成', late: '已完成（超时）', missed: '未完成', pending: '待完成' } as const;
const PAGE_STYLE = `.content{white-space:pre-wrap;word-break:break-word;background:#f7f8fa;border-radius:8px;padding:12px;margin:8px 0}
.g{display:flex;align-items:center;justify-content:space-between;padding:10px 0;border-top:1px solid #f0f1f2}
.g:first-of-type{border-top:0}.s{font-size:13px;color:#8f959e}.s.done{color:#1f883d}.s.missed{color:#cf222e}
button{font:inherit;border:0;border-radius:8px;padding:6px 14px;background:#1677ff;color:#fff}
.all{width:100%;padding:10px;margin-top:8px}`;

/** The owner's reminder page: the content to use, and each group with a button to confirm it is done. */
export function renderSopLinkPage(v: SopLinkView, tz: string, opts: { confirmed?: boolean } = {}): string {
  const at = new Intl.DateTimeFormat('zh-CN', { timeZone: tz, month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false }).format(v.fireAt);
  const op = SOP_OPERATION_TEXT[v.step.operation ?? 'other'];
  const open = v.groups.filter((g) => !g.doneAt);
  const rows = v.groups
    .map((g) => {
      const state = g.doneAt ? 'done' : g.outcome === 'missed' ? 'missed' : '';
      const button = g.doneAt ? '' : `<form method="post"><input type="hidden" name="chat" value="${esc(g.chatId)}"><button type="submit">确认完成</button></form>`;
      return `<div class="g"><div><div>${esc(g.name)}</div><div class="s ${state}">${OUTCOME_TEXT[g.outcome]}</div></div>${button}</div>`;
    })
    .join('');
  const all = open.length > 1 ? `<form method="post"><button class="all" type="submit">全部确认完成</button></form>` : '';
  const body = `${opts.confirmed ? '<section class="card"><h2>已记录，谢谢！</h2></section>' : ''}<section class="card"><h2>群SOP：请${esc(op)}</h2>
<p class="muted">${esc(v.planName)} · ${esc(v.step.title)} · ${esc(at)} 起 ${v.windowMinutes} 分钟内</p>
<div class="content">${esc(v.step.text)}</div><p class="muted">复制以上内容，在企业微信里${esc(op)}，然后在下面确认。</p></section>
<section class="card"><h2>群</h2>${rows}${all}</section>`;
  return h5Page(`群SOP · ${v.step.title}`, body, PAGE_STYLE);
}

/** Why a reminder link opens nothing, kindly. */
export function renderSopLinkError(reason: SopLinkRefusal | 'limited'): string {
  switch (reason) {
    case 'expired':
      return h5ErrorPage('链接已过期', '这条群SOP提醒的链接已过期。');
    case 'gone':
      return h5ErrorPage('计划已删除', '这条提醒所属的群SOP计划已删除或修改。');
    case 'limited':
      return h5ErrorPage('请稍后再试', '访问太频繁，请稍后再打开。');
    default:
      return h5ErrorPage('链接无效', '请从企业微信里的提醒消息打开。');
  }
}
