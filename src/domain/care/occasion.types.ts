// A customer's birthday, as the care occasions compute with it.

/** A customer's birthday; `leapMonth` marks a lunar birthday in a leap month (闰月). */
export type Birthday = {
  calendar: 'solar' | 'lunar';
  month: number;
  day: number;
  year?: number;
  leapMonth?: boolean;
};
