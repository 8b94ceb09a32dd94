import type { EventHandler, HandlerContext, TimelineNote } from '../inbox/event-router.js';
import { eventCreateTimeMs, eventField } from '../inbox/inbound-event.js';
import type { InboundEvent } from '../inbox/inbox.types.js';
import type { TransferRepository } from '../../persistence/repositories/transfer.repository.js';
import type { Transfer } from './transfer.types.js';
import type { TransferSettlement } from './transfer-settlement.js';

/** A finished transfer explains a callback this close to its takeover (the job may have recorded it first). */
const MATCH_WINDOW_MS = 48 * 3600 * 1000;
/** How long "no transfer is open or recently finished" is believed before it is asked again. */
const PRESENCE_TTL_MS = 10_000;

/**
 * Whether any transfer could explain a callback, asked at most every 10 s. Every add and delete callback reaches the
 * handler, and almost none belongs to a transfer; a lookup per callback cost the welcome path a query per add when
 * there was nothing to find. A transfer this instance starts clears the answer at once. One started on another
 * instance is seen within 10 s, and WeCom's takeover callbacks come 24 h after the request
 * (docs/wecom-protocol.md §Customer transfers); a refusal that arrives sooner still ends up recorded by the `transfers`
 * job.
 */
export class TransferPresence {
  private knownNoneUntil = 0;
  private knownNoneSince = 0;
  /** Bumped by invalidate(), so an answer read before a transfer was started is not kept after it. */
  private generation = 0;

  constructor(
    private readonly transfers: Pick<TransferRepository, 'anyOpenOrFinishedSince'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** False only when no transfer is open or finished within the match window of `eventAtMs` (as of ≤ 10 s ago). */
  async mayMatch(eventAtMs: number): Promise<boolean> {
    const since = eventAtMs - MATCH_WINDOW_MS;
    // The cached "none" covered transfers finished since `knownNoneSince`; an older event needs a wider look.
    if (this.now() < this.knownNoneUntil && since >= this.knownNoneSince) return false;
    const asked = this.now();
    const generation = this.generation;
    if (await this.transfers.anyOpenOrFinishedSince(since)) return true;
    if (generation === this.generation) {
      this.knownNoneUntil = asked + PRESENCE_TTL_MS;
      this.knownNoneSince = since;
    }
    return false;
  }

  /** A transfer was just started here: look again on the next callback. */
  invalidate(): void {
    this.generation++;
    this.knownNoneUntil = 0;
  }
}

/**
 * The callbacks a transfer causes (docs/wecom-protocol.md §Customer contact events, doc path/92125): the taker's
 * add_external_contact, the handover's del_external_contact with Source DELETE_BY_TRANSFER (在职继承), and transfer_fail,
 * whose UserID is the taker's (WeCom's answer on its developer forum). Registered after the archive's handlers, which
 * keep doing their part (relations, the DELETE_BY_TRANSFER no-alert rule); this one settles the transfer and, when the
 * event belongs to a transfer the bot requested, silences the inbox's own timeline line: the transfer's single entry
 * tells the story.
 */
export class TransferCallbackHandler implements EventHandler {
  readonly name = 'transfers.callbacks';
  readonly kinds = [
    'event/change_external_contact/add_external_contact',
    'event/change_external_contact/del_external_contact',
    'event/change_external_contact/transfer_fail',
  ];

  constructor(
    private readonly transfers: TransferRepository,
    private readonly settlement: TransferSettlement,
    private readonly presence: TransferPresence,
  ) {}

  /** Settle the matching transfer, if any. */
  async handle(event: InboundEvent, ctx: HandlerContext): Promise<TimelineNote | void> {
    const ext = eventField(event, 'ExternalUserID');
    const userid = eventField(event, 'UserID');
    if (!ext || !userid) return;
    const at = new Date(eventCreateTimeMs(event.fields) ?? ctx.now.getTime());
    if (!(await this.presence.mayMatch(at.getTime()))) return;
    if (event.kind.endsWith('/transfer_fail')) {
      const status = eventField(event, 'FailReason') === 'customer_limit_exceed' ? 'taker_limit' : 'refused';
      const t = await this.transfers.findForCallback(ext, 'takeover', userid, ['requested', 'waiting', status]);
      if (!t) return;
      if (isOpen(t)) await this.settlement.reject(t, status, at);
      else if (!(t.status === status && isNear(t.finishedAt, at))) return;
      return { isSilent: true };
    }
    const isAdd = event.kind.endsWith('/add_external_contact');
    if (!isAdd && eventField(event, 'Source') !== 'DELETE_BY_TRANSFER') return;
    const t = await this.transfers.findForCallback(ext, isAdd ? 'takeover' : 'handover', userid, ['requested', 'waiting', 'done']);
    if (!t || (!isAdd && t.kind !== 'onjob')) return;
    if (isOpen(t)) await this.settlement.complete(t, at);
    else if (!(t.status === 'done' && isNear(t.takeoverAt, at))) return;
    return { isSilent: true };
  }
}

function isOpen(t: Transfer): boolean {
  return t.status === 'requested' || t.status === 'waiting';
}

function isNear(when: Date | null, at: Date): boolean {
  return when !== null && Math.abs(when.getTime() - at.getTime()) <= MATCH_WINDOW_MS;
}
