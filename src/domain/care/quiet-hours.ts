/**
 * Quiet hours: a daily local-time window in which care messages are held, not dropped
 * (docs/reliability.md §Quiet hours and caps, Braze's semantics: the message waits until the window ends, in the
 * recipient's zone).
 */
import { addDays, localDate, localParts, zonedTimeToUtc } from '../../shared/dates.js';

/** A quiet window from `start` (inclusive) to `end` (exclusive), 'HH:mm' in `tz`; it may wrap midnight. */
export type QuietHours = { start: string; end: string; tz: string };

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function minuteOfDay(hhmm: string): number {
  const m = HH_MM.exec(hhmm);
  if (!m) throw new RangeError(`not an HH:mm time: ${hhmm}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** True when `instant` falls inside the quiet window; start === end means no quiet hours at all. */
export function isQuietTime(instant: Date, cfg: QuietHours): boolean {
  const start = minuteOfDay(cfg.start);
  const end = minuteOfDay(cfg.end);
  const p = localParts(instant, cfg.tz);
  // Whole minutes suffice: the bounds are whole minutes, so 20:59:59 is still before a 21:00 start.
  const now = p.hour * 60 + p.minute;
  if (start === end) return false;
  return start < end ? now >= start && now < end : now >= start || now < end;
}

/**
 * The earliest instant at or after `instant` outside quiet hours: `instant` itself when not quiet,
 * otherwise the UTC instant the window ends on the local clock.
 */
export function nextAllowedTime(instant: Date, cfg: QuietHours): Date {
  if (!isQuietTime(instant, cfg)) return instant;
  const p = localParts(instant, cfg.tz);
  const today = localDate(instant, cfg.tz);
  // In a wrapping window (21:00–09:00) the evening part ends tomorrow morning; otherwise it ends today.
  const endsTomorrow = p.hour * 60 + p.minute >= minuteOfDay(cfg.end);
  return zonedTimeToUtc(endsTomorrow ? addDays(today, 1) : today, cfg.end, cfg.tz);
}
