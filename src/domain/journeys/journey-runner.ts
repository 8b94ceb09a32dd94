import type { JourneyRepository } from '../../persistence/repositories/journey.repository.js';
import type { Logger } from '../../shared/logger.js';
import { toError } from '../../shared/errors.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import { addDays, localDate, parseLocalDate } from '../../shared/dates.js';
import { renderTemplate } from '../../shared/template.js';
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { PlanSink } from '../delivery/delivery-ledger.js';
import type { NewDelivery } from '../delivery/delivery.types.js';
import type { StaffMessenger } from '../notify/staff-messenger.js';
import { stepDueAt } from './journey-schedule.js';
import type { JourneyService } from './journey.service.js';
import type { ExitReason, Journey, JourneyDefinition, JourneyMembership, JourneySignal, JourneyStep, StepRun, WaitCondition } from './journey.types.js';
import type { JourneyTaskPort } from './staff-task-port.types.js';

/** A claim not finished after this long is presumed dead (its instance crashed) and taken over. */
export const JOURNEY_STALE_CLAIM_MS = 5 * 60_000;
/** After this many attempts a step that keeps failing is recorded as failed and the member goes on. */
export const JOURNEY_MAX_ATTEMPTS = 5;
/**
 * A tag-added trigger looks at tags put on in this window before each tick: every path that tags a customer (rules,
 * channels, people in the console or in the WeCom client) writes `customer_tags.created_at`, and an entry is decided
 * by the unique key and the re-entry policy, so looking at the same tag again enters nobody twice.
 */
export const JOURNEY_TAG_LOOKBACK_MS = 10 * 60_000;
/** A signal that still fails this long after it happened is dropped with an error, so it blocks none behind it. */
const SIGNAL_GIVE_UP_MS = 3_600_000;
/** How often a wait step looks at its condition again. */
export const JOURNEY_WAIT_CHECK_MS = 15 * 60_000;
/** A message step's ledger row may wait this long (quiet hours, the owner's confirmation) before it expires. */
const MESSAGE_EXPIRY_MS = 3 * 86_400_000;
/**
 * A task reminder claimed this long ago and not recorded sent is presumed lost (its instance crashed, or WeCom failed)
 * and claimed again; well inside WeCom's 30-minute duplicate check, which keeps a send the crash hid from going twice
 * (docs/todo.md §Reminders).
 */
export const TASK_REMINDER_STALE_MS = 5 * 60_000;
/** A reminder still not sent a day after its task was made is dropped: the task is in the member's list and digest. */
const TASK_REMINDER_GIVE_UP_MS = 86_400_000;

export interface JourneyRunCounts {
  signals: number;
  entered: number;
  exited: number;
  due: number;
  claimed: number;
  takenOver: number;
  planned: number;
  tasks: number;
  tagged: number;
  waiting: number;
  advanced: number;
  completed: number;
  followed: number;
  reminded: number;
}

/** What the runner needs from other features (ports written in the container). */
export interface JourneyRunnerDeps {
  repo: JourneyRepository;
  service: Pick<JourneyService, 'enter' | 'exitMembers' | 'replied' | 'version'>;
  /** This instance's delivery ledger. */
  ledger: PlanSink;
  /** The ledger rows of these keys (by ledgerKeyOf): id, status and reason. */
  ledgerRows(keys: { source: string; externalUserId: string; occasion: string }[]): Promise<Map<string, { id: number; status: string; reason: string | null }>>;
  /** Submit what is due (the dispatcher), after planning. */
  dispatch(now: Date): Promise<void>;
  tasks: JourneyTaskPort | null;
  /**
   * 素材库 items as a message's text and attachments at `at` (cached WeCom media; refused when not fresh, and then the
   * step is retried); `{{name}}` and `{{staff}}` are left for each member.
   */
  content(ids: string[], at: Date): Promise<StepContent>;
  /** `n` uses of each item: one per member a step newly planned a message or made a task for (docs/content.md §Use counts). */
  countUse?(ids: string[], n: number): Promise<void>;
  messenger: Pick<StaffMessenger, 'send'>;
  /** Corp tags through the tagging path (WeCom first, then the archive). */
  tag(input: { externalUserId: string; userid: string | null; add: string[]; remove: string[] }): Promise<void>;
  optedOut(ids: string[]): Promise<Set<string>>;
  /** The owner by the care settings' sender policy (a transfer's new owner). */
  ownerOf(ids: string[]): Promise<Map<string, string>>;
  names(ids: string[]): Promise<Map<string, string>>;
  staffNames(userids: string[]): Promise<Map<string, string>>;
  /** Customers of an audience expression, page by page (nightly triggers). */
  audience(expression: string, now: Date): AsyncIterable<string[]>;
  tz: string;
  instanceId: string;
  pageSize: number;
  /** Stop taking new pages after this long in one tick (the next minute goes on). */
  budgetMs: number;
  log: Logger;
}

