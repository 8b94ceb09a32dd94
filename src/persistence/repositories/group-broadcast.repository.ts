import { execIn, type Db } from '../db.js';
import type { EntityManager } from 'typeorm';
import { NotFoundError } from '../../shared/errors.js';
import { isDuplicateKeyError } from '../data-source.js';
import { upsertManySql } from './sql-upsert.js';
import type { MessageAttachment } from '../../wecom/client/types.js';
import type {
  GroupBroadcast,
  GroupBroadcastStatus,
  GroupBroadcastTask,
  GroupFilter,
  GroupRowCounts,
  GroupTargetStatus,
  GroupTaskStatus,
  TargetGroup,
} from '../../domain/group-broadcasts/group-broadcast.types.js';

type Num = number | string;
const ms = (v: Num | null): Date | null => (v === null ? null : new Date(Number(v)));
const marks = (n: number) => Array(n).fill('?').join(', ');
// Ledger statuses whose group has not received the message yet but will (or may) use its quota.
const PENDING = "('planned', 'submitting', 'submitted')";

interface BroadcastRow {
  id: string;
  name: string;
  origin: string;
  request_key: string | null;
  text: string | null;
  attachments: string | null;
  content_ids?: string | null;
  filter: string | null;
  status: GroupBroadcastStatus;
  groups_count: Num;
  members_count: Num;
  owners_count: Num;
  created_by: string | null;
  send_at: Num;
  created_at: Num;
  updated_at: Num;
  finished_at: Num | null;
}

interface TaskRow {
  id: string;
  broadcast_id: string;
  owner: string;
  part: Num;
  status: GroupTaskStatus;
  msgid: string | null;
  groups_count: Num;
  attempts: Num;
  owner_status: Num;
  owner_sent_at: Num | null;
  not_before: Num;
  started_at: Num | null;
  submitted_at: Num | null;
  next_poll_at: Num | null;
  finished_at: Num | null;
  error: string | null;
  sent_text?: string | null;
}

function toBroadcast(r: BroadcastRow): GroupBroadcast {
  return {
    id: r.id,
    name: r.name,
    origin: r.origin,
    requestKey: r.request_key,
    text: r.text ?? '',
    attachments: r.attachments ? (JSON.parse(r.attachments) as MessageAttachment[]) : [],
    contentIds: r.content_ids ? (JSON.parse(r.content_ids) as string[]) : [],
    filter: r.filter ? (JSON.parse(r.filter) as GroupFilter) : {},
    status: r.status,
    groupsCount: Number(r.groups_count),
    membersCount: Number(r.members_count),
    ownersCount: Number(r.owners_count),
    createdBy: r.created_by,
    sendAt: new Date(Number(r.send_at)),
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
    finishedAt: ms(r.finished_at),
  };
}

function toTask(r: TaskRow): GroupBroadcastTask {
  return {
    id: r.id,
    broadcastId: r.broadcast_id,
    owner: r.owner,
    part: Number(r.part),
    status: r.status,
    msgId: r.msgid,
    groupsCount: Number(r.groups_count),
    attempts: Number(r.attempts),
    ownerStatus: Number(r.owner_status),
    ownerSentAt: ms(r.owner_sent_at),
    notBefore: new Date(Number(r.not_before)),
    startedAt: ms(r.started_at),
    submittedAt: ms(r.submitted_at),
    nextPollAt: ms(r.next_poll_at),
    finishedAt: ms(r.finished_at),
    error: r.error,
    sentText: r.sent_text ?? null,
  };
}

/** Rows per status with every status present. */
export function emptyRowCounts(): GroupRowCounts {
  // GROUP_TARGET_STATUSES, spelled out: persistence imports the domain's types only.
  const statuses: GroupTargetStatus[] = ['planned', 'submitting', 'submitted', 'sent', 'failed', 'over_quota', 'expired', 'cancelled'];
  return Object.fromEntries(statuses.map((s) => [s, 0])) as GroupRowCounts;
}

/** A new group broadcast with its tasks and its groups, written together. */
export interface NewGroupBroadcast {
  broadcast: Omit<GroupBroadcast, 'status' | 'createdAt' | 'updatedAt' | 'finishedAt'>;
  tasks: { id: string; owner: string; part: number; chats: TargetGroup[] }[];
}

/** A group's result as get_groupmsg_send_result reported it: 1 sent, 2 not sendable, 3 over the group's quota. */
export interface GroupResult {
  chatId: string;
  status: number;
  sentAt?: Date;
}

