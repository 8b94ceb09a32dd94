import type { EntityManager } from 'typeorm';
import type { Db } from '../../persistence/db.js';
import { isDuplicateKeyError } from '../../persistence/data-source.js';
import type { FeedbackRepository, TicketFacts } from '../../persistence/repositories/feedback.repository.js';
import type { TimelineRepository } from '../../persistence/repositories/timeline.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { localDate, zonedTimeToUtc } from '../../shared/dates.js';
import { ConflictError, NotFoundError, WecomApiError, invalidField } from '../../shared/errors.js';
import type { CustomerService, Viewer } from '../customers/customer.service.js';
import type { StaffMessenger } from '../notify/staff-messenger.js';
import { OTHER_CATEGORY, type FeedbackRuleService } from './feedback-rule.service.js';
import { EVENT_WORDS, SOURCE_WORDS, clip, isDetractor, scoreWords } from './feedback-words.js';
import type { SurveyScored } from '../surveys/survey.types.js';
import type { CustomerScore, FeedbackTicket, TicketEvent, TicketEventKind, TicketQuery, TicketSource } from './feedback.types.js';

/** The feedback settings (config `feedback`, docs/feedback.md §SLA and escalation). */
export interface FeedbackSettings {
  firstContactHours: number;
  /** Who is told of a missed SLA, and of a ticket whose customer has no owner. */
  escalateTo: readonly string[];
  tz: string;
}

/** Who a customer's tickets go to: their owner by the care settings' sender policy (container port). */
export type OwnerOf = (externalUserId: string) => Promise<{ userid: string; name: string } | null>;
/** A member's display name (container port). */
export type StaffName = (userid: string) => Promise<string>;

/** What opening did: a new ticket, a resolved one opened again, one more cause on the open one, or nothing (seen). */
export type OpenOutcome = 'opened' | 'reopened' | 'again' | 'replayed';

/** A ticket with what the pages show next to it. */
export interface TicketView extends FeedbackTicket {
  customerName: string;
  /** The owner's display name: their userid when WeCom gave no name; null without an owner. */
  ownerName: string | null;
  isOverdue: boolean;
}

/** An event with who did it in words: a member's name (their userid without one), 系统, or the kind of token. */
export interface TicketEventView extends TicketEvent {
  actorName: string;
  /** The member's userid when a member did it; null for the system and tokens. */
  actorUserid: string | null;
}

/** The analysis over a date range (docs/feedback.md §Analysis). */
export interface FeedbackAnalysis {
  from: string;
  to: string;
  firstContactHours: number;
  openings: number;
  tickets: number;
  bySource: { source: TicketSource; openings: number }[];
  byCategory: { category: string; openings: number; resolved: number; resolutionRate: number | null; medianContactHours: number | null; medianResolveHours: number | null }[];
  contacted: number;
  resolved: number;
  resolutionRate: number | null;
  withinSla: number;
  /** Openings whose first contact came late, or has not come and is overdue. */
  missedSla: number;
  escalated: number;
  contactHours: { median: number | null; average: number | null };
  resolveHours: { median: number | null; average: number | null };
  /** Resolved customers' next survey score against the one before; null without the surveys feature. */
  scores: { resolvedWithScore: number; answeredAgain: number; improved: number; same: number; worse: number; averageChange: number | null } | null;
}

/** A cause that may open a ticket. */
interface OpenRequest {
  externalUserId: string;
  source: TicketSource;
  /** Unique per cause: `answer:<id>`, `kf:<msgid>`, `staff:<request id>`. */
  sourceRef: string;
  summary: string;
  category: string | null;
  score: number | null;
  scoreKind: 'nps' | 'csat' | null;
  /** The member it goes to; undefined: the customer's owner. */
  ownerUserid?: string | null;
  /** A detractor again opens their resolved ticket again (surveys only). */
  mayReopen: boolean;
  actor: string;
}

const HOUR_MS = 3_600_000;
const PENDING_BATCH = 100;

/**
 * 客户反馈处理 (docs/feedback.md): tickets opened by a detractor score, a complaint on WeChat-KF or a staff member's
 * record; routed to the customer's owner by app message within their cap; open → contacted → resolved, audit-logged by
 * the routes and written to the customer's timeline; escalated once to the admins when first contact is late.
 */
