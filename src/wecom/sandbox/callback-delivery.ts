import { randomInt } from 'node:crypto';
import type { Clock } from '../../shared/clock.js';
import { toError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { sealCallback } from '../crypto.js';
import type { SandboxCorp } from './api-types.js';

/** One HTTP attempt at delivering a callback. */
export interface CallbackAttempt {
  atMs: number;
  /** From sending the POST to its answer (or failure), in ms: the receiver's acknowledgement time as WeCom sees it. */
  ms?: number;
  httpStatus?: number;
  error?: string;
}

/** A callback the sandbox produced and what became of it. */
export interface CallbackRecord {
  id: number;
  atMs: number;
  /** The decrypted XML, so tests can assert on exactly what was sent. */
  xml: string;
  status: 'delivered' | 'failed' | 'no_url';
  attempts: CallbackAttempt[];
}

/** How the "WeCom side" posts callbacks. */
export interface CallbackDeliveryOptions {
  corp: SandboxCorp;
  clock: Clock;
  logger: Logger;
  /** Read on every delivery, so the URL can be set after the bot starts listening. */
  getUrl: () => string | undefined;
  /** WeCom waits 5 s for a 200 (docs/wecom-protocol.md §Acknowledging callbacks). */
  timeoutMs: number;
  /** Waits before each retry; WeCom retries up to three times (docs/wecom-protocol.md §Acknowledging callbacks). */
  retryDelaysMs: number[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Encrypts, signs and POSTs callback XML like WeCom, with its timeout and retry behaviour. */
export class CallbackDeliverer {
  readonly records: CallbackRecord[] = [];
  private nextId = 1;

  constructor(private readonly options: CallbackDeliveryOptions) {}

  /** Deliver one decrypted XML payload; resolves once it is acknowledged with a 200 or retries run out. */
  async deliver(xml: string): Promise<CallbackRecord> {
    const record: CallbackRecord = { id: this.nextId++, atMs: this.options.clock.now().getTime(), xml, status: 'no_url', attempts: [] };
    this.records.push(record);
    const url = this.options.getUrl();
    if (!url) return record;
    const { corp } = this.options;
    const maxAttempts = 1 + this.options.retryDelaysMs.length;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) await sleep(this.options.retryDelaysMs[attempt - 1]);
      // Each retry is a fresh POST with its own timestamp/nonce and signature, as a real resend would be.
      const sealed = sealCallback(
        { token: corp.token, encodingAesKey: corp.encodingAesKey, receiveId: corp.corpId },
        xml,
        { timestamp: String(Math.floor(this.options.clock.now().getTime() / 1000)), nonce: String(randomInt(1e9, 1e10)) },
      );
      const target = new URL(url);
      for (const [k, v] of Object.entries(sealed.query)) target.searchParams.set(k, v);
      const result: CallbackAttempt = { atMs: this.options.clock.now().getTime() };
      record.attempts.push(result);
      const sentAt = performance.now();
      try {
        const res = await fetch(target, {
          method: 'POST',
          headers: { 'content-type': 'text/xml; charset=utf-8' },
          body: sealed.body,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        result.httpStatus = res.status;
        await res.arrayBuffer().catch(() => undefined);
        result.ms = Math.round((performance.now() - sentAt) * 10) / 10;
        // Only HTTP 200 counts as received; anything else is retried (docs/wecom-protocol.md §Acknowledging callbacks).
        if (res.status === 200) {
          record.status = 'delivered';
          return record;
        }
      } catch (err) {
        result.error = toError(err).message;
      }
      this.options.logger.warn({ callbackId: record.id, attempt: attempt + 1, httpStatus: result.httpStatus, error: result.error }, 'sandbox callback attempt failed');
    }
    record.status = 'failed';
    return record;
  }

  clear(): void {
    this.records.length = 0;
  }
}