const zero = (): JourneyRunCounts => ({ signals: 0, entered: 0, exited: 0, due: 0, claimed: 0, takenOver: 0, planned: 0, tasks: 0, tagged: 0, waiting: 0, advanced: 0, completed: 0, followed: 0, reminded: 0 });

/**
 * The journeys' tick (docs/journeys.md §The tick): match signals against triggers and exits, advance due memberships
 * page by page, and follow waiting steps to their outcome. Each (membership, step) is claimed by a row under a UNIQUE
 * key, so two instances, a catch-up run, or a restart after a crash act on it once (docs/journeys.md §Once per step).
 */
export class JourneyRunner {
  constructor(private readonly d: JourneyRunnerDeps) {}

  async tick(now: Date, opts: { clock?: () => Date } = {}): Promise<JourneyRunCounts> {
    const counts = zero();
    const clockNow = opts.clock ?? (() => now);
    const journeys = new Map((await this.d.repo.withStatus('active')).map((j) => [j.id, j]));
    await this.signals(now, journeys, counts);
    await this.tagTriggers(now, journeys, counts);
    const started = Date.now();
    let planned = false;
    for (;;) {
      // On SQLite a page's statements settle as microtasks: without a turn between pages the tick held the event loop
      // for its whole 50,000-member run (docs/inbox.md §Long jobs share the loop).
      await yieldToEventLoop();
      const page = await this.d.repo.due(now, this.d.pageSize);
      if (page.length === 0) break;
      counts.due += page.length;
      planned = (await this.advancePage(page, now, journeys, counts)) || planned;
      if (page.length < this.d.pageSize || Date.now() - started > this.d.budgetMs) break;
    }
    await this.follow(clockNow(), counts);
    await this.reminders(clockNow(), counts);
    if (planned) await this.d.dispatch(clockNow());
    return counts;
  }

  /** The nightly entries: birthdays N days ahead, and audiences (stage and activity triggers are checked here too). */
  async nightly(today: string, now: Date): Promise<{ entered: number }> {
    let entered = 0;
    for (const j of await this.d.repo.withStatus('active')) {
      const { trigger } = (await this.d.service.version(j.id, j.currentVersion)).definition;
      const enterAll = async (ids: string[], by: string) => {
        const owners = await this.d.ownerOf(ids);
        for (const ext of ids) if (await this.d.service.enter(j, ext, by, now, owners.get(ext) ?? null)) entered += 1;
      };
      try {
        if (trigger.kind === 'birthday') {
          const { month, day } = parseLocalDate(addDays(today, trigger.daysBefore));
          await enterAll(await this.d.repo.birthdaysOn(month, day), 'birthday');
        } else if (trigger.kind === 'audience') {
          for await (const ids of this.d.audience(trigger.audience, now)) await enterAll(ids, 'audience');
        } else if (trigger.kind === 'stage') {
          for await (const ids of this.d.audience(`${trigger.field}:${trigger.value}`, now)) await enterAll(ids, 'stage');
        }
      } catch (err) {
        this.d.log.warn({ err: toError(err), journeyId: j.id }, 'journey nightly entries failed');
      }
    }
    return { entered };
  }

  // ── signals ────────────────────────────────────────────────────────────────────────────────────────────────────

  private async signals(now: Date, journeys: Map<string, Journey>, counts: JourneyRunCounts): Promise<void> {
    const defs = new Map<string, JourneyDefinition>();
    for (const j of journeys.values()) defs.set(j.id, (await this.d.service.version(j.id, j.currentVersion)).definition);
    for (;;) {
      // A turn for the event loop before each batch, as between the due pages below: in a surge every WeChat-KF
      // message is a signal, and 24 batches in one turn held the loop for 68 ms (docs/inbox.md §Long jobs share the loop).
      await yieldToEventLoop();
      const batch = await this.d.repo.signals(500);
      if (batch.length === 0) return;
      const handled: number[] = [];
      let failed = false;
      // Replies come in bursts (every WeChat-KF message is one): the batch's repliers' active memberships are read at
      // once, not one read per signal, which held the event loop for 53 ms over 2,309 signals in the surge bench. A
      // customer who entered a journey earlier in this batch is read again; a second reply with no entry in between
      // changes nothing (the first already ended every membership that ends on replies).
      const repliers = [...new Set(batch.filter((b) => b.signal.kind === 'replied').map((b) => b.signal.externalUserId))];
      const activeOf = new Map<string, JourneyMembership[]>(repliers.map((ext) => [ext, []]));
      for (const m of repliers.length > 0 ? await this.d.repo.activeOf(repliers) : []) activeOf.get(m.externalUserId)?.push(m);
      const enteredNow = new Set<string>();
      const repliedNow = new Set<string>();
      for (const { id, signal, occurredAt } of batch) {
        try {
          if (signal.kind === 'replied') {
            const ext = signal.externalUserId;
            if (!repliedNow.has(ext) || enteredNow.has(ext)) {
              counts.exited += await this.d.service.replied(ext, now, enteredNow.has(ext) ? undefined : activeOf.get(ext));
              repliedNow.add(ext);
              enteredNow.delete(ext);
            }
          } else {
            for (const j of journeys.values()) {
              if (!matches(defs.get(j.id)!, signal)) continue;
              const owner = signal.kind === 'added' ? signal.userid : null;
              if (await this.d.service.enter(j, signal.externalUserId, signal.kind, now, owner)) {
                counts.entered += 1;
                enteredNow.add(signal.externalUserId);
              }
            }
          }
          handled.push(id);
          counts.signals += 1;
        } catch (err) {
          if (now.getTime() - occurredAt.getTime() > SIGNAL_GIVE_UP_MS) {
            // Failing for an hour: not a passing fault. Dropped where an operator sees it, so it blocks nothing behind it.
            this.d.log.error({ err: toError(err), signal: signal.kind, externalUserId: signal.externalUserId }, 'journey signal dropped after failing for an hour');
            handled.push(id);
            continue;
          }
          // Kept, with the ones behind it, for the next tick (the database or a port failed): matching again is
          // harmless (docs/journeys.md §Signals), losing a trigger is not.
          this.d.log.warn({ err: toError(err), signal: signal.kind }, 'journey signal failed; retried next tick');
          failed = true;
          break;
        }
      }
      await this.d.repo.dropSignals(handled);
      if (failed || batch.length < 500) return;
    }
  }

