import { addDays, localDate, weekdayOf, zonedTimeToUtc } from '../../shared/dates.js';
import type { Clock } from '../../shared/clock.js';
import type { ScoreRow, SurveyRepository } from '../../persistence/repositories/survey.repository.js';
import type { Viewer } from '../customers/customer.service.js';
import { npsBand } from './survey-periods.js';
import type { ResultGroup, ScoreFigures, ScoreKind, SurveyResults } from './survey.types.js';

export type { ResultGroup, ScoreFigures, SurveyResults };

const round = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d;

/** The figures of some scores of one kind. */
export function figuresOf(kind: ScoreKind, scores: readonly number[]): ScoreFigures {
  const n = scores.length;
  if (kind === 'nps') {
    let p = 0;
    let d = 0;
    for (const s of scores) {
      const band = npsBand(s);
      if (band === 'promoter') p += 1;
      else if (band === 'detractor') d += 1;
    }
    return { responses: n, nps: n === 0 ? null : round(((p - d) * 100) / n, 1), promoters: p, passives: n - p - d, detractors: d, csat: null };
  }
  const sum = scores.reduce((a, b) => a + b, 0);
  const satisfied = scores.filter((s) => s >= 4).length;
  return { responses: n, nps: null, csat: n === 0 ? null : round(sum / n, 2), satisfiedPercent: n === 0 ? null : round((satisfied * 100) / n, 1) };
}

/** Group scores by a key, in the key's order (null last). */
export function groupScores(kind: ScoreKind, rows: readonly ScoreRow[], keyOf: (r: ScoreRow) => string | null, labelOf: (k: string | null) => string): ResultGroup[] {
  const groups = new Map<string | null, number[]>();
  for (const r of rows) {
    const k = keyOf(r);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r.score);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : a.localeCompare(b)))
    .map(([k, scores]) => ({ key: k, label: labelOf(k), ...figuresOf(kind, scores) }));
}

/**
 * NPS and CSAT over time, per staff member, per channel and per segment (docs/surveys.md §Results), from the answers in
 * the range: one read of their scores, grouped here. Per staff member is by the member who invited (the customer's
 * owner then); channel and segment as the customer was when answering. A staff viewer sees only their own customers.
 */
export class SurveyResultsService {
  constructor(
    private readonly repo: Pick<SurveyRepository, 'scores' | 'inviteCounts' | 'channelNames'>,
    private readonly staffNames: (userids: string[]) => Promise<Map<string, string>>,
    private readonly clock: Clock,
    private readonly tz: string,
  ) {}

  /** The results of `kind` answered from `from` through `to` (local dates, inclusive). */
  async results(q: { kind: ScoreKind; surveyId: number | null; from?: string; to?: string; granularity?: 'day' | 'week' | 'month' }, viewer: Viewer): Promise<SurveyResults> {
    const to = q.to ?? localDate(this.clock.now(), this.tz);
    const from = q.from ?? addDays(to, -89);
    const granularity = q.granularity ?? 'week';
    const fromMs = zonedTimeToUtc(from, '00:00', this.tz).getTime();
    const toMs = zonedTimeToUtc(addDays(to, 1), '00:00', this.tz).getTime();
    const rows = await this.repo.scores({ kind: q.kind, surveyId: q.surveyId, from: fromMs, to: toMs, visibleTo: viewer.role === 'staff' ? (viewer.userid ?? '') : null });
    const staff = await this.staffNames([...new Set(rows.map((r) => r.staffUserid).filter((x): x is string => x !== null))]);
    const channels = await this.repo.channelNames([...new Set(rows.map((r) => r.channelId).filter((x): x is string => x !== null))]);
    const invites = viewer.role === 'staff' ? null : await this.repo.inviteCounts(q.surveyId, fromMs, toMs);
    const bucket = (ms: number) => {
      const d = localDate(new Date(ms), this.tz);
      if (granularity === 'day') return d;
      if (granularity === 'month') return d.slice(0, 7);
      // Weeks start on Monday, named by their Monday.
      return addDays(d, -((weekdayOf(d) + 6) % 7));
    };
    const total = figuresOf(q.kind, rows.map((r) => r.score));
    return {
      kind: q.kind,
      surveyId: q.surveyId,
      from,
      to,
      granularity,
      total,
      overTime: groupScores(q.kind, rows, (r) => bucket(r.answeredAt), (k) => periodLabel(k, granularity)),
      byStaff: groupScores(q.kind, rows, (r) => r.staffUserid, (k) => (k === null ? '未知成员' : (staff.get(k) ?? k))),
      byChannel: groupScores(q.kind, rows, (r) => r.channelId, (k) => (k === null ? '无渠道' : (channels.get(k) ?? '已删除的渠道'))),
      bySegment: groupScores(q.kind, rows, (r) => r.segment, (k) => k ?? '未分层'),
      invited: invites?.invited ?? 0,
      opened: invites?.opened ?? 0,
      responseRate: invites && invites.invited > 0 ? round((total.responses * 100) / invites.invited, 1) : null,
    };
  }
}

function periodLabel(k: string | null, g: 'day' | 'week' | 'month'): string {
  if (k === null) return '';
  if (g === 'month') return `${k.slice(0, 4)}年${Number(k.slice(5, 7))}月`;
  const [y, m, d] = k.split('-').map(Number);
  return g === 'week' ? `${y}年${m}月${d}日当周` : `${y}年${m}月${d}日`;
}
