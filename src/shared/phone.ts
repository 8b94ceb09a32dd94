/** Digits only, so "+86 138-0000-0000" and "13800000000" find each other through the blind index. */
export function normalizePhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return digits.length === 13 && digits.startsWith('86') ? digits.slice(2) : digits;
}

/** What may be entered as a phone number (customer PATCH); a search must look like this to be compared as one. */
export const PHONE_INPUT = /^[+\d][\d\s-]{4,30}$/;

/**
 * The normalized number a search names when it is written as a whole phone number, else null. Phones are found
 * through a blind index of the complete normalized number, so only a whole number can ever match; anything else is
 * not compared with phones at all (docs/security.md §Phone search).
 */
export function wholePhoneQuery(q: string): string | null {
  const t = q.trim();
  return PHONE_INPUT.test(t) ? normalizePhone(t) : null;
}
