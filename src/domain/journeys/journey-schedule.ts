import { addDays, localDate, zonedTimeToUtc } from '../../shared/dates.js';
import type { StepDelay } from './journey.types.js';

/**
 * When a step falls due: its delay counted from `base`, the moment the previous step was acted on (or the entry, for
 * the first step). "Next day at 10:00" is a local date and time in the settings' zone (docs/journeys.md §Delays).
 */
export function stepDueAt(delay: StepDelay, base: Date, tz: string): Date {
  if (delay.kind === 'after') return new Date(base.getTime() + delay.minutes * 60_000);
  return zonedTimeToUtc(addDays(localDate(base, tz), delay.days), delay.time, tz);
}

/** A delay in words, for lists. */
export function delayWords(delay: StepDelay): string {
  if (delay.kind === 'at') return delay.days === 0 ? `当天 ${delay.time}` : delay.days === 1 ? `次日 ${delay.time}` : `${delay.days} 天后 ${delay.time}`;
  const m = delay.minutes;
  if (m === 0) return '立即';
  if (m % 1440 === 0) return `${m / 1440} 天后`;
  if (m % 60 === 0) return `${m / 60} 小时后`;
  return `${m} 分钟后`;
}