export class FeedbackService {
  constructor(
    private readonly db: Db,
    private readonly repo: FeedbackRepository,
    readonly rules: FeedbackRuleService,
    private readonly customers: Pick<CustomerService, 'getVisible'>,
    private readonly timeline: Pick<TimelineRepository, 'addInTx'>,
    private readonly messenger: Pick<StaffMessenger, 'send'>,
    private readonly ownerOf: OwnerOf,
    private readonly staffName: StaffName,
    private readonly clock: Clock,
    private readonly log: Logger,
    readonly settings: FeedbackSettings,
  ) {}

  /**
   * The surveys feature's `onScored` port: a detractor (NPS 0–6, CSAT ≤ 2) opens a ticket, or opens their resolved
   * one again. Once per answer id, however often it is called (docs/feedback.md §Opening a ticket).
   */
  async onSurveyScored(s: SurveyScored): Promise<OpenOutcome | null> {
    if (!isDetractor(s.kind, s.score)) return null;
    const summary = s.comment?.trim() ?? '';
    const { outcome } = await this.open({
      externalUserId: s.externalUserid,
      source: 'survey',
      sourceRef: `answer:${s.answerId}`,
      summary,
      category: await this.rules.categorize(summary),
      score: s.score,
      scoreKind: s.kind,
      mayReopen: true,
      actor: 'system',
    });
    return outcome;
  }

  /** A customer's WeChat-KF text: a complaint rule's match opens a ticket, once per message (KfSyncService's port). */
  async onKfText(m: { externalUserId: string; text: string; msgId: string }): Promise<OpenOutcome | null> {
    const rule = await this.rules.complaintRule(m.text);
    if (!rule) return null;
    const { outcome } = await this.open({
      externalUserId: m.externalUserId,
      source: 'kf',
      sourceRef: `kf:${m.msgId}`,
      summary: m.text.trim(),
      category: rule.category,
      score: null,
      scoreKind: null,
      mayReopen: false,
      actor: 'system',
    });
    return outcome;
  }

  /**
   * A complaint a staff member heard (1:1 chat content is invisible to the bot), recorded from the sidebar or the API.
   * A staff member's record is theirs to handle; an operator's goes to the customer's owner. Once per request id.
   */
  async record(ext: string, input: { text: string; category?: string | null; requestId: string }, viewer: Viewer, actor: string): Promise<{ ticket: TicketView; outcome: OpenOutcome }> {
    await this.customers.getVisible(ext, viewer);
    const category = input.category ? await this.checkCategory(input.category) : await this.rules.categorize(input.text);
    const { outcome, ticketId } = await this.open({
      externalUserId: ext,
      source: 'staff',
      sourceRef: `staff:${input.requestId}`,
      summary: input.text.trim(),
      category,
      score: null,
      scoreKind: null,
      ownerUserid: viewer.role === 'staff' && viewer.userid ? viewer.userid : undefined,
      mayReopen: false,
      actor,
    });
    if (ticketId === null) throw new ConflictError('该请求编号已用于另一位客户的反馈', 'feedback_request_reused');
    return { ticket: await this.view(await this.repo.get(ticketId)), outcome };
  }

  /** A page of tickets; staff see only those of customers they follow. */
  async list(q: TicketQuery, viewer: Viewer): Promise<{ items: TicketView[]; total: number }> {
    const scoped = viewer.role === 'staff' ? { ...q, followedBy: viewer.userid ?? '\u0000' } : q;
    const { items, total } = await this.repo.list(scoped, this.clock.now().getTime());
    return { items: await this.views(items), total };
  }

  /** One ticket with its events, for a viewer who may see its customer (404 otherwise). */
  async get(id: number, viewer: Viewer): Promise<{ ticket: TicketView; events: TicketEventView[] }> {
    const ticket = await this.visibleTicket(id, viewer);
    return { ticket: await this.view(ticket), events: await this.eventViews(await this.repo.eventsOf(id)) };
  }

