import { createRouter, createWebHistory } from 'vue-router';
import { handleUnauthorized } from './lib/api';
import { isOperator, loadSession, session } from './lib/session';
import { prefetchTotal } from './lib/first-count';
import AppLayout from './views/AppLayout.vue';

declare module 'vue-router' {
  interface RouteMeta {
    title?: string;
    /** Hidden from staff in the menu and refused by the API. */
    operator?: boolean;
  }
}

// Pages load on demand: the first screen carries the layout and its own page only.
export const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    // Not /login: /console/login is the server's redirect to WeCom's QR page.
    { path: '/signin', name: 'login', component: () => import('./views/LoginView.vue'), meta: { title: '登录' } },
    {
      path: '/',
      component: AppLayout,
      children: [
        { path: '', name: 'dashboard', component: () => import('./views/DashboardView.vue'), meta: { title: '数据看板' } },
        { path: 'customers', name: 'customers', component: () => import('./views/CustomersView.vue'), meta: { title: '客户' } },
        { path: 'customers/:id', name: 'customer', component: () => import('./views/CustomerDetailView.vue'), meta: { title: '客户详情' } },
        { path: 'channels', name: 'channels', component: () => import('./views/ChannelsView.vue'), meta: { title: '渠道活码', operator: true } },
        { path: 'tags', name: 'tags', component: () => import('./views/TagsView.vue'), meta: { title: '标签', operator: true } },
        { path: 'care-rules', name: 'care-rules', component: () => import('./views/CareRulesView.vue'), meta: { title: '关怀规则', operator: true } },
        { path: 'winback', name: 'winback', component: () => import('./views/WinbackView.vue'), meta: { title: '挽回', operator: true } },
        { path: 'journeys', name: 'journeys', component: () => import('./views/JourneysView.vue'), meta: { title: '客户旅程', operator: true } },
        { path: 'journeys/new', name: 'journey-new', component: () => import('./views/JourneyEditView.vue'), meta: { title: '新建旅程', operator: true } },
        { path: 'journeys/:id/edit', name: 'journey-edit', component: () => import('./views/JourneyEditView.vue'), meta: { title: '编辑旅程', operator: true } },
        { path: 'journeys/:id', name: 'journey', component: () => import('./views/JourneyDetailView.vue'), meta: { title: '旅程数据', operator: true } },
        { path: 'broadcasts', name: 'broadcasts', component: () => import('./views/BroadcastsView.vue'), meta: { title: '群发' } },
        { path: 'broadcasts/new', name: 'broadcast-new', component: () => import('./views/BroadcastCreateView.vue'), meta: { title: '新建群发', operator: true } },
        { path: 'broadcasts/:id', name: 'broadcast', component: () => import('./views/BroadcastDetailView.vue'), meta: { title: '群发详情' } },
        { path: 'content', name: 'content', component: () => import('./views/ContentView.vue'), meta: { title: '素材库' } },
        { path: 'groups', name: 'groups', component: () => import('./views/GroupsView.vue'), meta: { title: '客户群', operator: true } },
        { path: 'feedback', name: 'feedback', component: () => import('./views/FeedbackView.vue'), meta: { title: '客户反馈' } },
        { path: 'surveys', name: 'surveys', component: () => import('./views/SurveysView.vue'), meta: { title: '满意度调查' } },
        { path: 'loyalty', name: 'loyalty', component: () => import('./views/LoyaltyView.vue'), meta: { title: '积分与会员' } },
        { path: 'todo', name: 'todo', component: () => import('./views/TodoCompletionView.vue'), meta: { title: '待办完成', operator: true } },
        { path: 'transfers', name: 'transfers', component: () => import('./views/TransfersView.vue'), meta: { title: '客户继承', operator: true } },
        { path: 'users', name: 'users', component: () => import('./views/UsersView.vue'), meta: { title: '员工与权限', operator: true } },
        { path: 'audit-log', name: 'audit-log', component: () => import('./views/AuditView.vue'), meta: { title: '操作日志', operator: true } },
        { path: 'events', name: 'events', component: () => import('./views/EventsView.vue'), meta: { title: '回调事件', operator: true } },
        { path: 'settings', name: 'settings', component: () => import('./views/SettingsView.vue'), meta: { title: '系统设置', operator: true } },
        { path: ':rest(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue'), meta: { title: '页面不存在' } },
      ],
    },
  ],
});

router.beforeEach(async (to) => {
  if (!session.checked) {
    // The session and the dashboard's first number (a GET, which needs no CSRF token) are asked before the page's
    // code, so they take two of the browser's six connections to the server ahead of the code's files; the first
    // page's code downloads meanwhile, not after (the first screen's time budget, README §Operator console), and the
    // browser's module cache hands it to the router afterwards.
    const checking = loadSession().catch(() => null);
    if (to.name === 'dashboard') prefetchTotal();
    for (const r of to.matched) {
      const c = r.components?.default;
      if (typeof c === 'function') void (c as () => Promise<unknown>)();
    }
    await checking;
  }
  if (to.name === 'login') {
    if (!session.me) return true;
    const back = typeof to.query.redirect === 'string' && to.query.redirect.startsWith('/') ? to.query.redirect : '/';
    return back;
  }
  if (!session.me) return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } };
  if (to.meta.operator && !isOperator()) return { name: 'dashboard' };
  return true;
});

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · wecom-ops 运营控制台` : 'wecom-ops 运营控制台';
});

// A session that ends (idle timeout, logout elsewhere, a revoked token) lands on the sign-in page.
handleUnauthorized(() => {
  session.me = null;
  const current = router.currentRoute.value;
  if (current.name !== 'login') void router.push({ name: 'login', query: { redirect: current.fullPath, expired: '1' } });
});
