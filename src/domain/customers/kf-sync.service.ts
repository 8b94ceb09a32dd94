import type { EntityManager } from 'typeorm';
import type { Db } from '../../persistence/db.js';
import type { CustomerRepository } from '../../persistence/repositories/customer.repository.js';
import type { KfCursorRepository } from '../../persistence/repositories/kf-cursor.repository.js';
import type { TimelineRepository } from '../../persistence/repositories/timeline.repository.js';
import type { KfMessage, WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import { consentEntry, isOptOutRequest } from './consent.js';
import type { TagRuleService } from '../tags/tag-rule.service.js';

/**
 * How many KF messages of a page are written in one transaction: enough to save most transactions' round trips and
 * commits, few enough that the transaction holds SQLite's write lock (which the callback path waits on) only briefly.
 */
const MESSAGES_PER_TX = 20;

/** The text of a KF message, when it has one. */
export function kfMessageText(m: KfMessage): string {
  const body = m.body as { content?: unknown } | null;
  return m.msgType === 'text' && body && typeof body.content === 'string' ? body.content : '';
}

/** A KF session that a servicer (or the system) ended, as its `session_status_change` event tells it. */
export interface KfSessionEnded {
  externalUserId: string;
  openKfId: string;
  /** The event's single-use reply code: one text within 20 s of the event; null when WeCom sent none. */
  msgCode: string | null;
  /** The event message's msgid: unique, so a repeated pull is recognised. */
  msgId: string;
  endedAt: Date;
  /** The servicer who had the session, when WeCom names one. */
  servicerUserid: string | null;
}

interface KfEventBody {
  event_type?: unknown;
  change_type?: unknown;
  msg_code?: unknown;
  old_servicer_userid?: unknown;
  new_servicer_userid?: unknown;
}

const eventBody = (m: KfMessage): KfEventBody | null => (m.msgType === 'event' && m.body && typeof m.body === 'object' ? (m.body as KfEventBody) : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * The end of a session, from a system event `session_status_change` with change_type 3
 * (docs/wecom-protocol.md §KF sessions and event replies); null for any other message.
 */
export function kfSessionEnded(m: KfMessage): KfSessionEnded | null {
  const e = eventBody(m);
  if (!e || e.event_type !== 'session_status_change' || Number(e.change_type) !== 3 || !m.externalUserId) return null;
  return { externalUserId: m.externalUserId, openKfId: m.openKfId, msgCode: str(e.msg_code), msgId: m.msgId, endedAt: m.sentAt, servicerUserid: str(e.old_servicer_userid) };
}

/** A session change's type, for the timeline entry's data (docs/wecom-protocol.md §KF sessions and event replies). */
function sessionChange(m: KfMessage): { eventType: string; changeType: number } | Record<string, never> {
  const e = eventBody(m);
  return e?.event_type === 'session_status_change' ? { eventType: 'session_status_change', changeType: Number(e.change_type) } : {};
}

/** What a session's change says, in the timeline's words (docs/wecom-protocol.md §KF sessions and event replies). */
const SESSION_CHANGES: Record<number, string> = { 1: '接待人员从待接入池接入会话', 2: '会话已转接', 3: '会话已结束', 4: '已结束的会话被重新接入' };

/** A KF message's line in the timeline. */
function kfSummary(m: KfMessage, text: string): string {
  if (text) return `微信客服：${text}`;
  const e = eventBody(m);
  if (e?.event_type === 'session_status_change') {
    const who = str(e.old_servicer_userid) ?? str(e.new_servicer_userid);
    return `微信客服：${SESSION_CHANGES[Number(e.change_type)] ?? '会话状态变更'}${who ? `（接待人员 ${who}）` : ''}`;
  }
  if (e?.event_type === 'enter_session') return '微信客服：客户进入会话';
  return `微信客服 [${m.msgType}]`;
}

/** Ports to other features, called after the messages' transaction. */
export interface KfSyncPorts {
  /** Feedback: a customer's text may open a complaint ticket (docs/feedback.md §Opening a ticket). */
  onCustomerText?: (m: { externalUserId: string; text: string; msgId: string }) => Promise<unknown>;
  /** Surveys: an ended session may get the session-end survey at once (docs/surveys.md §After a WeChat-KF session). */
  onSessionEnd?: (e: KfSessionEnded) => Promise<unknown>;
}

/**
 * Pulls WeChat-KF messages (kf_msg_or_event carries only a pull token,
 * docs/wecom-protocol.md §WeChat customer service): kf/sync_msg from the cursor persisted per open_kfid, looping while
 * has_more. Each message becomes a timeline entry (source `kf`, unique per msgid) and customer text runs the keyword
 * rules; both are idempotent, so a crash between a batch and its cursor save only repeats harmless work.
 */
export class KfSyncService {
  constructor(
    private readonly db: Db,
    private readonly cursors: KfCursorRepository,
    private readonly customers: CustomerRepository,
    private readonly timeline: TimelineRepository,
    private readonly tagRules: TagRuleService,
    private readonly wecom: WecomGateway,
    private readonly clock: Clock,
    private readonly ports: KfSyncPorts = {},
  ) {}

  /** Pull everything new for one KF account. Returns how many messages were seen. */
  async pull(openKfId: string, token?: string): Promise<number> {
    let cursor = await this.cursors.get(openKfId);
    let seen = 0;
    for (let batch = 0; batch < 10_000; batch++) {
      const res = await this.wecom.kfSyncMsg({ cursor: cursor || undefined, token, limit: 1000, openKfId });
      // A page's messages are written a chunk per transaction, not one each: a livestream brings many a second and
      // each transaction costs its own round trips and commit (docs/inbox.md §Cheap handlers).
      for (let i = 0; i < res.messages.length; i += MESSAGES_PER_TX) {
        const chunk = res.messages.slice(i, i + MESSAGES_PER_TX);
        await this.db.tx(async (em) => {
          for (const m of chunk) await this.write(em, m);
        });
        for (const m of chunk) {
          const text = kfMessageText(m);
          if (m.externalUserId && m.origin === 3 && text) {
            await this.tagRules.applyKeywordRules(m.externalUserId, text);
            // Once per msgid (the ticket's event is unique per message), so a repeated page opens nothing twice.
            if (this.ports.onCustomerText) await this.ports.onCustomerText({ externalUserId: m.externalUserId, text, msgId: m.msgId });
          }
          const onEnd = this.ports.onSessionEnd;
          const ended = onEnd ? kfSessionEnded(m) : null;
          // The survey's ledger row is unique per customer and day, so a repeated page sends nothing twice.
          if (onEnd && ended) await onEnd(ended);
        }
      }
      seen += res.messages.length;
      if (res.nextCursor) {
        cursor = res.nextCursor;
        await this.cursors.set(openKfId, cursor, this.clock.now().getTime());
      }
      if (!res.hasMore) break;
    }
    return seen;
  }

  /** One message's rows: its customer, its timeline entry, the customer's last interaction and an opt-out. */
  private async write(em: EntityManager, m: KfMessage): Promise<void> {
    const ext = m.externalUserId;
    if (!ext) return;
    const text = kfMessageText(m);
    const now = this.clock.now();
    const isFromCustomer = m.origin === 3;
    await this.customers.ensureInTx(em, ext, now.getTime());
    await this.timeline.addInTx(
      em,
      {
        externalUserId: ext,
        staffUserid: m.servicerUserId ?? null,
        kind: `kf/${m.msgType}`,
        summary: kfSummary(m, text).slice(0, 500),
        // A session's change is kept with its type: the dispatcher reads whether the conversation is open from it.
        data: { openKfId: m.openKfId, origin: m.origin, msgType: m.msgType, ...sessionChange(m) },
        source: 'kf',
        sourceId: m.msgId,
        occurredAt: m.sentAt,
      },
      now,
    );
    if (isFromCustomer) await this.customers.touchInteractionInTx(em, ext, m.sentAt.getTime());
    // "退订" stops care messages, win-back and broadcasts from now on; the planners read opted_out at send time.
    if (isFromCustomer && isOptOutRequest(text) && (await this.customers.setOptedOutInTx(em, ext, true, now.getTime()))) {
      await this.timeline.addInTx(em, consentEntry({ externalUserId: ext, isOptedOut: true, via: 'kf', staffUserid: null, sourceId: `kf:${m.msgId}`, at: m.sentAt }), now);
    }
  }
}
