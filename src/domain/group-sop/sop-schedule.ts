import { addDays, localDate, weekdayOf, zonedTimeToUtc } from '../../shared/dates.js';
import type { SopGroup, SopOutcome, SopPlan, SopSchedule, SopStep } from './group-sop.types.js';

/** One instant a step is due for a group. */
export interface DueFire {
  step: SopStep;
  group: SopGroup;
  fireAt: Date;
}

/** ISO weekday of a local date: 1 Monday … 7 Sunday. */
export function isoWeekday(date: string): number {
  return weekdayOf(date) || 7;
}

/**
 * The instants in (from, to] at which `step` is due for `group`, in `tz`. Recurring steps fire on each chosen weekday
 * at their local time; relative steps once, `day` local days after the group's creation date at their time
 * (docs/groups.md §Schedules).
 */
export function fireTimes(schedule: SopSchedule, step: SopStep, group: SopGroup, from: Date, to: Date, tz: string): Date[] {
  if (to.getTime() <= from.getTime()) return [];
  if (schedule.kind === 'relative') {
    if (!group.createdAt || step.day === undefined) return [];
    const at = zonedTimeToUtc(addDays(localDate(group.createdAt, tz), step.day), step.time, tz);
    return at.getTime() > from.getTime() && at.getTime() <= to.getTime() ? [at] : [];
  }
  const out: Date[] = [];
  const days = new Set(schedule.weekdays);
  // One day either side: a local date's time may fall before `from`'s or after `to`'s local date in UTC terms.
  const last = addDays(localDate(to, tz), 1);
  for (let d = addDays(localDate(from, tz), -1); d <= last; d = addDays(d, 1)) {
    if (!days.has(isoWeekday(d))) continue;
    const at = zonedTimeToUtc(d, step.time, tz);
    if (at.getTime() > from.getTime() && at.getTime() <= to.getTime()) out.push(at);
  }
  return out;
}

/** Every fire of `plan` over `groups` in (from, to], in time order. */
export function dueFires(plan: Pick<SopPlan, 'schedule' | 'steps'>, groups: readonly SopGroup[], from: Date, to: Date, tz: string): DueFire[] {
  const out: DueFire[] = [];
  for (const step of plan.steps) {
    for (const group of groups) for (const fireAt of fireTimes(plan.schedule, step, group, from, to, tz)) out.push({ step, group, fireAt });
  }
  return out.sort((a, b) => a.fireAt.getTime() - b.fireAt.getTime());
}

/**
 * How a fire is reported at `now`: done by the end of its window, done after it (late), not done and the window over
 * (missed), or still inside it (pending). A fire recorded as missed or failed is missed whatever the time
 * (docs/groups.md §The report).
 */
export function outcomeOf(fire: { fireAt: Date; doneAt: Date | null; status: string }, windowMinutes: number, now: Date): SopOutcome {
  const end = fire.fireAt.getTime() + windowMinutes * 60_000;
  if (fire.doneAt) return fire.doneAt.getTime() <= end ? 'done' : 'late';
  if (fire.status === 'missed' || fire.status === 'failed') return 'missed';
  return now.getTime() > end ? 'missed' : 'pending';
}
