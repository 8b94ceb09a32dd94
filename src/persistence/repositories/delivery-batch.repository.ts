import type { Db } from '../db.js';
import { newId } from '../../shared/ids.js';
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { BatchStatus, Delivery, DeliveryBatch, DeliveryChannel, NewDeliveryBatch } from '../../domain/delivery/delivery.types.js';
import { batchRows } from './delivery.repository.js';

interface BatchRow {
  id: string;
  channel: DeliveryChannel;
  sender_userid: string | null;
  text: string | null;
  attachments: string | null;
  status: BatchStatus;
  msgid: string | null;
  recipients: number | string;
  instance_id: string;
  created_at: number | string;
  submitted_at: number | string | null;
  next_poll_at: number | string | null;
  finished_at: number | string | null;
  error: string | null;
}

const ms = (v: number | string | null): Date | null => (v === null ? null : new Date(Number(v)));

function toBatch(r: BatchRow): DeliveryBatch {
  return {
    id: r.id,
    channel: r.channel,
    senderUserid: r.sender_userid,
    text: r.text ?? '',
    attachments: r.attachments ? (JSON.parse(r.attachments) as MessageAttachment[]) : [],
    status: r.status,
    msgId: r.msgid,
    recipients: Number(r.recipients),
    instanceId: r.instance_id,
    createdAt: new Date(Number(r.created_at)),
    submittedAt: ms(r.submitted_at),
    nextPollAt: ms(r.next_poll_at),
    finishedAt: ms(r.finished_at),
    error: r.error,
  };
}

/**
 * The WeCom batches of the delivery ledger (`delivery_batches`): one WeCom call covering a chunk of ledger rows. A
 * batch and its rows change together, so each transition below moves the batch's rows (`batchRows`, in the ledger's
 * repository) in the same transaction. Every status change carries the expected current status in its WHERE clause,
 * so concurrent dispatchers on several instances never both move the same batch.
 */
export class DeliveryBatchRepository {
  constructor(private readonly db: Db) {}

  /**
   * Create a `submitting` batch and move the given planned rows into it, in one transaction. Only rows still
   * `planned` move (another dispatcher may have taken some), so the returned rows are exactly this batch's.
   */
  async openBatch(input: NewDeliveryBatch, deliveryIds: number[], now: Date): Promise<{ batch: DeliveryBatch; deliveries: Delivery[] } | null> {
    const id = newId(now.getTime());
    return this.db.tx(async (em) => {
      const moved = await batchRows.moveIn(em, deliveryIds, id, now);
      if (moved === 0) return null;
      await em.query(
        `INSERT INTO delivery_batches (id, channel, sender_userid, text, attachments, status, recipients, instance_id, created_at)
         VALUES (?,?,?,?,?,'submitting',?,?,?)`,
        [id, input.channel, input.senderUserid, input.text, input.attachments.length ? JSON.stringify(input.attachments) : null, moved, input.instanceId, now.getTime()],
      );
      const deliveries = await batchRows.ofBatch(em, id);
      const [b] = (await em.query('SELECT * FROM delivery_batches WHERE id = ?', [id])) as BatchRow[];
      return { batch: toBatch(b), deliveries };
    });
  }

  /**
   * WeCom accepted a mass task: store its msgid; `failList` customers are failed (`fail_list`,
   * docs/wecom-protocol.md §Mass messages).
   */
  async markBatchSubmitted(batchId: string, msgId: string, failList: string[], now: Date, nextPollAt: Date): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(`UPDATE delivery_batches SET status = 'submitted', msgid = ?, submitted_at = ?, next_poll_at = ? WHERE id = ? AND status = 'submitting'`, [
        msgId, now.getTime(), nextPollAt.getTime(), batchId,
      ]);
      await batchRows.submitted(em, batchId, msgId, failList, now);
    });
  }

  /** A message with no later confirmation (app message, KF) went out: the batch and its rows are done. */
  async markBatchSent(batchId: string, msgId: string | null, now: Date): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(`UPDATE delivery_batches SET status = 'done', msgid = ?, submitted_at = ?, finished_at = ? WHERE id = ? AND status = 'submitting'`, [
        msgId, now.getTime(), now.getTime(), batchId,
      ]);
      await batchRows.sent(em, batchId, msgId, now);
    });
  }

  /** The call certainly did not reach WeCom: the rows go back to `planned` for the next dispatch. */
  async abandonBatch(batchId: string, error: string, now: Date): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(`UPDATE delivery_batches SET status = 'abandoned', error = ?, finished_at = ? WHERE id = ? AND status = 'submitting'`, [
        error.slice(0, 4000), now.getTime(), batchId,
      ]);
      await batchRows.backToPlanned(em, batchId, now);
    });
  }

  /** WeCom refused the call for good (a business errcode): the rows fail with the reason. */
  async failBatch(batchId: string, reason: string, now: Date): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(`UPDATE delivery_batches SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status = 'submitting'`, [
        reason.slice(0, 4000), now.getTime(), batchId,
      ]);
      await batchRows.failed(em, batchId, reason, now);
    });
  }

  /** Batches left `submitting` since before `before`: their process may have died mid-call. */
  async findStaleSubmitting(before: Date, limit = 100): Promise<DeliveryBatch[]> {
    const rows = await this.db.query<BatchRow>("SELECT * FROM delivery_batches WHERE status = 'submitting' AND created_at < ? ORDER BY created_at LIMIT ?", [
      before.getTime(), limit,
    ]);
    return rows.map(toBatch);
  }

  /** Whether some batch already owns a WeCom msgid. */
  async isMsgIdKnown(msgId: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 AS x FROM delivery_batches WHERE msgid = ?', [msgId])).length > 0;
  }

  /** Mass-task batches due for a result poll. */
  async findBatchesToPoll(now: Date, limit = 100): Promise<DeliveryBatch[]> {
    const rows = await this.db.query<BatchRow>(
      "SELECT * FROM delivery_batches WHERE status = 'submitted' AND next_poll_at <= ? ORDER BY next_poll_at LIMIT ?",
      [now.getTime(), limit],
    );
    return rows.map(toBatch);
  }

  /** A batch by id. */
  async findBatch(batchId: string): Promise<DeliveryBatch | null> {
    const [r] = await this.db.query<BatchRow>('SELECT * FROM delivery_batches WHERE id = ?', [batchId]);
    return r ? toBatch(r) : null;
  }

  /** Schedule the next poll, or finish the batch when nothing is pending. */
  async updateBatchPoll(batchId: string, nextPollAt: Date | null, now: Date): Promise<void> {
    if (nextPollAt) {
      await this.db.query('UPDATE delivery_batches SET next_poll_at = ? WHERE id = ?', [nextPollAt.getTime(), batchId]);
    } else {
      await this.db.query("UPDATE delivery_batches SET status = 'done', finished_at = ?, next_poll_at = NULL WHERE id = ? AND status = 'submitted'", [now.getTime(), batchId]);
    }
  }
}
