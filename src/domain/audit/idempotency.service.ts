import { createHash } from 'node:crypto';
import type { IdempotencyRepository } from '../../persistence/repositories/idempotency.repository.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ConflictError, ValidationError } from '../../shared/errors.js';

/** How long an answer is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** A key: printable ASCII, 1–200 characters (a UUID fits). */
const KEY = /^[\x21-\x7e]{1,200}$/;

/** What to do with a request that carries a key. */
export type IdempotencyDecision =
  /** First time: run it, then call `finish` (or `abandon` when it failed in a way worth retrying). */
  | { kind: 'run'; finish: (status: number, body: unknown) => Promise<void>; abandon: () => Promise<void> }
  /** Seen before: answer this, run nothing. */
  | { kind: 'replay'; status: number; body: unknown };

/**
 * `Idempotency-Key` on the API's POST routes (docs/security.md §Idempotency keys): the first answer to a key is
 * remembered for 24 hours per principal and route; the same request again gets that answer and creates nothing; the
 * same key with another body is refused (422), and while the first is still running a second gets 409.
 */
export class IdempotencyService {
  constructor(
    private readonly repo: IdempotencyRepository,
    private readonly clock: Clock,
  ) {}

  async begin(input: { principalKey: string; route: string; key: string; body: string }): Promise<IdempotencyDecision> {
    if (!KEY.test(input.key)) throw new ValidationError('Idempotency-Key 须为 1–200 个可见 ASCII 字符（建议使用 UUID）', undefined, 'invalid_idempotency_key');
    const k = { principalKey: input.principalKey, route: input.route, key: input.key };
    const hash = createHash('sha256').update(input.body).digest('hex');
    const now = this.clock.now();
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await this.repo.claim(k, hash, now)) {
        return {
          kind: 'run',
          finish: (status, body) => this.repo.complete(k, status, body),
          abandon: () => this.repo.release(k),
        };
      }
      const seen = await this.repo.find(k);
      if (!seen) continue; // released in between: claim again
      if (now.getTime() - seen.createdAt.getTime() >= IDEMPOTENCY_TTL_MS) {
        await this.repo.release(k);
        continue;
      }
      if (seen.requestHash !== hash) {
        throw new AppError(422, 'idempotency_key_reused', '该 Idempotency-Key 已用于另一个内容不同的请求；新的请求请使用新的 Idempotency-Key / this Idempotency-Key was used for a different request');
      }
      if (seen.status === 0) throw new ConflictError('使用该 Idempotency-Key 的请求仍在处理中，请稍后重试 / a request with this Idempotency-Key is still running', 'idempotency_in_progress');
      return { kind: 'replay', status: seen.status, body: seen.response };
    }
    throw new ConflictError('使用该 Idempotency-Key 的请求仍在处理中，请稍后重试 / a request with this Idempotency-Key is still running', 'idempotency_in_progress');
  }

  /** Forget answers older than the TTL (the retention job). */
  purge(now: Date): Promise<number> {
    return this.repo.purge(new Date(now.getTime() - IDEMPOTENCY_TTL_MS));
  }
}
