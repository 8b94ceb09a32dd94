import type { ChurnRiskRepository, RiskWarning, RiskWrite } from '../../persistence/repositories/churn-risk.repository.js';
import type { Logger } from '../../shared/logger.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import { localDate } from '../../shared/dates.js';
import { newId } from '../../shared/ids.js';
import { COMPLAINT_DAYS, riskLevel, scoreChurnRisk } from './churn-risk.js';

const DAY_MS = 86_400_000;
import type { ChurnRisk, ChurnSignals, RiskLevel } from './churn-risk.types.js';
import type { Viewer } from '../customers/customer.service.js';

/** What one pass scored. */
export interface ChurnRiskCounts {
  scored: number;
  /** At or above the warning threshold. */
  atRisk: number;
  /** Crossed it in this pass: their owner got a warning task (docs/churn.md §Warnings). */
  warned: number;
  byLevel: Record<RiskLevel, number>;
}

/** A warning task's text: the score and the largest reasons, and what to do (docs/churn.md §Warnings). */
export function warningText(score: number, reasons: { text: string }[]): string {
  const why = reasons.slice(0, 2).map((r) => r.text).join('；');
  return `【流失预警】流失风险 ${score} 分${why ? `：${why}` : ''}。请尽快联系客户，了解情况并跟进。`;
}

/**
 * 流失预警's nightly pass (docs/churn.md): every customer who still follows a member gets a churn-risk score from their
 * signals as of `now`, with its reasons; customers who follow no one lose theirs. Keyset pages, a few grouped reads
 * and one write per page.
 */
export class ChurnRiskService {
  constructor(
    private readonly repo: ChurnRiskRepository,
    private readonly log: Logger,
    private readonly settings: { threshold: number; pageSize: number; tz: string },
    /** Refuses a customer the viewer may not see (a staff member's are their own), as the archive does. */
    private readonly visible: (externalUserId: string, viewer: Viewer) => Promise<unknown> = async () => undefined,
    /** Who follows a customer up: the care settings' sender policy, as for care messages and feedback tickets. */
    private readonly owners: (ids: string[]) => Promise<Map<string, { userid: string; name?: string }>> = async () => new Map(),
    /** Whether a text is a complaint: the feedback complaint rules (docs/feedback.md §Categories). */
    private readonly isComplaint: (text: string) => Promise<boolean> = async () => false,
  ) {}

  /**
   * Each customer's signals as of `now` (docs/churn.md §Signals). A note staff wrote in the last 60 days that a complaint
   * rule matches counts as a complaint, like a KF message: staff write down what customers tell them in 1:1 chats,
   * which the bot cannot read. `asPage`: the ids are a page of the repository's, read by their key range.
   */
  async signals(ids: string[], now: number, asPage = false): Promise<Map<string, ChurnSignals>> {
    const since = now - COMPLAINT_DAYS * DAY_MS;
    const [signals, notes] = await Promise.all([this.repo.signals(ids, now, since, asPage), this.repo.staffNotes(ids, since, now, asPage)]);
    for (const [id, list] of notes) {
      const s = signals.get(id)!;
      for (const n of list) {
        if (!(await this.isComplaint(n.text))) continue;
        s.complaints += 1;
        if (s.lastComplaintAt === null || n.at > s.lastComplaintAt) s.lastComplaintAt = n.at;
      }
    }
    return signals;
  }

  /** The score at which a customer is 高风险 (CHURN_RISK_THRESHOLD). */
  get threshold(): number {
    return this.settings.threshold;
  }

  /** Score every customer as of `now`. A dry run counts and writes nothing. */
  async scoreAll(input: { now: Date; isDryRun: boolean }): Promise<ChurnRiskCounts> {
    const now = input.now.getTime();
    const counts: ChurnRiskCounts = { scored: 0, atRisk: 0, warned: 0, byLevel: { low: 0, medium: 0, high: 0 } };
    const today = localDate(input.now, this.settings.tz);
    for (let after: string | null = ''; after !== null; ) {
      await yieldToEventLoop();
      const page = await this.repo.page(after, this.settings.pageSize);
      // The keys this page covers: scores there of customers not in it are dropped with the page's (they follow no one).
      const span = { after, through: page.next };
      after = page.next;
      const ids = page.ids;
      if (ids.length === 0) {
        if (!input.isDryRun) await this.repo.write([], now, [], span);
        continue;
      }
      const [signals, previous] = await Promise.all([this.signals(ids, now, true), this.repo.previous(ids, true)]);
      const rows: RiskWrite[] = [];
      const crossed: RiskWrite[] = [];
      for (const id of ids) {
        const { score, reasons } = scoreChurnRisk(signals.get(id)!, now);
        const level = riskLevel(score, this.settings.threshold);
        counts.scored += 1;
        counts.byLevel[level] += 1;
        const before = previous.get(id)?.highSince ?? null;
        // A customer stays "high since" their crossing while they stay 高风险; falling below ends it.
        const row: RiskWrite = { externalUserId: id, score, level, reasons, highSince: level === 'high' ? (before ?? now) : null };
        if (level === 'high') counts.atRisk += 1;
        if (level === 'high' && before === null) crossed.push(row);
        rows.push(row);
      }
      if (input.isDryRun) {
        counts.warned += crossed.length;
        continue;
      }
      const warnings = await this.warnings(crossed, input.now, today);
      // On SQLite the page's reads and its write each run without a turn of the loop in between: give it one.
      await yieldToEventLoop();
      counts.warned += await this.repo.write(rows, now, warnings, span);
    }
    this.log.info(counts, 'churn risk scored');
    return counts;
  }

  /**
   * The warning tasks of customers who crossed into 高风险: a follow-up due today for their owner, which the sidebar
   * lists and the care run's reminder tells them of by app message within WeCom's per-member cap
   * (docs/churn.md §Warnings). A customer without an owner gets none.
   */
  private async warnings(crossed: RiskWrite[], now: Date, today: string): Promise<RiskWarning[]> {
    if (crossed.length === 0) return [];
    const owners = await this.owners(crossed.map((r) => r.externalUserId));
    const out: RiskWarning[] = [];
    for (const r of crossed) {
      const owner = owners.get(r.externalUserId);
      if (!owner) continue;
      const text = warningText(r.score, r.reasons);
      out.push({
        note: { id: newId(now.getTime()), externalUserId: r.externalUserId, userid: owner.userid, text, dueDate: today, doneAt: null, createdAt: now, source: 'churn' },
        summary: `流失预警：风险 ${r.score} 分，已为 ${owner.name || owner.userid} 建立跟进任务`,
        highSince: r.highSince!,
      });
    }
    return out;
  }

  /** A customer's latest score, or null before the first pass that saw them. */
  of(externalUserId: string): Promise<ChurnRisk | null> {
    return this.repo.get(externalUserId);
  }

  /** Since when each of these customers is 高风险 (epoch ms), for win-back's churn-risk entry (docs/churn.md §Win-back). */
  highSince(ids: string[]): Promise<Map<string, number>> {
    return this.repo.highSince(ids);
  }

  /** `of`, for a viewer allowed to see the customer. */
  async forViewer(externalUserId: string, viewer: Viewer): Promise<ChurnRisk | null> {
    await this.visible(externalUserId, viewer);
    return this.repo.get(externalUserId);
  }
}