  /** Tag-added triggers: customers tagged within the lookback, since the journey was activated. */
  private async tagTriggers(now: Date, journeys: Map<string, Journey>, counts: JourneyRunCounts): Promise<void> {
    for (const j of journeys.values()) {
      const { trigger } = (await this.d.service.version(j.id, j.currentVersion)).definition;
      if (trigger.kind !== 'tag_added') continue;
      const since = new Date(Math.max(now.getTime() - JOURNEY_TAG_LOOKBACK_MS, j.activatedAt?.getTime() ?? 0));
      try {
        const ids = await this.d.repo.taggedSince(trigger.tagIds, since);
        const owners = await this.d.ownerOf(ids);
        for (const ext of ids) if (await this.d.service.enter(j, ext, 'tag_added', now, owners.get(ext) ?? null)) counts.entered += 1;
      } catch (err) {
        this.d.log.warn({ err: toError(err), journeyId: j.id }, 'journey tag trigger failed');
      }
    }
  }

  // ── due memberships ────────────────────────────────────────────────────────────────────────────────────────────

  /** One page: exits first (against the customer's state now), then each member's current step. True when something was planned. */
  private async advancePage(page: JourneyMembership[], now: Date, journeys: Map<string, Journey>, counts: JourneyRunCounts): Promise<boolean> {
    const ids = [...new Set(page.map((m) => m.externalUserId))];
    const defs = new Map<number, JourneyDefinition>();
    for (const m of page) defs.set(m.id, (await this.d.service.version(m.journeyId, m.version)).definition);
    const [opted, owners, ordered, tags] = await Promise.all([
      this.d.optedOut(ids),
      this.d.repo.activeOwners(ids),
      this.d.repo.orderedSince(page.filter((m) => defs.get(m.id)!.exits.ordered).map((m) => ({ externalUserId: m.externalUserId, since: m.enteredAt.getTime() + 1 }))),
      page.some((m) => defs.get(m.id)!.exits.tagRemoved.length > 0) ? this.d.repo.tagsOf(ids) : Promise.resolve(new Map<string, Set<string>>()),
    ]);
    const leaving = new Map<ExitReason, JourneyMembership[]>();
    const leave = (m: JourneyMembership, r: ExitReason) => {
      const l = leaving.get(r);
      if (l) l.push(m);
      else leaving.set(r, [m]);
    };
    const staying: JourneyMembership[] = [];
    const newOwners = await this.d.ownerOf(ids.filter((x) => (owners.get(x)?.size ?? 0) > 0));
    for (const m of page) {
      const def = defs.get(m.id)!;
      const j = journeys.get(m.journeyId);
      const rel = owners.get(m.externalUserId);
      if (!j) {
        // Paused (or archived meanwhile): looked at again in an hour.
        await this.d.repo.setDue([m.id], new Date(now.getTime() + 3_600_000));
        continue;
      }
      if (opted.has(m.externalUserId)) leave(m, 'opted_out');
      else if (!rel || rel.size === 0) leave(m, 'relation_deleted');
      else if (def.exits.ordered && ordered.has(m.externalUserId) && (await this.d.repo.hasOrderSince(m.externalUserId, m.enteredAt.getTime() + 1))) leave(m, 'ordered');
      else if (def.exits.tagRemoved.some((t) => !tags.get(m.externalUserId)?.has(t))) leave(m, 'tag_removed');
      else if (m.ownerUserid && !rel.has(m.ownerUserid)) {
        // The owner no longer has the customer: a transfer. Follow the customer to the new owner, or stop.
        const next = newOwners.get(m.externalUserId);
        if (j.transferPolicy === 'follow' && next) {
          await this.d.repo.setOwner(m.id, next);
          // Its open task (a check-in not yet done) is now the new owner's work (docs/todo.md §Withdrawn tasks).
          await this.d.tasks?.reassign(m.id, next);
          staying.push({ ...m, ownerUserid: next });
        } else leave(m, 'transferred');
      } else staying.push(m);
    }
    for (const [reason, ms] of leaving) counts.exited += await this.d.service.exitMembers(ms, reason, now);

    const runs = await this.d.repo.runsAt(staying.map((m) => ({ membershipId: m.id, stepIndex: m.currentStep })));
    const vars = await this.varsOf(staying);
    let planned = false;
    // Most members of a page are at a step nobody claimed yet: those are claimed, acted on (messages as one ledger
    // page) and moved on in a few statements per page; the rest (a wait step, a claim to take over) one by one.
    const toClaim: JourneyMembership[] = [];
    const toAdvance: JourneyMembership[] = [];
    for (const m of staying) {
      const def = defs.get(m.id)!;
      const j = journeys.get(m.journeyId)!;
      const step = def.steps[m.currentStep];
      if (!step) {
        // Migrated to a version with fewer steps: nothing left to run.
        if (await this.d.repo.advance(m.id, m.currentStep - 1, null, now, true)) counts.completed += 1;
        continue;
      }
      const run = runs.get(`${m.id}:${m.currentStep}`) ?? null;
      if (!run) toClaim.push(m);
      else if (run.status === 'claimed') {
        try {
          if (run.claimedAt.getTime() > now.getTime() - JOURNEY_STALE_CLAIM_MS) {
            await this.d.repo.setDue([m.id], new Date(run.claimedAt.getTime() + JOURNEY_STALE_CLAIM_MS));
            continue;
          }
          if (!(await this.d.repo.takeOver(run, this.d.instanceId, now))) continue;
          counts.takenOver += 1;
          const mine: StepRun = { ...run, claimedBy: this.d.instanceId, claimedAt: now, attempts: run.attempts + 1 };
          if (mine.attempts > JOURNEY_MAX_ATTEMPTS) {
            await this.d.repo.finish(run.id, 'claimed', 'failed', { result: `failed: 重试 ${JOURNEY_MAX_ATTEMPTS} 次仍未成功`, now, holder: this.d.instanceId });
          } else {
            planned = (await this.act(j, m, step, mine, now, counts, vars(m))) || planned;
          }
          await this.afterAct(m, def, step, now, counts);
        } catch (err) {
          this.stepFailed(m, err, now);
        }
      } else if (step.kind === 'wait' && run.status === 'waiting') {
        await this.afterAct(m, def, step, now, counts).catch((err: unknown) => this.stepFailed(m, err, now));
      } else toAdvance.push(m);
    }

    // Claim the page's new steps together: the UNIQUE key still decides each one (docs/journeys.md §Once per step).
    const won = await this.d.repo.claimMany(
      toClaim.map((m) => ({ membership: m, stepIndex: m.currentStep, kind: defs.get(m.id)!.steps[m.currentStep].kind })),
      this.d.instanceId,
      now,
    );
    const lost = toClaim.filter((m) => !won.has(m.id));
    // Another instance claimed these a moment ago: look again shortly.
    if (lost.length > 0) await this.d.repo.setDue(lost.map((m) => m.id), new Date(now.getTime() + 60_000));
    counts.claimed += won.size;
    const messages: { j: Journey; m: JourneyMembership; step: Extract<JourneyStep, { kind: 'message' }>; run: StepRun }[] = [];
    for (const m of toClaim) {
      const run = won.get(m.id);
      if (!run) continue;
      const step = defs.get(m.id)!.steps[m.currentStep];
      const j = journeys.get(m.journeyId)!;
      if (step.kind === 'message') {
        messages.push({ j, m, step, run });
        continue;
      }
      try {
        planned = (await this.act(j, m, step, run, now, counts, vars(m))) || planned;
        if (step.kind === 'wait') await this.afterAct(m, defs.get(m.id)!, step, now, counts);
        else toAdvance.push(m);
      } catch (err) {
        this.stepFailed(m, err, now);
      }
    }
    if (messages.length > 0) {
      try {
        planned = (await this.actMessages(messages, now, counts, vars)) || planned;
        toAdvance.push(...messages.map((x) => x.m));
      } catch (err) {
        // Left claimed: after JOURNEY_STALE_CLAIM_MS a later tick takes each over.
        this.d.log.warn({ err: toError(err), n: messages.length }, 'journey message steps failed; retried after the claims go stale');
        await this.d.repo.setDue(messages.map((x) => x.m.id), new Date(now.getTime() + JOURNEY_STALE_CLAIM_MS)).catch(() => undefined);
      }
    }
    await this.advanceMany(toAdvance, defs, now, counts);
    return planned;
  }

