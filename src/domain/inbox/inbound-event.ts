import { createHash } from 'node:crypto';
import type { DeferredField, EventFields } from './inbox.types.js';

function field(fields: EventFields, key: string): string | undefined {
  const v = fields[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Read a string field of an event. */
export function eventField(e: { fields: EventFields }, key: string): string | undefined {
  return field(e.fields, key);
}

/**
 * The routing kind: MsgType, then Event, then ChangeType when present (docs/wecom-protocol.md §Event XML).
 * `event/change_external_contact/add_external_contact`, `event/kf_msg_or_event`, `text`.
 */
export function eventKind(fields: EventFields): string {
  const parts = [field(fields, 'MsgType') ?? 'unknown'];
  const event = field(fields, 'Event');
  if (event) {
    parts.push(event);
    const change = field(fields, 'ChangeType');
    if (change) parts.push(change);
  }
  return parts.join('/').toLowerCase().slice(0, 120);
}

/**
 * The key that orders events: events with the same subject are handled one at a time, in the order received.
 * A customer's events share `customer:<ExternalUserID>`; tags, group chats and KF accounts get their own.
 */
export function eventSubject(fields: EventFields): string | null {
  const ext = field(fields, 'ExternalUserID');
  if (ext) return `customer:${ext}`.slice(0, 191);
  const chat = field(fields, 'ChatId');
  if (chat) return `chat:${chat}`.slice(0, 191);
  if (field(fields, 'Event') === 'change_external_tag') return `tag:${field(fields, 'Id') ?? 'library'}`.slice(0, 191);
  const kf = field(fields, 'OpenKfId');
  if (kf) return `kf:${kf}`.slice(0, 191);
  const from = field(fields, 'FromUserName');
  if (from && from !== 'sys') return `user:${from}`.slice(0, 191);
  return null;
}

/**
 * The idempotency key, built from the decrypted content (docs/wecom-protocol.md §Acknowledging callbacks): a retry
 * re-encrypts with a new random prefix, so the ciphertext differs, but the plaintext does not. Messages with a MsgId
 * dedupe on it; events hash every field, because `FromUserName+CreateTime` collides for `sys` events raised in the same
 * second.
 */
export function eventDedupeKey(fields: EventFields): string {
  const msgId = field(fields, 'MsgId');
  const basis = msgId
    ? `msgid|${field(fields, 'ToUserName') ?? ''}|${msgId}`
    : JSON.stringify(Object.keys(fields).sort().map((k) => [k, fields[k]]));
  return createHash('sha256').update(basis).digest('hex');
}

/**
 * The field an event carries once its urgent part has run (docs/inbox.md §Deadline first): JSON of what each
 * handler's `handleUrgent` returned, by handler name. WeCom's own fields are CamelCase, so this one cannot collide.
 */
export const DEFERRED_FIELD: DeferredField = '__deferred';

/** Whether the event's urgent part has already run (it was deferred to the ordinary lane). */
export function isDeferred(e: { fields: EventFields }): boolean {
  return typeof e.fields[DEFERRED_FIELD] === 'string';
}

/** What `handleUrgent` of the handler named `handler` returned for this event, or undefined. */
export function deferredState<T>(e: { fields: EventFields }, handler: string): T | undefined {
  const raw = e.fields[DEFERRED_FIELD];
  if (typeof raw !== 'string') return undefined;
  return (JSON.parse(raw) as Record<string, T>)[handler];
}

/** Kinds whose handling races a WeCom deadline, claimed ahead of any backlog (the inbox's priority lane). */
const URGENT_KINDS: ReadonlySet<string> = new Set([
  // The welcome_code in an add event works for 20 s only (docs/wecom-protocol.md §Welcome messages).
  'event/change_external_contact/add_external_contact',
  'event/change_external_contact/add_half_external_contact',
  // A KF session's enter_session welcome_code is short-lived too, and so is a session end's msg_code (20 s, the
  // session-end survey's reply); both arrive only through kf/sync_msg (docs/wecom-protocol.md §KF sessions and event replies).
  'event/kf_msg_or_event',
]);

/** 1 for events that must not wait behind a backlog, else 0. Order within one subject is never changed by it. */
export function eventPriority(kind: string): number {
  return URGENT_KINDS.has(kind) ? 1 : 0;
}

/** WeCom's CreateTime (unix seconds) as epoch milliseconds, when present and sane. */
export function eventCreateTimeMs(fields: EventFields): number | null {
  const raw = field(fields, 'CreateTime');
  if (!raw || !/^\d{1,12}$/.test(raw)) return null;
  return Number(raw) * 1000;
}
