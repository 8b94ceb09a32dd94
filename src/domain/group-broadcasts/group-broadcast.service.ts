import type { GroupBroadcastRepository } from '../../persistence/repositories/group-broadcast.repository.js';
import { emptyRowCounts } from '../../persistence/repositories/group-broadcast.repository.js';
import type { BroadcastReminderRepository } from '../../persistence/repositories/broadcast-reminder.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ConflictError, ValidationError, WecomApiError, invalidField, toError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import { fitsByteLimit, listVariables, WECOM_TEXT_MAX_BYTES } from '../../shared/template.js';
import { SEND_AT_GRACE_MS } from '../broadcasts/broadcast-rules.js';
import { describeReminders, remindTasks, REMINDS_PER_DAY } from '../broadcasts/broadcast-remind.service.js';
import type { RemindOutcome } from '../broadcasts/broadcast.types.js';
import { isTaskSent } from '../broadcasts/broadcast.service.js';
import type { GroupQuotaService } from './group-quota.service.js';
import type { GroupChatRepository } from '../../persistence/repositories/group-chat.repository.js';
import type { GroupPostOutcome } from '../group-sop/group-sop.types.js';
import type {
  GroupBroadcast,
  GroupContentPort,
  GroupBroadcastInput,
  GroupBroadcastOrigin,
  GroupBroadcastPreview,
  GroupBroadcastStatus,
  GroupBroadcastView,
  GroupCancelOutcome,
  GroupFilter,
  GroupOwnerProgress,
  GroupRowCounts,
  TargetGroup,
} from './group-broadcast.types.js';

/** add_msg_template takes at most 2000 chat ids per call (docs/wecom-protocol.md §Mass messages). */
export const MAX_CHATS_PER_TASK = 2000;
const DAY_MS = 86_400_000;
/** The origin of broadcasts a group SOP post step makes; its request key is the fire's (postKey). */
const SOP_ORIGIN = 'sop';
/** cancel_groupmsg_send on a task already cancelled (docs/wecom-protocol.md §Mass message results). */
const ERR_ALREADY_CANCELLED = 41093;

/**
 * Groups whose owner is in post (0 normal, 3 inherited by a new owner): a resigned owner's groups (1, 2) cannot be
 * sent to by them (docs/wecom-protocol.md §Customer groups). A filter naming statuses overrides it.
 */
const SENDABLE_STATUSES = [0, 3];

/** What create answers: the broadcast, and whether it already existed (the same request key again). */
export interface SubmittedGroupBroadcast extends GroupBroadcastView {
  isExisting: boolean;
}

/**
 * 客户群群发 (docs/groups.md §Group broadcasts): choose groups by owner, local label, name and member count, preview
 * them with the quota they would use, and create a broadcast: its ledger rows (one per group) and one WeCom task per
 * owner are written at once; GroupBroadcastSender submits the tasks when due. A group SOP step submits through
 * `submit` with its own request key.
 */
export class GroupBroadcastService {
  constructor(
    private readonly repo: GroupBroadcastRepository,
    private readonly groupChats: Pick<GroupChatRepository, 'matching'>,
    private readonly quota: GroupQuotaService,
    private readonly reminders: BroadcastReminderRepository,
    private readonly wecom: WecomGateway,
    private readonly staffNames: (userids: string[]) => Promise<Map<string, string>>,
    private readonly clock: Clock,
    private readonly tz: string,
    private readonly log: Logger,
    private readonly content?: Pick<GroupContentPort, 'check' | 'countUse'>,
  ) {}