  /** A customer's tickets, newest first, with each one's events. */
  async forCustomer(ext: string, viewer: Viewer): Promise<{ items: (TicketView & { events: TicketEventView[] })[]; categories: string[] }> {
    await this.customers.getVisible(ext, viewer);
    const { items } = await this.repo.list({ externalUserId: ext, page: 1, pageSize: 20 }, this.clock.now().getTime());
    const views = await this.views(items);
    const out = [];
    for (const v of views) out.push({ ...v, events: await this.eventViews(await this.repo.eventsOf(v.id)) });
    return { items: out, categories: await this.rules.categories() };
  }

  /** open → contacted (a contacted ticket answers as it is; a resolved one is 409). */
  async contact(id: number, input: { note?: string | null }, viewer: Viewer, actor: string): Promise<{ ticket: TicketView; changed: boolean }> {
    const before = await this.visibleTicket(id, viewer);
    const now = this.clock.now();
    const changed = await this.db.tx(async (em) => {
      if (!(await this.repo.markContactedInTx(em, id, now.getTime()))) return false;
      await this.event(em, before, 'contacted', actor, input.note ?? null, null, now);
      return true;
    });
    const ticket = await this.repo.get(id);
    if (!changed && ticket.status === 'resolved') throw new ConflictError('工单已解决，无需再标记联系', 'ticket_resolved');
    return { ticket: await this.view(ticket), changed };
  }

  /** open or contacted → resolved, with a resolution note and a category (409 when resolved already). */
  async resolve(id: number, input: { note: string; category?: string | null }, viewer: Viewer, actor: string): Promise<TicketView> {
    const before = await this.visibleTicket(id, viewer);
    const category = input.category ? await this.checkCategory(input.category) : (before.category ?? OTHER_CATEGORY);
    const now = this.clock.now();
    const changed = await this.db.tx(async (em) => {
      if (!(await this.repo.resolveInTx(em, id, input.note, category, now.getTime()))) return false;
      await this.event(em, { ...before, category }, 'resolved', actor, input.note, null, now);
      return true;
    });
    if (!changed) throw new ConflictError('工单已解决', 'ticket_resolved');
    return this.view(await this.repo.get(id));
  }

  /**
   * The `feedback` job: owner notices still to send (a failed send, a crash after opening), then open tickets past
   * their first-contact SLA escalated to the admins, each once across instances (a conditional claim per ticket).
   */
  async runPending(): Promise<{ notified: number; escalated: number }> {
    let notified = 0;
    for (const t of await this.repo.unnotified(PENDING_BATCH)) if (await this.notify(t)) notified++;
    let escalated = 0;
    const now = this.clock.now();
    for (const t of await this.repo.overdue(now.getTime(), PENDING_BATCH)) if (await this.escalate(t, now)) escalated++;
    return { notified, escalated };
  }

  /** The analysis of tickets opened (or opened again) between two local dates, inclusive (docs/feedback.md §Analysis). */
  async analysis(range: { from?: string; to?: string }): Promise<FeedbackAnalysis> {
    const tz = this.settings.tz;
    const now = this.clock.now();
    const to = range.to ?? localDate(now, tz);
    const from = range.from ?? localDate(new Date(zonedTimeToUtc(to, '00:00', tz).getTime() - 29 * 24 * HOUR_MS), tz);
    if (from > to) throw invalidField('from', '开始日期不能晚于结束日期', 'invalid_range');
    const start = zonedTimeToUtc(from, '00:00', tz).getTime();
    const end = zonedTimeToUtc(to, '00:00', tz).getTime() + 24 * HOUR_MS;
    const facts = await this.repo.factsOpenedBetween(start, end);
    const scores = await this.repo.scoresOf([...new Set(facts.map((f) => f.externalUserId))]);
    return analyse(facts, scores, { from, to, start, end, now: now.getTime(), slaMs: this.settings.firstContactHours * HOUR_MS, firstContactHours: this.settings.firstContactHours });
  }

  // ── opening and routing ───────────────────────────────────────────────────────────────────────────────────────

