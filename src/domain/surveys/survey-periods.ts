import type { SurveyPeriod } from './survey.types.js';

/**
 * The period a local date falls in, as a survey counts them (docs/surveys.md §Periods): `once`, `2026-12`, `2026-Q4`,
 * `2026-H2`, `2026`. One answer per survey, customer and period is kept, and one invitation is sent.
 */
export function periodKey(period: SurveyPeriod, localDate: string): string {
  const year = localDate.slice(0, 4);
  const month = Number(localDate.slice(5, 7));
  switch (period) {
    case 'once':
      return 'once';
    case 'month':
      return localDate.slice(0, 7);
    case 'quarter':
      return `${year}-Q${Math.ceil(month / 3)}`;
    case 'half_year':
      return `${year}-H${month <= 6 ? 1 : 2}`;
    case 'year':
      return year;
  }
}

/** A period key in words for the console and the customer: 2026年第4季度. */
export function periodWords(key: string): string {
  if (key === 'once') return '';
  let m = /^(\d{4})-(\d{2})$/.exec(key);
  if (m) return `${m[1]}年${Number(m[2])}月`;
  m = /^(\d{4})-Q([1-4])$/.exec(key);
  if (m) return `${m[1]}年第${m[2]}季度`;
  m = /^(\d{4})-H([12])$/.exec(key);
  if (m) return `${m[1]}年${m[2] === '1' ? '上' : '下'}半年`;
  return /^\d{4}$/.test(key) ? `${key}年` : key;
}

/** The NPS band of a score: 0–6 detractor, 7–8 passive, 9–10 promoter. */
export function npsBand(score: number): 'detractor' | 'passive' | 'promoter' {
  return score <= 6 ? 'detractor' : score <= 8 ? 'passive' : 'promoter';
}
