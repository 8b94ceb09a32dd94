import { sealCallback, type CallbackCredentials } from '../../src/wecom/crypto.js';
import { SANDBOX_CORP } from '../../src/wecom/sandbox-identity.js';

/**
 * Known callback keys for tests and the bench. A real sandbox install generates its own per data directory
 * (config/load.ts ensureSandboxKeys); tests pass these as WECOM_TOKEN/WECOM_ENCODING_AES_KEY (testConfig,
 * spawnServer) so they can sign callbacks the app accepts.
 */
export const TEST_SANDBOX_KEYS = Object.freeze({
  token: 'SandboxCallbackToken01',
  encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
});

/** The callback credentials of the test/sandbox corp. */
export const SANDBOX_CREDS: CallbackCredentials = {
  token: TEST_SANDBOX_KEYS.token,
  encodingAesKey: TEST_SANDBOX_KEYS.encodingAesKey,
  receiveId: SANDBOX_CORP.corpId,
};

/** Build the decrypted XML of a customer-contact event (docs/wecom-protocol.md §Customer contact events). */
export function contactEventXml(
  changeType: string,
  f: { userId?: string; externalUserId?: string; state?: string; welcomeCode?: string; source?: string; createTime?: number } = {},
): string {
  const t = f.createTime ?? Math.floor(Date.now() / 1000);
  return (
    `<xml><ToUserName><![CDATA[${SANDBOX_CORP.corpId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
    `<CreateTime>${t}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event>` +
    `<ChangeType><![CDATA[${changeType}]]></ChangeType><UserID><![CDATA[${f.userId ?? 'zhangsan'}]]></UserID>` +
    `<ExternalUserID><![CDATA[${f.externalUserId ?? 'wmTestCustomer0001'}]]></ExternalUserID>` +
    (f.state ? `<State><![CDATA[${f.state}]]></State>` : '') +
    (f.welcomeCode ? `<WelcomeCode><![CDATA[${f.welcomeCode}]]></WelcomeCode>` : '') +
    (f.source ? `<Source><![CDATA[${f.source}]]></Source>` : '') +
    '</xml>'
  );
}

/** POST an encrypted, signed callback to an app; returns the HTTP status and body. */
export async function postCallback(
  baseUrl: string,
  plainXml: string,
  opts: { creds?: CallbackCredentials; timestamp?: string; nonce?: string; mutate?: (q: Record<string, string>, body: string) => [Record<string, string>, string] } = {},
): Promise<{ status: number; body: string }> {
  const sealed = sealCallback(opts.creds ?? SANDBOX_CREDS, plainXml, { timestamp: opts.timestamp, nonce: opts.nonce });
  let query: Record<string, string> = { ...sealed.query };
  let body = sealed.body;
  if (opts.mutate) [query, body] = opts.mutate(query, body);
  const qs = Object.entries(query)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
  const res = await fetch(`${baseUrl}/wecom/callback?${qs}`, { method: 'POST', body, headers: { 'content-type': 'text/xml' } });
  return { status: res.status, body: await res.text() };
}