  /**
   * Open (or reopen, or add to) the customer's ticket for one cause, in one transaction; the unique cause and the one
   * active ticket per customer make a repeated or concurrent cause act once. Then tell the owner.
   */
  private async open(r: OpenRequest): Promise<{ outcome: OpenOutcome; ticketId: number | null }> {
    const owner = r.ownerUserid !== undefined ? r.ownerUserid : ((await this.ownerOf(r.externalUserId))?.userid ?? null);
    // A member's own record needs no message to themself: it is marked told when it is written.
    const isOwnRecord = r.source === 'staff' && owner !== null && owner === r.actor;
    const dueAt = (now: Date) => new Date(now.getTime() + this.settings.firstContactHours * HOUR_MS);
    let done: { outcome: OpenOutcome; ticketId: number | null } | null = null;
    for (let attempt = 1; !done; attempt++) {
      const now = this.clock.now();
      try {
        done = await this.db.tx(async (em) => {
          if (await this.repo.hasEventInTx(em, r.sourceRef)) return { outcome: 'replayed' as const, ticketId: await this.ticketOfCauseInTx(em, r.sourceRef, r.externalUserId) };
          const active = await this.repo.findActiveInTx(em, r.externalUserId);
          if (active) {
            await this.event(em, active, 'again', r.actor, clip(describe(r), 500), r.sourceRef, now);
            return { outcome: 'again' as const, ticketId: active.id };
          }
          const resolved = r.mayReopen ? await this.repo.findLatestResolvedInTx(em, r.externalUserId) : null;
          if (resolved && (await this.repo.reopenInTx(em, resolved.id, r.externalUserId, { ...r, ownerUserid: owner, dueAt: dueAt(now) }, now.getTime()))) {
            await this.event(em, resolved, 'reopened', r.actor, clip(describe(r), 500), r.sourceRef, now);
            return { outcome: 'reopened' as const, ticketId: resolved.id };
          }
          const id = await this.repo.insertTicketInTx(em, { ...r, ownerUserid: owner, dueAt: dueAt(now), createdBy: r.actor, notifiedAt: isOwnRecord ? now.getTime() : null }, now.getTime());
          const ticket = (await this.repo.findInTx(em, id))!;
          await this.event(em, ticket, 'opened', r.actor, clip(describe(r), 500), r.sourceRef, now);
          return { outcome: 'opened' as const, ticketId: id };
        });
      } catch (err) {
        // Another instance took the same cause, or opened the customer's ticket, a moment earlier: look again.
        if (!isDuplicateKeyError(err) || attempt >= 3) throw err;
      }
    }
    if ((done.outcome === 'opened' || done.outcome === 'reopened') && done.ticketId !== null && !isOwnRecord) {
      const ticket = await this.repo.get(done.ticketId);
      await this.notify(ticket).catch((err: unknown) => {
        // The ticket is kept; the `feedback` job sends the notice on its next run.
        this.log.warn({ err, ticketId: ticket.id }, 'feedback ticket notice failed; the feedback job retries');
      });
    }
    return done;
  }

  /** The ticket a cause acted on, if it was this customer's (a replayed request answers with it). */
  private async ticketOfCauseInTx(em: EntityManager, sourceRef: string, ext: string): Promise<number | null> {
    const found = await this.repo.ticketOfCauseInTx(em, sourceRef);
    return found && found.externalUserId === ext ? found.ticketId : null;
  }

  /** Tell the owner (or, for a customer without one, the escalation list) once; false when someone else has. */
  private async notify(t: FeedbackTicket): Promise<boolean> {
    const claimedAt = this.clock.now().getTime();
    if (!(await this.repo.claimNotice(t.id, claimedAt))) return false;
    const recipients = t.ownerUserid ? [t.ownerUserid] : [...this.settings.escalateTo];
    if (recipients.length === 0) {
      this.log.warn({ ticketId: t.id }, 'feedback ticket has no owner and no escalation recipients; nobody was told');
      return true;
    }
    const name = (await this.repo.customerNames([t.externalUserId])).get(t.externalUserId) || t.externalUserId;
    const due = formatLocal(t.dueAt, this.settings.tz);
    const what = `客户「${name}」${reasonWords(t)}`;
    const content = `【客户反馈】${what}。请在 ${due} 前联系客户（工单 #${t.id}，可在侧边栏「客户反馈」处理）。${t.ownerUserid ? '' : '该客户没有负责员工，请安排跟进。'}`;
    try {
      await this.messenger.send(recipients, content, { kind: 'feedback_ticket', digestLine: `客户反馈：${what}（工单 #${t.id}）`, externalUserId: t.externalUserId });
    } catch (err) {
      // Recipients outside the app's visible range: retrying cannot help (docs/wecom-protocol.md §App messages to staff).
      if (err instanceof WecomApiError && (err.errcode === 81013 || err.errcode === 40031)) {
        this.log.warn({ ticketId: t.id, errcode: err.errcode }, 'feedback ticket recipients invalid');
        return true;
      }
      await this.repo.releaseNotice(t.id, claimedAt);
      throw err;
    }
    return true;
  }