  /** A step that threw: left claimed, taken over after JOURNEY_STALE_CLAIM_MS by a later tick (any instance). */
  private stepFailed(m: JourneyMembership, err: unknown, now: Date): void {
    this.d.log.warn({ err: toError(err), membershipId: m.id, step: m.currentStep }, 'journey step failed; retried after the claim goes stale');
    void this.d.repo.setDue([m.id], new Date(now.getTime() + JOURNEY_STALE_CLAIM_MS)).catch(() => undefined);
  }

  /** Count uses of a step's items; a lost count fails no step (docs/content.md §Use counts). */
  private async countUses(ids: string[] | undefined, n: number): Promise<void> {
    if (!ids || ids.length === 0 || n < 1 || !this.d.countUse) return;
    await this.d.countUse(ids, n);
  }

  /** A step's library items, resolved once for all the members acting on it now. */
  private async stepContent(step: { contentIds?: string[] }, now: Date): Promise<StepContent> {
    return step.contentIds && step.contentIds.length > 0 ? this.d.content(step.contentIds, now) : NO_CONTENT;
  }

  /** The template variables of each member: their name and their owner's. */
  private async varsOf(ms: JourneyMembership[]): Promise<(m: JourneyMembership) => { name: string; staff: string }> {
    const names = await this.d.names(ms.map((m) => m.externalUserId));
    const staff = await this.d.staffNames([...new Set(ms.map((m) => m.ownerUserid).filter((u): u is string => !!u))]);
    return (m) => ({ name: names.get(m.externalUserId) ?? '', staff: m.ownerUserid ? (staff.get(m.ownerUserid) ?? '') : '' });
  }

