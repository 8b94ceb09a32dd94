import { FixedClock } from '../../../../src/shared/clock.js';
import { silentLogger } from '../../../../src/shared/logger.js';
import { SANDBOX_CORP } from '../../../../src/wecom/sandbox-identity.js';
import { WecomSandbox, type WecomSandboxOptions } from '../../../../src/wecom/sandbox/sandbox.js';

/** A sandbox on a FixedClock with no callback URL, for in-process unit tests. */
export function buildSandbox(overrides: Partial<WecomSandboxOptions> = {}): { sut: WecomSandbox; clock: FixedClock } {
  const clock = new FixedClock('2026-03-10T02:00:00Z');
  const sut = new WecomSandbox({ clock, logger: silentLogger, ...overrides });
  return { sut, clock };
}

/** Fetch an access token for the app secret (or another secret). */
export async function tokenFor(sut: WecomSandbox, secret: string = SANDBOX_CORP.secret): Promise<string> {
  const res = await sut.invoke('GET', 'gettoken', { corpid: SANDBOX_CORP.corpId, corpsecret: secret });
  if (res.body.errcode !== 0) throw new Error(`gettoken failed: ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

/** Call an API with a token: POST when a body is given, GET otherwise. Returns the response JSON. */
export async function callApi(
  sut: WecomSandbox,
  token: string,
  api: string,
  body?: Record<string, unknown>,
  query: Record<string, string> = {},
): Promise<Record<string, any>> {
  const res = await sut.invoke(body ? 'POST' : 'GET', api, { ...query, access_token: token }, body ?? {});
  return res.body;
}
