// A code's figures per Shanghai day in a drawer (渠道活码 and 群活码): the range picker's shortcuts and the chart of bars
// and a net line, said once.
import { lastDays } from './analytics';
import { COLORS } from './palette';

/** The date-range picker's shortcuts: the last 7, 30 and 90 days to today (Shanghai). */
export const RANGE_SHORTCUTS = [
  { text: '最近 7 天', value: () => lastDays(7) },
  { text: '最近 30 天', value: () => lastDays(30) },
  { text: '最近 90 天', value: () => lastDays(90) },
];

/** One series of the chart: bars for counts, a line for the net. */
export interface DailySeries {
  name: string;
  type: 'bar' | 'line';
  values: number[];
}

/** The ECharts option of figures per day, labelled MM-DD. */
export function dailyChartOption(days: { day: string }[], series: DailySeries[]) {
  return {
    color: COLORS,
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0 },
    grid: { left: 40, right: 16, top: 16, bottom: 48 },
    xAxis: { type: 'category', data: days.map((d) => d.day.slice(5)) },
    yAxis: { type: 'value', minInterval: 1 },
    series: series.map((s) => ({ name: s.name, type: s.type, data: s.values })),
  };
}