  /** The ledger row of a message step (docs/journeys.md §Message steps). */
  private delivery(j: Journey, m: JourneyMembership, step: Extract<JourneyStep, { kind: 'message' }>, now: Date, vars: { name: string; staff: string }, extra: StepContent): NewDelivery {
    return {
      source: `journey:${j.id}`,
      kind: 'journey',
      ruleId: j.id,
      externalUserId: m.externalUserId,
      occasion: `m${m.id}:s${m.currentStep}`,
      channel: 'mass_task',
      priority: j.priority,
      senderUserid: m.ownerUserid,
      text: renderTemplate(joinText(step.text, extra.text), vars),
      attachments: [...(step.attachments as unknown as MessageAttachment[]), ...extra.attachments],
      localDate: localDate(now, this.d.tz),
      notBefore: now,
      expiresAt: new Date(now.getTime() + MESSAGE_EXPIRY_MS),
      // The journey's holdout is drawn per customer, as the membership's flag was (docs/analytics.md §Holdout).
      holdoutPercent: j.holdoutPercent,
    };
  }

  /**
   * A page's message steps as one ledger page (one transaction, the ledger's unique key deciding each), then their
   * runs recorded with the rows they made. True when something was planned.
   */
  private async actMessages(
    items: { j: Journey; m: JourneyMembership; step: Extract<JourneyStep, { kind: 'message' }>; run: StepRun }[],
    now: Date,
    counts: JourneyRunCounts,
    vars: (m: JourneyMembership) => { name: string; staff: string },
  ): Promise<boolean> {
    const contents = new Map<string, StepContent>();
    for (const x of items) {
      const k = `${x.j.id}:${x.m.version}:${x.m.currentStep}`;
      if (!contents.has(k)) contents.set(k, await this.stepContent(x.step, now));
    }
    const ds = items.map((x) => this.delivery(x.j, x.m, x.step, now, vars(x.m), contents.get(`${x.j.id}:${x.m.version}:${x.m.currentStep}`)!));
    const outcomes = await this.d.ledger.planMany(ds);
    // A use per member newly planned, per step (a takeover's duplicates count nothing).
    const fresh = new Map<string, { ids: string[]; n: number }>();
    outcomes.forEach((o, i) => {
      const ids = items[i].step.contentIds ?? [];
      if (o.result !== 'planned' || ids.length === 0) return;
      const k = `${items[i].j.id}:${items[i].m.version}:${items[i].m.currentStep}`;
      const f = fresh.get(k);
      if (f) f.n += 1;
      else fresh.set(k, { ids, n: 1 });
    });
    for (const f of fresh.values()) await this.countUses(f.ids, f.n);
    const rows = await this.d.ledgerRows(ds.map((d) => ({ source: d.source, externalUserId: d.externalUserId, occasion: d.occasion })));
    const finished: { id: number; status: 'waiting' | 'done' | 'skipped' | 'failed'; result: string | null; deliveryId: number }[] = [];
    let planned = false;
    for (let i = 0; i < items.length; i++) {
      const row = rows.get(ledgerKeyOf(ds[i]));
      if (!row) throw new Error('ledger row missing after planning');
      const o = ledgerOutcome(row.status, row.reason);
      finished.push({ id: items[i].run.id, status: o.status, result: o.result, deliveryId: row.id });
      if (o.status === 'waiting') counts.planned += 1;
      if (row.status === 'planned') planned = true;
    }
    await this.d.repo.finishMany(finished, this.d.instanceId, now);
    return planned;
  }