  /** Tell the escalation list that a ticket missed its first-contact SLA, once (docs/feedback.md §SLA and escalation). */
  private async escalate(t: FeedbackTicket, now: Date): Promise<boolean> {
    if (!(await this.repo.claimEscalation(t.id, now.getTime()))) return false;
    const recipients = [...this.settings.escalateTo];
    const name = (await this.repo.customerNames([t.externalUserId])).get(t.externalUserId) || t.externalUserId;
    const ownerWords = t.ownerUserid ? `${await this.staffName(t.ownerUserid)}（${t.ownerUserid}）` : '无负责员工';
    const what = `客户「${name}」的反馈工单 #${t.id} 已超过 ${this.settings.firstContactHours} 小时未联系（负责人：${ownerWords}）`;
    if (recipients.length > 0) {
      try {
        await this.messenger.send(recipients, `【反馈超时】${what}，请跟进。原因：${reasonWords(t)}。`, { kind: 'feedback_escalation', digestLine: `反馈超时：${what}`, externalUserId: t.externalUserId });
      } catch (err) {
        if (!(err instanceof WecomApiError && (err.errcode === 81013 || err.errcode === 40031))) {
          await this.repo.releaseEscalation(t.id, now.getTime());
          throw err;
        }
        this.log.warn({ ticketId: t.id, errcode: err.errcode }, 'feedback escalation recipients invalid');
      }
    } else this.log.warn({ ticketId: t.id }, 'feedback ticket missed its SLA but FEEDBACK_ESCALATE_TO and ADMIN_USERIDS are empty');
    const told = recipients.length ? `已提醒：${await this.membersInWords(recipients)}` : '未配置升级对象';
    await this.db.tx((em) => this.event(em, t, 'escalated', 'system', told, `escalate:${t.id}:${t.dueAt.getTime()}`, now));
    return true;
  }

  /** An event of the ticket, and its line on the customer's timeline, in the caller's transaction. */
  private async event(em: EntityManager, t: FeedbackTicket, kind: TicketEventKind, actor: string, note: string | null, sourceRef: string | null, now: Date): Promise<void> {
    const eventId = await this.repo.addEventInTx(em, { ticketId: t.id, kind, actor, note, sourceRef }, now.getTime());
    const detail = kind === 'resolved' ? `（${t.category ?? OTHER_CATEGORY}）${note ? `：${note}` : ''}` : note ? `：${note}` : '';
    await this.timeline.addInTx(
      em,
      {
        externalUserId: t.externalUserId,
        staffUserid: actor === 'system' || actor.startsWith('token:') || actor === 'ADMIN_TOKEN' ? t.ownerUserid : actor,
        kind: `feedback/${kind}`,
        summary: clip(`客户反馈工单 #${t.id} ${EVENT_WORDS[kind]}${detail}`, 500),
        data: { ticketId: t.id, event: kind, source: t.source },
        source: 'feedback',
        sourceId: `ticket:${t.id}:${eventId}`,
        occurredAt: now,
      },
      now,
    );
  }

  private async visibleTicket(id: number, viewer: Viewer): Promise<FeedbackTicket> {
    const t = await this.repo.get(id);
    try {
      await this.customers.getVisible(t.externalUserId, viewer);
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError('反馈工单不存在', 'ticket_not_found');
      throw err;
    }
    return t;
  }

  private async checkCategory(category: string): Promise<string> {
    const known = await this.rules.categories();
    if (!known.includes(category)) throw invalidField('category', `分类须为以下之一：${known.join('、')}`, 'invalid_category');
    return category;
  }

  private async view(t: FeedbackTicket): Promise<TicketView> {
    return (await this.views([t]))[0];
  }

