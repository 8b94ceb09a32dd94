import type { Customer } from './customer.types.js';
import type { CustomerTag } from '../tags/tag.types.js';
import type { CustomerFacts } from '../audiences/audience.matcher.js';
import type { Gender } from '../audiences/audience.types.js';
import { localDate } from '../../shared/dates.js';
import { birthdayDateInYear, isValidBirthday } from '../care/occasions.js';

/**
 * The matcher's view of a customer (audience.matcher.ts), built from archive rows exactly as the SQL compiler
 * reads them: the first-added date falls back to the row's creation, dates are local to `timezone`.
 */
export function customerFacts(
  c: Customer,
  extra: { tags: CustomerTag[]; owners: string[]; channelName: string | null; orderCount: number; spentCents: number },
  ctx: { today: string; timezone: string },
): CustomerFacts {
  const gender: Gender = c.gender === 1 ? 'male' : c.gender === 2 ? 'female' : 'unknown';
  const b = c.birthday ? { calendar: c.birthday.calendar, month: c.birthday.month, day: c.birthday.day, leapMonth: c.birthday.calendar === 'lunar' && c.birthday.leapMonth } : null;
  const added = c.firstAddedAt ?? c.createdAt;
  return {
    externalUserId: c.externalUserId,
    tags: extra.tags.map((t) => ({ name: t.name, group: t.groupName })),
    owners: extra.owners,
    activity: c.activity,
    stage: c.stage,
    rfm: c.rfm,
    channel: extra.channelName,
    birthdayThisYear: b && isValidBirthday(b) ? birthdayDateInYear(b, Number(ctx.today.slice(0, 4))) : null,
    gender,
    addedAt: localDate(added, ctx.timezone),
    lastInteractionDate: c.lastInteractionAt ? localDate(c.lastInteractionAt, ctx.timezone) : null,
    orderCount: extra.orderCount,
    totalSpent: extra.spentCents / 100,
  };
}
