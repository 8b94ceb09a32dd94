import type { DeliveryStatus } from '../delivery/delivery.types.js';
import { DELIVERY_STATUSES } from '../delivery/delivery.types.js';
import { reasonCode } from './broadcast-rules.js';
import { REMINDS_PER_DAY } from './broadcast-remind.service.js';
import type { BroadcastFunnel, BroadcastProgress, StaffProgress } from './broadcast.types.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What the progress reads from the ledger (DeliveryRepository), the broadcast itself, and staff names. */
export interface ProgressReads {
  exists(broadcastId: string): Promise<unknown>;
  /** The broadcast's rows per (sender, task, status, reason, in a task), one pass (DeliveryRepository.broadcastProgressGroups). */
  progressGroups(broadcastId: string, sender?: string): Promise<{ sender: string | null; batchId: string | null; status: DeliveryStatus; reason: string | null; inTask: boolean; n: number }[]>;
  staffNames(userids: string[]): Promise<Map<string, string>>;
  /** 提醒成员群发 per task: in the last 24 h, the first of those, and the last one (BroadcastReminderRepository.perTask). */
  reminders(broadcastId: string, sender?: string): Promise<{ sender: string; batchId: string; recent: number; firstRecentAt: Date | null; lastAt: Date }[]>;
}

/** Rows WeCom reported a result for, so their task was sent by its member (docs/wecom-protocol.md §Mass message results). */
export function isConfirmedRow(status: DeliveryStatus, reason: string | null): boolean {
  return status === 'sent' || status === 'over_quota' || (status === 'failed' && (reason ?? '').startsWith('not_friend'));
}

const emptyRows = (): Record<string, number> => Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0]));

/**
 * A broadcast's progress read from the delivery ledger: each member's add_msg_template tasks (confirmed in 群发助手 or
 * not, as far as the `delivery-results` job has polled WeCom) and the delivery funnel. A member sees only their part.
 */
export class BroadcastProgressService {
  constructor(private readonly reads: ProgressReads) {}

  /** The progress of a broadcast (404 when there is none); `onlyUserid` limits it to that member's tasks and rows. */
  async progress(broadcastId: string, onlyUserid: string | null = null): Promise<BroadcastProgress> {
    await this.reads.exists(broadcastId);
    const sender = onlyUserid ?? undefined;
    const [groups, reminders] = await Promise.all([this.reads.progressGroups(broadcastId, sender), this.reads.reminders(broadcastId, sender)]);
    // Each WeCom task (batch) of a member, by what became of its rows.
    const taskStates = new Map<string, { sender: string; confirmed: boolean; waiting: boolean; expired: boolean; refused: boolean }>();
    const funnel: BroadcastFunnel = { planned: 0, submitted: 0, confirmed: 0, sent: 0, skipped: 0, skippedByReason: {}, overQuota: 0, failed: 0, expired: 0, pending: 0 };
    const bySender = new Map<string, StaffProgress>();
    const of = (userid: string): StaffProgress => {
      let p = bySender.get(userid);
      if (!p) bySender.set(userid, (p = { userid, name: userid, tasks: 0, confirmedTasks: 0, waitingTasks: 0, withdrawnTasks: 0, refusedTasks: 0, rows: emptyRows(), reminders: { last24h: 0, maxPerTask: 0, limitedTasks: 0, nextAllowedAt: null, lastAt: null } }));
      return p;
    };
    for (const g of groups) {
      funnel.planned += g.n;
      if (g.inTask) funnel.submitted += g.n;
      if (isConfirmedRow(g.status, g.reason)) funnel.confirmed += g.n;
      if (g.status === 'sent') funnel.sent += g.n;
      else if (g.status === 'over_quota') funnel.overQuota += g.n;
      else if (g.status === 'failed') funnel.failed += g.n;
      else if (g.status === 'expired') funnel.expired += g.n;
      else if (g.status === 'planned' || g.status === 'submitting') funnel.pending += g.n;
      else if (g.status === 'skipped') {
        funnel.skipped += g.n;
        const code = reasonCode(g.reason);
        funnel.skippedByReason[code] = (funnel.skippedByReason[code] ?? 0) + g.n;
      }
      // Rows nobody could send (no active follower) have no member: they show in the funnel only.
      if (!g.sender) continue;
      of(g.sender).rows[g.status] += g.n;
      if (g.batchId === null) continue;
      const key = `${g.sender}\u0000${g.batchId}`;
      let t = taskStates.get(key);
      if (!t) taskStates.set(key, (t = { sender: g.sender, confirmed: false, waiting: false, expired: false, refused: false }));
      t.confirmed ||= isConfirmedRow(g.status, g.reason);
      t.waiting ||= g.status === 'submitted';
      t.expired ||= g.status === 'expired';
      // add_msg_template refused: failed without a msgid.
      t.refused ||= g.status === 'failed' && !g.inTask;
    }
    // A task is confirmed once any of its rows has a result; else waiting while any row is submitted; else withdrawn
    // (expired) or refused.
    for (const t of taskStates.values()) {
      const p = of(t.sender);
      p.tasks += 1;
      if (t.confirmed) p.confirmedTasks += 1;
      else if (t.waiting) p.waitingTasks += 1;
      else if (t.expired) p.withdrawnTasks += 1;
      else if (t.refused) p.refusedTasks += 1;
    }
    // Reminders count per task (WeCom's 3 per task per 24 h): a member's waiting task at the limit is one 提醒 skips.
    for (const r of reminders) {
      const p = bySender.get(r.sender);
      if (!p) continue;
      const m = p.reminders;
      m.last24h += r.recent;
      m.maxPerTask = Math.max(m.maxPerTask, r.recent);
      if (m.lastAt === null || r.lastAt.toISOString() > m.lastAt) m.lastAt = r.lastAt.toISOString();
      const t = taskStates.get(`${r.sender}\u0000${r.batchId}`);
      if (t && !t.confirmed && t.waiting && r.recent >= REMINDS_PER_DAY && r.firstRecentAt) {
        m.limitedTasks += 1;
        const next = new Date(r.firstRecentAt.getTime() + DAY_MS).toISOString();
        if (m.nextAllowedAt === null || next < m.nextAllowedAt) m.nextAllowedAt = next;
      }
    }
    const names = await this.reads.staffNames([...bySender.keys()]);
    const staff = [...bySender.values()]
      .map((p) => ({ ...p, name: names.get(p.userid) ?? p.userid }))
      .sort((a, b) => b.tasks - a.tasks || a.userid.localeCompare(b.userid));
    return { staff, funnel, withdrawableTasks: staff.reduce((n, p) => n + p.waitingTasks, 0), onlyUserid };
  }
}
