import { randomBytes } from 'node:crypto';

/**
 * The fixed identity of the built-in sandbox corp: CorpID, AgentId and the secrets the bot uses to talk to the
 * sandbox's emulated API. Public on purpose; they open nothing but the sandbox.
 *
 * The callback Token and EncodingAESKey are NOT here: anyone who knows them can sign callbacks the bot accepts, so
 * they are generated once per data directory (config/load.ts `ensureSandboxKeys`, docs/security.md §Sandbox exposure).
 */
export const SANDBOX_CORP = Object.freeze({
  corpId: 'wwsandbox0000000001',
  agentId: 1000002,
  secret: 'sandbox-app-secret-0001',
  kfSecret: 'sandbox-kf-secret-0001',
});

/** A sandbox callback Token and EncodingAESKey (43 characters of [A-Za-z0-9], like a real one). */
export interface SandboxCallbackKeys {
  token: string;
  encodingAesKey: string;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomAlnum(length: number): string {
  // 62 does not divide 256: reject the top bytes so every character is equally likely.
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out += ALNUM[b % 62];
    }
  }
  return out;
}

/** Fresh random callback keys (Token ≤ 32 characters, docs/wecom-protocol.md §URL verification). */
export function randomSandboxKeys(): SandboxCallbackKeys {
  return { token: randomAlnum(32), encodingAesKey: randomAlnum(43) };
}
