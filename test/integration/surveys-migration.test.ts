import { describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { useMigratedWithout } from '../helpers/migrated-without.js';
import { Surveys1795000000040 } from '../../migrations/0040-surveys.js';
import { migrations } from '../../migrations/index.js';

/** Migration 0040 (docs/surveys.md §Storage): up, the unique keys that make a second answer a replacement, down, up. */
describe.each(testEngines())('migration 0040 surveys (%s)', (engine) => {
  const mig = useMigratedWithout(engine, [Surveys1795000000040]);

  it('creates the survey tables, refuses a second answer row for one period, and goes down and up again', async () => {
    expect(migrations).toContain(Surveys1795000000040);
    const runner = mig.ds.createQueryRunner();
    await new Surveys1795000000040().up(runner);
    const insertAnswer = (period: string) =>
      mig.ds.query(
        `INSERT INTO survey_answers (survey_id, invite_id, external_user_id, period, kind, score, answers, via, submission, revisions, first_answered_at, answered_at)
         VALUES (1, 1, 'wmA', ?, 'nps', 9, '[]', 'link', 'abc', 0, 1, 1)`,
        [period],
      );
    await insertAnswer('2026-Q4');
    await expect(insertAnswer('2026-Q4')).rejects.toThrow();
    await insertAnswer('2027-Q1');
    const [{ n }] = (await mig.ds.query('SELECT COUNT(*) AS n FROM survey_answers')) as { n: number | string }[];
    expect(Number(n)).toBe(2);
    await new Surveys1795000000040().down(runner);
    expect(await runner.hasTable('survey_answers')).toBe(false);
    expect(await runner.hasTable('surveys')).toBe(false);
    await new Surveys1795000000040().up(runner);
    expect(await runner.hasTable('survey_customer_scores')).toBe(true);
    await runner.release();
  });
});
