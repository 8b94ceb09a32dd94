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
    /** Port to feedback: a customer's text, after its transaction, may open a complaint ticket (docs/feedback.md §Opening a ticket). */
    private readonly onCustomerText?: (m: { externalUserId: string; text: string; msgId: string }) => Promise<unknown>,
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
            if (this.onCustomerText) await this.onCustomerText({ externalUserId: m.externalUserId, text, msgId: m.msgId });
          }
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
        summary: (text ? `微信客服：${text}` : `微信客服 [${m.msgType}]`).slice(0, 500),
        data: { openKfId: m.openKfId, origin: m.origin, msgType: m.msgType },
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
