import type { Db } from '../db.js';
import type { SopFire, SopFireStatus, SopPlan, SopSchedule, SopStep, SopTarget } from '../../domain/group-sop/group-sop.types.js';

interface PlanRow {
  id: string;
  name: string;
  is_paused: number | string | boolean;
  target: string;
  schedule: string;
  steps: string;
  window_minutes: number | string;
  active_since: number | string;
  scanned_until: number | string;
  created_by: string | null;
  created_at: number | string;
  updated_at: number | string;
}

interface FireRow {
  id: number | string;
  plan_id: string;
  step_id: string;
  chat_id: string;
  fire_at: number | string;
  owner: string | null;
  status: SopFireStatus;
  instance_id: string;
  claimed_at: number | string;
  acted_at: number | string | null;
  done_at: number | string | null;
  reason: string | null;
  link_id: string | null;
  attempts: number | string;
}

const ms = (v: number | string | null): Date | null => (v === null ? null : new Date(Number(v)));
const marks = (n: number) => Array(n).fill('?').join(',');

function toPlan(r: PlanRow): SopPlan {
  return {
    id: r.id,
    name: r.name,
    isPaused: Number(r.is_paused) === 1 || r.is_paused === true,
    target: JSON.parse(r.target) as SopTarget,
    schedule: JSON.parse(r.schedule) as SopSchedule,
    steps: JSON.parse(r.steps) as SopStep[],
    windowMinutes: Number(r.window_minutes),
    activeSince: new Date(Number(r.active_since)),
    scannedUntil: new Date(Number(r.scanned_until)),
    createdBy: r.created_by,
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

function toFire(r: FireRow): SopFire {
  return {
    id: Number(r.id),
    planId: r.plan_id,
    stepId: r.step_id,
    chatId: r.chat_id,
    fireAt: new Date(Number(r.fire_at)),
    owner: r.owner,
    status: r.status,
    instanceId: r.instance_id,
    claimedAt: new Date(Number(r.claimed_at)),
    actedAt: ms(r.acted_at),
    doneAt: ms(r.done_at),
    reason: r.reason,
    linkId: r.link_id,
    attempts: Number(r.attempts),
  };
}

/** A fire to claim or record. */
export interface FireKey {
  planId: string;
  stepId: string;
  chatId: string;
  fireAt: Date;
  owner: string | null;
}

/**
 * 群 SOP's tables: `group_sop_plans` and `group_sop_fires`. A fire row is the durable claim of one (plan, step, group,
 * fire time) under UNIQUE uq_group_sop_fires_fire, kept after the fire as its record (docs/groups.md §Once per fire).
 */
export class GroupSopRepository {
  constructor(private readonly db: Db) {}

  /** Store a new plan. */
  async insertPlan(p: SopPlan): Promise<void> {
    await this.db.query(
      `INSERT INTO group_sop_plans (id, name, is_paused, target, schedule, steps, window_minutes, active_since, scanned_until, created_by, created_at, updated_at)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
      [p.id, p.name, p.isPaused ? 1 : 0, JSON.stringify(p.target), JSON.stringify(p.schedule), JSON.stringify(p.steps), p.windowMinutes, p.activeSince.getTime(), p.scannedUntil.getTime(), p.createdBy, p.createdAt.getTime(), p.updatedAt.getTime()],
    );
  }

  /** Write a plan's editable fields (and the scan's start when a resume moved it). */
  async updatePlan(p: SopPlan): Promise<void> {
    await this.db.query(
      `UPDATE group_sop_plans SET name = ?, is_paused = ?, target = ?, schedule = ?, steps = ?, window_minutes = ?, active_since = ?, scanned_until = ?, updated_at = ? WHERE id = ?`,
      [p.name, p.isPaused ? 1 : 0, JSON.stringify(p.target), JSON.stringify(p.schedule), JSON.stringify(p.steps), p.windowMinutes, p.activeSince.getTime(), p.scannedUntil.getTime(), p.updatedAt.getTime(), p.id],
    );
  }

  /** Remove a plan and its fires' records. */
  async deletePlan(id: string): Promise<boolean> {
    return this.db.tx(async (em) => {
      await em.query('DELETE FROM group_sop_fires WHERE plan_id = ?', [id]);
      const before: { n: number | string }[] = await em.query('SELECT COUNT(*) AS n FROM group_sop_plans WHERE id = ?', [id]);
      await em.query('DELETE FROM group_sop_plans WHERE id = ?', [id]);
      return Number(before[0].n) > 0;
    });
  }

  /** A plan, or null. */
  async findPlan(id: string): Promise<SopPlan | null> {
    const [r] = await this.db.query<PlanRow>('SELECT * FROM group_sop_plans WHERE id = ?', [id]);
    return r ? toPlan(r) : null;
  }

  /** Every plan, newest first. */
  async listPlans(): Promise<SopPlan[]> {
    return (await this.db.query<PlanRow>('SELECT * FROM group_sop_plans ORDER BY created_at DESC, id DESC')).map(toPlan);
  }

  /** Plans that are not paused. */
  async activePlans(): Promise<SopPlan[]> {
    return (await this.db.query<PlanRow>('SELECT * FROM group_sop_plans WHERE is_paused = 0 ORDER BY created_at, id')).map(toPlan);
  }

  /** Move the scan's watermark forward, never back (a slower run on another instance cannot undo a newer one). */
  async advanceScan(id: string, to: Date): Promise<void> {
    await this.db.query('UPDATE group_sop_plans SET scanned_until = ? WHERE id = ? AND scanned_until < ?', [to.getTime(), id, to.getTime()]);
  }

  /** Names and owners of groups, for reports. */
  async groupNames(chatIds: string[]): Promise<Map<string, { name: string; owner: string | null }>> {
    const out = new Map<string, { name: string; owner: string | null }>();
    for (let i = 0; i < chatIds.length; i += 500) {
      const part = chatIds.slice(i, i + 500);
      const rows = await this.db.query<{ chat_id: string; name: string; owner: string | null }>(`SELECT chat_id, name, owner FROM group_chats WHERE chat_id IN (${marks(part.length)})`, part);
      for (const r of rows) out.set(r.chat_id, { name: r.name, owner: r.owner });
    }
    return out;
  }

  /**
   * Claim one fire: a plain INSERT under the UNIQUE key, so of every instance and every tick exactly one gets it
   * (docs/reliability.md §Database idioms). Null when it was already claimed or recorded.
   */
  async claim(k: FireKey, instanceId: string, now: Date): Promise<SopFire | null> {
    const ok = await this.db.writeUnique(
      `INSERT INTO group_sop_fires (plan_id, step_id, chat_id, fire_at, owner, status, instance_id, claimed_at, attempts) VALUES (?,?,?,?,?,'claimed',?,?,1)`,
      [k.planId, k.stepId, k.chatId, k.fireAt.getTime(), k.owner, instanceId, now.getTime()],
    );
    return ok ? this.findFire(k) : null;
  }

  /** Record a fire whose window passed before any instance ran it; nothing when it is already recorded. */
  async recordMissed(k: FireKey, reason: string, instanceId: string, now: Date): Promise<boolean> {
    return this.db.writeUnique(
      `INSERT INTO group_sop_fires (plan_id, step_id, chat_id, fire_at, owner, status, instance_id, claimed_at, reason, attempts) VALUES (?,?,?,?,?,'missed',?,?,?,0)`,
      [k.planId, k.stepId, k.chatId, k.fireAt.getTime(), k.owner, instanceId, now.getTime(), reason.slice(0, 200)],
    );
  }

  /** One fire by its key. */
  async findFire(k: Pick<FireKey, 'planId' | 'stepId' | 'chatId' | 'fireAt'>): Promise<SopFire | null> {
    const [r] = await this.db.query<FireRow>('SELECT * FROM group_sop_fires WHERE plan_id = ? AND step_id = ? AND chat_id = ? AND fire_at = ?', [k.planId, k.stepId, k.chatId, k.fireAt.getTime()]);
    return r ? toFire(r) : null;
  }

  /**
   * Claims left `claimed` since before `staleBefore` (their instance died between the claim and the action) whose
   * fire time is after `since`.
   */
  async staleClaims(staleBefore: Date, since: Date): Promise<SopFire[]> {
    const rows = await this.db.query<FireRow>("SELECT * FROM group_sop_fires WHERE status = 'claimed' AND claimed_at < ? AND fire_at > ? ORDER BY fire_at, id LIMIT 5000", [staleBefore.getTime(), since.getTime()]);
    return rows.map(toFire);
  }

  /** Take over a stale claim: a compare-and-set on its claim time, so one instance of several gets it. */
  async takeOver(f: SopFire, instanceId: string, now: Date): Promise<boolean> {
    const n = await this.db.exec(
      "UPDATE group_sop_fires SET instance_id = ?, claimed_at = ?, attempts = attempts + 1 WHERE id = ? AND status = 'claimed' AND claimed_at = ?",
      [instanceId, now.getTime(), f.id, f.claimedAt.getTime()],
    );
    return n === 1;
  }

  /** The action went out: posted (a group send submitted) or reminded (the owner's app message). */
  async markActed(ids: number[], status: 'posted' | 'reminded', now: Date, linkId: string | null = null, reason: string | null = null): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      await this.db.query(`UPDATE group_sop_fires SET status = ?, acted_at = ?, link_id = COALESCE(?, link_id), reason = ? WHERE id IN (${marks(part.length)})`, [status, now.getTime(), linkId, reason, ...part]);
    }
  }

  /** Done at `at` (the send confirmed, or the owner's confirmation); the first time counts. */
  async markDone(ids: number[], at: Date): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      await this.db.query(`UPDATE group_sop_fires SET status = 'done', done_at = COALESCE(done_at, ?) WHERE id IN (${marks(part.length)})`, [at.getTime(), ...part]);
    }
  }

  /** The step failed for good (the send refused, over the quota, no owner). */
  async markFailed(ids: number[], reason: string): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      await this.db.query(`UPDATE group_sop_fires SET status = 'failed', reason = ? WHERE id IN (${marks(part.length)}) AND status <> 'done'`, [reason.slice(0, 200), ...part]);
    }
  }

  /** Posts still waiting for their owner's confirmation, fired after `since`. */
  async openPosts(since: Date): Promise<SopFire[]> {
    return (await this.db.query<FireRow>("SELECT * FROM group_sop_fires WHERE status = 'posted' AND fire_at > ? ORDER BY fire_at, id LIMIT 20000", [since.getTime()])).map(toFire);
  }

  /** A plan's fires in [from, to), in time order. */
  async firesOfPlan(planId: string, from: Date, to: Date): Promise<SopFire[]> {
    const rows = await this.db.query<FireRow>('SELECT * FROM group_sop_fires WHERE plan_id = ? AND fire_at >= ? AND fire_at < ? ORDER BY fire_at, step_id, chat_id', [planId, from.getTime(), to.getTime()]);
    return rows.map(toFire);
  }

  /** A group's fires in [from, to), across plans. */
  async firesOfChat(chatId: string, from: Date, to: Date): Promise<SopFire[]> {
    const rows = await this.db.query<FireRow>('SELECT * FROM group_sop_fires WHERE chat_id = ? AND fire_at >= ? AND fire_at < ? ORDER BY fire_at, id', [chatId, from.getTime(), to.getTime()]);
    return rows.map(toFire);
  }

  /** The fires a reminder link stands for (one owner's groups of one step and fire time). */
  async firesOfLink(linkId: string): Promise<SopFire[]> {
    return (await this.db.query<FireRow>('SELECT * FROM group_sop_fires WHERE link_id = ? ORDER BY chat_id', [linkId])).map(toFire);
  }
}
