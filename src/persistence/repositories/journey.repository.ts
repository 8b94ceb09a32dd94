import type { EntityManager } from 'typeorm';
import { execIn, type Db } from '../db.js';
import type {
  ExitReason,
  Journey,
  JourneyDefinition,
  JourneyMembership,
  JourneySignal,
  JourneyStatus,
  JourneyVersion,
  MembershipStatus,
  StepRun,
  StepRunStatus,
} from '../../domain/journeys/journey.types.js';

type Num = number | string;
interface JourneyRow {
  id: string;
  name: string;
  status: JourneyStatus;
  current_version: Num;
  reentry: 'never' | 'after_days';
  reentry_days: Num | null;
  holdout_percent: Num;
  transfer_policy: 'follow' | 'stop';
  conversion_days: Num;
  priority: Num;
  activated_at: Num | null;
  created_by: string | null;
  created_at: Num;
  updated_at: Num;
}
interface MembershipRow {
  id: Num;
  journey_id: string;
  version: Num;
  external_user_id: string;
  owner_userid: string | null;
  status: MembershipStatus;
  exit_reason: ExitReason | null;
  entered_by: string;
  entered_at: Num;
  current_step: Num;
  step_since: Num;
  next_due_at: Num | null;
  is_holdout: Num | boolean;
  entry_number: Num;
  ended_at: Num | null;
}
interface RunRow {
  id: Num;
  membership_id: Num;
  journey_id: string;
  step_index: Num;
  kind: StepRun['kind'];
  status: StepRunStatus;
  claimed_by: string;
  claimed_at: Num;
  attempts: Num;
  delivery_id: Num | null;
  task_id: string | null;
  result: string | null;
  acted_at: Num | null;
  done_at: Num | null;
}

const ms = (v: Num | null): Date | null => (v === null || v === undefined ? null : new Date(Number(v)));
const marks = (n: number) => Array(n).fill('?').join(',');
const CHUNK = 500;

