import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Staff performance summed per member and week or month (docs/analytics.md §Staff performance):
 * `analytics_staff_periods` holds, per granularity ('week', 'month'), period (the Monday, or 'YYYY-MM') and member,
 * the sums of `analytics_staff_behavior` and `analytics_staff_daily` over the period's days, so a year by month reads
 * about 1,200 rows instead of 36,500 per table. The nightly job re-sums the periods its staff part may have changed;
 * this migration sums the days already stored.
 */
export class AnalyticsStaffPeriods1795000000035 implements MigrationInterface {
  name = 'AnalyticsStaffPeriods1795000000035';

  async up(q: QueryRunner): Promise<void> {
    const engine = engineOfDataSource(q.connection);
    const c = columns(engine);
    const big = (name: string) => c.int(name, { type: 'bigint' });
    await q.createTable(
      new Table({
        name: 'analytics_staff_periods',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('granularity', 8),
          c.varchar('period', 10),
          c.varchar('userid', 64),
          // WeCom's figures: the days stored, their sums, and the reply figures over the days that have them, weighted
          // by the day's chats (at least 1): whole numbers, so any grouping of days sums the same.
          c.int('behavior_days'),
          big('chat_cnt'),
          big('message_cnt'),
          big('negative_feedback_cnt'),
          big('new_apply_cnt'),
          big('new_contact_cnt'),
          c.int('reply_days'),
          big('reply_weight'),
          big('reply_weighted_x100'),
          big('reply_time_weighted'),
          // The bot's own figures.
          c.int('daily_days'),
          c.int('mass_tasks'),
          c.int('confirmed_late'),
          c.int('never_confirmed'),
          c.int('awaiting'),
          c.int('followups_due'),
          c.int('followups_done'),
          c.epochMs('rolled_at'),
        ],
        uniques: [{ name: 'uq_analytics_staff_periods', columnNames: ['granularity', 'period', 'userid'] }],
      }),
    );
    // The days stored so far, summed as the nightly job sums them (StaffStatsRepository.rollPeriods).
    const now = Date.now();
    for (const g of ['week', 'month'] as const) {
      const p =
        g === 'month'
          ? engine === 'mysql'
            ? "DATE_FORMAT(day, '%Y-%m')"
            : 'substr(day, 1, 7)'
          : engine === 'mysql'
            ? 'DATE_SUB(day, INTERVAL WEEKDAY(day) DAY)'
            : "date(day, '-' || ((CAST(strftime('%w', day) AS INTEGER) + 6) % 7) || ' days')";
      const w = engine === 'mysql' ? 'GREATEST(chat_cnt, 1)' : 'MAX(chat_cnt, 1)';
      await q.query(
        `INSERT INTO analytics_staff_periods (granularity, period, userid, behavior_days, chat_cnt, message_cnt, negative_feedback_cnt, new_apply_cnt, new_contact_cnt,
                reply_days, reply_weight, reply_weighted_x100, reply_time_weighted, daily_days, mass_tasks, confirmed_late, never_confirmed, awaiting, followups_due, followups_done, rolled_at)
         SELECT ?, p, userid, SUM(bd), SUM(cc), SUM(mc), SUM(nf), SUM(na), SUM(nc), SUM(rd), SUM(rw), SUM(rp), SUM(rt), SUM(dd), SUM(mt), SUM(cl), SUM(nv), SUM(aw), SUM(fd), SUM(fo), ?
           FROM (SELECT userid, ${p} AS p, COUNT(*) AS bd, SUM(chat_cnt) AS cc, SUM(message_cnt) AS mc, SUM(negative_feedback_cnt) AS nf, SUM(new_apply_cnt) AS na,
                        SUM(new_contact_cnt) AS nc, COUNT(reply_percentage_x100) AS rd, SUM(CASE WHEN reply_percentage_x100 IS NULL THEN 0 ELSE ${w} END) AS rw,
                        COALESCE(SUM(${w} * reply_percentage_x100), 0) AS rp,
                        SUM(CASE WHEN reply_percentage_x100 IS NULL THEN 0 ELSE ${w} * COALESCE(avg_reply_time, 0) END) AS rt,
                        0 AS dd, 0 AS mt, 0 AS cl, 0 AS nv, 0 AS aw, 0 AS fd, 0 AS fo
                   FROM analytics_staff_behavior GROUP BY userid, ${p}
                 UNION ALL
                 SELECT userid, ${p} AS p, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, COUNT(*), SUM(mass_tasks), SUM(confirmed_late), SUM(never_confirmed), SUM(awaiting),
                        SUM(followups_due), SUM(followups_done)
                   FROM analytics_staff_daily GROUP BY userid, ${p}) u
          GROUP BY userid, p`,
        [g, now],
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('analytics_staff_periods', true);
  }
}