  /** The groups a filter selects now. */
  async groups(filter: GroupFilter): Promise<TargetGroup[]> {
    const found = await this.groupChats.matching({ ...filter, statuses: filter.statuses ?? SENDABLE_STATUSES });
    // A group with no owner on record (an event not yet re-read) has nobody to send it.
    return found
      .filter((g) => g.owner)
      .map((g) => ({ chatId: g.chatId, name: g.name, owner: g.owner!, members: g.memberCount, customers: g.externalCount }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.chatId.localeCompare(b.chatId));
  }

  /** How many groups, members, owners (tasks) a filter selects, and what one more send does to their quota. */
  async preview(filter: GroupFilter): Promise<GroupBroadcastPreview> {
    const groups = await this.groups(filter);
    const byOwner = new Map<string, { groups: number; members: number }>();
    for (const g of groups) {
      const o = byOwner.get(g.owner) ?? { groups: 0, members: 0 };
      o.groups += 1;
      o.members += g.members;
      byOwner.set(g.owner, o);
    }
    const names = await this.staffNames([...byOwner.keys()]);
    return {
      groups: groups.length,
      members: groups.reduce((n, g) => n + g.members, 0),
      customers: groups.reduce((n, g) => n + g.customers, 0),
      owners: [...byOwner].map(([userid, o]) => ({ userid, name: names.get(userid) ?? userid, ...o })).sort((a, b) => b.groups - a.groups || a.userid.localeCompare(b.userid)),
      tasks: [...byOwner.values()].reduce((n, o) => n + Math.ceil(o.groups / MAX_CHATS_PER_TASK), 0),
      sample: groups.slice(0, 20),
      quota: await this.quota.forecast({ chatIds: groups.map((g) => g.chatId) }),
    };
  }

  /** An operator's broadcast from the console. */
  create(input: GroupBroadcastInput, createdBy: string | null): Promise<SubmittedGroupBroadcast> {
    return this.submit(input, { origin: 'console', requestKey: null, createdBy });
  }

  /**
   * Create a group broadcast: the groups the filter selects now, one ledger row each, one task per owner (per 2000 of
   * their groups). With a request key, the same (origin, key) again answers the broadcast already made and sends
   * nothing new: a group SOP step retried after a crash does not post twice. 400 for an empty or over-long text, a
   * time in the past, or a filter that selects no group.
   */
  async submit(input: GroupBroadcastInput, origin: GroupBroadcastOrigin): Promise<SubmittedGroupBroadcast> {
    if (origin.requestKey) {
      const existing = await this.repo.findByRequest(origin.origin, origin.requestKey);
      if (existing) return { ...(await this.view(existing)), isExisting: true };
    }
    const now = this.clock.now();
    const sendAt = input.sendAt ? new Date(input.sendAt) : now;
    if (sendAt.getTime() < now.getTime() - SEND_AT_GRACE_MS) throw new ValidationError('发送时间已过 / sendAt is in the past', { fields: { sendAt: '发送时间已过' } }, 'send_at_in_past');
    const contentIds = input.message.contentIds ?? [];
    await this.checkMessage(input.message.text, input.message.attachments.length, contentIds);
    const groups = await this.groups(input.filter);
    if (groups.length === 0) throw new ValidationError('没有符合条件的客户群 / no group matches the filter', { fields: { filter: '没有符合条件的客户群' } }, 'no_groups');
    const byOwner = new Map<string, TargetGroup[]>();
    for (const g of groups) byOwner.set(g.owner, [...(byOwner.get(g.owner) ?? []), g]);
    const tasks = [...byOwner].flatMap(([owner, chats]) =>
      Array.from({ length: Math.ceil(chats.length / MAX_CHATS_PER_TASK) }, (_, part) => ({
        id: newId(now.getTime()),
        owner,
        part,
        chats: chats.slice(part * MAX_CHATS_PER_TASK, (part + 1) * MAX_CHATS_PER_TASK),
      })),
    );
    const id = newId(now.getTime());
    const inserted = await this.repo.insert(
      {
        broadcast: {
          id,
          name: input.name,
          origin: origin.origin,
          requestKey: origin.requestKey ?? null,
          text: input.message.text,
          attachments: input.message.attachments,
          contentIds,
          filter: input.filter,
          groupsCount: groups.length,
          membersCount: groups.reduce((n, g) => n + g.members, 0),
          ownersCount: byOwner.size,
          createdBy: origin.createdBy,
          sendAt,
        },
        tasks,
      },
      now,
    );
    if (!inserted) {
      // A concurrent request with the same key won the UNIQUE key: answer its broadcast.
      const existing = await this.repo.findByRequest(origin.origin, origin.requestKey!);
      if (existing) return { ...(await this.view(existing)), isExisting: true };
      throw new ConflictError('群发正在创建，请重试 / the broadcast is being created; try again', 'group_broadcast_busy');
    }
    this.log.info({ groupBroadcastId: id, groups: groups.length, tasks: tasks.length, origin: origin.origin }, 'group broadcast created');
    // Its groups are planned now: one use of each item per group chat (docs/content.md §Use counts). A lost count fails nothing.
    if (contentIds.length > 0) await this.content?.countUse(contentIds, groups.length);
    return { ...(await this.get(id)), isExisting: false };
  }

  /**
   * A group SOP post step (GroupPostPort): `text` to these groups under the fire's key, once. The key is the request
   * key, so the same fire again, also after a crash between submit and record, finds its broadcast and sends nothing
   * new. Groups no longer sendable (dismissed, owner gone) are left out; none left: nothing is created.
   */
  async postOnce(input: { key: string; chatIds: string[]; text: string }): Promise<GroupBroadcast | null> {
    const existing = await this.repo.findByRequest(SOP_ORIGIN, input.key);
    if (existing) return existing;
    if (input.chatIds.length === 0 || (await this.groups({ chatIds: input.chatIds })).length === 0) return null;
    const created = await this.submit({ name: `群SOP ${input.key.slice(0, 90)}`, filter: { chatIds: input.chatIds }, message: { text: input.text, attachments: [] } }, { origin: SOP_ORIGIN, requestKey: input.key, createdBy: null });
    return created.broadcast;
  }

  /** What became of each group's send under a SOP fire's key: sent (when), failed (why) or still pending. */
  async postOutcomes(key: string, chatIds: string[]): Promise<Map<string, GroupPostOutcome>> {
    const out = new Map<string, GroupPostOutcome>();
    const b = await this.repo.findByRequest(SOP_ORIGIN, key);
    if (!b) return out;
    for (const t of await this.repo.targetsOf(b.id, chatIds)) {
      if (t.status === 'sent') out.set(t.chatId, { state: 'sent', sentAt: t.sentAt ?? b.updatedAt });
      else if (t.status === 'planned' || t.status === 'submitting' || t.status === 'submitted') out.set(t.chatId, { state: 'pending' });
      else out.set(t.chatId, { state: 'failed', reason: t.reason ?? t.status });
    }
    return out;
  }

  /**
   * The message as saved: its 素材库 items exist and fit with its own attachments in add_msg_template's 9, their texts
   * take no template variable (one text for the whole group), and its text with theirs fits 4000 bytes
   * (docs/content.md §Composers).
   */
  private async checkMessage(text: string, attachments: number, contentIds: string[]): Promise<void> {
    if (contentIds.length === 0) return checkGroupText(text, attachments);
    if (!this.content) throw invalidField('message.contentIds', '本实例未启用素材库', 'content_unavailable');
    let items: { kind: string; title: string; text: string | null }[];
    try {
      items = await this.content.check(contentIds, attachments);
    } catch (err) {
      if (err instanceof AppError && err.status === 400) throw invalidField('message.contentIds', err.message, err.code);
      throw err;
    }
    const texts = items.filter((i) => i.kind === 'text');
    for (const item of texts) {
      const vars = listVariables(item.text ?? '');
      if (vars.length > 0) {
        throw invalidField('message.contentIds', `素材「${item.title}」含模板变量 {{${vars[0]}}}：客户群群发不支持模板变量（同一条消息发给群里所有人）`, 'unknown_variable');
      }
    }
    // An item is content too: text items count as much as attachments toward "not empty".
    checkGroupText(text, attachments + items.length);
    const joined = [text, ...texts.map((i) => i.text ?? '')].filter(Boolean).join('\n\n');
    if (!fitsByteLimit(joined, WECOM_TEXT_MAX_BYTES)) {
      throw invalidField('message.contentIds', `消息文本与所选话术素材合计超过企业微信 ${WECOM_TEXT_MAX_BYTES} 字节上限（现在 ${Buffer.byteLength(joined, 'utf8')} 字节）`, 'text_too_long');
    }
  }

  /** A broadcast with its per-owner progress, or NotFoundError. */
  async get(id: string): Promise<GroupBroadcastView> {
    return this.view(await this.repo.get(id));
  }

  /** A page of broadcasts, newest first, with their rows per status. */
  async list(f: { status?: GroupBroadcastStatus; page: number; pageSize: number }): Promise<{ items: { broadcast: GroupBroadcast; rows: GroupRowCounts }[]; total: number }> {
    const { items, total } = await this.repo.list(f);
    const rows = await this.repo.rowCounts(items.map((b) => b.id));
    return { items: items.map((broadcast) => ({ broadcast, rows: rows.get(broadcast.id) ?? emptyRowCounts() })), total };
  }

  /**
   * 提醒成员群发 for the tasks owners have not sent (all, or one owner's), with the 1:1 broadcasts' rules: 3 per task
   * per 24 h, a task sent meanwhile skipped (docs/wecom-protocol.md §Reminding members of a mass message).
   */
  async remind(id: string, opts: { userid?: string; requestedBy: string }): Promise<RemindOutcome> {
    const b = await this.repo.get(id);
    if (b.status !== 'sending') throw new ConflictError('群发已结束或已取消，没有可提醒的任务 / only a sending group broadcast has tasks to remind', 'group_broadcast_not_sending');
    const tasks = (await this.repo.tasksOf(id))
      .filter((t) => t.status === 'submitted' && t.msgId && t.ownerStatus === 0 && (opts.userid === undefined || t.owner === opts.userid))
      .map((t) => ({ batchId: t.id, msgId: t.msgId!, sender: t.owner }));
    const out = await remindTasks(tasks, { broadcastId: id, requestedBy: opts.requestedBy }, { wecom: this.wecom, reminders: this.reminders, clock: this.clock, log: this.log });
    return { ...out, message: describeReminders(out, tasks.length, this.tz) };
  }

  /**
   * 取消群发, as the 1:1 broadcasts cancel (docs/groups.md §Cancelling a group broadcast): the groups not submitted
   * yet are cancelled, and each task waiting in an owner's 群发助手 is withdrawn with cancel_groupmsg_send, unless
   * get_groupmsg_task says the owner already sent it (then it stays sent and its results are still read). Cancelling
   * again is harmless and retries the tasks not withdrawn (in flight, or refused by WeCom). 409 once it is done.
   */
  async cancel(id: string): Promise<GroupBroadcastView & { cancellation: GroupCancelOutcome }> {
    const b = await this.repo.get(id);
    if (b.status === 'done') throw new ConflictError('群发已完成，无法取消 / the group broadcast already finished', 'group_broadcast_finished');
    const out = { cancelledRows: 0, withdrawnTasks: 0, withdrawnRows: 0, confirmedTasks: 0, inFlightTasks: 0, failedTasks: 0 };
    if (b.status === 'sending') {
      const n = await this.repo.cancel(id, this.clock.now());
      // Not sending any more: it finished meanwhile (or another cancel came first, which is harmless).
      if (n === null && (await this.repo.get(id)).status === 'done') throw new ConflictError('群发已完成，无法取消 / the group broadcast already finished', 'group_broadcast_finished');
      out.cancelledRows += n ?? 0;
    }
    out.cancelledRows += await this.repo.cancelPlanned(id, this.clock.now());
    for (const task of await this.repo.tasksOf(id)) {
      if (task.status === 'submitting') {
        out.inFlightTasks += 1;
        continue;
      }
      if (task.status !== 'submitted' || !task.msgId) continue;
      try {
        if (task.ownerStatus !== 0 || (await isTaskSent(this.wecom, task.msgId, task.owner))) {
          out.confirmedTasks += 1;
          continue;
        }
        await this.wecom.cancelGroupMsgSend(task.msgId).catch((err: unknown) => {
          if (!(err instanceof WecomApiError && err.errcode === ERR_ALREADY_CANCELLED)) throw err;
        });
        out.withdrawnRows += await this.repo.withdrawTask(task.id, this.clock.now());
        out.withdrawnTasks += 1;
      } catch (err) {
        out.failedTasks += 1;
        this.log.warn({ err: toError(err), broadcastId: id, taskId: task.id }, 'withdrawing a group broadcast task failed');
      }
    }
    this.log.info({ broadcastId: id, ...out }, 'group broadcast cancelled');
    return { ...(await this.get(id)), cancellation: { ...out, message: describeCancel(out) } };
  }

  private async view(b: GroupBroadcast): Promise<GroupBroadcastView> {
    const [tasks, byOwner, reminders] = await Promise.all([
      this.repo.tasksOf(b.id),
      this.repo.rowCountsByOwner(b.id),
      this.reminders.perTask(b.id, new Date(this.clock.now().getTime() - DAY_MS)),
    ]);
    const names = await this.staffNames([...new Set(tasks.map((t) => t.owner))]);
    const owners = new Map<string, GroupOwnerProgress>();
    const of = (userid: string) => {
      let p = owners.get(userid);
      if (!p) {
        owners.set(userid, (p = { userid, name: names.get(userid) ?? userid, tasks: 0, confirmedTasks: 0, waitingTasks: 0, pendingTasks: 0, failedTasks: 0, rows: emptyRowCounts(), remindersLast24h: 0, lastRemindedAt: null }));
      }
      return p;
    };
    for (const t of tasks) {
      const p = of(t.owner);
      p.tasks += 1;
      if (t.ownerStatus !== 0) p.confirmedTasks += 1;
      else if (t.status === 'submitted') p.waitingTasks += 1;
      else if (t.status === 'failed') p.failedTasks += 1;
      else if (t.status === 'planned' || t.status === 'submitting') p.pendingTasks += 1;
    }
    const rows = emptyRowCounts();
    for (const r of byOwner) {
      (of(r.owner).rows as Record<string, number>)[r.status] = r.n;
      (rows as Record<string, number>)[r.status] += r.n;
    }
    for (const r of reminders) {
      const p = of(r.sender);
      p.remindersLast24h = Math.min(REMINDS_PER_DAY, Math.max(p.remindersLast24h, r.recent));
      const last = r.lastAt.toISOString();
      if (!p.lastRemindedAt || last > p.lastRemindedAt) p.lastRemindedAt = last;
    }
    return { broadcast: b, rows, owners: [...owners.values()].sort((a, b2) => a.userid.localeCompare(b2.userid)) };
  }
}

/**
 * 400 unless a group message has text or an attachment, its text fits WeCom's 4000 bytes and uses no template
 * variable: a group message is one text for everyone in the group (docs/wecom-protocol.md §Mass messages).
 */
export function checkGroupText(text: string, attachments: number): void {
  if (text.trim() === '' && attachments === 0) throw new ValidationError('消息文本和附件不能都为空 / text or an attachment is required', { fields: { 'message.text': '请填写消息文本' } }, 'empty_message');
  if (listVariables(text).length > 0) {
    throw new ValidationError('客户群群发不支持模板变量（同一条消息发给群里所有人）/ group messages take no template variables', { fields: { 'message.text': '不支持模板变量' } }, 'unknown_variable');
  }
  if (!fitsByteLimit(text, WECOM_TEXT_MAX_BYTES)) {
    throw new ValidationError(`消息文本超过企业微信 ${WECOM_TEXT_MAX_BYTES} 字节上限 / text exceeds WeCom's ${WECOM_TEXT_MAX_BYTES}-byte limit`, { fields: { 'message.text': '消息过长' } }, 'text_too_long');
  }
}

/** A cancel's outcome in zh-CN, for the console's toast. */
export function describeCancel(o: Omit<GroupCancelOutcome, 'message'>): string {
  const parts = [
    o.cancelledRows > 0 ? `${o.cancelledRows} 个群不再发送` : '',
    o.withdrawnTasks > 0 ? `已撤回 ${o.withdrawnTasks} 个群主尚未发送的群发任务（${o.withdrawnRows} 个群）` : '',
    o.confirmedTasks > 0 ? `${o.confirmedTasks} 个任务群主已发送，无法撤回` : '',
  ].filter(Boolean);
  const left = o.failedTasks + o.inFlightTasks;
  const tail = left > 0 ? `；${left} 个任务未能撤回（正在提交或企业微信暂时拒绝），请稍后再次取消以重试` : '';
  return `${parts.length ? `群发已取消：${parts.join('；')}` : '群发已取消'}${tail}。`;
}
