import type { DbEngine } from '../../persistence/data-source.js';
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { BroadcastRepository } from '../../persistence/repositories/broadcast.repository.js';
import type { CareScanRepository } from '../../persistence/repositories/care-scan.repository.js';
import type { DeliveryRepository } from '../../persistence/repositories/delivery.repository.js';
import { localDate } from '../../shared/dates.js';
import { toError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import { compileTemplate, listVariables } from '../../shared/template.js';
import { AudienceSyntaxError, parseAudience } from '../audiences/index.js';
import { compileAudienceWithTags } from '../audiences/audience.compiler.js';
import type { AudienceTagLookup } from '../audiences/audience.tags.js';
import type { QuietHours } from '../care/quiet-hours.js';
import type { PagePreload, PlanOutcome, PlanSink } from '../delivery/delivery-ledger.js';
import { SkipReason, type NewDelivery } from '../delivery/delivery.types.js';
import { deliveryWindow, hasMissedWindow } from './broadcast-rules.js';
import { MAX_RECIPIENTS_PER_TASK } from '../delivery/delivery-dispatcher.js';
import type { Broadcast } from './broadcast.types.js';
import { collectGarbageNow } from '../../shared/heap.js';

/** Counts of one planning pass. */
export interface BroadcastPlanCounts {
  /** Broadcasts found due. */
  due: number;
  /** Broadcasts this instance claimed and planned (0 in a dry run). */
  claimed: number;
  planned: number;
  skipped: number;
  duplicate: number;
  /** Broadcasts that failed (invalid audience, missed window, repeated errors). */
  failed: number;
}

/** Planner settings. */
export interface BroadcastPlannerSettings {
  tz: string;
  pageSize: number;
  senderPolicy: 'latest' | 'earliest';
  quietHours: QuietHours;
}

// Every ledger row of a broadcast has this occasion: with the source `broadcast:<id>` the ledger's UNIQUE
// (source, customer, occasion) key admits one row per customer per broadcast, however often planning runs.
const OCCASION = 'broadcast';
// Broadcasts sit between care messages (birthday 300, holidays 200) and reminders (50) when one customer has several.
const PRIORITY = 100;
// A planning claim not renewed for this long belongs to a dead process; another instance may take over. Claims are
// renewed after every page, so a live planner never goes this long.
const STALE_CLAIM_MS = 10 * 60_000;
// Transient failures (database, network) release the claim for the next tick; after this many tries it fails.
const MAX_ATTEMPTS = 3;
// Broadcasts planned per tick; the rest wait a minute.
const MAX_PER_TICK = 20;

/** The most customers a planning page holds on SQLite (docs/audiences.md §Pages on SQLite). */
const SQLITE_PAGE = 1000;

/** Thrown inside a planning run that lost its claim to another instance: stop without touching the broadcast. */
class LostClaimError extends Error {}

/**
 * Plans due broadcasts into the delivery ledger, exactly once across instances. A broadcast is claimed with one
 * compare-and-set UPDATE (scheduled → planning, with a fresh token), so only one instance plans it; its audience is
 * then streamed in keyset pages and each matching customer becomes one ledger row under the UNIQUE (source, customer,
 * occasion) key: a planner that takes over after a crash re-inserts nothing. Rows go in held (never due) and are
 * released when planning ends (DeliveryRepository.releaseBroadcast), so a dispatcher does not take half a sender's
 * customers while the other half are still being planned.
 */
export class BroadcastPlanner {
  constructor(
    private readonly broadcasts: BroadcastRepository,
    private readonly scan: CareScanRepository,
    private readonly deliveries: DeliveryRepository,
    /** The live tags an audience's `tag:` values mean (TagRepository.liveTagsNamed), read once per broadcast. */
    private readonly tags: AudienceTagLookup,
    private readonly engine: DbEngine,
    private readonly settings: BroadcastPlannerSettings,
    private readonly instanceId: string,
    private readonly log: Logger,
    /**
     * 素材库 items as a message sent at `at`, from cached WeCom media only (docs/content.md §Media lifecycle). It
     * refuses an item whose media is not ready; planning then fails and is retried later, and never uploads.
     */
    private readonly content?: (ids: string[], at: Date) => Promise<{ text: string; attachments: MessageAttachment[] }>,
    /** `n` uses of each item: one per customer newly planned (docs/content.md §Use counts). */
    private readonly countUse?: (ids: string[], n: number) => Promise<void>,
  ) {}

  /**
   * Plan every broadcast due at `now` into `sink`; `clock` (the run's clock) renews claims as pages go by. A dry run
   * claims and changes nothing.
   */
  async planDue(input: { now: Date; clock: () => Date; sink: PlanSink; isDryRun: boolean; report?: (line: string) => void }): Promise<BroadcastPlanCounts> {
    const { now, sink, isDryRun, report } = input;
    const counts: BroadcastPlanCounts = { due: 0, claimed: 0, planned: 0, skipped: 0, duplicate: 0, failed: 0 };
    const staleBefore = new Date(now.getTime() - STALE_CLAIM_MS);
    for (const due of await this.broadcasts.findDue(now, staleBefore, MAX_PER_TICK)) {
      counts.due += 1;
      if (isDryRun) {
        if (hasMissedWindow(due.sendAt, now)) report?.(`错过发送窗口 / missed window\t${due.name}\t${due.id}`);
        else await this.planOne(due, sink, now, null, input.clock, counts, report);
        continue;
      }
      const token = newId(now.getTime());
      const b = await this.broadcasts.claim(due.id, token, this.instanceId, now, staleBefore);
      if (!b) continue; // another instance holds it
      counts.claimed += 1;
      const log = this.log.child({ broadcastId: b.id, attempt: b.attempts });
      if (hasMissedWindow(b.sendAt, now)) {
        await this.failBroadcast(b, token, 'missed_window: 超过发送时间 48 小时仍未发出 / not sent within 48 h of sendAt', now);
        counts.failed += 1;
        log.warn('broadcast missed its window');
        continue;
      }
      try {
        const before = { ...counts };
        // A planning allocates about 3.5 KB per customer; started from a compacted heap, it grows by half of what
        // is live rather than from wherever the last full collection left the limit (docs/audiences.md §Memory while planning).
        collectGarbageNow();
        await this.planOne(b, sink, now, token, input.clock, counts, report);
        await this.deliveries.releaseBroadcast(b.id, b.sendAt, now, MAX_RECIPIENTS_PER_TASK);
        const candidates = counts.planned + counts.skipped + counts.duplicate - (before.planned + before.skipped + before.duplicate);
        const note = candidates === 0 ? 'empty_audience: 发送时没有匹配的客户 / no customer matched when planned' : null;
        if (!(await this.broadcasts.markPlanned(b.id, token, note, now))) throw new LostClaimError();
        log.info({ planned: counts.planned - before.planned, skipped: counts.skipped - before.skipped, duplicate: counts.duplicate - before.duplicate }, 'broadcast planned');
      } catch (err) {
        if (err instanceof LostClaimError) {
          log.warn('broadcast planning claim lost to another instance');
          continue;
        }
        const e = toError(err);
        if (err instanceof AudienceSyntaxError || b.attempts >= MAX_ATTEMPTS) {
          await this.failBroadcast(b, token, `${err instanceof AudienceSyntaxError ? 'invalid_audience' : 'planning_failed'}: ${e.message}`, now);
          counts.failed += 1;
          log.error({ err: e }, 'broadcast planning failed');
        } else {
          await this.broadcasts.releaseClaim(b.id, token, `retrying: ${e.message}`, now);
          log.warn({ err: e }, 'broadcast planning failed; will retry');
        }
      }
    }
    return counts;
  }

  /**
   * planning → failed. Rows an earlier, crashed run planned are still held; they are skipped with the same reason so
   * a failed broadcast never goes out later.
   */
  private async failBroadcast(b: Broadcast, token: string, why: string, now: Date): Promise<void> {
    if (!(await this.broadcasts.fail(b.id, token, why, now))) return;
    for (;;) {
      const ids = await this.deliveries.plannedIdsOfBroadcast(b.id, 5000);
      if (ids.length === 0) return;
      await this.deliveries.markSkipped(ids, why, now);
    }
  }

  /** Sending broadcasts whose rows are all final become done. */
  finishDelivered(now: Date): Promise<number> {
    return this.broadcasts.finishDelivered(now);
  }

  private async planOne(
    b: Broadcast,
    sink: PlanSink,
    now: Date,
    token: string | null,
    clock: () => Date,
    counts: BroadcastPlanCounts,
    report?: (line: string) => void,
  ): Promise<void> {
    const { tz, senderPolicy, quietHours } = this.settings;
    // On SQLite a page's ledger writes run on the event loop in one go, so the page is what a callback may wait for
    // while a broadcast is planned inside a serving process: at most SQLITE_PAGE customers a page there
    // (docs/audiences.md §Pages on SQLite).
    const pageSize = this.engine === 'sqlite' ? Math.min(this.settings.pageSize, SQLITE_PAGE) : this.settings.pageSize;
    // The audience is evaluated when the broadcast goes out, not when it was created (relative terms such as
    // silent>=30d or birthday:today mean "at send time"), and its tag names are resolved to ids once, at the start.
    const where = await compileAudienceWithTags(parseAudience(b.audience), this.tags, { engine: this.engine, today: localDate(now, tz), timezone: tz, now: now.getTime() });
    const window = deliveryWindow(b.sendAt, now, quietHours);
    const pages = this.scan.recipients([where], pageSize)[Symbol.asyncIterator]();
    // On MySQL the next page (its customers, their senders, its rows) is read while the ledger writes this one: the
    // reads run on another connection, so the two halves of the work overlap instead of taking turns
    // (docs/audiences.md §Planning a broadcast). On SQLite they would only wait for the ledger's transaction, and
    // holding two pages costs memory, so pages are read one after the other.
    const readAhead = this.engine === 'mysql';
    // What every row of the broadcast shares is made once, not once per customer: a page of 5,000 rows then holds
    // only what differs (the customer, the sender, the rendered text).
    const source = `broadcast:${b.id}`;
    const notBefore = token ? window.expiresAt : window.notBefore;
    const optedOut = `${SkipReason.OptedOut}: 客户已退订 / customer opted out`;
    // The library's items follow the broadcast's own text and attachments, resolved now, when it goes out.
    let text = b.text;
    let attachments = b.attachments;
    if (b.contentIds.length > 0) {
      if (!this.content) throw new Error('broadcast has contentIds but no content library is wired');
      const extra = await this.content(b.contentIds, now);
      text = extra.text ? `${b.text}\n\n${extra.text}` : b.text;
      attachments = [...b.attachments, ...extra.attachments];
    }
    const personal = listVariables(text).length > 0;
    const render = compileTemplate(text);
    const nextRows = async (): Promise<{ rows: NewDelivery[]; preload?: PagePreload } | null> => {
      const r = await pages.next();
      if (r.done) return null;
      const page = r.value;
      const senders = await this.scan.sendersOf(page.map((c) => c.externalUserId), senderPolicy);
      const rows = page.map((customer): NewDelivery => {
        const sender = senders.get(customer.externalUserId);
        return {
          source,
          kind: 'broadcast',
          broadcastId: b.id,
          ruleId: null,
          externalUserId: customer.externalUserId,
          occasion: OCCASION,
          channel: 'mass_task',
          priority: PRIORITY,
          senderUserid: sender?.userid ?? null,
          text: personal ? render({ name: customer.name, staff: sender?.name ?? '' }) : text,
          attachments,
          localDate: window.localDate,
          // Held until releaseBroadcast: not_before = expires_at is never due (see the class comment).
          notBefore,
          expiresAt: window.expiresAt,
          // Opted-out customers are recorded as skipped rather than left out, so the ledger says why (PIPL Art. 24).
          skipReason: customer.isOptedOut ? optedOut : null,
          holdoutPercent: b.holdoutPercent,
        };
      });
      // On MySQL the cap slots the page's customers hold are read here too, beside its customers and senders, so the
      // ledger's transaction only writes (docs/audiences.md §Slots read ahead).
      return { rows, preload: readAhead && sink.preload ? await sink.preload(rows) : undefined };
    };
    // A broadcast with no ledger row yet (its first attempt, or a retry after a failure before any page committed)
    // plans only keys that are new: its pages hold distinct customers. The ledger then skips looking them up.
    const newKeys = token !== null && !(await this.deliveries.hasRowsOfBroadcast(b.id));
    let next = nextRows();
    try {
      for (let page = await next; page !== null; page = await next) {
        const { rows, preload } = page;
        if (readAhead) {
          next = nextRows();
          // A failure below leaves the read ahead unawaited; it is ended in `finally`, and its error is not the one
          // to report.
          next.catch(() => undefined);
        }
        const outcomes = await sink.planMany(rows, newKeys || preload ? { newKeys, preload } : undefined);
        outcomes.forEach((o, i) => {
          tally(counts, o);
          report?.(describe(b, rows[i], o));
        });
        // A use per customer the page newly planned: a takeover's duplicates and a dry run count nothing (docs/content.md §Use counts).
        const fresh = token && b.contentIds.length > 0 ? outcomes.filter((o) => o.result === 'planned').length : 0;
        if (fresh > 0) await this.countUse?.(b.contentIds, fresh);
        if (token && !(await this.broadcasts.renewClaim(b.id, token, clock()))) throw new LostClaimError();
        if (!readAhead) next = nextRows();
      }
    } finally {
      await next.catch(() => undefined);
      await pages.return?.(undefined);
    }
  }
}

function tally(counts: BroadcastPlanCounts, o: PlanOutcome): void {
  if (o.result === 'planned') counts.planned += 1;
  else if (o.result === 'skipped') counts.skipped += 1;
  else counts.duplicate += 1;
}

function describe(b: Broadcast, d: NewDelivery, o: PlanOutcome): string {
  const what = o.result === 'planned' ? '计划 planned' : o.result === 'skipped' ? `跳过 skipped (${o.reason})` : '已存在 duplicate';
  return `${what}\t${b.name}\t${d.externalUserId}\tvia ${d.channel}${d.senderUserid ? `/${d.senderUserid}` : ''}\t${d.text}`;
}