  private async views(items: FeedbackTicket[]): Promise<TicketView[]> {
    const [names, staff] = await Promise.all([
      this.repo.customerNames([...new Set(items.map((t) => t.externalUserId))]),
      this.repo.staffNames([...new Set(items.flatMap((t) => (t.ownerUserid ? [t.ownerUserid] : [])))]),
    ]);
    const now = this.clock.now().getTime();
    return items.map((t) => ({
      ...t,
      customerName: names.get(t.externalUserId) || '',
      ownerName: t.ownerUserid ? (staff.get(t.ownerUserid) ?? t.ownerUserid) : null,
      isOverdue: t.status === 'open' && t.dueAt.getTime() <= now,
    }));
  }

  /**
   * Events with their actors named; the actors are those of docs/feedback.md §Lifecycle
   */
  private async eventViews(events: TicketEvent[]): Promise<TicketEventView[]> {
    const members = [...new Set(events.map((e) => e.actor).filter(isMemberActor))];
    const staff = await this.repo.staffNames(members);
    return events.map((e) => {
      if (!isMemberActor(e.actor)) return { ...e, actorName: e.actor === 'system' ? '系统' : e.actor === 'ADMIN_TOKEN' ? '管理员令牌' : 'API 令牌', actorUserid: null };
      return { ...e, actorName: staff.get(e.actor) ?? e.actor, actorUserid: e.actor };
    });
  }

  /** Members as the escalation note names them: 名字（userid）, or the userid of a member without a name. */
  private async membersInWords(userids: readonly string[]): Promise<string> {
    const staff = await this.repo.staffNames([...userids]);
    return userids.map((u) => (staff.has(u) ? `${staff.get(u)}（${u}）` : u)).join('、');
  }
}

/** Whether an event's actor is a member (a userid), not the system or a token. */
function isMemberActor(actor: string): boolean {
  return actor !== 'system' && actor !== 'ADMIN_TOKEN' && !actor.startsWith('token:');
}

/** What opened a ticket, in words, for its event note. */
function describe(r: OpenRequest): string {
  const score = scoreWords(r.scoreKind, r.score);
  return [SOURCE_WORDS[r.source], score, r.summary ? `「${r.summary}」` : ''].filter(Boolean).join(' ');
}

/** Why a ticket is open, in words, for app messages. */
function reasonWords(t: FeedbackTicket): string {
  const said = t.summary ? `：「${clip(t.summary, 80)}」` : '';
  if (t.source === 'survey') return `在满意度调查中给出 ${scoreWords(t.scoreKind, t.score)}${said}`;
  if (t.source === 'kf') return `在微信客服中投诉${said}`;
  return `有反馈（员工记录）${said}`;
}

