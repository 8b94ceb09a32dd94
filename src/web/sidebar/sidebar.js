// The staff sidebar (聊天工具栏, docs/wecom-protocol.md §Chat toolbar sidebar). It talks only to /sidebar/api/*,
// authenticated by the HttpOnly session cookie the server set after WeCom's OAuth; every write carries
// X-Requested-With, which the server requires (CSRF).
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const time = (v) => (v ? new Date(v).toLocaleString('zh-CN', { hour12: false, month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' }) : '');
  const day = (v) => (v ? new Date(v).toLocaleDateString('zh-CN') : '');
  // The WeCom client's user agent carries "wxwork"; outside it the JS-SDK cannot read the chat or send into it. The
  // sandbox's JS-SDK test mode (ww-test.js, ?wwTest=1) plays the client (docs/todo.md §One-tap send).
  const inWecom = /wxwork/i.test(navigator.userAgent) || window.__woWwTest === true;
  const params = new URLSearchParams(location.search);
  const state = { me: null, externalUserId: null, chatId: null, entry: null, risk: null, group: null };

  function notice(html) {
    $('notice').innerHTML = html;
    $('notice').hidden = !html;
  }
  function toast(text) {
    const t = $('toast');
    t.textContent = text;
    t.style.display = 'block';
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.style.display = 'none'; }, 1800);
  }

  /** JSON call to the sidebar API. A 401 means the session ended: sign in again (silently inside WeCom). */
  async function call(method, path, body) {
    const headers = { 'X-Requested-With': 'XMLHttpRequest' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status === 401) {
      // At most twice per tab, so a browser that refuses cookies does not loop.
      const tries = Number(sessionStorage.getItem('woSidebarRelogin') || '0');
      if (tries < 2) {
        sessionStorage.setItem('woSidebarRelogin', String(tries + 1));
        location.replace(`/sidebar/${location.search}`);
        return new Promise(() => {});
      }
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data?.error?.message || `请求失败（HTTP ${res.status}）`);
    sessionStorage.removeItem('woSidebarRelogin');
    return data;
  }

  // ─── JS-SDK registration (docs/wecom-protocol.md §JS-SDK registration, §JS-SDK tickets and signatures) ───
  const signatures = new Map();
  /** Both signatures for one page URL, fetched once; the SDK asks again only when the URL changes. */
  function signaturesFor(url) {
    if (!signatures.has(url)) signatures.set(url, call('GET', `/sidebar/api/jssdk-config?url=${encodeURIComponent(url)}`));
    return signatures.get(url);
  }

  async function currentCustomerFromWecom() {
    const first = await signaturesFor(location.href.split('#')[0]);
    // getCurExternalContact and sendChatMessage must be registered with the app identity: agentId + agentConfig.
    ww.register({
      corpId: first.corpId,
      agentId: first.agentId,
      jsApiList: ['getContext', 'getCurExternalContact', 'getCurExternalChat', 'sendChatMessage'],
      getConfigSignature: async (url) => (await signaturesFor(url)).config,
      getAgentConfigSignature: async (url) => (await signaturesFor(url)).agentConfig,
    });
    const context = await ww.getContext();
    state.entry = context.entry;
    // In a customer group (group_chat_tools), getCurExternalChat gives the group's chat id.
    // See docs/groups.md §Sidebar in a group chat
    if (['group_chat_tools', 'chain_group_chat_tools'].includes(context.entry)) {
      const chat = await ww.getCurExternalChat();
      return { chatId: chat.chatId };
    }
    if (!['single_chat_tools', 'contact_profile', 'single_kf_tools', 'chain_single_chat_tools'].includes(context.entry)) {
      throw new Error('请在与客户的单聊或客户群中打开侧边栏，才能看到客户档案。');
    }
    const contact = await ww.getCurExternalContact();
    return { externalUserId: contact.userId };
  }

  // ─── the customer group (docs/groups.md §Sidebar in a group chat) ─────────────────────────────────────────
  const SOP_OUTCOME = { upcoming: '待执行', pending: '进行中', done: '已完成', late: '已完成（迟了）', missed: '已错过' };
  const SOP_OPERATION = { notice: '发布群公告', at_all: '@所有人 发送', other: '在群里完成' };
  const clock = (v) => new Date(v).toLocaleTimeString('zh-CN', { hour12: false, hour: '2-digit', minute: '2-digit' });

  function renderGroup(g) {
    $('title').textContent = '客户群';
    document.querySelector('#tabs button[data-tab="customer"]').textContent = '客户群';
    $('group-name').textContent = g.name || '未命名的群';
    const facts = [
      ['群主', esc(g.ownerName || g.owner || '—')],
      ['群成员', `${g.memberCount} 人，其中客户 ${g.customerCount} 位`],
      ...(g.notice ? [['群公告', esc(g.notice)]] : []),
    ];
    $('group-facts').innerHTML = facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('');
    if (g.sop === null) {
      $('group-sop').innerHTML = '<li class="muted">群 SOP 未启用</li>';
    } else {
      $('group-sop').innerHTML = g.sop.map((s) => `<li data-test="sop-step"><div class="member"><div class="who2"><b>${esc(clock(s.dueAt))}</b> ${esc(s.title)}<div class="muted">${esc(s.planName)} · ${s.action === 'post' ? '群发到群' : `提醒群主${esc(SOP_OPERATION[s.operation] || '')}`}</div>${s.text ? `<div class="muted" style="white-space:pre-wrap">${esc(s.text)}</div>` : ''}</div><span class="badge sop-${esc(s.outcome)}">${esc(SOP_OUTCOME[s.outcome] || '其他')}</span></div></li>`).join('') || '<li class="muted">今天这个群没有 SOP 步骤</li>';
    }
    $('group-members-title').textContent = `群成员（${g.memberCount}）`;
    const KIND = { staff: '员工', customer: '客户', external: '微信用户' };
    $('group-members').innerHTML = g.members.map((m) => `<li data-test="group-member" data-kind="${esc(m.kind)}"><div class="member"><div class="who2"><span class="nm">${esc(m.name)}</span>${m.groupNickname && m.groupNickname !== m.name ? ` <span class="muted">（群昵称 ${esc(m.groupNickname)}）</span>` : ''} <span class="badge ${esc(m.kind)}">${m.memberId === g.owner ? '群主' : KIND[m.kind]}</span>${m.tags.length ? `<div class="tags" style="margin-top:3px">${m.tags.map((t) => `<span class="tag" style="padding-right:6px">${esc(t.group ? `${t.group}/${t.name}` : t.name)}</span>`).join('')}</div>` : ''}</div>${m.isMine ? `<a class="open" data-open="${esc(m.memberId)}">客户档案</a>` : ''}</div></li>`).join('') || '<li class="muted">没有成员</li>';
    $('status').hidden = true;
    $('group').hidden = false;
  }

  async function loadGroup() {
    state.group = await call('GET', `/sidebar/api/groups/${encodeURIComponent(state.chatId)}`);
    renderGroup(state.group);
  }

  // ─── the customer ──────────────────────────────────────────────────────────────────────────────────────
  const ACTIVITY = { active: '活跃', dormant: '沉睡', churned: '流失' };
  const STAGE = { prospect: '潜在客户', new: '新客户', customer: '已购客户', loyal: '忠诚客户', at_risk: '流失风险', churned: '已流失' };

  function birthdayText(b) {
    if (!b) return '未填写';
    return `${b.calendar === 'lunar' ? '农历' : '公历'}${b.leapMonth ? '闰' : ''}${b.month}月${b.day}日${b.year ? `（${b.year}年）` : ''}`;
  }

  // 预计复购 (docs/repurchase.md §Where it shows): the date, and how far ahead or overdue it is.
  function repurchaseText(r) {
    if (!r) return '—';
    if (r.daysUntil > 0) return `${r.dueOn}，还有 ${r.daysUntil} 天`;
    if (r.daysUntil === 0) return `${r.dueOn}，就是今天`;
    return `${r.dueOn}，已逾期 ${-r.daysUntil} 天`;
  }

  function renderCustomer(c) {
    const mine = (c.followUsers || []).find((f) => f.userid === state.me?.userid);
    $('name').textContent = mine?.remark || c.name;
    $('subtitle').textContent = [mine?.remark ? c.name : '', c.corpName || ''].filter(Boolean).join(' · ');
    if (c.avatar) $('avatar').src = c.avatar; else $('avatar').removeAttribute('src');
    const facts = [
      ['活跃度', `<span class="badge ${esc(c.activity)}">${esc(ACTIVITY[c.activity] || c.activity || '未知')}</span>${c.stage ? ` <span class="badge">${esc(STAGE[c.stage] || c.stage)}</span>` : ''}${c.rfm ? ` <span class="badge">${esc(c.rfm)}</span>` : ''}`],
      ['生日', esc(birthdayText(c.birthday))],
      ['来源渠道', esc(c.channel?.name || '—')],
      ['添加时间', esc(day(mine?.addedAt || c.firstAddedAt) || '—')],
      ['手机', esc(c.phone || '—')],
      ['订单', c.orders && c.orders.count ? `${c.orders.count} 笔，共 ¥${(c.orders.totalCents / 100).toFixed(2)}` : '暂无'],
      ...(c.repurchase ? [['预计复购', esc(repurchaseText(c.repurchase))]] : []),
      // 流失风险 (docs/churn.md §Console): the nightly score, its level and its largest reasons.
      ...(state.risk && state.risk.score !== null
        ? [['流失风险', `<span class="badge risk-${esc(state.risk.level)}" data-test="risk">${esc(state.risk.levelWords)} · ${state.risk.score} 分</span>${state.risk.reasons.length ? `<div class="muted">${state.risk.reasons.slice(0, 3).map((x) => esc(x.text)).join('；')}</div>` : ''}`]]
        : []),
      ['备注', esc(c.note || mine?.description || '—')],
    ];
    $('facts').innerHTML = facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('');
    renderTags(c.tags || []);
    renderNotes(c.notes || []);
    $('timeline').innerHTML = (c.timeline || []).slice(0, 15).map((e) => `<li>${esc(e.summary || e.kind)}<div class="muted">${esc(time(e.occurredAt))}${e.staffUserid ? ` · ${esc(e.staffUserid)}` : ''}</div></li>`).join('') || '<li class="muted">暂无动态</li>';
    $('status').hidden = true;
    $('customer').hidden = false;
  }

  function renderTags(tags) {
    $('tags').innerHTML = tags.map((t) => `<span class="tag">${esc(t.group ? `${t.group}/${t.name}` : t.name)}<button type="button" title="移除" data-remove="${esc(t.id)}">×</button></span>`).join('') || '<span class="muted">暂无标签</span>';
  }

  function renderNotes(notes) {
    $('notes').innerHTML = notes.map((n) => `<li>${esc(n.text)}<div class="muted">${esc(time(n.createdAt))}${n.userid ? ` · ${esc(n.userid)}` : ''}${n.dueDate ? ` · 提醒 ${esc(n.dueDate)}` : ''}</div></li>`).join('') || '<li class="muted">暂无未完成的跟进记录</li>';
  }

  async function loadCustomer() {
    const c = await call('GET', `/sidebar/api/customers/${encodeURIComponent(state.externalUserId)}`);
    state.customer = c;
    renderCustomer(c);
    if (todoState.list) renderTodo();
    loadRisk().catch(() => undefined);
    loadLoyalty().catch((err) => { $('loyalty-progress').innerHTML = `<span class="err">${esc(err.message)}</span>`; });
    loadFeedback().catch((err) => { $('feedback-list').innerHTML = `<span class="err">${esc(err.message)}</span>`; });
    loadSurveys().catch((err) => { $('survey-answers').innerHTML = `<li class="err">${esc(err.message)}</li>`; });
  }

  // ─── points and tier (docs/loyalty.md §Staff sidebar) ─────────────────────────────────────────────────
  const loyaltyPath = (rest = '') => `/sidebar/api/customers/${encodeURIComponent(state.externalUserId)}/loyalty${rest}`;
  async function loadRisk() {
    state.risk = await call('GET', `/sidebar/api/customers/${encodeURIComponent(state.externalUserId)}/churn-risk`);
    if (state.customer) renderCustomer(state.customer);
  }

  async function loadLoyalty() {
    const s = await call('GET', loyaltyPath());
    $('loyalty-balance').textContent = s.balance.toLocaleString('zh-CN');
    $('loyalty-tier').textContent = `${s.tier.name}会员`;
    const unit = s.basis === 'spend' ? '元' : '积分';
    $('loyalty-progress').innerHTML = (s.next
      ? `<div class="bar"><i style="width:${Number(s.next.progressPercent)}%"></i></div><div class="muted">距「${esc(s.next.name)}」还差 ${esc(s.next.missing.toLocaleString('zh-CN'))} ${unit}</div>`
      : '<div class="muted">已是最高等级</div>') + (s.expiring ? `<div class="muted">${esc(s.expiring.points)} 积分将于 ${esc(day(new Date(new Date(s.expiring.at).getTime() - 1)))} 到期</div>` : '');
    $('loyalty-recent').innerHTML = s.recent.slice(0, 5).map((e) => `<li style="display:flex;justify-content:space-between"><span>${esc(e.words)}${e.note ? ` <span class="muted">${esc(e.note)}</span>` : ''}<div class="muted">${esc(time(e.createdAt))}</div></span><b class="${e.points >= 0 ? 'plus' : 'minus'}">${e.points >= 0 ? '+' : '−'}${esc(Math.abs(e.points))}</b></li>`).join('') || '<li class="muted">暂无积分记录</li>';
  }
  const newRequestId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`).replace(/[^A-Za-z0-9_-]/g, '');
  let pendingRedeem = null;
  $('redeem-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const points = Number($('redeem-points').value);
    if (!Number.isInteger(points) || points <= 0) { toast('请输入要兑换的积分（正整数）'); return; }
    // One request id per confirmation: a retried or double-tapped confirm is recorded once.
    pendingRedeem = { points, note: $('redeem-note').value.trim(), requestId: newRequestId(), confirm: true };
    $('redeem-confirm-text').textContent = `确认为客户兑换 ${points} 积分${pendingRedeem.note ? `（${pendingRedeem.note}）` : ''}？兑换后积分立即扣减。`;
    $('redeem-confirm').hidden = false;
  });
  $('redeem-no').addEventListener('click', () => { pendingRedeem = null; $('redeem-confirm').hidden = true; });
  $('redeem-yes').addEventListener('click', () => {
    if (!pendingRedeem) return;
    $('redeem-yes').disabled = true;
    call('POST', loyaltyPath('/redeem'), pendingRedeem)
      .then((r) => { toast(`已兑换，剩余 ${r.balance} 积分`); pendingRedeem = null; $('redeem-confirm').hidden = true; $('redeem-points').value = ''; $('redeem-note').value = ''; return loadLoyalty(); })
      .catch((err) => toast(err.message))
      .finally(() => { $('redeem-yes').disabled = false; });
  });
  $('loyalty-link').addEventListener('click', () => {
    call('POST', loyaltyPath('/link'))
      .then(async (r) => {
        await navigator.clipboard.writeText(r.url);
        toast('链接已复制，可发给客户');
      })
      .catch((err) => toast(err.message || '复制失败'));
  });

  // ─── satisfaction surveys (docs/surveys.md §API) ───────────────────────────────────────────────────────
  const surveyPath = (id, rest = '') => `/sidebar/api/customers/${encodeURIComponent(state.externalUserId)}/surveys${id ? `/${encodeURIComponent(id)}${rest}` : ''}`;
  const SCORE_WORDS = { nps: '推荐意愿', csat: '满意度' };
  async function loadSurveys() {
    const [mine, active] = await Promise.all([call('GET', surveyPath()), call('GET', '/sidebar/api/surveys')]);
    $('survey-answers').innerHTML = mine.items.slice(0, 3).map((a) => `<li>${esc(a.surveyName)}${a.kind ? ` · ${SCORE_WORDS[a.kind]} <b>${esc(a.score)}</b> 分` : ''}${a.comment ? `<div>「${esc(a.comment)}」</div>` : ''}<div class="muted">${esc(a.periodWords || '')} · ${esc(time(a.answeredAt))}</div></li>`).join('') || '<li class="muted">暂无问卷回答</li>';
    $('survey-pick').innerHTML = active.items.map((s) => `<option value="${esc(s.id)}">${esc(s.name)}${s.rewardPoints ? `（答完得 ${esc(s.rewardPoints)} 积分）` : ''}</option>`).join('') || '<option value="">暂无启用的问卷</option>';
    $('survey-send').disabled = $('survey-link').disabled = active.items.length === 0;
  }
  // 发送问卷 plans the invitation in the delivery ledger: a mass-send task the member confirms in 群发助手, never twice a period.
  $('survey-send').addEventListener('click', () => {
    const id = $('survey-pick').value;
    if (!id) return;
    $('survey-send').disabled = true;
    call('POST', surveyPath(id, '/send'))
      .then((r) => toast(r.planned ? '已加入群发任务，请在企业微信群发助手中确认发送' : r.alreadyThisPeriod ? '本期已邀请过该客户，不再重复发送' : r.skipped ? '未能安排发送（客户已退订或今日已有其他消息）' : '今天已安排过该问卷'))
      .catch((err) => toast(err.message))
      .finally(() => { $('survey-send').disabled = false; });
  });
  $('survey-link').addEventListener('click', () => {
    const id = $('survey-pick').value;
    if (!id) return;
    call('POST', surveyPath(id, '/link'))
      .then(async (r) => {
        await navigator.clipboard.writeText(r.url);
        toast('问卷链接已复制，可发给客户');
      })
      .catch((err) => toast(err.message || '复制失败'));
  });

  // ─── feedback tickets (docs/feedback.md §Routing) ──────────────────────────────────────────────────────
  const feedbackPath = () => `/sidebar/api/customers/${encodeURIComponent(state.externalUserId)}/feedback`;
  // One request id per complaint typed: a retried or double-tapped 记录反馈 records it once; a new text gets a new id.
  let feedbackRequest = null;
  function ticketHtml(t) {
    const said = t.summary ? `<div class="said">「${esc(t.summary)}」</div>` : '';
    const head = `<span class="badge ${esc(t.status)}">${esc(t.statusWords)}</span> ${esc(t.sourceWords)}${t.scoreWords ? ` · ${esc(t.scoreWords)}` : ''}${t.category ? ` · ${esc(t.category)}` : ''}`;
    const due = t.status === 'open' ? (t.isOverdue ? `<div class="overdue">已超过首次联系时限（${esc(time(t.dueAt))}）</div>` : `<div class="muted">请于 ${esc(time(t.dueAt))} 前联系客户</div>`) : '';
    const resolved = t.status === 'resolved' ? `<div class="muted">处理结果：${esc(t.resolutionNote || '')}（${esc(time(t.resolvedAt))}）</div>` : '';
    const acts = t.status === 'resolved' ? '' : `<div class="acts">${t.status === 'open' ? `<button class="ghost" type="button" data-contact="${t.id}">已联系客户</button>` : ''}<button class="act" type="button" data-resolve="${t.id}">解决</button></div>
      <form class="resolve" data-resolve-form="${t.id}" hidden><textarea maxlength="500" placeholder="处理结果，如：已补发并致歉" required></textarea><div style="display:flex;gap:6px;margin-top:6px"><select>${(state.feedbackCategories || []).map((c) => `<option${c === (t.category || '其他') ? ' selected' : ''}>${esc(c)}</option>`).join('')}</select><button class="act" type="submit">确认解决</button></div></form>`;
    // The owner by name; their userid only when WeCom gave no name (docs/feedback.md §Pages).
    const owner = t.ownerUserid ? `负责人：${esc(t.ownerName || t.ownerUserid)}` : '暂无负责员工';
    return `<div class="ticket" data-ticket="${t.id}">${head}<div class="muted">工单 #${t.id} · ${esc(time(t.reopenedAt || t.openedAt))}${t.reopenCount ? ` · 第 ${t.reopenCount + 1} 次打开` : ''}</div><div class="muted" data-owner>${owner}</div>${said}${due}${resolved}${acts}</div>`;
  }
  async function loadFeedback() {
    const { items, categories } = await call('GET', feedbackPath());
    state.feedbackCategories = categories;
    const current = $('feedback-category').value;
    $('feedback-category').innerHTML = '<option value="">自动分类</option>' + categories.map((c) => `<option${c === current ? ' selected' : ''}>${esc(c)}</option>`).join('');
    $('feedback-list').innerHTML = items.slice(0, 5).map(ticketHtml).join('') || '<div class="muted">暂无反馈工单</div>';
  }
  $('feedback-text').addEventListener('input', () => { feedbackRequest = null; });
  $('feedback-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('feedback-text').value.trim();
    if (!text || !state.externalUserId) { toast('请填写客户反馈的内容'); return; }
    if (!feedbackRequest) feedbackRequest = newRequestId();
    const body = { text, requestId: feedbackRequest };
    if ($('feedback-category').value) body.category = $('feedback-category').value;
    const button = e.submitter || $('feedback-form').querySelector('button');
    button.disabled = true;
    call('POST', feedbackPath(), body)
      .then((t) => { feedbackRequest = null; $('feedback-text').value = ''; toast(t.outcome === 'again' ? `已记入工单 #${t.id}` : `已创建工单 #${t.id}`); return loadFeedback(); })
      .catch((err) => toast(err.message))
      .finally(() => { button.disabled = false; });
  });
  $('feedback-list').addEventListener('click', (e) => {
    const contact = e.target.dataset.contact;
    const resolve = e.target.dataset.resolve;
    if (contact) {
      e.target.disabled = true;
      call('POST', `/sidebar/api/feedback/tickets/${contact}/contact`, {})
        .then(() => { toast('已标记为已联系'); return loadFeedback(); })
        .catch((err) => { toast(err.message); e.target.disabled = false; });
    } else if (resolve) {
      const form = $('feedback-list').querySelector(`[data-resolve-form="${resolve}"]`);
      form.hidden = !form.hidden;
      if (!form.hidden) form.querySelector('textarea').focus();
    }
  });
  $('feedback-list').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = e.target.closest('[data-resolve-form]');
    if (!form) return;
    const note = form.querySelector('textarea').value.trim();
    if (!note) { toast('请填写处理结果'); return; }
    const button = form.querySelector('button');
    button.disabled = true;
    call('POST', `/sidebar/api/feedback/tickets/${form.dataset.resolveForm}/resolve`, { note, category: form.querySelector('select').value })
      .then(() => { toast('工单已解决'); return loadFeedback(); })
      .catch((err) => { toast(err.message); button.disabled = false; });
  });

  // ─── 今日待办 (docs/todo.md §In the sidebar) ──────────────────────────────────────────────────────────────
  // Opened in a customer's chat the list narrows to that customer; 查看全部待办 widens it to the member's whole day.
  // How many of a task's prepared messages went into the chat before a send stopped, kept in localStorage (a sidebar
  // closed and opened again remembers), so 继续发送 goes on from the next and nothing is sent twice; cleared when the
  // task is done. `sendError`: why the last send stopped, shown on the card (docs/todo.md §One-tap send).
  const sentKey = (id) => `wo-todo-sent:${id}`;
  const sentHere = new Map(); // the same for this page when storage is refused
  const sentCount = (id) => { try { return Number(localStorage.getItem(sentKey(id))) || sentHere.get(id) || 0; } catch { return sentHere.get(id) || 0; } };
  const setSent = (id, n) => {
    if (n) sentHere.set(id, n); else sentHere.delete(id);
    try { if (n) localStorage.setItem(sentKey(id), String(n)); else localStorage.removeItem(sentKey(id)); } catch { /* kept in sentHere */ }
  };
  const todoState = { all: false, list: null, sendError: new Map() };
  /** Why sendChatMessage refused, in words: the client answers in English (`sendChatMessage:fail …`). */
  function sendFailWords(err) {
    const raw = String(err?.errMsg || err?.message || '');
    if (/media_?id/i.test(raw)) return '企业微信不认这个素材（临时素材已失效）';
    if (/cancel/i.test(raw)) return '已取消发送';
    if (/imgUrl/i.test(raw)) return '封面图片地址无效';
    if (/without context|no permission/i.test(raw)) return '请在与客户的聊天中打开侧边栏再发送';
    return '企业微信未能发送';
  }
  const TODO_LABEL = { send: '一键发送', done: '完成', snooze: '推迟', skip: '跳过', note_done: '标记完成', open_ticket: '查看工单', remind_mass: '提醒我去群发助手发送' };
  /** Snooze choices: in an hour, this evening at 18:00 (while it is still ahead), tomorrow at 09:00 (local time). */
  function snoozeChoices() {
    const now = new Date();
    const hour = new Date(now.getTime() + 3600_000);
    const evening = new Date(now); evening.setHours(18, 0, 0, 0);
    const tomorrow = new Date(now); tomorrow.setDate(tomorrow.getDate() + 1); tomorrow.setHours(9, 0, 0, 0);
    return [['1 小时后', hour], ...(evening > hour ? [['今天 18:00', evening]] : []), ['明天 09:00', tomorrow]];
  }
  const canSendHere = (i) => inWecom && state.entry && state.externalUserId && i.externalUserId === state.externalUserId;
  function todoHtml(i, snoozed) {
    const who = i.customerName ? `<span class="muted">客户：${esc(i.customerName)}${i.customerCount > 1 ? ` 等 ${esc(i.customerCount)} 位` : ''}</span>` : '';
    const acts = snoozed ? '' : i.actions.map((a) => {
      if (a === 'send' && !canSendHere(i)) return `<button class="ghost" type="button" data-act="copy">复制内容</button>`;
      const label = a === 'send' && sentCount(i.id) ? '继续发送' : TODO_LABEL[a];
      const off = a === 'send' && (i.sends || []).some((m) => !m.chat) ? ' disabled' : '';
      return `<button class="${a === 'send' || a === 'done' || a === 'note_done' ? 'act' : 'ghost'}" type="button" data-act="${a}"${off}>${label}</button>`;
    }).join('');
    const sendHint = i.actions.includes('send') && !canSendHere(i) && !snoozed ? '<div class="muted">在与该客户的聊天中打开侧边栏，可一键发送到聊天。</div>' : '';
    const massHint = i.kind === 'mass_task' ? '<div class="muted">请在企业微信「工作台 › 客户联系 › 群发助手」中确认发送。</div>' : '';
    const attach = (i.attachments || []).length ? `<div class="muted">附件 ${i.attachments.length} 个：${i.attachments.map((a) => esc(a.contentTitle || a.title || { image: '图片', video: '视频', file: '文件', link: '链接', miniprogram: '小程序' }[a.kind] || '附件')).join('、')}</div>` : '';
    // What cannot go into the chat now, said before the tap rather than after it (docs/todo.md §One-tap send).
    const blocked = !snoozed && canSendHere(i) ? (i.sends || []).filter((m) => !m.chat) : [];
    const sendWarn = blocked.length ? `<div class="overdue" data-test="todo-send-problem">暂不能一键发送：${blocked.map((m) => esc(m.problem)).join('；')}</div>` : '';
    const sendError = !snoozed && todoState.sendError.get(i.id) ? `<div class="overdue" data-test="todo-send-error">${esc(todoState.sendError.get(i.id))}</div>` : '';
    return `<div class="todo${i.isOverdue && !snoozed ? ' overdue-item' : ''}${snoozed ? ' snoozed-item' : ''}" data-todo="${esc(i.key)}" data-test="todo-item">
      <div class="head"><span class="t"><span class="badge kind-${esc(i.kind)}">${esc(i.kindWords)}</span> ${esc(i.title)}</span><span class="due" data-test="todo-due">${esc(i.dueWords)}</span></div>
      ${who}${i.text ? `<div class="body">${esc(i.text)}</div>` : ''}${attach}${sendWarn}${sendHint}${massHint}
      ${acts ? `<div class="acts">${acts}</div>` : ''}${sendError}<div class="more" data-more hidden></div></div>`;
  }
  function renderTodo() {
    const l = todoState.list;
    const narrowed = Boolean(state.externalUserId) && !todoState.all;
    const name = state.customer ? ((state.customer.followUsers || []).find((f) => f.userid === state.me?.userid)?.remark || state.customer.name) : null;
    $('todo-scope').innerHTML = state.externalUserId ? (narrowed ? `只显示${name ? `「${esc(name)}」` : '当前客户'}的待办 · <a class="link" data-scope="all">查看全部待办</a>` : `全部待办 · <a class="link" data-scope="mine">只看当前客户</a>`) : '';
    $('todo-scope').hidden = !state.externalUserId;
    $('todo-status').textContent = l.items.length ? `${Number(l.date.slice(5, 7))}月${Number(l.date.slice(8))}日 · ${l.items.length} 项待办${l.items.some((i) => i.isOverdue) ? `，其中 ${l.items.filter((i) => i.isOverdue).length} 项已逾期` : ''}` : (narrowed ? '这位客户今天没有待办' : '今天没有待办，辛苦了');
    $('todo-list').innerHTML = l.items.map((i) => todoHtml(i, false)).join('');
    $('todo-snoozed').innerHTML = l.snoozed.map((i) => todoHtml(i, true)).join('');
    $('todo-snoozed-card').hidden = l.snoozed.length === 0;
    const tab = document.querySelector('#tabs button[data-tab="todo"]');
    tab.textContent = l.items.length ? `今日待办 (${l.items.length})` : '今日待办';
  }
  async function loadTodo() {
    const q = state.externalUserId && !todoState.all ? `?externalUserId=${encodeURIComponent(state.externalUserId)}` : '';
    todoState.list = await call('GET', `/sidebar/api/todo${q}`);
    renderTodo();
  }
  const todoItem = (key) => [...todoState.list.items, ...todoState.list.snoozed].find((i) => i.key === key);
  const taskPath = (i, act) => `/sidebar/api/todo/tasks/${encodeURIComponent(i.id)}/${act}`;

  /**
   * The task's prepared content into the current chat, as the server prepared it (`sends`: the text, then each image,
   * link, mini-program, video and file with a fresh media id), in order (docs/todo.md §One-tap send). Nothing goes while
   * any of it cannot; a send that fails says which message and that the ones before it went, and 继续发送 resumes
   * after them, so none is sent twice.
   */
  async function sendTask(i) {
    const sends = i.sends || [];
    const blocked = sends.filter((m) => !m.chat);
    if (blocked.length) throw new Error(`暂不能一键发送：${blocked.map((m) => m.problem).join('；')}`);
    for (let k = sentCount(i.id); k < sends.length; k++) {
      try {
        await ww.sendChatMessage({ ...sends[k].chat, enterChat: true });
      } catch (err) {
        throw new Error(`${sends[k].label}发送失败：${sendFailWords(err)}。${k > 0 ? `前 ${k} 条已发送，` : ''}请稍后点「${k > 0 ? '继续发送' : '一键发送'}」${k > 0 ? '发送其余的' : '再试'}`, { cause: err });
      }
      setSent(i.id, k + 1);
    }
  }

  $('todo-scope').addEventListener('click', (e) => {
    const scope = e.target.dataset.scope;
    if (!scope) return;
    todoState.all = scope === 'all';
    loadTodo().catch((err) => toast(err.message));
  });
  $('view-todo').addEventListener('click', (e) => {
    const card = e.target.closest('[data-todo]');
    const act = e.target.dataset.act;
    if (!card || !act) return;
    const i = todoItem(card.dataset.todo);
    if (!i) return;
    const more = card.querySelector('[data-more]');
    const busy = (p, done) => {
      e.target.disabled = true;
      return p.then(done).then(() => loadTodo()).catch((err) => { toast(err.message || err.errMsg || '操作失败'); e.target.disabled = false; });
    };
    if (act === 'send') {
      e.target.disabled = true;
      todoState.sendError.delete(i.id);
      sendTask(i)
        .then(() => call('POST', taskPath(i, 'done'), {}))
        .then(() => { setSent(i.id, 0); toast('已发送，待办已完成'); return loadTodo(); })
        .catch((err) => {
          // Said on the card, where it stays (a toast is gone in two seconds); the list is prepared again, so the next
          // try sends the media the server has then, and the button says 继续发送 when some went.
          todoState.sendError.set(i.id, err.message || err.errMsg || '发送失败');
          return loadTodo();
        })
        .catch((err) => { toast(err.message); e.target.disabled = false; });
    }
    else if (act === 'copy') navigator.clipboard.writeText(i.text).then(() => toast('已复制')).catch(() => toast('复制失败'));
    else if (act === 'done') busy(call('POST', taskPath(i, 'done'), {}), () => toast('已完成'));
    else if (act === 'note_done') busy(call('POST', `/sidebar/api/todo/notes/${encodeURIComponent(i.id)}/done`, {}), () => toast('跟进记录已完成'));
    else if (act === 'remind_mass') busy(call('POST', `/sidebar/api/todo/mass-tasks/${encodeURIComponent(i.id)}/remind`, {}), (r) => toast(r.message));
    else if (act === 'open_ticket') openCustomer(i.externalUserId, 'feedback-card');
    else if (act === 'snooze') {
      more.innerHTML = `<div class="muted">推迟到：</div><div class="acts">${snoozeChoices().map(([label, at]) => `<button class="ghost" type="button" data-until="${at.toISOString()}">${label}</button>`).join('')}</div>`;
      more.hidden = false;
    } else if (act === 'skip') {
      more.innerHTML = '<form data-skip><textarea maxlength="200" placeholder="跳过原因，如：客户出差，下周再联系" required></textarea><div class="acts"><button class="act" type="submit">确认跳过</button></div></form>';
      more.hidden = false;
      more.querySelector('textarea').focus();
    }
  });
  $('view-todo').addEventListener('click', (e) => {
    const until = e.target.dataset.until;
    const card = e.target.closest('[data-todo]');
    if (!until || !card) return;
    const i = todoItem(card.dataset.todo);
    e.target.disabled = true;
    call('POST', taskPath(i, 'snooze'), { until })
      .then(() => { toast(`已推迟到 ${time(until)}`); return loadTodo(); })
      .catch((err) => { toast(err.message); e.target.disabled = false; });
  });
  $('view-todo').addEventListener('submit', (e) => {
    const form = e.target.closest('[data-skip]');
    if (!form) return;
    e.preventDefault();
    const i = todoItem(form.closest('[data-todo]').dataset.todo);
    const reason = form.querySelector('textarea').value.trim();
    if (!reason) { toast('请填写跳过原因'); return; }
    const button = form.querySelector('button');
    button.disabled = true;
    call('POST', taskPath(i, 'skip'), { reason })
      .then(() => { toast('已跳过'); return loadTodo(); })
      .catch((err) => { toast(err.message); button.disabled = false; });
  });

  // ─── quick replies ─────────────────────────────────────────────────────────────────────────────────────
  async function loadReplies() {
    const q = state.externalUserId ? `?externalUserId=${encodeURIComponent(state.externalUserId)}` : '';
    const { items } = await call('GET', `/sidebar/api/quick-replies${q}`);
    state.replies = items;
    let html = '';
    let group = null;
    items.forEach((r, i) => {
      if (r.category !== group) {
        group = r.category;
        html += `<div class="group">${esc(group)}</div>`;
      }
      const kind = r.kind && r.kind !== 'text' ? `<span class="badge">${esc(REPLY_KIND[r.kind] || '素材')}</span> ` : '';
      html += `<section class="card reply" data-reply="${i}" data-test="quick-reply"><div class="title">${kind}${esc(r.title)}</div><div class="content">${esc(r.content)}</div>${inWecom && state.entry && !r.chat ? '<div class="muted">素材正在准备，暂时不能发送</div>' : ''}</section>`;
    });
    $('replies').innerHTML = html || '<div class="muted">还没有快捷回复，请运营在管理后台添加（/api/v1/quick-replies）。</div>';
    $('replies-status').textContent = inWecom ? '点击即可发送到当前聊天' : '不在企业微信中：点击复制内容';
  }

  // A library item goes as the message the server prepared for sendChatMessage (`chat`: text, image, link or
  // mini-program); null while its WeCom media is not ready, since a send never uploads (docs/content.md).
  const REPLY_KIND = { image: '图片', link: '链接', miniprogram: '小程序', video: '视频', file: '文件' };
  async function sendReply(r) {
    if (inWecom && state.entry) {
      const chat = r.chat ?? (r.kind && r.kind !== 'text' ? null : { msgtype: 'text', text: { content: r.content } });
      if (!chat) { toast('素材正在上传到企业微信，请稍后再发'); return; }
      await ww.sendChatMessage({ ...chat, enterChat: true });
      // One use of the library item (its use count); a lost count is not worth an error on the member's screen.
      if (r.id) call('POST', `/sidebar/api/quick-replies/${encodeURIComponent(r.id)}/sent`, {}).catch(() => undefined);
      toast('已发送');
      return;
    }
    await navigator.clipboard.writeText(r.content);
    toast('已复制');
  }

  // ─── events ────────────────────────────────────────────────────────────────────────────────────────────
  function showTab(tab) {
    for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b.dataset.tab === tab);
    $('view-todo').hidden = tab !== 'todo';
    $('view-customer').hidden = tab !== 'customer';
    $('view-replies').hidden = tab !== 'replies';
    $('title').textContent = tab === 'todo' ? '今日待办' : tab === 'replies' ? '快捷回复' : state.chatId && !state.externalUserId ? '客户群' : '客户档案';
    if (tab === 'todo' && todoState.list) loadTodo().catch((err) => toast(err.message));
  }
  $('tabs').addEventListener('click', (e) => {
    const tab = e.target.dataset.tab;
    if (tab) showTab(tab);
  });
  /** A customer's archive from the to-do list (a ticket's customer), scrolled to a section. */
  function openCustomer(id, sectionId) {
    if (!id) return;
    const load = state.externalUserId === id && state.customer ? Promise.resolve() : (state.externalUserId = id, state.customer = null, $('group').hidden = true, $('status').hidden = false, loadCustomer());
    showTab('customer');
    load.then(() => $(sectionId)?.scrollIntoView()).catch((err) => toast(err.message));
  }

  async function changeTags(body) {
    const { tags } = await call('POST', `/sidebar/api/customers/${encodeURIComponent(state.externalUserId)}/tags`, body);
    renderTags(tags);
  }
  $('tags').addEventListener('click', (e) => {
    const id = e.target.dataset.remove;
    if (!id) return;
    const tag = (state.customer?.tags || []).find((t) => t.id === id);
    // By group/name: two groups may each have a tag of the same name.
    changeTags({ add: [], remove: [tag ? (tag.group ? `${tag.group}/${tag.name}` : tag.name) : id] }).then(loadCustomer).catch((err) => toast(err.message));
  });
  $('tag-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('tag-input').value.trim();
    if (!name || !state.externalUserId) return;
    changeTags({ add: [name], remove: [] }).then(() => { $('tag-input').value = ''; return loadCustomer(); }).catch((err) => toast(err.message));
  });
  // 客户已回复 (docs/journeys.md §Exits): a 1:1 reply is invisible to the bot, so the member says so; journeys whose exit
  // rules include a reply let the customer go.
  $('mark-replied').addEventListener('click', () => {
    if (!state.externalUserId) return;
    $('mark-replied').disabled = true;
    call('POST', `/sidebar/api/customers/${encodeURIComponent(state.externalUserId)}/replied`, {})
      .then((r) => { toast(r.exited ? `已记录客户回复，${r.exited} 个客户旅程已结束` : '已记录客户回复'); return loadTodo(); })
      .catch((err) => toast(err.message))
      .finally(() => { $('mark-replied').disabled = false; });
  });
  $('note-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('note-text').value.trim();
    if (!text || !state.externalUserId) return;
    const body = { text };
    if ($('note-due').value) body.dueDate = $('note-due').value;
    call('POST', `/sidebar/api/customers/${encodeURIComponent(state.externalUserId)}/notes`, body)
      .then(() => { $('note-text').value = ''; $('note-due').value = ''; toast('已保存'); return loadCustomer(); })
      .catch((err) => toast(err.message));
  });
  $('replies').addEventListener('click', (e) => {
    const card = e.target.closest('[data-reply]');
    if (!card) return;
    sendReply(state.replies[Number(card.dataset.reply)]).catch((err) => toast(err.message || '发送失败'));
  });

  // A customer of the group whom the member follows opens their card; 返回客户群 goes back.
  $('group-members').addEventListener('click', (e) => {
    const id = e.target.dataset.open;
    if (!id) return;
    state.externalUserId = id;
    $('group').hidden = true;
    $('back-to-group').hidden = false;
    $('title').textContent = '客户档案';
    loadCustomer().catch((err) => toast(err.message));
  });
  $('back-group').addEventListener('click', () => {
    state.externalUserId = null;
    $('customer').hidden = true;
    $('back-to-group').hidden = true;
    if (state.group) renderGroup(state.group);
  });

  // ─── start ─────────────────────────────────────────────────────────────────────────────────────────────
  async function start() {
    try {
      state.me = await call('GET', '/sidebar/api/me');
      $('me').textContent = state.me.name;
      if (inWecom) {
        const current = await currentCustomerFromWecom();
        state.externalUserId = current.externalUserId || null;
        state.chatId = current.chatId || null;
      } else {
        notice('当前不在企业微信中打开：无法读取当前聊天的客户，也无法发送到聊天。本地测试可在网址后加 <b>?externalUserId=客户ID</b> 或 <b>?chatId=客户群ID</b>（例如内置沙箱中的客户或群）。');
        state.externalUserId = params.get('externalUserId');
        state.chatId = state.externalUserId ? null : params.get('chatId');
      }
      loadReplies().catch((err) => { $('replies-status').innerHTML = `<span class="err">${esc(err.message)}</span>`; });
      loadTodo().catch((err) => { $('todo-status').innerHTML = `<span class="err">${esc(err.message)}</span>`; });
      if (state.chatId) {
        // In a group chat the group comes first; 今日待办 stays the first tab, with the member's whole day.
        showTab('customer');
        await loadGroup();
        return;
      }
      if (!state.externalUserId) {
        $('status').textContent = '没有当前客户。';
        return;
      }
      await loadCustomer();
    } catch (err) {
      $('status').innerHTML = `<span class="err">${esc(err.message || err.errMsg || err)}</span>`;
    }
  }
  start();
})();
