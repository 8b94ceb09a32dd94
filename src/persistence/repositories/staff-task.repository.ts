import type { Db } from '../db.js';
import type { StaffTask, StaffTaskSource, StaffTaskStatus } from '../../domain/todo/staff-task.types.js';
import type { SourcedAttachment } from '../../domain/content/content.types.js';

interface TaskRow {
  id: string;
  source: StaffTaskSource;
  source_ref: string;
  userid: string;
  external_user_id: string | null;
  title: string;
  text: string | null;
  attachments: string | null;
  due_at: number | string;
  status: StaffTaskStatus;
  snoozed_until: number | string | null;
  skip_reason: string | null;
  done_at: number | string | null;
  closed_at: number | string | null;
  closed_by: string | null;
  created_by: string | null;
  created_at: number | string;
  updated_at: number | string;
}

const ms = (v: number | string | null): Date | null => (v === null ? null : new Date(Number(v)));
const marks = (n: number) => Array(n).fill('?').join(',');

function toTask(r: TaskRow): StaffTask {
  return {
    id: r.id,
    source: r.source,
    sourceRef: r.source_ref,
    userid: r.userid,
    externalUserId: r.external_user_id,
    title: r.title,
    text: r.text ?? '',
    attachments: r.attachments ? (JSON.parse(r.attachments) as SourcedAttachment[]) : [],
    dueAt: new Date(Number(r.due_at)),
    status: r.status,
    snoozedUntil: ms(r.snoozed_until),
    skipReason: r.skip_reason,
    doneAt: ms(r.done_at),
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

/** One member's completion counts (docs/todo.md §Completion). */
export interface CompletionRow {
  userid: string;
  total: number;
  done: number;
  late: number;
  skipped: number;
  overdue: number;
  open: number;
}

/**
 * 员工任务: `staff_tasks`. A task is created once per (source, source_ref) under UNIQUE uq_staff_tasks_source
 * (docs/reliability.md §Database idioms): the plain INSERT that gets in creates it, every other reads the first.
 */
export class StaffTaskRepository {
  constructor(private readonly db: Db) {}

  /** Insert a task, owing its reminder when `t.remind`; false when (source, source_ref) is already taken. */
  async insert(t: StaffTask, createdBy: string | null): Promise<boolean> {
    return this.db.writeUnique(
      `INSERT INTO staff_tasks (id, source, source_ref, userid, external_user_id, title, text, attachments, due_at, status, snoozed_until, skip_reason, done_at, created_by, created_at, updated_at, reminder)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      [t.id, t.source, t.sourceRef, t.userid, t.externalUserId, t.title, t.text, JSON.stringify(t.attachments), t.dueAt.getTime(), t.status, null, null, null, createdBy, t.createdAt.getTime(), t.updatedAt.getTime(), t.remind ? 'owed' : null],
    );
  }

  /**
   * Open tasks whose reminder is owed and not claimed since `staleBefore` (none, or its holder died), oldest first
   * (docs/todo.md §Reminders).
   */
  async owedReminders(staleBefore: Date, limit: number): Promise<StaffTask[]> {
    const rows = await this.db.query<TaskRow>(
      `SELECT * FROM staff_tasks WHERE reminder = 'owed' AND status = 'open' AND (reminder_claimed_at IS NULL OR reminder_claimed_at < ?) ORDER BY created_at, id LIMIT ${Math.max(1, Math.floor(limit))}`,
      [staleBefore.getTime()],
    );
    return rows.map(toTask);
  }

  /**
   * Claim a task's owed reminder for `holder`: a compare-and-set on the claim time, so of two instances one sends it.
   * False when it is not owed any more, the task closed, or another holder's claim is newer than `staleBefore`.
   */
  async claimReminder(id: string, holder: string, now: Date, staleBefore: Date): Promise<boolean> {
    const n = await this.db.exec(
      "UPDATE staff_tasks SET reminder_claimed_by = ?, reminder_claimed_at = ? WHERE id = ? AND reminder = 'owed' AND status = 'open' AND (reminder_claimed_at IS NULL OR reminder_claimed_at < ?)",
      [holder, now.getTime(), id, staleBefore.getTime()],
    );
    return n === 1;
  }

  /** The holder sent the reminder (or queued it for the member's digest). */
  async markReminded(id: string, holder: string, now: Date): Promise<boolean> {
    const n = await this.db.exec("UPDATE staff_tasks SET reminder = 'sent', reminded_at = ? WHERE id = ? AND reminder = 'owed' AND reminder_claimed_by = ?", [now.getTime(), id, holder]);
    return n === 1;
  }

  /** Owed reminders of tasks closed meanwhile, or created before `giveUpBefore`, are not sent any more. Answers how many. */
  async dropReminders(giveUpBefore: Date): Promise<number> {
    return this.db.exec("UPDATE staff_tasks SET reminder = 'dropped' WHERE reminder = 'owed' AND (status <> 'open' OR created_at < ?)", [giveUpBefore.getTime()]);
  }

  /** A task by its source key, or null. */
  async bySource(source: StaffTaskSource, sourceRef: string): Promise<StaffTask | null> {
    const [r] = await this.db.query<TaskRow>('SELECT * FROM staff_tasks WHERE source = ? AND source_ref = ?', [source, sourceRef]);
    return r ? toTask(r) : null;
  }

  /** A task by id, or null. */
  async byId(id: string): Promise<StaffTask | null> {
    const [r] = await this.db.query<TaskRow>('SELECT * FROM staff_tasks WHERE id = ?', [id]);
    return r ? toTask(r) : null;
  }

  /** Tasks by id (unknown ids are left out). */
  async byIds(ids: string[]): Promise<Map<string, StaffTask>> {
    const out = new Map<string, StaffTask>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += 500) {
      const part = unique.slice(i, i + 500);
      for (const r of await this.db.query<TaskRow>(`SELECT * FROM staff_tasks WHERE id IN (${marks(part.length)})`, part)) out.set(r.id, toTask(r));
    }
    return out;
  }

  /**
   * A member's open tasks due before `dueBefore` and not snoozed past `now`, oldest due first; with a customer, only
   * theirs.
   */
  async openFor(userid: string, dueBefore: Date, now: Date, externalUserId: string | null, limit = 500): Promise<StaffTask[]> {
    const params: unknown[] = [userid, dueBefore.getTime(), now.getTime()];
    let where = "userid = ? AND status = 'open' AND due_at < ? AND (snoozed_until IS NULL OR snoozed_until <= ?)";
    if (externalUserId !== null) {
      where += ' AND external_user_id = ?';
      params.push(externalUserId);
    }
    const rows = await this.db.query<TaskRow>(`SELECT * FROM staff_tasks WHERE ${where} ORDER BY due_at, id LIMIT ${Math.max(1, Math.floor(limit))}`, params);
    return rows.map(toTask);
  }

  /**
   * The 素材库 items of these kinds that open tasks' attachments name: the media job keeps their WeCom media fresh
   * for the one-tap send (docs/todo.md §One-tap send). The LIKE only narrows the scan; each row's JSON decides.
   */
  async openContentIds(kinds: string[]): Promise<string[]> {
    const rows = await this.db.query<{ attachments: string | null }>(`SELECT attachments FROM staff_tasks WHERE status = 'open' AND attachments LIKE ?`, ['%"contentId"%']);
    const ids = new Set<string>();
    for (const r of rows) for (const a of r.attachments ? (JSON.parse(r.attachments) as SourcedAttachment[]) : []) if (a.contentId && kinds.includes(a.kind)) ids.add(a.contentId);
    return [...ids];
  }

  /** A member's open tasks snoozed past `now` (the list shows them apart, so a snooze is never a lost task). */
  async snoozedFor(userid: string, now: Date, externalUserId: string | null, limit = 200): Promise<StaffTask[]> {
    const params: unknown[] = [userid, now.getTime()];
    let where = "userid = ? AND status = 'open' AND snoozed_until > ?";
    if (externalUserId !== null) {
      where += ' AND external_user_id = ?';
      params.push(externalUserId);
    }
    const rows = await this.db.query<TaskRow>(`SELECT * FROM staff_tasks WHERE ${where} ORDER BY snoozed_until, id LIMIT ${Math.max(1, Math.floor(limit))}`, params);
    return rows.map(toTask);
  }

  /** Close an open task as done; false when it was not open any more (a second tap, another device). */
  async markDone(id: string, by: string, at: Date): Promise<boolean> {
    const n = await this.db.exec("UPDATE staff_tasks SET status = 'done', done_at = ?, closed_at = ?, closed_by = ?, snoozed_until = NULL, updated_at = ? WHERE id = ? AND status = 'open'", [
      at.getTime(),
      at.getTime(),
      by,
      at.getTime(),
      id,
    ]);
    return n === 1;
  }

  /** Close an open task as skipped, with the member's reason; false when it was not open. */
  async markSkipped(id: string, reason: string, by: string, at: Date): Promise<boolean> {
    const n = await this.db.exec("UPDATE staff_tasks SET status = 'skipped', skip_reason = ?, closed_at = ?, closed_by = ?, snoozed_until = NULL, updated_at = ? WHERE id = ? AND status = 'open'", [
      reason,
      at.getTime(),
      by,
      at.getTime(),
      id,
    ]);
    return n === 1;
  }

  /**
   * Withdraw the open journey tasks of these memberships (source_ref `<membershipId>:<stepIndex>`): the customer left
   * the journey, so nobody is asked to do them any more (docs/todo.md §Withdrawn tasks). Answers how many.
   */
  async withdrawJourneyTasks(membershipIds: number[], reason: string, at: Date): Promise<number> {
    let n = 0;
    for (const id of new Set(membershipIds)) {
      n += await this.db.exec(
        "UPDATE staff_tasks SET status = 'withdrawn', skip_reason = ?, closed_at = ?, closed_by = NULL, snoozed_until = NULL, updated_at = ? WHERE source = 'journey' AND source_ref LIKE ? AND status = 'open'",
        [reason.slice(0, 200), at.getTime(), at.getTime(), `${Math.floor(id)}:%`],
      );
    }
    return n;
  }

  /** A membership that followed its customer to a new owner takes its open journey tasks along. Answers how many. */
  async reassignJourneyTasks(membershipId: number, userid: string, at: Date): Promise<number> {
    return this.db.exec("UPDATE staff_tasks SET userid = ?, updated_at = ? WHERE source = 'journey' AND source_ref LIKE ? AND status = 'open' AND userid <> ?", [
      userid,
      at.getTime(),
      `${Math.floor(membershipId)}:%`,
      userid,
    ]);
  }

  /** Snooze an open task until `until`; false when it was not open. */
  async snooze(id: string, until: Date, at: Date): Promise<boolean> {
    const n = await this.db.exec("UPDATE staff_tasks SET snoozed_until = ?, updated_at = ? WHERE id = ? AND status = 'open'", [until.getTime(), at.getTime(), id]);
    return n === 1;
  }

  /**
   * Per member, the tasks due in [from, to): done (on time or late: done after due), skipped, and still open, of
   * which overdue (past due at `now`). One grouped query (docs/todo.md §Completion).
   */
  async completion(from: Date, to: Date, now: Date, userid: string | null): Promise<CompletionRow[]> {
    const params: unknown[] = [now.getTime(), from.getTime(), to.getTime()];
    // Withdrawn tasks were never the member's to do (docs/todo.md §Withdrawn tasks): not in any figure.
    let where = "due_at >= ? AND due_at < ? AND status <> 'withdrawn'";
    if (userid !== null) {
      where += ' AND userid = ?';
      params.push(userid);
    }
    const rows = await this.db.query<Record<string, number | string | null>>(
      `SELECT userid,
              COUNT(*) AS total,
              SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS done,
              SUM(CASE WHEN status = 'done' AND done_at > due_at THEN 1 ELSE 0 END) AS late,
              SUM(CASE WHEN status = 'skipped' THEN 1 ELSE 0 END) AS skipped,
              SUM(CASE WHEN status = 'open' AND due_at < ? THEN 1 ELSE 0 END) AS overdue,
              SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END) AS open_n
         FROM staff_tasks WHERE ${where} GROUP BY userid ORDER BY userid`,
      params,
    );
    return rows.map((r) => ({
      userid: String(r.userid),
      total: Number(r.total ?? 0),
      done: Number(r.done ?? 0),
      late: Number(r.late ?? 0),
      skipped: Number(r.skipped ?? 0),
      overdue: Number(r.overdue ?? 0),
      open: Number(r.open_n ?? 0),
    }));
  }

  /** Members with open tasks due before `dueBefore`, with how many (the morning digest's count). */
  async openCounts(dueBefore: Date, now: Date): Promise<Map<string, number>> {
    const rows = await this.db.query<{ userid: string; n: number | string }>(
      "SELECT userid, COUNT(*) AS n FROM staff_tasks WHERE status = 'open' AND due_at < ? AND (snoozed_until IS NULL OR snoozed_until <= ?) GROUP BY userid",
      [dueBefore.getTime(), now.getTime()],
    );
    return new Map(rows.map((r) => [r.userid, Number(r.n)]));
  }
}