function formatLocal(d: Date, tz: string): string {
  return new Intl.DateTimeFormat('zh-CN', { timeZone: tz, month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false }).format(d);
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const average = (xs: number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
const hours = (ms: number) => Math.round((ms / HOUR_MS) * 10) / 10;
const rate = (n: number, d: number) => (d === 0 ? null : Math.round((n / d) * 1000) / 1000);
const round1 = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

/**
 * The analysis as a pure function of the tickets' events (docs/feedback.md §Analysis). Each opening (first or again)
 * in the range is one round: its first contact and resolution are the first such events after it, before the next
 * opening; resolving without a contact event counts as the contact.
 */
export function analyse(
  facts: TicketFacts[],
  scores: CustomerScore[] | null,
  o: { from: string; to: string; start: number; end: number; now: number; slaMs: number; firstContactHours: number },
): FeedbackAnalysis {
  const rounds: { ticket: TicketFacts; openedAt: number; contactAt: number | null; resolvedAt: number | null; escalated: boolean }[] = [];
  for (const t of facts) {
    const ev = t.events;
    for (let i = 0; i < ev.length; i++) {
      if (ev[i].kind !== 'opened' && ev[i].kind !== 'reopened') continue;
      const openedAt = ev[i].at;
      const next = ev.findIndex((e, j) => j > i && (e.kind === 'opened' || e.kind === 'reopened'));
      const within = ev.slice(i + 1, next < 0 ? ev.length : next);
      const resolvedAt = within.find((e) => e.kind === 'resolved')?.at ?? null;
      const contactAt = within.find((e) => e.kind === 'contacted' || e.kind === 'resolved')?.at ?? null;
      if (openedAt >= o.start && openedAt < o.end) rounds.push({ ticket: t, openedAt, contactAt, resolvedAt, escalated: within.some((e) => e.kind === 'escalated') });
    }
  }
  const contactMs = rounds.filter((r) => r.contactAt !== null).map((r) => r.contactAt! - r.openedAt);
  const resolveMs = rounds.filter((r) => r.resolvedAt !== null).map((r) => r.resolvedAt! - r.openedAt);
  const withinSla = rounds.filter((r) => r.contactAt !== null && r.contactAt - r.openedAt <= o.slaMs).length;
  const missedSla = rounds.filter((r) => (r.contactAt !== null ? r.contactAt - r.openedAt > o.slaMs : o.now - r.openedAt > o.slaMs)).length;
  const categories = new Map<string, typeof rounds>();
  for (const r of rounds) {
    const c = r.ticket.category ?? OTHER_CATEGORY;
    categories.set(c, [...(categories.get(c) ?? []), r]);
  }
  const sources = new Map<TicketSource, number>();
  for (const r of rounds) sources.set(r.ticket.source, (sources.get(r.ticket.source) ?? 0) + 1);
  return {
    from: o.from,
    to: o.to,
    firstContactHours: o.firstContactHours,
    openings: rounds.length,
    tickets: new Set(rounds.map((r) => r.ticket.id)).size,
    bySource: [...sources].map(([source, openings]) => ({ source, openings })).sort((a, b) => b.openings - a.openings),
    byCategory: [...categories]
      .map(([category, rs]) => {
        const resolved = rs.filter((r) => r.resolvedAt !== null);
        return {
          category,
          openings: rs.length,
          resolved: resolved.length,
          resolutionRate: rate(resolved.length, rs.length),
          medianContactHours: round1(median(rs.filter((r) => r.contactAt !== null).map((r) => hours(r.contactAt! - r.openedAt)))),
          medianResolveHours: round1(median(resolved.map((r) => hours(r.resolvedAt! - r.openedAt)))),
        };
      })
      .sort((a, b) => b.openings - a.openings || a.category.localeCompare(b.category)),
    contacted: contactMs.length,
    resolved: resolveMs.length,
    resolutionRate: rate(resolveMs.length, rounds.length),
    withinSla,
    missedSla,
    escalated: rounds.filter((r) => r.escalated).length,
    contactHours: { median: round1(median(contactMs.map(hours))), average: round1(average(contactMs.map(hours))) },
    resolveHours: { median: round1(median(resolveMs.map(hours))), average: round1(average(resolveMs.map(hours))) },
    scores: scores === null ? null : scoreChange(rounds, scores),
  };
}

/**
 * For each resolved round: the customer's score before (the one that opened it, or their last before the opening)
 * against their first score of the same kind after the resolution.
 */
function scoreChange(rounds: { ticket: TicketFacts; openedAt: number; resolvedAt: number | null }[], scores: CustomerScore[]): NonNullable<FeedbackAnalysis['scores']> {
  const byCustomer = new Map<string, CustomerScore[]>();
  for (const s of scores) byCustomer.set(s.externalUserId, [...(byCustomer.get(s.externalUserId) ?? []), s]);
  let resolvedWithScore = 0;
  const changes: number[] = [];
  for (const r of rounds) {
    if (r.resolvedAt === null) continue;
    const mine = byCustomer.get(r.ticket.externalUserId) ?? [];
    // The opening's answer was written just before it: allow a minute for the port's call after the answer's commit.
    const before = [...mine].reverse().find((s) => s.answeredAt.getTime() <= r.openedAt + 60_000 && (r.ticket.scoreKind === null || s.kind === r.ticket.scoreKind));
    if (!before) continue;
    resolvedWithScore++;
    const after = mine.find((s) => s.kind === before.kind && s.answeredAt.getTime() > r.resolvedAt!);
    if (after) changes.push(after.score - before.score);
  }
  return {
    resolvedWithScore,
    answeredAgain: changes.length,
    improved: changes.filter((d) => d > 0).length,
    same: changes.filter((d) => d === 0).length,
    worse: changes.filter((d) => d < 0).length,
    averageChange: round1(average(changes)),
  };
}