/**
 * 客户群群发's tables (migration 0052): the broadcasts, their WeCom tasks, the ledger of one row per (broadcast,
 * group), and the groups' mass-message receipts. Every task transition carries the expected current status in its
 * WHERE clause and moves the task's rows in the same transaction, so two instances never both move one task.
 */
export class GroupBroadcastRepository {
  constructor(private readonly db: Db) {}

  /** The broadcast a caller already made with this request key, or null. */
  async findByRequest(origin: string, requestKey: string): Promise<GroupBroadcast | null> {
    const [r] = await this.db.query<BroadcastRow>('SELECT * FROM group_broadcasts WHERE origin = ? AND request_key = ?', [origin, requestKey]);
    return r ? toBroadcast(r) : null;
  }

  /**
   * Write a broadcast, its tasks (planned, due at sendAt) and one ledger row per group, in one transaction. False when
   * the (origin, request key) is taken: a concurrent request made it first.
   */
  async insert(n: NewGroupBroadcast, now: Date): Promise<boolean> {
    const b = n.broadcast;
    try {
      await this.db.tx(async (em) => {
        await em.query(
          `INSERT INTO group_broadcasts (id, name, origin, request_key, text, attachments, content_ids, filter, status, groups_count, members_count, owners_count, created_by, send_at, created_at, updated_at)
           VALUES (?,?,?,?,?,?,?,?,'sending',?,?,?,?,?,?,?)`,
          [
            b.id, b.name, b.origin, b.requestKey, b.text, b.attachments.length ? JSON.stringify(b.attachments) : null, b.contentIds.length ? JSON.stringify(b.contentIds) : null, JSON.stringify(b.filter),
            b.groupsCount, b.membersCount, b.ownersCount, b.createdBy, b.sendAt.getTime(), now.getTime(), now.getTime(),
          ],
        );
        for (const t of n.tasks) {
          await em.query(
            `INSERT INTO group_broadcast_tasks (id, broadcast_id, owner, part, status, groups_count, attempts, owner_status, not_before) VALUES (?,?,?,?,'planned',?,0,0,?)`,
            [t.id, b.id, t.owner, t.part, t.chats.length, b.sendAt.getTime()],
          );
          const cols = ['broadcast_id', 'chat_id', 'task_id', 'owner', 'chat_name', 'members', 'status', 'updated_at'];
          // 200 rows × 8 values per statement stays far under SQLite's bound-parameter limit.
          for (let i = 0; i < t.chats.length; i += 200) {
            const part = t.chats.slice(i, i + 200);
            await em.query(upsertManySql(this.db.engine, 'group_broadcast_targets', cols, ['broadcast_id', 'chat_id'], [], part.length), part.flatMap((c) => [
              b.id, c.chatId, t.id, t.owner, c.name.slice(0, 200), c.members, 'planned', now.getTime(),
            ]));
          }
        }
      });
      return true;
    } catch (err) {
      if (b.requestKey && isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /** A broadcast, or NotFoundError. */
  async get(id: string): Promise<GroupBroadcast> {
    const [r] = await this.db.query<BroadcastRow>('SELECT * FROM group_broadcasts WHERE id = ?', [id]);
    if (!r) throw new NotFoundError(`群发不存在 / group broadcast ${id} not found`);
    return toBroadcast(r);
  }

  /** A page of broadcasts, newest first. */
  async list(f: { status?: GroupBroadcastStatus; page: number; pageSize: number }): Promise<{ items: GroupBroadcast[]; total: number }> {
    const where = f.status ? 'WHERE status = ?' : '';
    const params = f.status ? [f.status] : [];
    const [{ n }] = await this.db.apiRead<{ n: Num }>(`SELECT COUNT(*) AS n FROM group_broadcasts ${where}`, params);
    const rows = await this.db.apiRead<BroadcastRow>(`SELECT * FROM group_broadcasts ${where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, [
      ...params, f.pageSize, (f.page - 1) * f.pageSize,
    ]);
    return { items: rows.map(toBroadcast), total: Number(n) };
  }

  /** Ledger rows per broadcast and status. */
  async rowCounts(broadcastIds: string[]): Promise<Map<string, GroupRowCounts>> {
    const out = new Map<string, GroupRowCounts>();
    if (broadcastIds.length === 0) return out;
    const rows = await this.db.apiRead<{ broadcast_id: string; status: string; n: Num }>(
      `SELECT broadcast_id, status, COUNT(*) AS n FROM group_broadcast_targets WHERE broadcast_id IN (${marks(broadcastIds.length)}) GROUP BY broadcast_id, status`,
      broadcastIds,
    );
    for (const id of broadcastIds) out.set(id, emptyRowCounts());
    for (const r of rows) (out.get(r.broadcast_id)! as Record<string, number>)[r.status] = Number(r.n);
    return out;
  }

  /** Ledger rows per owner and status of one broadcast. */
  async rowCountsByOwner(broadcastId: string): Promise<{ owner: string; status: string; n: number }[]> {
    const rows = await this.db.apiRead<{ owner: string; status: string; n: Num }>(
      'SELECT owner, status, COUNT(*) AS n FROM group_broadcast_targets WHERE broadcast_id = ? GROUP BY owner, status',
      [broadcastId],
    );
    return rows.map((r) => ({ owner: r.owner, status: r.status, n: Number(r.n) }));
  }

  /** Some groups' ledger rows of one broadcast: status, reason, when sent. */
  async targetsOf(broadcastId: string, chatIds: string[]): Promise<{ chatId: string; status: string; reason: string | null; sentAt: Date | null }[]> {
    const out: { chatId: string; status: string; reason: string | null; sentAt: Date | null }[] = [];
    for (let i = 0; i < chatIds.length; i += 500) {
      const part = chatIds.slice(i, i + 500);
      const rows = await this.db.query<{ chat_id: string; status: string; reason: string | null; sent_at: Num | null }>(
        `SELECT chat_id, status, reason, sent_at FROM group_broadcast_targets WHERE broadcast_id = ? AND chat_id IN (${marks(part.length)})`,
        [broadcastId, ...part],
      );
      out.push(...rows.map((r) => ({ chatId: r.chat_id, status: r.status, reason: r.reason, sentAt: ms(r.sent_at) })));
    }
    return out;
  }

  /** A broadcast's tasks, by owner. */
  async tasksOf(broadcastId: string): Promise<GroupBroadcastTask[]> {
    const rows = await this.db.query<TaskRow>('SELECT * FROM group_broadcast_tasks WHERE broadcast_id = ? ORDER BY owner, part', [broadcastId]);
    return rows.map(toTask);
  }

  /** A task by id, or null. */
  async findTask(id: string): Promise<GroupBroadcastTask | null> {
    const [r] = await this.db.query<TaskRow>('SELECT * FROM group_broadcast_tasks WHERE id = ?', [id]);
    return r ? toTask(r) : null;
  }

  /** The chat ids of a task's rows in one status. */
  async chatsOfTask(taskId: string, status: string): Promise<string[]> {
    const rows = await this.db.query<{ chat_id: string }>('SELECT chat_id FROM group_broadcast_targets WHERE task_id = ? AND status = ? ORDER BY chat_id', [taskId, status]);
    return rows.map((r) => r.chat_id);
  }

  /** Planned tasks due at `now` (of broadcasts still sending), oldest first. */
  async dueTasks(now: Date, limit: number): Promise<GroupBroadcastTask[]> {
    const rows = await this.db.query<TaskRow>(
      `SELECT t.* FROM group_broadcast_tasks t JOIN group_broadcasts b ON b.id = t.broadcast_id
       WHERE t.status = 'planned' AND t.not_before <= ? AND b.status = 'sending' ORDER BY t.not_before, t.id LIMIT ?`,
      [now.getTime(), limit],
    );
    return rows.map(toTask);
  }

  /**
   * planned → submitting, with its planned rows, before the WeCom call, keeping the text the call carries
   * (`sentText`, what reconciliation matches). False when another instance took it. The rows the call is about are
   * read back after the move, so they are exactly this attempt's.
   */
  async openTask(taskId: string, instanceId: string, now: Date, sentText: string): Promise<string[] | null> {
    return this.db.tx(async (em) => {
      const moved = await execIn(
        em,
        `UPDATE group_broadcast_tasks SET status = 'submitting', started_at = ?, attempts = attempts + 1, instance_id = ?, error = NULL, sent_text = ? WHERE id = ? AND status = 'planned'`,
        [now.getTime(), instanceId, sentText, taskId],
      );
      if (moved === 0) return null;
      await em.query("UPDATE group_broadcast_targets SET status = 'submitting', updated_at = ? WHERE task_id = ? AND status = 'planned'", [now.getTime(), taskId]);
      const rows = (await em.query("SELECT chat_id FROM group_broadcast_targets WHERE task_id = ? AND status = 'submitting' ORDER BY chat_id", [taskId])) as { chat_id: string }[];
      return rows.map((r) => r.chat_id);
    });
  }

  /** WeCom accepted the task: keep its msgid; groups in `failList` fail with `failReason`. */
  async markSubmitted(taskId: string, msgId: string, failList: string[], failReason: string, now: Date, nextPollAt: Date): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(`UPDATE group_broadcast_tasks SET status = 'submitted', msgid = ?, submitted_at = ?, next_poll_at = ? WHERE id = ? AND status = 'submitting'`, [
        msgId, now.getTime(), nextPollAt.getTime(), taskId,
      ]);
      if (failList.length) {
        await em.query(`UPDATE group_broadcast_targets SET status = 'failed', reason = ?, updated_at = ? WHERE task_id = ? AND status = 'submitting' AND chat_id IN (${marks(failList.length)})`, [
          failReason.slice(0, 200), now.getTime(), taskId, ...failList,
        ]);
      }
      await em.query("UPDATE group_broadcast_targets SET status = 'submitted', updated_at = ? WHERE task_id = ? AND status = 'submitting'", [now.getTime(), taskId]);
    });
  }

  /** The call certainly did not take effect: task and rows go back to planned for the next dispatch. */
  async backToPlanned(taskId: string, error: string, now: Date): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(`UPDATE group_broadcast_tasks SET status = 'planned', error = ? WHERE id = ? AND status = 'submitting'`, [error.slice(0, 400), taskId]);
      await em.query("UPDATE group_broadcast_targets SET status = 'planned', updated_at = ? WHERE task_id = ? AND status = 'submitting'", [now.getTime(), taskId]);
    });
  }

  /**
   * A planned task that cannot be submitted now (its 素材库 items are not ready): one attempt is counted and it waits
   * until `notBefore`. False when it was no longer planned (another instance took it).
   */
  async deferPlanned(taskId: string, reason: string, notBefore: Date): Promise<boolean> {
    return (await this.db.exec(`UPDATE group_broadcast_tasks SET attempts = attempts + 1, not_before = ?, error = ? WHERE id = ? AND status = 'planned'`, [notBefore.getTime(), reason.slice(0, 400), taskId])) > 0;
  }

  /** A planned task given up before any WeCom call: it and its planned rows fail with the reason. */
  async failPlanned(taskId: string, reason: string, now: Date): Promise<void> {
    await this.db.tx(async (em) => {
      if ((await execIn(em, `UPDATE group_broadcast_tasks SET status = 'failed', attempts = attempts + 1, error = ?, finished_at = ? WHERE id = ? AND status = 'planned'`, [reason.slice(0, 400), now.getTime(), taskId])) === 0) return;
      await em.query("UPDATE group_broadcast_targets SET status = 'failed', reason = ?, updated_at = ? WHERE task_id = ? AND status = 'planned'", [reason.slice(0, 200), now.getTime(), taskId]);
    });
  }

  /** WeCom refused the task for good: it and its rows fail with the reason. */
  async failTask(taskId: string, reason: string, now: Date): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(`UPDATE group_broadcast_tasks SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status = 'submitting'`, [reason.slice(0, 400), now.getTime(), taskId]);
      await em.query("UPDATE group_broadcast_targets SET status = 'failed', reason = ?, updated_at = ? WHERE task_id = ? AND status = 'submitting'", [reason.slice(0, 200), now.getTime(), taskId]);
    });
  }

  /** Tasks left `submitting` since before `before`: their process may have died mid-call. */
  async staleSubmitting(before: Date, limit = 100): Promise<GroupBroadcastTask[]> {
    const rows = await this.db.query<TaskRow>("SELECT * FROM group_broadcast_tasks WHERE status = 'submitting' AND started_at < ? ORDER BY started_at LIMIT ?", [before.getTime(), limit]);
    return rows.map(toTask);
  }

  /** Whether a task already owns a WeCom msgid. */
  async isMsgIdKnown(msgId: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 AS x FROM group_broadcast_tasks WHERE msgid = ?', [msgId])).length > 0;
  }

  /** Submitted tasks due a result poll. */
  async tasksToPoll(now: Date, limit = 100): Promise<GroupBroadcastTask[]> {
    const rows = await this.db.query<TaskRow>("SELECT * FROM group_broadcast_tasks WHERE status = 'submitted' AND next_poll_at <= ? ORDER BY next_poll_at LIMIT ?", [now.getTime(), limit]);
    return rows.map(toTask);
  }

  /** The owner sent the task from 群发助手 (get_groupmsg_task). */
  async markOwnerSent(taskId: string, sentAt: Date | null): Promise<void> {
    await this.db.query('UPDATE group_broadcast_tasks SET owner_status = 1, owner_sent_at = COALESCE(owner_sent_at, ?) WHERE id = ?', [sentAt?.getTime() ?? null, taskId]);
  }

  /** Apply per-group results to a task's submitted rows: 1 sent, 2 failed, 3 over_quota (0 stays submitted). */
  async applyResults(taskId: string, results: GroupResult[], now: Date): Promise<void> {
    await this.db.tx(async (em) => {
      for (const r of results) {
        const status = r.status === 1 ? 'sent' : r.status === 3 ? 'over_quota' : r.status === 2 ? 'failed' : null;
        if (!status) continue;
        const reason =
          r.status === 3 ? 'wecom_quota: 该群本期群发额度已用完 / the group’s mass-message quota is used up' : r.status === 2 ? 'not_sendable: 群已解散或不在群主名下 / the group is gone or no longer the owner’s' : null;
        await em.query(`UPDATE group_broadcast_targets SET status = ?, reason = ?, sent_at = ?, updated_at = ? WHERE task_id = ? AND chat_id = ? AND status = 'submitted'`, [
          status, reason, r.status === 1 ? (r.sentAt ?? now).getTime() : null, now.getTime(), taskId, r.chatId,
        ]);
      }
    });
  }

  /** The rows still waiting for a result expire (the owner never sent the task, or it was cancelled). */
  async expireTask(taskId: string, reason: string, now: Date): Promise<number> {
    return this.db.tx(async (em) => {
      const n = await execIn(em, "UPDATE group_broadcast_targets SET status = 'expired', reason = ?, updated_at = ? WHERE task_id = ? AND status IN ('planned', 'submitted')", [
        reason.slice(0, 200), now.getTime(), taskId,
      ]);
      await em.query("UPDATE group_broadcast_tasks SET status = 'done', next_poll_at = NULL, finished_at = ? WHERE id = ? AND status IN ('planned', 'submitted')", [now.getTime(), taskId]);
      return n;
    });
  }

  /** Whether any of a task's rows still waits for its result. */
  async hasWaitingRows(taskId: string): Promise<boolean> {
    return (await this.db.query("SELECT 1 AS x FROM group_broadcast_targets WHERE task_id = ? AND status = 'submitted' LIMIT 1", [taskId])).length > 0;
  }

  /** Poll again at `nextPollAt`, or finish the task (null). */
  async updatePoll(taskId: string, nextPollAt: Date | null, now: Date): Promise<void> {
    if (nextPollAt) await this.db.query('UPDATE group_broadcast_tasks SET next_poll_at = ? WHERE id = ?', [nextPollAt.getTime(), taskId]);
    else await this.db.query("UPDATE group_broadcast_tasks SET status = 'done', next_poll_at = NULL, finished_at = ? WHERE id = ? AND status = 'submitted'", [now.getTime(), taskId]);
  }

  /** Sending broadcasts whose every row is final become done. */
  async finishDelivered(now: Date): Promise<number> {
    return this.db.exec(
      `UPDATE group_broadcasts SET status = 'done', finished_at = ?, updated_at = ? WHERE status = 'sending' AND NOT EXISTS (
         SELECT 1 FROM group_broadcast_targets t WHERE t.broadcast_id = group_broadcasts.id AND t.status IN ${PENDING})`,
      [now.getTime(), now.getTime()],
    );
  }

  /** sending → cancelled; its planned rows are cancelled with it (how many). Null when it was not sending. */
  async cancel(id: string, now: Date): Promise<number | null> {
    return this.db.tx(async (em) => {
      if ((await execIn(em, "UPDATE group_broadcasts SET status = 'cancelled', finished_at = ?, updated_at = ? WHERE id = ? AND status = 'sending'", [now.getTime(), now.getTime(), id])) === 0) return null;
      return this.cancelPlannedIn(em, id, now);
    });
  }

  /**
   * A cancelled broadcast's rows still planned (a task whose call was in flight at the cancel and went back to
   * planned) are cancelled too; how many.
   */
  async cancelPlanned(id: string, now: Date): Promise<number> {
    return this.db.tx((em) => this.cancelPlannedIn(em, id, now));
  }

  private async cancelPlannedIn(em: EntityManager, id: string, now: Date): Promise<number> {
    const n = await execIn(em, "UPDATE group_broadcast_targets SET status = 'cancelled', reason = 'cancelled: 群发已取消 / cancelled', updated_at = ? WHERE broadcast_id = ? AND status = 'planned'", [now.getTime(), id]);
    await em.query("UPDATE group_broadcast_tasks SET status = 'done', finished_at = ? WHERE broadcast_id = ? AND status = 'planned'", [now.getTime(), id]);
    return n;
  }

  /**
   * A task withdrawn in WeCom (cancel_groupmsg_send) before its owner sent it: its rows waiting for the owner are
   * cancelled and it is polled no more. How many rows.
   */
  async withdrawTask(taskId: string, now: Date): Promise<number> {
    return this.db.tx(async (em) => {
      const n = await execIn(em, "UPDATE group_broadcast_targets SET status = 'cancelled', reason = 'cancelled: 群发已取消，任务已撤回 / cancelled and withdrawn', updated_at = ? WHERE task_id = ? AND status IN ('planned', 'submitted')", [
        now.getTime(), taskId,
      ]);
      await em.query("UPDATE group_broadcast_tasks SET status = 'done', next_poll_at = NULL, finished_at = ? WHERE id = ? AND status IN ('planned', 'submitted')", [now.getTime(), taskId]);
      return n;
    });
  }

  /** Record mass messages groups received (already known ones are left alone). */
  async addReceipts(rows: { chatId: string; msgId: string; createType: number; sender: string | null; sentAt: Date }[]): Promise<void> {
    const cols = ['chat_id', 'msgid', 'create_type', 'sender', 'sent_at'];
    for (let i = 0; i < rows.length; i += 500) {
      const part = rows.slice(i, i + 500);
      await this.db.query(upsertManySql(this.db.engine, 'group_msg_receipts', cols, ['chat_id', 'msgid'], [], part.length), part.flatMap((r) => [r.chatId, r.msgId, r.createType, r.sender, r.sentAt.getTime()]));
    }
  }

  /** Whether some group's receipt of this message is already recorded. */
  async hasReceipts(msgId: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 AS x FROM group_msg_receipts WHERE msgid = ? LIMIT 1', [msgId])).length > 0;
  }

  /** Per group, the mass messages it received in [start, end). */
  async receiptsIn(chatIds: string[], start: Date, end: Date): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < chatIds.length; i += 500) {
      const part = chatIds.slice(i, i + 500);
      const rows = await this.db.query<{ chat_id: string; n: Num }>(
        `SELECT chat_id, COUNT(*) AS n FROM group_msg_receipts WHERE chat_id IN (${marks(part.length)}) AND sent_at >= ? AND sent_at < ? GROUP BY chat_id`,
        [...part, start.getTime(), end.getTime()],
      );
      for (const r of rows) out.set(r.chat_id, Number(r.n));
    }
    return out;
  }

  /**
   * Per group, our broadcasts' rows not yet received (planned, being submitted, or waiting for the owner): each will
   * use a quota slot when its owner sends it.
   */
  async pendingOf(chatIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < chatIds.length; i += 500) {
      const part = chatIds.slice(i, i + 500);
      const rows = await this.db.query<{ chat_id: string; n: Num }>(
        `SELECT chat_id, COUNT(*) AS n FROM group_broadcast_targets WHERE chat_id IN (${marks(part.length)}) AND status IN ${PENDING} GROUP BY chat_id`,
        part,
      );
      for (const r of rows) out.set(r.chat_id, Number(r.n));
    }
    return out;
  }

  /** Names and owners of groups, for the quota list. */
  async groupsNamed(chatIds: string[]): Promise<Map<string, { name: string; owner: string }>> {
    const out = new Map<string, { name: string; owner: string }>();
    for (let i = 0; i < chatIds.length; i += 500) {
      const part = chatIds.slice(i, i + 500);
      const rows = await this.db.query<{ chat_id: string; name: string; owner: string | null }>(`SELECT chat_id, name, owner FROM group_chats WHERE chat_id IN (${marks(part.length)})`, part);
      for (const r of rows) out.set(r.chat_id, { name: r.name, owner: r.owner ?? '' });
    }
    return out;
  }
}
