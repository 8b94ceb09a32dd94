import type { BroadcastRepository } from '../../persistence/repositories/broadcast.repository.js';
import type { BroadcastReminderRepository } from '../../persistence/repositories/broadcast-reminder.repository.js';
import type { DeliveryBatchRepository } from '../../persistence/repositories/delivery-batch.repository.js';
import type { DeliveryRepository } from '../../persistence/repositories/delivery.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import { localParts } from '../../shared/dates.js';
import { ConflictError, WecomApiError, toError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { RemindOutcome } from './broadcast.types.js';
import { isTaskSent } from './broadcast.service.js';

/** WeCom's limit: 3 reminders per task per 24 hours, 41094 past it (docs/wecom-protocol.md §Reminding members of a mass message). */
export const REMINDS_PER_DAY = 3;
const DAY_MS = 24 * 60 * 60 * 1000;
const ERR_REMIND_TOO_OFTEN = 41094;

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * 提醒成员群发: remind_groupmsg_send for each of a broadcast's tasks still waiting for its member in 群发助手, or one
 * member's. Keeps to WeCom's 3 per task per 24 h with its own record (a reminder past it is not sent) and checks each
 * task with get_groupmsg_task first, since the ledger learns of a confirmation only at the next result poll.
 */
export class BroadcastRemindService {
  constructor(
    private readonly broadcasts: BroadcastRepository,
    private readonly deliveries: DeliveryRepository,
    private readonly batches: DeliveryBatchRepository,
    private readonly reminders: BroadcastReminderRepository,
    private readonly wecom: WecomGateway,
    private readonly clock: Clock,
    private readonly tz: string,
    private readonly log: Logger,
  ) {}

  /** Remind the members (or `userid` alone) of a sending broadcast's unconfirmed tasks; 409 when it is not sending. */
  async remind(broadcastId: string, opts: { userid?: string; requestedBy: string }): Promise<RemindOutcome> {
    const b = await this.broadcasts.get(broadcastId);
    if (b.status !== 'sending') {
      throw new ConflictError('群发不在发送中（未开始、已取消或已结束），没有可提醒的任务 / only a sending broadcast has tasks to remind', 'broadcast_not_sending');
    }
    const out: RemindOutcome = { remindedTasks: 0, remindedMembers: [], confirmedTasks: 0, limitedTasks: 0, failedTasks: 0, nextAllowedAt: null, message: '' };
    const waiting = await this.deliveries.waitingTasksOfBroadcast(broadcastId, opts.userid);
    const tasks: RemindableTask[] = [];
    for (const w of waiting) {
      const batch = await this.batches.findBatch(w.batchId);
      // Still being submitted, or already finished: nothing in 群发助手 to remind of.
      if (batch?.status === 'submitted' && batch.msgId) tasks.push({ batchId: w.batchId, msgId: batch.msgId, sender: w.sender });
    }
    Object.assign(out, await remindTasks(tasks, { broadcastId, requestedBy: opts.requestedBy }, { wecom: this.wecom, reminders: this.reminders, clock: this.clock, log: this.log }));
    out.message = describeReminders(out, tasks.length, this.tz);
    this.log.info({ broadcastId, userid: opts.userid, ...out, message: undefined }, 'broadcast reminders sent');
    return out;
  }
}

/** A WeCom mass task waiting for its member: its id in the bot (a ledger batch or a group broadcast task), msgid and member. */
export interface RemindableTask {
  batchId: string;
  msgId: string;
  sender: string;
}

/**
 * 提醒成员群发 for tasks waiting in 群发助手, under WeCom's rules
 * (docs/wecom-protocol.md §Reminding members of a mass message): a task already reminded 3 times in 24 h by the bot is not reminded (and says when it may be again), a
 * task its member has sent meanwhile is skipped (get_groupmsg_task), a 41094 counts as limited; every reminder is
 * recorded in `broadcast_reminders` under `record.broadcastId`. Shared by broadcasts and group broadcasts.
 */
export async function remindTasks(
  tasks: RemindableTask[],
  record: { broadcastId: string; requestedBy: string },
  deps: { wecom: WecomGateway; reminders: BroadcastReminderRepository; clock: Clock; log: Logger },
): Promise<Omit<RemindOutcome, 'message'>> {
  const out: Omit<RemindOutcome, 'message'> = { remindedTasks: 0, remindedMembers: [], confirmedTasks: 0, limitedTasks: 0, failedTasks: 0, nextAllowedAt: null };
  const now = deps.clock.now();
  const recent = await deps.reminders.sinceByMsgid(tasks.map((t) => t.msgId), new Date(now.getTime() - DAY_MS));
  const members = new Set<string>();
  let nextAllowed: number | null = null;
  for (const t of tasks) {
    const times = recent.get(t.msgId) ?? [];
    if (times.length >= REMINDS_PER_DAY) {
      out.limitedTasks += 1;
      const at = times[times.length - REMINDS_PER_DAY].getTime() + DAY_MS;
      nextAllowed = nextAllowed === null ? at : Math.min(nextAllowed, at);
      continue;
    }
    try {
      if (await isTaskSent(deps.wecom, t.msgId, t.sender)) {
        out.confirmedTasks += 1;
        continue;
      }
      await deps.wecom.remindGroupMsgSend(t.msgId);
      await deps.reminders.insert({ broadcastId: record.broadcastId, batchId: t.batchId, msgId: t.msgId, senderUserid: t.sender, requestedBy: record.requestedBy, remindedAt: deps.clock.now() });
      out.remindedTasks += 1;
      members.add(t.sender);
    } catch (err) {
      // Reminded elsewhere (another instance, WeCom's own console): WeCom's count is the one that holds.
      if (err instanceof WecomApiError && err.errcode === ERR_REMIND_TOO_OFTEN) {
        out.limitedTasks += 1;
        continue;
      }
      out.failedTasks += 1;
      deps.log.warn({ err: toError(err), broadcastId: record.broadcastId, batchId: t.batchId }, 'reminding a mass task failed');
    }
  }
  out.remindedMembers = [...members].sort();
  out.nextAllowedAt = nextAllowed === null ? null : new Date(nextAllowed).toISOString();
  return out;
}

/** The zh-CN sentence the console shows after a reminder of `tasks` tasks. */
export function describeReminders(o: Omit<RemindOutcome, 'message'>, tasks: number, tz: string): string {
  if (tasks === 0) return '没有等待成员确认的群发任务，无需提醒';
  const parts: string[] = [];
  if (o.remindedTasks > 0) parts.push(`已提醒 ${o.remindedMembers.length} 位成员在群发助手中确认发送（${o.remindedTasks} 个任务）`);
  if (o.confirmedTasks > 0) parts.push(`${o.confirmedTasks} 个任务成员已发送，无需提醒`);
  if (o.limitedTasks > 0) {
    let s = `${o.limitedTasks} 个任务 24 小时内已提醒 ${REMINDS_PER_DAY} 次（企业微信上限）`;
    if (o.nextAllowedAt) {
      const p = localParts(new Date(o.nextAllowedAt), tz);
      s += `，${p.month} 月 ${p.day} 日 ${pad(p.hour)}:${pad(p.minute)} 后可再提醒`;
    }
    parts.push(s);
  }
  if (o.failedTasks > 0) parts.push(`${o.failedTasks} 个任务提醒失败，请稍后重试`);
  return `${parts.join('；')}。`;
}
