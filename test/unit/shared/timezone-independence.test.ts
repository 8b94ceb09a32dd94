import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// docs/reliability.md §Time zones and calendar dates: the date rules must give the same answers under TZ=UTC and
// TZ=Asia/Shanghai. The process TZ is fixed at start-up, so each zone gets its own child process running the same
// probe.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const mod = (path: string) => JSON.stringify(pathToFileURL(`${root}${path}`).href);

const probe = `
const d = await import(${mod('src/shared/dates.ts')});
const o = await import(${mod('src/domain/care/occasions.ts')});
const q = await import(${mod('src/domain/care/quiet-hours.ts')});
const night = { start: '21:00', end: '09:00', tz: 'Asia/Shanghai' };
const out = {
  processTz: Intl.DateTimeFormat().resolvedOptions().timeZone,
  localDates: ['1990-06-30T15:00:00Z', '1990-06-30T14:59:59Z', '2026-02-16T16:00:00Z', '2026-12-31T16:00:00Z']
    .map((s) => d.localDate(new Date(s), 'Asia/Shanghai')),
  parts: d.localParts(new Date('1990-07-01T12:00:00Z'), 'Asia/Shanghai'),
  zoned: [['1990-07-01', '00:00'], ['1990-04-15', '02:30'], ['1990-09-16', '01:30'], ['2026-09-25', '09:00']]
    .map(([a, b]) => d.zonedTimeToUtc(a, b, 'Asia/Shanghai').toISOString()),
  addDays: [d.addDays('1990-04-14', 1), d.addDays('2028-02-28', 1), d.daysBetween('1990-04-01', '1990-10-01')],
  birthdays: [
    o.birthdayDateInYear({ calendar: 'solar', month: 2, day: 29 }, 2027),
    o.birthdayDateInYear({ calendar: 'lunar', month: 1, day: 1 }, 2027),
    o.birthdayDateInYear({ calendar: 'lunar', month: 6, day: 15, leapMonth: true }, 2025),
    o.birthdayDateInYear({ calendar: 'lunar', month: 2, day: 30 }, 2026),
    o.birthdayOn({ calendar: 'solar', month: 7, day: 1 }, '1990-07-01'),
  ],
  holidays: o.HOLIDAYS.map((h) => o.holidayDate(h, 2026)),
  quiet: ['2026-05-05T12:59:59Z', '2026-05-05T13:00:00Z', '2026-05-06T00:59:59Z', '2026-05-06T01:00:00Z']
    .map((s) => [q.isQuietTime(new Date(s), night), q.nextAllowedTime(new Date(s), night).toISOString()]),
};
console.log(JSON.stringify(out));
`;

function runUnder(tz: string): Record<string, unknown> {
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {
    cwd: root,
    env: { ...process.env, TZ: tz },
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('date rules under different process time zones', () => {
  it('give identical answers under TZ=UTC and TZ=Asia/Shanghai', () => {
    const { processTz: utcZone, ...underUtc } = runUnder('UTC');
    const { processTz: shanghaiZone, ...underShanghai } = runUnder('Asia/Shanghai');
    // Guard against the child silently ignoring TZ, which would make the comparison vacuous.
    expect([utcZone, shanghaiZone]).toEqual(['UTC', 'Asia/Shanghai']);
    expect(underShanghai).toEqual(underUtc);
    expect(underUtc.localDates).toEqual(['1990-07-01', '1990-06-30', '2026-02-17', '2027-01-01']);
    expect(underUtc.birthdays).toEqual([
      '2027-02-28',
      '2027-02-06',
      '2025-08-08',
      '2026-04-16',
      { date: '1990-07-01', year: 1990 },
    ]);
  });
});
