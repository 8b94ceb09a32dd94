import { silentLogger } from '../../../src/shared/logger.js';
import { WecomClient, type WecomClientOptions } from '../../../src/wecom/client/wecom.client.js';
import type { WecomStub } from '../../helpers/wecom-stub.js';

/** A client pointed at the stub with fast retries; override anything per test. */
export function clientFor(stub: WecomStub, overrides: Partial<WecomClientOptions> = {}): WecomClient {
  return new WecomClient({
    apiBase: stub.baseUrl,
    corpId: stub.corpId,
    secret: 'app-secret',
    logger: silentLogger,
    retry: { maxAttempts: 4, baseMs: 5, maxMs: 20 },
    blockMs45009: 100,
    timeoutMs: 2000,
    ...overrides,
  });
}