  /** Move members past the step they finished, in groups that share the step and the next due time. */
  private async advanceMany(ms: JourneyMembership[], defs: Map<number, JourneyDefinition>, now: Date, counts: JourneyRunCounts): Promise<void> {
    const groups = new Map<string, { fromStep: number; due: Date | null; ids: number[] }>();
    for (const m of ms) {
      const next = defs.get(m.id)!.steps[m.currentStep + 1];
      // The next step's delay counts from this step's action (a claim taken over counts from the takeover).
      const due = next ? stepDueAt(next.delay, now, this.d.tz) : null;
      const k = `${m.currentStep}|${due?.getTime() ?? 'end'}`;
      const g = groups.get(k);
      if (g) g.ids.push(m.id);
      else groups.set(k, { fromStep: m.currentStep, due, ids: [m.id] });
    }
    for (const g of groups.values()) {
      const n = await this.d.repo.advanceMany(g.ids, g.fromStep, g.due, now);
      counts.advanced += n;
      if (!g.due) counts.completed += n;
    }
  }

  /**
   * Act on a claimed step. Each action is idempotent on the step's key, so a takeover after a crash repeats nothing:
   * the ledger's UNIQUE(source, customer, occasion), the task's (source, sourceRef), a tag already set.
   */
  private async act(j: Journey, m: JourneyMembership, step: JourneyStep, run: StepRun, now: Date, counts: JourneyRunCounts, vars: { name: string; staff: string }): Promise<boolean> {
    const holder = this.d.instanceId;
    if (step.kind === 'message') {
      const d = this.delivery(j, m, step, now, vars, await this.stepContent(step, now));
      if ((await this.d.ledger.plan(d)).result === 'planned') await this.countUses(step.contentIds, 1);
      const row = (await this.d.ledgerRows([{ source: d.source, externalUserId: d.externalUserId, occasion: d.occasion }])).get(ledgerKeyOf(d));
      if (!row) throw new Error('ledger row missing after planning');
      const outcome = ledgerOutcome(row.status, row.reason);
      await this.d.repo.finish(run.id, 'claimed', outcome.status, { result: outcome.result, deliveryId: row.id, now, holder });
      if (outcome.status === 'waiting') counts.planned += 1;
      return row.status === 'planned';
    }
    if (step.kind === 'task') {
      if (m.isHoldout) {
        await this.d.repo.finish(run.id, 'claimed', 'skipped', { result: 'holdout: 对照组，不安排任务', now, holder });
        return false;
      }
      if (!this.d.tasks) {
        await this.d.repo.finish(run.id, 'claimed', 'failed', { result: 'no_tasks: 员工待办未启用', now, holder });
        return false;
      }
      if (!m.ownerUserid) {
        await this.d.repo.finish(run.id, 'claimed', 'failed', { result: 'no_sender: 客户没有有效的跟进成员', now, holder });
        return false;
      }
      const extra = await this.stepContent(step, now);
      const text = renderTemplate(joinText(step.text, extra.text), vars);
      const task = await this.d.tasks.create({
        source: 'journey',
        sourceRef: `${m.id}:${m.currentStep}`,
        userid: m.ownerUserid,
        externalUserId: m.externalUserId,
        title: step.title,
        text,
        // An item's attachment names its item: the member sends it days later, as the item is then (docs/todo.md §One-tap send).
        attachments: [
          ...(step.attachments as unknown as MessageAttachment[]),
          ...extra.attachments.map((a, i) => (extra.attachmentItems?.[i] ? { ...a, contentId: extra.attachmentItems[i].id, contentTitle: extra.attachmentItems[i].title } : a)),
        ],
        dueAt: new Date(now.getTime() + step.dueHours * 3_600_000),
        // Owed by the row, not by this process: a crash before the send leaves it to the tick's sweep (docs/todo.md §Reminders).
        remind: true,
      });
      await this.d.repo.finish(run.id, 'claimed', 'waiting', { taskId: task.id, now, holder });
      counts.tasks += 1;
      // The task's prepared message is planned for one customer: one use (its one-tap send is that message, not another).
      if (task.created) await this.countUses(step.contentIds, 1);
      // A takeover's task was made before (created false) and its reminder may still be owed: the claim decides.
      await this.remind({ id: task.id, userid: m.ownerUserid, title: step.title.trim(), customer: vars.name || m.externalUserId, externalUserId: m.externalUserId }, j.name, now, counts);
      return false;
    }
    if (step.kind === 'tag') {
      await this.d.tag({ externalUserId: m.externalUserId, userid: m.ownerUserid, add: step.add, remove: step.remove });
      await this.d.repo.finish(run.id, 'claimed', 'done', { result: null, now, holder });
      counts.tagged += 1;
      return false;
    }
    await this.d.repo.finish(run.id, 'claimed', 'waiting', { result: null, now, holder });
    return false;
  }

