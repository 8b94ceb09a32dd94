import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/shared/logger.js';
import { WecomClient } from '../../../src/wecom/client/wecom.client.js';
import { StubHttpReply, WecomStub, hang } from '../../helpers/wecom-stub.js';
import { clientFor } from './support.js';

describe(WecomClient.name, () => {
  let stub: WecomStub;
  let sut: WecomClient;
  let logged: string;

  beforeEach(async () => {
    stub = await WecomStub.start();
    logged = '';
  });
  afterEach(async () => {
    sut?.close();
    await stub.stop();
  });

  describe('logging', () => {
    it('never writes a token or a secret to the log or into an error, at trace level', async () => {
      const stream = new PassThrough();
      stream.on('data', (chunk: Buffer) => (logged += chunk.toString()));
      const logger = createLogger({ level: 'trace', destination: stream });
      sut = clientFor(stub, { logger, kfSecret: 'kf-secret', timeoutMs: 400, blockMs45009: 10 });
      const errors: unknown[] = [];
      let served = 0;
      stub.on('externalcontact/get_follow_user_list', () => (++served === 2 ? (stub.invalidateTokens(), {}) : {}));
      stub.on('externalcontact/add_msg_template', hang);
      stub.on('externalcontact/groupchat/get', () => new StubHttpReply(503, 'busy'));
      stub.fault('externalcontact/mark_tag', 45009, 1).fault('externalcontact/mark_tag', -1, 1).fault('externalcontact/remark', 84061, 1);

      // Every path that logs: refresh, invalidation, retries, 45009, timeouts, 5xx, business errors, KF token.
      for (let i = 0; i < 3; i++) await sut.getFollowUserList();
      await sut.markTag({ userId: 'u', externalUserId: 'wm', addTagIds: ['et'] });
      await sut.kfSyncMsg({});
      const failing = [
        sut.addMsgTemplate({ sender: 'u', text: 'x' }),
        sut.groupChatGet('wr1'),
        sut.remark({ userId: 'u', externalUserId: 'wm', remark: 'r' }),
      ];
      errors.push(...(await Promise.all(failing.map((p) => p.catch((e: unknown) => e)))));
      await new Promise((r) => setImmediate(r));

      expect(stub.issuedTokens.length).toBeGreaterThanOrEqual(3);
      expect(logged).toContain('wecom token rejected; refreshing once');
      expect(logged).toContain('wecom write failed with unknown outcome; not retried');
      const errorText = errors.map((e) => `${String(e)} ${JSON.stringify(e)} ${(e as Error).stack}`).join('\n');
      for (const secret of [...stub.issuedTokens, 'app-secret', 'kf-secret']) {
        expect(logged).not.toContain(secret);
        expect(errorText).not.toContain(secret);
      }
      expect(logged).not.toContain('access_token=');
      expect(logged).not.toContain('corpsecret');
    });
  });
});
