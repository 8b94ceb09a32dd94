import { resolve } from 'node:path';
import type { Container } from '../../container.js';
import type { ArchiveModule } from '../customers/register.js';
import { QuickReplyRepository } from '../../persistence/repositories/quick-reply.repository.js';
import { StaffRepository } from '../../persistence/repositories/staff.repository.js';
import { QuickReplyService } from '../quick-replies/quick-reply.service.js';
import { StaffSessionService } from '../auth/staff-session.service.js';
import { JssdkConfigService } from './jssdk-config.service.js';
import { SANDBOX_CORP } from '../../wecom/sandbox-identity.js';
import { quickRepliesRouter } from '../../http/routes/quick-replies.router.js';
import { sidebarRouter } from '../../http/routes/sidebar.router.js';
import { sidebarApiRouter } from '../../http/routes/sidebar-api.router.js';
import { SelfOrigin } from '../../http/origin.js';

/** Default quick replies shipped in config/. */
export const DEFAULT_QUICK_REPLIES_FILE = resolve('config/quick-replies.json');

/** WeCom's OAuth2 authorize page for web apps (docs/wecom-protocol.md §Staff sign-in for web pages). */
export const WECOM_OAUTH_AUTHORIZE_URL = 'https://open.weixin.qq.com/connect/oauth2/authorize';

/** The sidebar's parts, for tests. */
export interface SidebarModule {
  sessions: StaffSessionService;
  replies: QuickReplyService;
  jssdk: JssdkConfigService;
}

/**
 * Where staff sign in: WeCom's authorize page, or offline the sandbox's stand-in (in-process under /sandbox, or
 * the standalone `wecom-ops sandbox` at WECOM_API_BASE when the sandbox corp is configured without it).
 */
function authorizeUrlOf(c: Container): string {
  if (c.sandbox) return '/sandbox/connect/oauth2/authorize';
  if (c.config.wecomCorpId === SANDBOX_CORP.corpId) return `${c.config.wecom.apiBase.replace(/\/$/, '')}/connect/oauth2/authorize`;
  return WECOM_OAUTH_AUTHORIZE_URL;
}

/**
 * Wire the staff sidebar (聊天工具栏, docs/wecom-protocol.md §Chat toolbar sidebar) and its quick replies: `/sidebar/` pages
 * and OAuth sign-in, `/sidebar/api/*`, and `/api/v1/quick-replies`; seeds the default replies. Needs the archive
 * (registerArchive).
 */
export async function registerSidebar(c: Container): Promise<void> {
  const holder = c as Container & { archive?: ArchiveModule; sidebar?: SidebarModule };
  if (!holder.archive) {
    c.log.warn('no customer archive on the container; sidebar not wired');
    return;
  }
  const { customers, notes, access } = holder.archive;
  const staff = new StaffRepository(c.db);
  const replies = new QuickReplyService(new QuickReplyRepository(c.db), customers, staff, c.clock, c.log.child({ module: 'quick-replies' }));
  const sessions = new StaffSessionService([c.config.dataKey!, ...c.config.dataKeyReadOnly], c.wecom, c.clock);
  const jssdk = new JssdkConfigService(c.wecom, c.clock, { corpId: c.config.wecomCorpId, agentId: c.config.wecom.agentId });
  // PUBLIC_URL, or (sandbox mode only: it is required otherwise) the URL the server listens on.
  const origin = new SelfOrigin(c.config.publicUrl);
  c.onListen.push((url) => origin.learn(url));
  c.apiRouters.push(quickRepliesRouter(replies));
  c.publicRouters.push(
    sidebarRouter({
      sessions,
      corpId: c.config.wecomCorpId,
      agentId: c.config.wecom.agentId,
      authorizeUrl: authorizeUrlOf(c),
      origin,
      access,
      log: c.log.child({ module: 'sidebar' }),
    }),
    sidebarApiRouter({ customers, notes, replies, jssdk, staff, origin }),
  );
  holder.sidebar = { sessions, replies, jssdk };
  c.sidebarAuth = { sessions, access };
  await replies.seedDefaults(DEFAULT_QUICK_REPLIES_FILE);
}
