import type { ChurnCauseRepository } from '../../persistence/repositories/churn-cause.repository.js';
import type { Clock } from '../../shared/clock.js';
import { addDays, localDate, zonedTimeToUtc } from '../../shared/dates.js';
import { NotFoundError, ValidationError } from '../../shared/errors.js';
import type { Viewer } from '../customers/customer.service.js';
import { CAUSE_WORDS, STAFF_CAUSES, type CauseCounts, type ChurnCause, type DerivedCause, type StaffCause } from './churn-cause.types.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * 流失原因 (docs/churn.md §Causes): each lost relation keeps the cause the bot derived from the customer's last score,
 * and the cause its member records; the counts by cause for the analytics. A staff member sees and records only the
 * losses of their own relations.
 */
export class ChurnCauseService {
  constructor(
    private readonly repo: ChurnCauseRepository,
    private readonly clock: Clock,
    private readonly tz: string,
    /** Refuses a customer the viewer may not see, as the archive does (404). */
    private readonly visible: (externalUserId: string, viewer: Viewer) => Promise<unknown> = async () => undefined,
  ) {}

  /**
   * A customer's losses, newest first, as the viewer may see them: a staff member the losses of their own relations, or
   * nothing of a customer still theirs; any other customer is not found for them.
   */
  async forCustomer(externalUserId: string, viewer: Viewer): Promise<ChurnCause[]> {
    const all = await this.repo.forCustomer(externalUserId);
    if (viewer.role !== 'staff') return all;
    const mine = all.filter((c) => c.userid === viewer.userid);
    if (mine.length === 0) await this.visible(externalUserId, viewer);
    return mine;
  }

  /** Record what a member learned of a loss (price, service, …) and a note; a staff member only for their own. */
  async record(id: number, input: { cause: string; note?: string | null }, viewer: Viewer, actor: string): Promise<{ before: ChurnCause; after: ChurnCause }> {
    const before = await this.repo.find(id);
    if (!before || (viewer.role === 'staff' && before.userid !== viewer.userid)) throw new NotFoundError('没有这条流失记录');
    if (!(STAFF_CAUSES as readonly string[]).includes(input.cause)) {
      throw new ValidationError(`流失原因须为：${STAFF_CAUSES.map((c) => `${c}（${CAUSE_WORDS[c]}）`).join('、')}`, { fields: { cause: '请选择流失原因' } });
    }
    const note = input.note?.trim() || null;
    if (note && note.length > 200) throw new ValidationError('说明至多 200 字', { fields: { note: '说明至多 200 字' } });
    await this.repo.setStaffCause(id, input.cause as StaffCause, note, actor, this.clock.now().getTime());
    return { before, after: (await this.repo.find(id))! };
  }

  /** Losses between two local dates (inclusive; the last 30 days by default) by cause; a staff member's own. */
  async counts(q: { from?: string; to?: string }, viewer: Viewer): Promise<CauseCounts> {
    const today = localDate(this.clock.now(), this.tz);
    const to = q.to ?? today;
    const from = q.from ?? addDays(to, -29);
    if (!DATE.test(from) || !DATE.test(to) || from > to) throw new ValidationError('日期须为 YYYY-MM-DD，且开始不晚于结束', { fields: { from: '日期格式 YYYY-MM-DD' } });
    const c = await this.repo.counts(zonedTimeToUtc(from, '00:00', this.tz).getTime(), zonedTimeToUtc(addDays(to, 1), '00:00', this.tz).getTime(), viewer.role === 'staff' ? viewer.userid : null);
    const share = (n: number) => (c.total === 0 ? 0 : Math.round((n / c.total) * 1000) / 1000);
    const recorded = [...c.byStaffCause.values()].reduce((a, b) => a + b, 0);
    return {
      from,
      to,
      losses: c.total,
      byCause: [...c.byCause].map(([cause, count]) => ({ cause: cause as DerivedCause, words: CAUSE_WORDS[cause as DerivedCause] ?? '其他', count, share: share(count) })).sort((a, b) => b.count - a.count),
      byStaffCause: [...c.byStaffCause].map(([cause, count]) => ({ cause: cause as StaffCause, words: CAUSE_WORDS[cause as StaffCause] ?? '其他', count, share: share(count) })).sort((a, b) => b.count - a.count),
      unrecorded: c.total - recorded,
    };
  }
}
