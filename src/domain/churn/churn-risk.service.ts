import type { ChurnRiskRepository, RiskWrite } from '../../persistence/repositories/churn-risk.repository.js';
import type { Logger } from '../../shared/logger.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import { riskLevel, scoreChurnRisk } from './churn-risk.js';
import type { ChurnRisk, RiskLevel } from './churn-risk.types.js';
import type { Viewer } from '../customers/customer.service.js';

/** What one pass scored. */
export interface ChurnRiskCounts {
  scored: number;
  /** At or above the warning threshold. */
  atRisk: number;
  byLevel: Record<RiskLevel, number>;
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
    private readonly settings: { threshold: number; pageSize: number },
    /** Refuses a customer the viewer may not see (a staff member's are their own), as the archive does. */
    private readonly visible: (externalUserId: string, viewer: Viewer) => Promise<unknown> = async () => undefined,
  ) {}

  /** The score at which a customer is 高风险 (CHURN_RISK_THRESHOLD). */
  get threshold(): number {
    return this.settings.threshold;
  }

  /** Score every customer as of `now`. A dry run counts and writes nothing. */
  async scoreAll(input: { now: Date; isDryRun: boolean }): Promise<ChurnRiskCounts> {
    const now = input.now.getTime();
    const counts: ChurnRiskCounts = { scored: 0, atRisk: 0, byLevel: { low: 0, medium: 0, high: 0 } };
    let after = '';
    for (;;) {
      await yieldToEventLoop();
      const ids = await this.repo.page(after, this.settings.pageSize);
      if (ids.length === 0) break;
      after = ids[ids.length - 1];
      const signals = await this.repo.signals(ids, now);
      const rows: RiskWrite[] = [];
      for (const id of ids) {
        const { score, reasons } = scoreChurnRisk(signals.get(id)!, now);
        const level = riskLevel(score, this.settings.threshold);
        counts.scored += 1;
        counts.byLevel[level] += 1;
        if (score >= this.settings.threshold) counts.atRisk += 1;
        rows.push({ externalUserId: id, score, level, reasons });
      }
      if (!input.isDryRun) await this.repo.write(rows, now);
      if (ids.length < this.settings.pageSize) break;
    }
    if (!input.isDryRun) await this.repo.dropUnfollowed();
    this.log.info(counts, 'churn risk scored');
    return counts;
  }

  /** A customer's latest score, or null before the first pass that saw them. */
  of(externalUserId: string): Promise<ChurnRisk | null> {
    return this.repo.get(externalUserId);
  }

  /** `of`, for a viewer allowed to see the customer. */
  async forViewer(externalUserId: string, viewer: Viewer): Promise<ChurnRisk | null> {
    await this.visible(externalUserId, viewer);
    return this.repo.get(externalUserId);
  }
}
