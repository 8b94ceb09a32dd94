import type { StaffMessageRepository } from '../../persistence/repositories/staff-message.repository.js';
import type { BucketCaps } from './staff-message.types.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { AppMessageContent } from '../../wecom/client/types.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { WECOM_APP_TEXT_MAX_BYTES, byteLength } from '../../shared/template.js';

/**
 * Half of WeCom's per-member caps (≤ 30 app messages per minute, ≤ 1,000 per hour,
 * docs/wecom-protocol.md §API rate limits), counted in calendar buckets: a sliding minute overlaps two calendar
 * minutes, so 15 per calendar minute keeps every sliding minute at 30 or under, and 500 per calendar hour every sliding
 * hour at 1,000 or under.
 */
export const STAFF_MESSAGE_CAPS: Readonly<BucketCaps> = Object.freeze({ perMinute: 15, perHour: 500 });

/** What happened to one message. */
export interface StaffSendResult {
  /** Members it was sent to now. */
  sent: string[];
  /** Members over their cap: the text waits for their next digest. */
  deferred: string[];
}

/** How many digest lines a member's next digest may take (more wait for the one after). */
const DIGEST_LINES_MAX = 50;

/**
 * App messages to staff (message/send) within WeCom's per-member caps. WeCom drops messages over the cap without an
 * error (docs/wecom-protocol.md §API rate limits), so a burst of churn alerts (a member's account blocked, many
 * customers deleting them in a minute) used to lose alerts silently. Each recipient's share is reserved first, across
 * instances; members over their cap get the text in a digest message, sent by the `staff-digest` job as soon as their
 * budget allows.
 */
export class StaffMessenger {
  constructor(
    private readonly repo: StaffMessageRepository,
    private readonly wecom: Pick<WecomGateway, 'sendAppMessage'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** The time zone digest lines show their time in (APP_TIMEZONE). */
    private readonly tz: string,
    private readonly caps: BucketCaps = STAFF_MESSAGE_CAPS,
  ) {}

  /**
   * Send `text` to every recipient it can now; the rest get `digestLine` in their next digest. Errors from WeCom
   * propagate (the caller decides) before any line is queued.
   */
  async send(
    recipients: string[],
    text: string,
    opts: {
      kind: string;
      digestLine: string;
      externalUserId?: string | null;
      /** Send this instead of `text` as plain text (a card with a link); over-cap members still get `digestLine`. */
      content?: AppMessageContent;
      /** Let WeCom drop an identical message within 30 min: a retry after a crash between send and record reaches nobody twice. */
      isDuplicateChecked?: boolean;
    },
  ): Promise<StaffSendResult> {
    const now = this.clock.now().getTime();
    const sent: string[] = [];
    const deferred: string[] = [];
    for (const userid of new Set(recipients)) ((await this.repo.reserve(userid, now, this.caps)) ? sent : deferred).push(userid);
    // The send first: if it fails, the caller's retry runs all of this again, and no digest line is queued twice.
    if (sent.length > 0) {
      await this.wecom.sendAppMessage({
        toUsers: sent,
        content: opts.content ?? { msgtype: 'text', content: text },
        ...(opts.isDuplicateChecked ? { enableDuplicateCheck: true, duplicateCheckIntervalSeconds: 1800 } : {}),
      });
    }
    if (deferred.length > 0) {
      await this.repo.addDigestLines(deferred.map((userid) => ({ userid, kind: opts.kind, line: opts.digestLine, externalUserId: opts.externalUserId })), now);
      this.log.info({ kind: opts.kind, deferred: deferred.length }, 'members over their app message cap; the alert waits for their digest');
    }
    return { sent, deferred };
  }

  /** Take one message from `userid`'s budget now; false when they are at WeCom's cap (send later instead). */
  reserve(userid: string): Promise<boolean> {
    return this.repo.reserve(userid, this.clock.now().getTime(), this.caps);
  }

  /**
   * Send each waiting member one digest, as far as their cap allows now. A digest carries up to 50 lines within
   * WeCom's 2,048 bytes; the rest wait for the next run. WeCom's duplicate check (30 min) stops a digest re-sent after
   * a crash between the send and its record from reaching the member twice.
   */
  async flushDigests(): Promise<{ digests: number; lines: number; waiting: number }> {
    const now = this.clock.now().getTime();
    let digests = 0;
    let lines = 0;
    for (const userid of await this.repo.membersWaiting()) {
      const waiting = await this.repo.waitingFor(userid, DIGEST_LINES_MAX);
      if (waiting.length === 0 || !(await this.repo.reserve(userid, now, this.caps))) continue;
      const { text, taken } = composeDigest(waiting, this.tz);
      const res = await this.wecom.sendAppMessage({
        toUsers: [userid],
        content: { msgtype: 'text', content: text },
        enableDuplicateCheck: true,
        duplicateCheckIntervalSeconds: 1800,
      });
      await this.repo.markSent(waiting.slice(0, taken).map((w) => w.id), res.msgId ?? null, now);
      digests += 1;
      lines += taken;
    }
    // Sent lines name customers and are in WeCom already: keep a week for the operator, then drop them.
    await this.repo.purgeSent(now - 7 * 86_400_000);
    await this.repo.purgeBuckets(now - 2 * 3_600_000);
    return { digests, lines, waiting: await this.repo.countWaiting() };
  }
}

/** A digest of `waiting` lines within WeCom's 2,048-byte app text: as many as fit, in order, each with its time. */
export function composeDigest(waiting: { line: string; createdAt: Date }[], tz: string): { text: string; taken: number } {
  const clock = new Intl.DateTimeFormat('zh-CN', { timeZone: tz, month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
  const lines = waiting.map((w) => `${w.line}（${clock.format(w.createdAt)}）`);
  const head = (n: number, more: boolean) => `【提醒汇总】企业微信限制每分钟消息数，以下 ${n} 条提醒延后送达${more ? '（其余稍后发送）' : ''}：`;
  let taken = 0;
  let body = '';
  for (const line of lines) {
    const next = `${body}\n${taken + 1}. ${line}`;
    if (byteLength(head(taken + 1, taken + 1 < lines.length) + next) > WECOM_APP_TEXT_MAX_BYTES) break;
    body = next;
    taken += 1;
  }
  if (taken === 0) {
    // One line longer than a message on its own: cut it rather than never sending it.
    const cut = Buffer.from(lines[0], 'utf8').subarray(0, WECOM_APP_TEXT_MAX_BYTES - 300).toString('utf8').replace(/\uFFFD$/, '');
    return { text: `${head(1, lines.length > 1)}\n1. ${cut}…`, taken: 1 };
  }
  return { text: head(taken, taken < lines.length) + body, taken };
}
