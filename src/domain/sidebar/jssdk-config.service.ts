import type { WecomGateway } from '../../wecom/client/gateway.js';
import { signJsapi, signableUrl, type JsapiSignature } from '../../wecom/jssdk-signature.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ValidationError } from '../../shared/errors.js';

/**
 * What ww.register needs from the server (docs/wecom-protocol.md §JS-SDK registration): identity plus one signature per
 * ticket.
 */
export interface JssdkConfig {
  corpId: string;
  agentId: number;
  /** For getConfigSignature (wx.config), signed with the corp jsapi_ticket. */
  config: JsapiSignature;
  /** For getAgentConfigSignature (wx.agentConfig), signed with the app's agent_config ticket. */
  agentConfig: JsapiSignature;
}

/**
 * Signs the sidebar page for the JS-SDK (docs/wecom-protocol.md §JS-SDK tickets and signatures). getCurExternalContact
 * and sendChatMessage must be registered with the app's identity, so both signatures are returned; the two tickets are
 * different, and mixing them up fails with 40093 in the client.
 */
export class JssdkConfigService {
  constructor(
    private readonly wecom: Pick<WecomGateway, 'getJsapiTicket' | 'getAgentTicket'>,
    private readonly clock: Clock,
    private readonly identity: { corpId: string; agentId: number | undefined },
  ) {}

  /** Signatures for `url`, which must be a page of the sidebar on `origin` (no signing oracle for other pages). */
  async configFor(url: string, origin: string): Promise<JssdkConfig> {
    const page = signableUrl(url);
    let parsed: URL;
    try {
      parsed = new URL(page);
    } catch {
      throw new ValidationError('url 不是有效的网址', undefined, 'invalid_url');
    }
    if (parsed.origin !== origin || !parsed.pathname.startsWith('/sidebar/')) {
      throw new ValidationError(`只能为本站侧边栏页面签名（${origin}/sidebar/…）；经反向代理访问时请设置 PUBLIC_URL`, undefined, 'invalid_url');
    }
    if (this.identity.agentId === undefined) {
      // agentConfig needs the app's AgentId (docs/wecom-protocol.md §JS-SDK registration); without it the sidebar APIs
      // cannot be registered.
      throw new AppError(503, 'agent_id_missing', '未配置 WECOM_AGENT_ID，无法为侧边栏签名', true);
    }
    const [corpTicket, agentTicket] = await Promise.all([this.wecom.getJsapiTicket(), this.wecom.getAgentTicket()]);
    const now = this.clock.now().getTime();
    return {
      corpId: this.identity.corpId,
      agentId: this.identity.agentId,
      config: signJsapi(corpTicket, page, now),
      agentConfig: signJsapi(agentTicket, page, now),
    };
  }
}
