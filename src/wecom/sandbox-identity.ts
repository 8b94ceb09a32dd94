/**
 * The fixed identity of the built-in sandbox corp. Not secret: it only ever talks to itself on loopback.
 * The AES key is 43 characters of [A-Za-z0-9] like a real EncodingAESKey.
 */
export const SANDBOX_CORP = Object.freeze({
  corpId: 'wwsandbox0000000001',
  agentId: 1000002,
  secret: 'sandbox-app-secret-0001',
  kfSecret: 'sandbox-kf-secret-0001',
  token: 'SandboxCallbackToken01',
  encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
});
