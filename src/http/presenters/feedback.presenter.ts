import type { TicketEventView, TicketView } from '../../domain/feedback/feedback.service.js';
import type { FeedbackRule } from '../../domain/feedback/feedback.types.js';
import { EVENT_WORDS, SOURCE_WORDS, STATUS_WORDS, scoreWords } from '../../domain/feedback/feedback-words.js';

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** A ticket for the sidebar, the console and the API: codes with their words, times as ISO. */
export function presentTicket(t: TicketView) {
  return {
    id: t.id,
    externalUserId: t.externalUserId,
    customerName: t.customerName,
    source: t.source,
    sourceWords: SOURCE_WORDS[t.source],
    status: t.status,
    statusWords: STATUS_WORDS[t.status],
    category: t.category,
    summary: t.summary,
    score: t.score,
    scoreKind: t.scoreKind,
    scoreWords: scoreWords(t.scoreKind, t.score) || null,
    ownerUserid: t.ownerUserid,
    ownerName: t.ownerName,
    openedAt: iso(t.openedAt),
    reopenedAt: iso(t.reopenedAt),
    reopenCount: t.reopenCount,
    dueAt: iso(t.dueAt),
    isOverdue: t.isOverdue,
    contactedAt: iso(t.contactedAt),
    resolvedAt: iso(t.resolvedAt),
    resolutionNote: t.resolutionNote,
    escalatedAt: iso(t.escalatedAt),
    updatedAt: iso(t.updatedAt),
  };
}

/** One event of a ticket's history; the cause is shown only as its kind (`answer`, `kf`, `staff`). */
export function presentTicketEvent(e: TicketEventView) {
  return { id: e.id, kind: e.kind, words: EVENT_WORDS[e.kind], actor: e.actor, actorName: e.actorName, actorUserid: e.actorUserid, note: e.note, cause: e.sourceRef?.split(':')[0] ?? null, createdAt: e.createdAt.toISOString() };
}

/** A feedback rule. */
export function presentFeedbackRule(r: FeedbackRule) {
  return {
    id: r.id,
    name: r.name,
    pattern: r.pattern,
    matchType: r.matchType,
    category: r.category,
    opensTicket: r.opensTicket,
    enabled: r.isEnabled,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}