function toJourney(r: JourneyRow): Journey {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    currentVersion: Number(r.current_version),
    reentry: r.reentry,
    reentryDays: r.reentry_days === null ? null : Number(r.reentry_days),
    holdoutPercent: Number(r.holdout_percent),
    transferPolicy: r.transfer_policy,
    conversionDays: Number(r.conversion_days),
    priority: Number(r.priority),
    activatedAt: ms(r.activated_at),
    createdBy: r.created_by,
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

function toMembership(r: MembershipRow): JourneyMembership {
  return {
    id: Number(r.id),
    journeyId: r.journey_id,
    version: Number(r.version),
    externalUserId: r.external_user_id,
    ownerUserid: r.owner_userid,
    status: r.status,
    exitReason: r.exit_reason,
    enteredBy: r.entered_by,
    enteredAt: new Date(Number(r.entered_at)),
    currentStep: Number(r.current_step),
    stepSince: new Date(Number(r.step_since)),
    nextDueAt: ms(r.next_due_at),
    isHoldout: Number(r.is_holdout) === 1 || r.is_holdout === true,
    entryNumber: Number(r.entry_number),
    endedAt: ms(r.ended_at),
  };
}

function toRun(r: RunRow): StepRun {
  return {
    id: Number(r.id),
    membershipId: Number(r.membership_id),
    journeyId: r.journey_id,
    stepIndex: Number(r.step_index),
    kind: r.kind,
    status: r.status,
    claimedBy: r.claimed_by,
    claimedAt: new Date(Number(r.claimed_at)),
    attempts: Number(r.attempts),
    deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
    taskId: r.task_id,
    result: r.result,
    actedAt: ms(r.acted_at),
    doneAt: ms(r.done_at),
  };
}

/** A membership to write: the fields entry decides. */
export type NewMembership = Omit<JourneyMembership, 'id' | 'status' | 'exitReason' | 'currentStep' | 'endedAt'> & { currentStep?: number };

/**
 * The journeys' tables (docs/journeys.md). A step run row is the durable claim of one (membership, step) under UNIQUE
 * uq_journey_step_runs_step, kept as the step's record (docs/journeys.md §Once per step).
 */
export class JourneyRepository {
  constructor(private readonly db: Db) {}

  // ── journeys and versions ──────────────────────────────────────────────────────────────────────────────────────

  /** A new journey with its first version, in one transaction. */
  async insert(j: Journey, v: JourneyVersion): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(
        `INSERT INTO journeys (id, name, status, current_version, reentry, reentry_days, holdout_percent, transfer_policy, conversion_days, priority, activated_at, created_by, created_at, updated_at)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
        [j.id, j.name, j.status, j.currentVersion, j.reentry, j.reentryDays, j.holdoutPercent, j.transferPolicy, j.conversionDays, j.priority, j.activatedAt?.getTime() ?? null, j.createdBy, j.createdAt.getTime(), j.updatedAt.getTime()],
      );
      await this.insertVersionIn(em, v);
    });
  }

  /**
   * Write a journey's settings and, when `v` is given, its next version: the version row's UNIQUE key and the
   * compare on the current version make two simultaneous edits one new version and one refusal (false).
   */
  async update(j: Journey, v: JourneyVersion | null): Promise<boolean> {
    return this.db.tx(async (em) => {
      if (v) {
        const n = await execIn(em, 'UPDATE journeys SET current_version = ? WHERE id = ? AND current_version = ?', [v.version, j.id, v.version - 1]);
        if (n !== 1) return false;
        await this.insertVersionIn(em, v);
      }
      await em.query(
        `UPDATE journeys SET name = ?, status = ?, reentry = ?, reentry_days = ?, holdout_percent = ?, transfer_policy = ?, conversion_days = ?, priority = ?, activated_at = ?, updated_at = ? WHERE id = ?`,
        [j.name, j.status, j.reentry, j.reentryDays, j.holdoutPercent, j.transferPolicy, j.conversionDays, j.priority, j.activatedAt?.getTime() ?? null, j.updatedAt.getTime(), j.id],
      );
      return true;
    });
  }

  private async insertVersionIn(em: EntityManager, v: JourneyVersion): Promise<void> {
    await em.query('INSERT INTO journey_versions (journey_id, version, definition, created_by, created_at) VALUES (?,?,?,?,?)', [
      v.journeyId,
      v.version,
      JSON.stringify(v.definition),
      v.createdBy,
      v.createdAt.getTime(),
    ]);
  }

  async find(id: string): Promise<Journey | null> {
    const [r] = await this.db.query<JourneyRow>('SELECT * FROM journeys WHERE id = ?', [id]);
    return r ? toJourney(r) : null;
  }

  async list(): Promise<Journey[]> {
    return (await this.db.query<JourneyRow>('SELECT * FROM journeys ORDER BY created_at DESC, id DESC')).map(toJourney);
  }

  async withStatus(status: JourneyStatus): Promise<Journey[]> {
    return (await this.db.query<JourneyRow>('SELECT * FROM journeys WHERE status = ? ORDER BY created_at, id', [status])).map(toJourney);
  }

  async version(journeyId: string, version: number): Promise<JourneyVersion | null> {
    const [r] = await this.db.query<{ journey_id: string; version: Num; definition: string; created_by: string | null; created_at: Num }>(
      'SELECT journey_id, version, definition, created_by, created_at FROM journey_versions WHERE journey_id = ? AND version = ?',
      [journeyId, version],
    );
    return r ? { journeyId: r.journey_id, version: Number(r.version), definition: JSON.parse(r.definition) as JourneyDefinition, createdBy: r.created_by, createdAt: new Date(Number(r.created_at)) } : null;
  }

  async versions(journeyId: string): Promise<{ version: number; createdBy: string | null; createdAt: Date }[]> {
    const rows = await this.db.query<{ version: Num; created_by: string | null; created_at: Num }>('SELECT version, created_by, created_at FROM journey_versions WHERE journey_id = ? ORDER BY version', [journeyId]);
    return rows.map((r) => ({ version: Number(r.version), createdBy: r.created_by, createdAt: new Date(Number(r.created_at)) }));
  }

  // ── memberships ────────────────────────────────────────────────────────────────────────────────────────────────

  /** The customer's latest entry into the journey, or null. */
  async latestEntry(journeyId: string, externalUserId: string): Promise<JourneyMembership | null> {
    const [r] = await this.db.query<MembershipRow>('SELECT * FROM journey_memberships WHERE journey_id = ? AND external_user_id = ? ORDER BY entry_number DESC LIMIT 1', [journeyId, externalUserId]);
    return r ? toMembership(r) : null;
  }

  /** Enter: a plain INSERT under (journey, customer, entry number), so two instances enter a customer once. */
  async enter(m: NewMembership): Promise<boolean> {
    return this.db.writeUnique(
      `INSERT INTO journey_memberships (journey_id, version, external_user_id, owner_userid, status, entered_by, entered_at, current_step, step_since, next_due_at, is_holdout, entry_number)
       VALUES (?,?,?,?,'active',?,?,?,?,?,?,?)`,
      [m.journeyId, m.version, m.externalUserId, m.ownerUserid, m.enteredBy, m.enteredAt.getTime(), m.currentStep ?? 0, m.stepSince.getTime(), m.nextDueAt?.getTime() ?? null, m.isHoldout ? 1 : 0, m.entryNumber],
    );
  }

  async membership(id: number): Promise<JourneyMembership | null> {
    const [r] = await this.db.query<MembershipRow>('SELECT * FROM journey_memberships WHERE id = ?', [id]);
    return r ? toMembership(r) : null;
  }

  /** A page of memberships due by `now`, by due time (ix_journey_memberships_due). */
  async due(now: Date, limit: number): Promise<JourneyMembership[]> {
    const rows = await this.db.query<MembershipRow>("SELECT * FROM journey_memberships WHERE status = 'active' AND next_due_at <= ? ORDER BY next_due_at, id LIMIT ?", [now.getTime(), limit]);
    return rows.map(toMembership);
  }

  /** Active memberships of these customers. */
  async activeOf(externalUserIds: string[]): Promise<JourneyMembership[]> {
    const out: JourneyMembership[] = [];
    for (let i = 0; i < externalUserIds.length; i += CHUNK) {
      const part = externalUserIds.slice(i, i + CHUNK);
      const rows = await this.db.query<MembershipRow>(`SELECT * FROM journey_memberships WHERE status = 'active' AND external_user_id IN (${marks(part.length)})`, part);
      out.push(...rows.map(toMembership));
    }
    return out;
  }

  /** Memberships of a journey, newest first. */
  async members(journeyId: string, opts: { status?: MembershipStatus; limit: number; offset: number }): Promise<{ items: JourneyMembership[]; total: number }> {
    const where = opts.status ? 'journey_id = ? AND status = ?' : 'journey_id = ?';
    const params = opts.status ? [journeyId, opts.status] : [journeyId];
    const [t] = await this.db.query<{ n: Num }>(`SELECT COUNT(*) AS n FROM journey_memberships WHERE ${where}`, params);
    const rows = await this.db.query<MembershipRow>(`SELECT * FROM journey_memberships WHERE ${where} ORDER BY id DESC LIMIT ? OFFSET ?`, [...params, opts.limit, opts.offset]);
    return { items: rows.map(toMembership), total: Number(t.n) };
  }

  /**
   * Move a membership past `fromStep`: a compare-and-set on its current step, so of two instances that finished the
   * same step one moves it. `nextDueAt` null with `complete` ends the membership.
   */
  async advance(id: number, fromStep: number, nextDueAt: Date | null, now: Date, complete: boolean): Promise<boolean> {
    const n = complete
      ? await this.db.exec("UPDATE journey_memberships SET current_step = ?, step_since = ?, next_due_at = NULL, status = 'completed', ended_at = ? WHERE id = ? AND current_step = ? AND status = 'active'", [
          fromStep + 1,
          now.getTime(),
          now.getTime(),
          id,
          fromStep,
        ])
      : await this.db.exec("UPDATE journey_memberships SET current_step = ?, step_since = ?, next_due_at = ? WHERE id = ? AND current_step = ? AND status = 'active'", [
          fromStep + 1,
          now.getTime(),
          nextDueAt!.getTime(),
          id,
          fromStep,
        ]);
    return n === 1;
  }

  /** `advance` for many members at the same step with the same next due time (null: they complete). Answers how many moved. */
  async advanceMany(ids: number[], fromStep: number, nextDueAt: Date | null, now: Date): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      n += nextDueAt
        ? await this.db.exec(`UPDATE journey_memberships SET current_step = ?, step_since = ?, next_due_at = ? WHERE id IN (${marks(part.length)}) AND current_step = ? AND status = 'active'`, [
            fromStep + 1,
            now.getTime(),
            nextDueAt.getTime(),
            ...part,
            fromStep,
          ])
        : await this.db.exec(
            `UPDATE journey_memberships SET current_step = ?, step_since = ?, next_due_at = NULL, status = 'completed', ended_at = ? WHERE id IN (${marks(part.length)}) AND current_step = ? AND status = 'active'`,
            [fromStep + 1, now.getTime(), now.getTime(), ...part, fromStep],
          );
    }
    return n;
  }

  /** Look at the membership again at `at` (a wait step's next check, a claim another instance holds). */
  async setDue(ids: number[], at: Date): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      await this.db.query(`UPDATE journey_memberships SET next_due_at = ? WHERE status = 'active' AND id IN (${marks(part.length)})`, [at.getTime(), ...part]);
    }
  }

  /** End active memberships early with the reason; answers the ids that it ended (not those already ended). */
  async exit(ids: number[], reason: ExitReason, now: Date): Promise<number[]> {
    const ended: number[] = [];
    for (const id of ids) {
      const n = await this.db.exec("UPDATE journey_memberships SET status = 'exited', exit_reason = ?, next_due_at = NULL, ended_at = ? WHERE id = ? AND status = 'active'", [reason, now.getTime(), id]);
      if (n === 1) ended.push(id);
    }
    return ended;
  }

  /** A member follows the customer to their new owner. */
  async setOwner(id: number, owner: string): Promise<void> {
    await this.db.query("UPDATE journey_memberships SET owner_userid = ? WHERE id = ? AND status = 'active'", [owner, id]);
  }

  /** Move a journey's active members (all, or these) to `version`; answers how many moved. */
  async migrate(journeyId: string, version: number, ids?: number[]): Promise<number> {
    if (ids && ids.length === 0) return 0;
    if (!ids) return this.db.exec("UPDATE journey_memberships SET version = ? WHERE journey_id = ? AND status = 'active' AND version <> ?", [version, journeyId, version]);
    let n = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      n += await this.db.exec(`UPDATE journey_memberships SET version = ? WHERE journey_id = ? AND status = 'active' AND version <> ? AND id IN (${marks(part.length)})`, [version, journeyId, version, ...part]);
    }
    return n;
  }

  // ── step runs ──────────────────────────────────────────────────────────────────────────────────────────────────

  /** The runs of these (membership, step) pairs that exist. */
  async runsAt(pairs: { membershipId: number; stepIndex: number }[]): Promise<Map<string, StepRun>> {
    const out = new Map<string, StepRun>();
    for (let i = 0; i < pairs.length; i += CHUNK) {
      const part = pairs.slice(i, i + CHUNK);
      const rows = await this.db.query<RunRow>(`SELECT * FROM journey_step_runs WHERE membership_id IN (${marks(part.length)})`, part.map((p) => p.membershipId));
      const wanted = new Set(part.map((p) => `${p.membershipId}:${p.stepIndex}`));
      for (const r of rows) {
        const k = `${Number(r.membership_id)}:${Number(r.step_index)}`;
        if (wanted.has(k)) out.set(k, toRun(r));
      }
    }
    return out;
  }

  /**
   * Claim one step of one membership: a plain INSERT under the UNIQUE key, so of every instance and every tick exactly
   * one gets it (docs/reliability.md §Database idioms). Null when it was already claimed.
   */
  async claim(m: Pick<JourneyMembership, 'id' | 'journeyId'>, stepIndex: number, kind: StepRun['kind'], instanceId: string, now: Date): Promise<StepRun | null> {
    const ok = await this.db.writeUnique(
      "INSERT INTO journey_step_runs (membership_id, journey_id, step_index, kind, status, claimed_by, claimed_at, attempts) VALUES (?,?,?,?,'claimed',?,?,1)",
      [m.id, m.journeyId, stepIndex, kind, instanceId, now.getTime()],
    );
    if (!ok) return null;
    return (await this.runsAt([{ membershipId: m.id, stepIndex }])).get(`${m.id}:${stepIndex}`) ?? null;
  }

  /**
   * Claim a page of steps: one multi-row INSERT per 500, which the UNIQUE key refuses whole when any of them was
   * claimed meanwhile; then those are claimed one by one, so the key still decides each (docs/reliability.md
   * §Database idioms). Answers the runs this call won, by membership.
   */
  async claimMany(items: { membership: Pick<JourneyMembership, 'id' | 'journeyId'>; stepIndex: number; kind: StepRun['kind'] }[], instanceId: string, now: Date): Promise<Map<number, StepRun>> {
    const won = new Map<number, StepRun>();
    for (let i = 0; i < items.length; i += CHUNK) {
      const part = items.slice(i, i + CHUNK);
      const ok = await this.db.writeUnique(
        `INSERT INTO journey_step_runs (membership_id, journey_id, step_index, kind, status, claimed_by, claimed_at, attempts) VALUES ${part.map(() => "(?,?,?,?,'claimed',?,?,1)").join(',')}`,
        part.flatMap((x) => [x.membership.id, x.membership.journeyId, x.stepIndex, x.kind, instanceId, now.getTime()]),
      );
      if (ok) {
        const runs = await this.runsAt(part.map((x) => ({ membershipId: x.membership.id, stepIndex: x.stepIndex })));
        for (const r of runs.values()) if (r.claimedBy === instanceId && r.status === 'claimed' && r.claimedAt.getTime() === now.getTime()) won.set(r.membershipId, r);
        continue;
      }
      for (const x of part) {
        const r = await this.claim(x.membership, x.stepIndex, x.kind, instanceId, now);
        if (r) won.set(r.membershipId, r);
      }
    }
    return won;
  }

  /** Record what claimed runs came to, 500 per statement; only rows this holder still claims are written. */
  async finishMany(rows: { id: number; status: StepRunStatus; result: string | null; deliveryId: number | null }[], holder: string, now: Date): Promise<void> {
    const byStatus = new Map<StepRunStatus, typeof rows>();
    for (const r of rows) {
      const l = byStatus.get(r.status);
      if (l) l.push(r);
      else byStatus.set(r.status, [r]);
    }
    for (const [status, list] of byStatus) {
      const isEnd = status === 'done' || status === 'skipped' || status === 'failed';
      for (let i = 0; i < list.length; i += CHUNK) {
        const part = list.slice(i, i + CHUNK);
        const cases = (f: (r: (typeof part)[number]) => unknown) => ({ sql: `CASE id ${part.map(() => 'WHEN ? THEN ?').join(' ')} END`, params: part.flatMap((r) => [r.id, f(r)]) });
        const result = cases((r) => r.result?.slice(0, 200) ?? null);
        const delivery = cases((r) => r.deliveryId);
        await this.db.query(
          `UPDATE journey_step_runs SET status = ?, result = ${result.sql}, delivery_id = ${delivery.sql}, acted_at = COALESCE(acted_at, ?), done_at = ?
            WHERE id IN (${marks(part.length)}) AND status = 'claimed' AND claimed_by = ?`,
          [status, ...result.params, ...delivery.params, now.getTime(), isEnd ? now.getTime() : null, ...part.map((r) => r.id), holder],
        );
      }
    }
  }

  /** Take over a stale claim: a compare-and-set on its claim time and holder, so one instance of several gets it. */
  async takeOver(r: StepRun, instanceId: string, now: Date): Promise<boolean> {
    const n = await this.db.exec(
      "UPDATE journey_step_runs SET claimed_by = ?, claimed_at = ?, attempts = attempts + 1 WHERE id = ? AND status = 'claimed' AND claimed_at = ? AND claimed_by = ?",
      [instanceId, now.getTime(), r.id, r.claimedAt.getTime(), r.claimedBy],
    );
    return n === 1;
  }

  /** Record what a claimed or waiting run came to. Only the holder of a claim (or the follow pass on a wait) writes it. */
  async finish(id: number, from: StepRunStatus, to: StepRunStatus, fields: { result?: string | null; deliveryId?: number | null; taskId?: string | null; now: Date; holder?: string }): Promise<boolean> {
    const isEnd = to === 'done' || to === 'skipped' || to === 'failed';
    const n = await this.db.exec(
      `UPDATE journey_step_runs SET status = ?, result = COALESCE(?, result), delivery_id = COALESCE(?, delivery_id), task_id = COALESCE(?, task_id),
         acted_at = COALESCE(acted_at, ?), done_at = ? WHERE id = ? AND status = ?${fields.holder ? ' AND claimed_by = ?' : ''}`,
      [to, fields.result?.slice(0, 200) ?? null, fields.deliveryId ?? null, fields.taskId ?? null, fields.now.getTime(), isEnd ? fields.now.getTime() : null, id, from, ...(fields.holder ? [fields.holder] : [])],
    );
    return n === 1;
  }

  /** Message and task runs still waiting for their outcome (the follow pass). */
  async waiting(kind: 'message' | 'task', afterId: number, limit: number): Promise<StepRun[]> {
    const rows = await this.db.query<RunRow>("SELECT * FROM journey_step_runs WHERE status = 'waiting' AND kind = ? AND id > ? ORDER BY id LIMIT ?", [kind, afterId, limit]);
    return rows.map(toRun);
  }

  /** The ledger rows of message runs: their status and reason. */
  async deliveryStates(ids: number[]): Promise<Map<number, { status: string; reason: string | null; sentAt: Date | null }>> {
    const out = new Map<number, { status: string; reason: string | null; sentAt: Date | null }>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      const rows = await this.db.query<{ id: Num; status: string; reason: string | null; sent_at: Num | null }>(`SELECT id, status, reason, sent_at FROM deliveries WHERE id IN (${marks(part.length)})`, part);
      for (const r of rows) out.set(Number(r.id), { status: r.status, reason: r.reason, sentAt: ms(r.sent_at) });
    }
    return out;
  }

  /** Ledger rows by (source, customer, occasion), keyed `source NUL customer NUL occasion` (the unique key's order). */
  async ledgerRows(keys: { source: string; externalUserId: string; occasion: string }[]): Promise<Map<string, { id: number; status: string; reason: string | null }>> {
    const out = new Map<string, { id: number; status: string; reason: string | null }>();
    const bySource = new Map<string, Set<string>>();
    for (const k of keys) {
      let s = bySource.get(k.source);
      if (!s) bySource.set(k.source, (s = new Set()));
      s.add(k.externalUserId);
    }
    for (const [source, set] of bySource) {
      const ids = [...set];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const part = ids.slice(i, i + CHUNK);
        const rows = await this.db.query<{ id: Num; external_user_id: string; occasion: string; status: string; reason: string | null }>(
          `SELECT id, external_user_id, occasion, status, reason FROM deliveries WHERE source = ? AND external_user_id IN (${marks(part.length)})`,
          [source, ...part],
        );
        for (const r of rows) out.set(`${source}\u0000${r.external_user_id}\u0000${r.occasion}`, { id: Number(r.id), status: r.status, reason: r.reason });
      }
    }
    return out;
  }

  /** Planned ledger rows of these memberships' waiting message runs (cancelled when the member exits). */
  async plannedDeliveriesOf(membershipIds: number[]): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < membershipIds.length; i += CHUNK) {
      const part = membershipIds.slice(i, i + CHUNK);
      const rows = await this.db.query<{ id: Num }>(
        `SELECT d.id FROM journey_step_runs r JOIN deliveries d ON d.id = r.delivery_id WHERE r.membership_id IN (${marks(part.length)}) AND r.status = 'waiting' AND d.status = 'planned'`,
        part,
      );
      out.push(...rows.map((r) => Number(r.id)));
    }
    return out;
  }

  // ── facts the tick checks ─────────────────────────────────────────────────────────────────────────────────────

  /** For each customer, their first order at or after `since` (epoch ms), when there is one. */
  async orderedSince(items: { externalUserId: string; since: number }[]): Promise<Set<string>> {
    const out = new Set<string>();
    const earliest = new Map<string, number>();
    for (const it of items) earliest.set(it.externalUserId, Math.min(earliest.get(it.externalUserId) ?? Infinity, it.since));
    const ids = [...earliest.keys()];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      const rows = await this.db.query<{ external_user_id: string; last: Num }>(`SELECT external_user_id, MAX(ordered_at) AS last FROM orders WHERE external_user_id IN (${marks(part.length)}) GROUP BY external_user_id`, part);
      for (const r of rows) if (Number(r.last) >= earliest.get(r.external_user_id)!) out.add(r.external_user_id);
    }
    return out;
  }

  /** Whether each customer has orders at or after `since` — exact per item. */
  async hasOrderSince(externalUserId: string, since: number): Promise<boolean> {
    const [r] = await this.db.query<{ n: Num }>('SELECT COUNT(*) AS n FROM orders WHERE external_user_id = ? AND ordered_at >= ?', [externalUserId, since]);
    return Number(r.n) > 0;
  }

  /** How many orders each customer has (first-order triggers). */
  async orderCounts(ids: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      const rows = await this.db.query<{ external_user_id: string; n: Num }>(`SELECT external_user_id, COUNT(*) AS n FROM orders WHERE external_user_id IN (${marks(part.length)}) GROUP BY external_user_id`, part);
      for (const r of rows) out.set(r.external_user_id, Number(r.n));
    }
    return out;
  }

  /** The corp tag ids on each customer (any relation). */
  async tagsOf(ids: string[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      const rows = await this.db.query<{ external_user_id: string; tag_id: string }>(`SELECT DISTINCT external_user_id, tag_id FROM customer_tags WHERE external_user_id IN (${marks(part.length)})`, part);
      for (const r of rows) {
        let s = out.get(r.external_user_id);
        if (!s) out.set(r.external_user_id, (s = new Set()));
        s.add(r.tag_id);
      }
    }
    return out;
  }

  /** Stage and activity of each customer. */
  async stagesOf(ids: string[]): Promise<Map<string, { stage: string | null; activity: string | null }>> {
    const out = new Map<string, { stage: string | null; activity: string | null }>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      const rows = await this.db.query<{ external_user_id: string; stage: string | null; activity: string | null }>(`SELECT external_user_id, stage, activity FROM customers WHERE external_user_id IN (${marks(part.length)})`, part);
      for (const r of rows) out.set(r.external_user_id, { stage: r.stage, activity: r.activity });
    }
    return out;
  }

  /** The active relations of each customer (userids). */
  async activeOwners(ids: string[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      const rows = await this.db.query<{ external_user_id: string; userid: string }>(`SELECT external_user_id, userid FROM follow_relations WHERE status = 'active' AND external_user_id IN (${marks(part.length)})`, part);
      for (const r of rows) {
        let s = out.get(r.external_user_id);
        if (!s) out.set(r.external_user_id, (s = new Set()));
        s.add(r.userid);
      }
    }
    return out;
  }

  /** Customers whose birthday (solar calendar) falls on local month/day. */
  async birthdaysOn(month: number, day: number): Promise<string[]> {
    const rows = await this.db.query<{ external_user_id: string }>("SELECT external_user_id FROM customers WHERE birthday_month = ? AND birthday_day = ? AND (birthday_calendar IS NULL OR birthday_calendar = 'solar')", [month, day]);
    return rows.map((r) => r.external_user_id);
  }

  // ── signals ────────────────────────────────────────────────────────────────────────────────────────────────────

  /** Leave a signal for the tick; inside the caller's transaction when `em` is given, so it commits with the fact. */
  async signal(s: JourneySignal, at: Date, em?: EntityManager): Promise<void> {
    const { kind, externalUserId, ...rest } = s;
    const userid = 'userid' in rest ? (rest.userid ?? null) : null;
    const params = [kind, externalUserId, userid, JSON.stringify(rest), at.getTime()];
    const sql = 'INSERT INTO journey_signals (kind, external_user_id, userid, data, occurred_at) VALUES (?,?,?,?,?)';
    if (em) await em.query(sql, params);
    else await this.db.query(sql, params);
  }

  /**
   * In an order import's transaction: a `first_order` signal for each customer all of whose orders are among the new
   * ones (their first order just arrived).
   */
  async firstOrdersInTx(em: EntityManager, fresh: { externalUserId: string }[], now: Date): Promise<void> {
    const newCount = new Map<string, number>();
    for (const o of fresh) newCount.set(o.externalUserId, (newCount.get(o.externalUserId) ?? 0) + 1);
    const ids = [...newCount.keys()];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      const rows: { external_user_id: string; n: Num }[] = await em.query(`SELECT external_user_id, COUNT(*) AS n FROM orders WHERE external_user_id IN (${marks(part.length)}) GROUP BY external_user_id`, part);
      for (const r of rows) if (Number(r.n) === newCount.get(r.external_user_id)) await this.signal({ kind: 'first_order', externalUserId: r.external_user_id }, now, em);
    }
  }

  /** Customers a tag among `tagIds` was put on at or after `since` (any source: rules, channels, people, WeCom). */
  async taggedSince(tagIds: string[], since: Date): Promise<string[]> {
    if (tagIds.length === 0) return [];
    const rows = await this.db.query<{ external_user_id: string }>(`SELECT DISTINCT external_user_id FROM customer_tags WHERE tag_id IN (${marks(tagIds.length)}) AND created_at >= ?`, [...tagIds, since.getTime()]);
    return rows.map((r) => r.external_user_id);
  }

  /** The oldest signals. */
  async signals(limit: number): Promise<{ id: number; signal: JourneySignal; occurredAt: Date }[]> {
    const rows = await this.db.query<{ id: Num; kind: JourneySignal['kind']; external_user_id: string; data: string; occurred_at: Num }>(
      'SELECT id, kind, external_user_id, data, occurred_at FROM journey_signals ORDER BY id LIMIT ?',
      [limit],
    );
    return rows.map((r) => ({ id: Number(r.id), signal: { kind: r.kind, externalUserId: r.external_user_id, ...(JSON.parse(r.data) as object) } as JourneySignal, occurredAt: new Date(Number(r.occurred_at)) }));
  }

  async dropSignals(ids: number[]): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      await this.db.query(`DELETE FROM journey_signals WHERE id IN (${marks(part.length)})`, part);
    }
  }

  // ── stats ──────────────────────────────────────────────────────────────────────────────────────────────────────

  /** Memberships by holdout, status and exit reason, with how many ordered within `conversionDays` of entering. */
  async memberCounts(journeyId: string, conversionDays: number): Promise<{ isHoldout: boolean; status: MembershipStatus; exitReason: string | null; currentStep: number; n: number; converted: number }[]> {
    const windowMs = conversionDays * 86_400_000;
    const rows = await this.db.query<{ is_holdout: Num; status: MembershipStatus; exit_reason: string | null; current_step: Num; n: Num; converted: Num }>(
      `SELECT m.is_holdout, m.status, m.exit_reason, m.current_step, COUNT(*) AS n,
              SUM(CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.external_user_id = m.external_user_id AND o.ordered_at >= m.entered_at AND o.ordered_at < m.entered_at + ?) THEN 1 ELSE 0 END) AS converted
         FROM journey_memberships m WHERE m.journey_id = ? GROUP BY m.is_holdout, m.status, m.exit_reason, m.current_step`,
      [windowMs, journeyId],
    );
    return rows.map((r) => ({ isHoldout: Number(r.is_holdout) === 1, status: r.status, exitReason: r.exit_reason, currentStep: Number(r.current_step), n: Number(r.n), converted: Number(r.converted ?? 0) }));
  }

  /**
   * Per journey, its treated members (the holdout left out): entered, still active, and ordered within the journey's
   * conversion window after entering. One query for the whole list, the figures stats() gives as `treated`.
   */
  async listCounts(): Promise<Map<string, { entered: number; active: number; converted: number }>> {
    const rows = await this.db.apiRead<{ journey_id: string; n: Num; active: Num; converted: Num }>(
      `SELECT m.journey_id, COUNT(*) AS n, SUM(CASE WHEN m.status = 'active' THEN 1 ELSE 0 END) AS active,
              SUM(CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.external_user_id = m.external_user_id AND o.ordered_at >= m.entered_at AND o.ordered_at < m.entered_at + j.conversion_days * 86400000) THEN 1 ELSE 0 END) AS converted
         FROM journey_memberships m JOIN journeys j ON j.id = m.journey_id WHERE m.is_holdout = 0 GROUP BY m.journey_id`,
    );
    return new Map(rows.map((r) => [r.journey_id, { entered: Number(r.n), active: Number(r.active ?? 0), converted: Number(r.converted ?? 0) }]));
  }

  /** Step runs by step, status and result code (the result's text up to its first colon). */
  async runCounts(journeyId: string): Promise<{ stepIndex: number; status: StepRunStatus; n: number }[]> {
    const rows = await this.db.query<{ step_index: Num; status: StepRunStatus; n: Num }>('SELECT step_index, status, COUNT(*) AS n FROM journey_step_runs WHERE journey_id = ? GROUP BY step_index, status', [journeyId]);
    return rows.map((r) => ({ stepIndex: Number(r.step_index), status: r.status, n: Number(r.n) }));
  }

  /** The runs of one membership (its detail). */
  async runsOf(membershipId: number): Promise<StepRun[]> {
    return (await this.db.query<RunRow>('SELECT * FROM journey_step_runs WHERE membership_id = ? ORDER BY step_index', [membershipId])).map(toRun);
  }
}
