import { randomBytes } from 'node:crypto';
import type { ApiContext, ApiTable } from '../api-types.js';
import { Errcode, SandboxApiError } from '../errcodes.js';
import { requireString } from '../params.js';

/** Tickets live 7200 s (docs/wecom-protocol.md §JS-SDK tickets and signatures). */
const TICKET_TTL_SECONDS = 7200;

/**
 * gettoken, the two JS-SDK tickets and OAuth code exchange
 * (docs/wecom-protocol.md §Access tokens, §Staff sign-in for web pages, §JS-SDK tickets and signatures).
 */
export const tokenApis: ApiTable = {
  gettoken: {
    method: 'GET',
    auth: 'none',
    handle(req, { store, options, nowMs }) {
      const corpid = req.query.corpid ?? '';
      const secret = req.query.corpsecret ?? '';
      if (corpid !== options.corp.corpId) throw new SandboxApiError(Errcode.InvalidCorpId);
      // Each secret has its own independent token (docs/wecom-protocol.md §Access tokens): the app secret and the KF
      // secret.
      const owner = secret === options.corp.secret ? 'agent' : secret === options.corp.kfSecret ? 'kf' : null;
      if (!owner) throw new SandboxApiError(Errcode.InvalidSecret);
      // A fresh token on every call: the current doc no longer promises "same token within validity"
      // (docs/wecom-protocol.md §Access tokens).
      const token = `sbx_${owner}_${randomBytes(48).toString('base64url')}`;
      // Drop expired tokens so a long-running sandbox does not accumulate them.
      for (const [t, record] of store.accessTokens) if (record.expiresAtMs <= nowMs()) store.accessTokens.delete(t);
      store.accessTokens.set(token, {
        token,
        owner,
        expiresAtMs: nowMs() + options.tokenTtlSeconds * 1000,
        isRevoked: false,
      });
      return { access_token: token, expires_in: options.tokenTtlSeconds };
    },
  },

  get_jsapi_ticket: {
    method: 'GET',
    auth: 'agent',
    handle(_req, ctx) {
      return { ticket: issueTicket(ctx, 'corp'), expires_in: TICKET_TTL_SECONDS };
    },
  },

  'ticket/get': {
    method: 'GET',
    auth: 'agent',
    handle(req, ctx) {
      // Only the app ticket exists on this path; it signs wx.agentConfig
      // (docs/wecom-protocol.md §JS-SDK tickets and signatures).
      if (req.query.type !== 'agent_config') throw new SandboxApiError(Errcode.InvalidParameterValue, 'type must be agent_config');
      return { ticket: issueTicket(ctx, 'agent'), expires_in: TICKET_TTL_SECONDS };
    },
  },

  'auth/getuserinfo': {
    method: 'GET',
    auth: 'agent',
    isRateLimitExempt: true,
    handle(req, { store, nowMs }) {
      const code = requireString(req.query, 'code', Errcode.InvalidOauthCode);
      const issued = store.oauthCodes.get(code);
      // Single use and 5 minutes (docs/wecom-protocol.md §Staff sign-in for web pages) → 40029 either way.
      if (!issued || issued.isUsed || nowMs() - issued.issuedAtMs > 5 * 60 * 1000) {
        throw new SandboxApiError(Errcode.InvalidOauthCode);
      }
      issued.isUsed = true;
      if (issued.userid) return { userid: issued.userid };
      // A non-member gets openid (and external_userid when they are a customer), never a userid
      // (docs/wecom-protocol.md §Staff sign-in for web pages).
      return { openid: issued.openid, ...(issued.externalUserId ? { external_userid: issued.externalUserId } : {}) };
    },
  },
};

/**
 * Issue a ticket and remember it until it expires, so the sandbox can check JS-SDK signatures the way the WeCom
 * client checks wx.config / wx.agentConfig (see WecomSandbox.verifyJsapiSignature).
 */
function issueTicket({ store, nowMs }: ApiContext, kind: 'corp' | 'agent'): string {
  for (const [t, record] of store.jsapiTickets) if (record.expiresAtMs <= nowMs()) store.jsapiTickets.delete(t);
  const ticket = `sbx_${kind}_ticket_${randomBytes(24).toString('base64url')}`;
  store.jsapiTickets.set(ticket, { ticket, kind, expiresAtMs: nowMs() + TICKET_TTL_SECONDS * 1000 });
  return ticket;
}