  /**
   * Send a task's owed reminder if this instance claims it, and record it sent (docs/todo.md §Reminders). It shares the
   * member's app-message budget; over it, the line waits for their digest, which counts as sent. A failed send keeps
   * the claim, so the sweep sends it again once the claim is stale; WeCom's duplicate check covers a send that
   * reached WeCom before the failure or crash.
   */
  private async remind(t: { id: string; userid: string; title: string; customer: string; externalUserId: string | null }, journeyName: string, now: Date, counts: JourneyRunCounts): Promise<void> {
    const holder = this.d.instanceId;
    if (!this.d.tasks || !(await this.d.tasks.claimReminder(t.id, holder, now, new Date(now.getTime() - TASK_REMINDER_STALE_MS)))) return;
    try {
      await this.d.messenger.send([t.userid], `【客户旅程】${journeyName}：${t.title}\n客户：${t.customer}\n请在侧边栏「今日待办」中完成。`, {
        kind: 'journey_task',
        digestLine: `客户旅程「${journeyName}」：${t.title}（${t.customer}）`,
        externalUserId: t.externalUserId,
        isDuplicateChecked: true,
      });
      await this.d.tasks.markReminded(t.id, holder, now);
      counts.reminded += 1;
    } catch (err) {
      this.d.log.warn({ err: toError(err), taskId: t.id }, 'journey task reminder failed; sent again after its claim goes stale, and the task is in the to-do list');
    }
  }

  /**
   * Reminders owed and unclaimed (an instance died between making the task and sending it, or the send failed and
   * its claim went stale): sent now, each claimed first, so two instances send none twice (docs/todo.md §Reminders).
   */
  private async reminders(now: Date, counts: JourneyRunCounts): Promise<void> {
    if (!this.d.tasks) return;
    try {
      await this.d.tasks.dropReminders(new Date(now.getTime() - TASK_REMINDER_GIVE_UP_MS));
      const owed = await this.d.tasks.owedReminders(new Date(now.getTime() - TASK_REMINDER_STALE_MS), 200);
      if (owed.length === 0) return;
      const names = await this.d.names([...new Set(owed.map((t) => t.externalUserId).filter((x): x is string => x !== null))]);
      const journeyNames = new Map<string, string>();
      for (const t of owed) {
        // A journey task's source key is <membershipId>:<stepIndex> (docs/todo.md §Once per source).
        const m = t.source === 'journey' ? await this.d.repo.membership(Number(t.sourceRef.split(':')[0])) : null;
        let journeyName = m ? journeyNames.get(m.journeyId) : undefined;
        if (m && journeyName === undefined) {
          journeyName = (await this.d.repo.find(m.journeyId))?.name ?? '';
          journeyNames.set(m.journeyId, journeyName);
        }
        const customer = t.externalUserId ? names.get(t.externalUserId) || t.externalUserId : '';
        await this.remind({ id: t.id, userid: t.userid, title: t.title, customer, externalUserId: t.externalUserId }, journeyName ?? '', now, counts);
      }
    } catch (err) {
      this.d.log.warn({ err: toError(err) }, 'journey task reminders not swept; the next tick tries again');
    }
  }

  /** After the step's action: message, task and tag steps let the member go on; a wait step holds them until its condition or timeout. */
  private async afterAct(m: JourneyMembership, def: JourneyDefinition, step: JourneyStep, now: Date, counts: JourneyRunCounts): Promise<void> {
    const run = (await this.d.repo.runsAt([{ membershipId: m.id, stepIndex: m.currentStep }])).get(`${m.id}:${m.currentStep}`);
    if (!run || run.status === 'claimed') return;
    if (step.kind === 'wait' && run.status === 'waiting') {
      if (await this.holds(m, step.until)) {
        await this.d.repo.finish(run.id, 'waiting', 'done', { result: null, now });
      } else if (now.getTime() >= m.stepSince.getTime() + step.timeoutHours * 3_600_000) {
        if (step.onTimeout === 'exit') {
          await this.d.repo.finish(run.id, 'waiting', 'failed', { result: 'timeout: 等待超时，退出旅程', now });
          counts.exited += await this.d.service.exitMembers([m], 'wait_timeout', now);
          return;
        }
        await this.d.repo.finish(run.id, 'waiting', 'skipped', { result: 'timeout: 等待超时，继续下一步', now });
      } else {
        counts.waiting += 1;
        await this.d.repo.setDue([m.id], new Date(Math.min(now.getTime() + JOURNEY_WAIT_CHECK_MS, m.stepSince.getTime() + step.timeoutHours * 3_600_000)));
        return;
      }
    }
    const nextIndex = m.currentStep + 1;
    const next = def.steps[nextIndex];
    // The next step's delay counts from this step's action (a claim taken over counts from the takeover).
    const isLast = !next;
    if (await this.d.repo.advance(m.id, m.currentStep, isLast ? null : stepDueAt(next.delay, now, this.d.tz), now, isLast)) {
      counts.advanced += 1;
      if (isLast) counts.completed += 1;
    }
  }

