import type { EntityManager } from 'typeorm';
import type { AnalyticsRepository } from '../../persistence/repositories/analytics.repository.js';
import type { Clock } from '../../shared/clock.js';
import { localDate } from '../../shared/dates.js';
import type { RelationChange } from './analytics.types.js';

/**
 * The port the relation handlers call inside the transaction that applied a change: the change is appended to the
 * analytics ledger and counted on its day's rollup rows in that same transaction
 * (docs/analytics.md §How the rollups stay right). The handlers decide that a change happened (a relation became active, or stopped being active), so a
 * replayed event, which changes nothing, records nothing.
 */
export type RecordRelationChange = (em: EntityManager, change: RelationChange) => Promise<void>;

/**
 * How far from a done transfer's takeover an add by the taker is still that transfer's: the transfer handler's
 * own window for matching callbacks (the job may record the takeover before or after WeCom's callback).
 */
const TAKEOVER_WINDOW_MS = 48 * 3600 * 1000;

/** Builds the RecordRelationChange port over the analytics repository. */
export class AnalyticsRecorder {
  constructor(
    private readonly repo: AnalyticsRepository,
    private readonly clock: Clock,
    private readonly tz: string,
  ) {}

  /**
   * Record one change. An add that a transfer explains is the taker's `transferred_in`, not growth
   * (docs/wecom-protocol.md §Customer contact events: a transfer brings the taker's add_external_contact).
   */
  readonly record: RecordRelationChange = async (em, change) => {
    let c = change;
    if (c.channelId === null && c.state) c = { ...c, channelId: await this.repo.channelIdByStateInTx(em, c.state) };
    let tags: { tagId: string; groupId: string }[];
    if (c.kind === 'added') {
      // One statement for both questions an add asks (docs/inbox.md §Statements per event).
      const facts = await this.repo.addFactsInTx(em, c.externalUserId, c.userid, c.occurredAt.getTime(), TAKEOVER_WINDOW_MS);
      if (facts.isTakeover) c = { ...c, kind: 'transferred_in' };
      tags = facts.isTakeover ? [] : facts.tags;
    } else tags = c.kind === 'transferred_in' || c.kind === 'transferred_out' ? [] : await this.repo.customerTagsInTx(em, c.externalUserId);
    const day = localDate(c.occurredAt, this.tz);
    const now = this.clock.now();
    // Only a past day can have been rolled (the job never rolls today), so a change of today asks nothing more.
    const isRolled = day < localDate(now, this.tz) && (await this.repo.isRolledInTx(em, day));
    await this.repo.recordInTx(em, c, day, tags, now.getTime(), isRolled);
  };
}
