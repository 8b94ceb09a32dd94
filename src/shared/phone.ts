/** Digits only, so "+86 138-0000-0000" and "13800000000" find each other through the blind index. */
export function normalizePhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return digits.length === 13 && digits.startsWith('86') ? digits.slice(2) : digits;
}