  private async holds(m: JourneyMembership, c: WaitCondition): Promise<boolean> {
    if (c.kind === 'ordered') return this.d.repo.hasOrderSince(m.externalUserId, m.enteredAt.getTime() + 1);
    if (c.kind === 'has_tag') return (await this.d.repo.tagsOf([m.externalUserId])).get(m.externalUserId)?.has(c.tagId) ?? false;
    const s = (await this.d.repo.stagesOf([m.externalUserId])).get(m.externalUserId);
    return (c.field === 'stage' ? s?.stage : s?.activity) === c.value;
  }

  // ── following waiting steps ────────────────────────────────────────────────────────────────────────────────────

  /** Message steps are done when WeCom reports the message sent; task steps when the member marks the task done. */
  private async follow(now: Date, counts: JourneyRunCounts): Promise<void> {
    let after = 0;
    for (;;) {
      await yieldToEventLoop();
      const runs = await this.d.repo.waiting('message', after, 1000);
      if (runs.length === 0) break;
      after = runs[runs.length - 1].id;
      const states = await this.d.repo.deliveryStates(runs.map((r) => r.deliveryId!).filter((x) => x !== null));
      for (const r of runs) {
        const s = r.deliveryId === null ? null : states.get(r.deliveryId);
        if (!s) continue;
        const o = ledgerOutcome(s.status, s.reason);
        if (o.status === 'waiting') continue;
        if (await this.d.repo.finish(r.id, 'waiting', o.status, { result: o.result, now: s.sentAt ?? now })) counts.followed += 1;
      }
      if (runs.length < 1000) break;
    }
    if (!this.d.tasks) return;
    after = 0;
    for (;;) {
      await yieldToEventLoop();
      const runs = await this.d.repo.waiting('task', after, 1000);
      if (runs.length === 0) break;
      after = runs[runs.length - 1].id;
      const states = await this.d.tasks.states(runs.map((r) => r.taskId!).filter((x) => x !== null));
      for (const r of runs) {
        const s = r.taskId ? states.get(r.taskId) : undefined;
        if (s === 'done' && (await this.d.repo.finish(r.id, 'waiting', 'done', { now }))) counts.followed += 1;
        if (s === 'skipped' && (await this.d.repo.finish(r.id, 'waiting', 'skipped', { result: 'task_skipped: 员工跳过了任务', now }))) counts.followed += 1;
        // Withdrawn when the member left the journey (docs/todo.md §Withdrawn tasks): the run ends, not the member's skip.
        if (s === 'withdrawn' && (await this.d.repo.finish(r.id, 'waiting', 'skipped', { result: 'task_withdrawn: 客户已退出旅程', now }))) counts.followed += 1;
      }
      if (runs.length < 1000) break;
    }
  }
}

/** Whether a journey's trigger takes this signal. */
function matches(def: JourneyDefinition, s: JourneySignal): boolean {
  const t = def.trigger;
  switch (s.kind) {
    case 'added':
      return t.kind === 'channel' && s.channelId !== null && t.channelIds.includes(s.channelId);
    case 'first_order':
      return t.kind === 'first_order';
    case 'survey':
      return t.kind === 'survey' && (t.surveyId === null || t.surveyId === s.surveyId) && s.score >= t.minScore && s.score <= t.maxScore;
    default:
      return false;
  }
}

/** A step's library content; `attachmentItems[i]` is the item `attachments[i]` came from. */
type StepContent = { text: string; attachments: MessageAttachment[]; attachmentItems?: { id: string; title: string }[] };
const NO_CONTENT: StepContent = { text: '', attachments: [] };
const joinText = (a: string, b: string) => (b ? (a ? `${a}\n\n${b}` : b) : a);

/** The key ledgerRows answers under. */
export function ledgerKeyOf(k: { source: string; externalUserId: string; occasion: string }): string {
  return `${k.source}\u0000${k.externalUserId}\u0000${k.occasion}`;
}

/** A ledger row's status as the step's: still waiting, or its outcome with the ledger's reason. */
function ledgerOutcome(status: string, reason: string | null): { status: 'waiting' | 'done' | 'skipped' | 'failed'; result: string | null } {
  if (status === 'sent') return { status: 'done', result: null };
  if (status === 'skipped') return { status: 'skipped', result: reason };
  if (status === 'failed' || status === 'over_quota' || status === 'expired') return { status: 'failed', result: `${status}${reason ? `: ${reason}` : ''}` };
  return { status: 'waiting', result: null };
}
