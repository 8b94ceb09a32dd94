import type { DbEngine } from '../../persistence/data-source.js';
import type { BehaviourTagRepository } from '../../persistence/repositories/behaviour-tag.repository.js';
import type { CustomerCondition, KeyRange } from './behaviour-tag.types.js';
import type { TagRuleRepository } from '../../persistence/repositories/tag-rule.repository.js';
import type { TagRule } from './tag-rule.types.js';
import type { Tag } from './tag.types.js';
import type { Logger } from '../../shared/logger.js';
import { compileAudienceWithTags } from '../audiences/audience.compiler.js';
import type { AudienceTagLookup } from '../audiences/audience.tags.js';
import { parseAudience } from '../audiences/audience.parser.js';
import type { AudienceExpr } from '../audiences/audience.types.js';
import type { TagLibraryService } from './tag-library.service.js';
import { parseTagRef } from './tag-ref.js';
import { yieldToEventLoop } from '../../shared/yield.js';

/** Settings. */
export interface BehaviourTaggingSettings {
  tz: string;
  /** Customers per key range: every statement touches at most this many customers. */
  pageSize: number;
}

/** What one pass did (or, in a dry run, would do). */
export interface BehaviourTagCounts {
  behaviourRules: number;
  /** Rules skipped because their stored audience no longer parses; their tags are left as they are. */
  rulesInvalid: number;
  /** (customer, tag) rows added. */
  tagsAdded: number;
  /** Rows removed because the customer no longer matches or the tag left the rule. */
  tagsRemoved: number;
  /** Rows removed because their rule was deleted, disabled or is no longer a behaviour rule. */
  tagsOrphaned: number;
  /** Local tags created for rule tag names not yet in the library. */
  tagsCreated: number;
}

interface PreparedRule {
  rule: TagRule;
  expr: AudienceExpr;
  cond: CustomerCondition;
  tagIds: string[];
  /** Tag names not in the library yet (a dry run does not create them). */
  unresolved: number;
  added: number;
  removed: number;
}

const ORPHAN_BATCH = 5000;

/**
 * Behaviour tags: each enabled `behaviour` tag rule names an audience expression (`activity:dormant`,
 * `rfm:重要价值`); after scoring, matching customers get the rule's tags with source `behaviour` and the rule's id,
 * and customers who stopped matching lose that rule's rows, and only those. Rows of other sources (manual,
 * wecom, channel, keyword) are never touched, even for the same tag.
 *
 * Behaviour tags are local only: never pushed with mark_tag, and a name not yet in the library becomes a local
 * tag, not a WeCom corp tag. Unlike a keyword or channel tag (one customer, one event), a behaviour rule can flip
 * hundreds of thousands of customers in one night (an RFM baseline moves, a cohort turns dormant), and WeCom tags
 * are per (staff, customer) relation: that is one mark_tag per relation per change against a corp-wide budget of
 * 10,000 calls/min shared with channel, keyword and manual tagging
 * (docs/wecom-protocol.md §Tagging a customer, §API rate limits), with no callback to confirm. Corp tags also count
 * towards WeCom's 3000-tag limit (docs/wecom-protocol.md §Corp tag library). They stay usable everywhere the bot
 * selects customers (`tag:沉睡`, broadcasts, care rules); to show one in the WeCom client, tag by hand or by a keyword
 * rule. If the rule names a tag that already exists in WeCom, the local rows reuse it (one tag in the archive, not
 * two), still without mark_tag.
 */
export class BehaviourTaggingService {
  constructor(
    private readonly repo: BehaviourTagRepository,
    private readonly rules: TagRuleRepository,
    private readonly library: TagLibraryService,
    /** The live tags an audience's `tag:` values mean (TagRepository.liveTagsNamed), read once per rule and run. */
    private readonly tags: AudienceTagLookup,
    private readonly engine: DbEngine,
    private readonly settings: BehaviourTaggingSettings,
    private readonly log: Logger,
  ) {}

  /** Apply every enabled behaviour rule for `today`. A dry run counts and writes nothing (no tags created either). */
  async apply(input: { today: string; now: Date; isDryRun: boolean; report?: (line: string) => void }): Promise<BehaviourTagCounts> {
    const counts: BehaviourTagCounts = { behaviourRules: 0, rulesInvalid: 0, tagsAdded: 0, tagsRemoved: 0, tagsOrphaned: 0, tagsCreated: 0 };
    const rules = await this.rules.listEnabled('behaviour');
    const parsed: Omit<PreparedRule, 'cond'>[] = [];
    for (const rule of rules) {
      counts.behaviourRules += 1;
      const expr = this.parse(rule);
      if (!expr) {
        counts.rulesInvalid += 1;
        continue;
      }
      const { tags, unresolved } = await this.tagsOf(rule, input.isDryRun, counts);
      parsed.push({ rule, expr, tagIds: tags.map((t) => t.id), unresolved, added: 0, removed: 0 });
    }
    // Audiences are compiled once every rule's tags exist, with their tag names resolved to ids once per run
    // (docs/audiences.md §Tag names become ids): a rule may select by a tag another rule creates tonight.
    const prepared: PreparedRule[] = [];
    for (const p of parsed) prepared.push({ ...p, cond: await compileAudienceWithTags(p.expr, this.tags, { engine: this.engine, today: input.today, timezone: this.settings.tz, now: input.now.getTime() }) });

    // A rule that is gone leaves nobody to maintain its rows, and a stale "沉睡" on an active customer misleads.
    const live = rules.map((r) => r.id);
    if (input.isDryRun) counts.tagsOrphaned = await this.repo.countOrphans(live);
    else {
      for (;;) {
        await yieldToEventLoop();
        const ids = await this.repo.orphanRowIds(live, ORPHAN_BATCH);
        if (ids.length === 0) break;
        counts.tagsOrphaned += await this.repo.deleteRows(ids);
        if (ids.length < ORPHAN_BATCH) break;
      }
    }

    if (prepared.length > 0) {
      let after = '';
      for (;;) {
        await yieldToEventLoop();
        const upTo = await this.repo.rangeEnd(after, this.settings.pageSize);
        await this.applyRange(prepared, { after, upTo }, input);
        if (upTo === null) break;
        after = upTo;
      }
    }
    for (const p of prepared) {
      counts.tagsAdded += p.added;
      counts.tagsRemoved += p.removed;
      input.report?.(`行为标签 behaviour\t${p.rule.name}\t${p.rule.audience}\t+${p.added}\t-${p.removed}`);
    }
    if (counts.tagsOrphaned > 0) input.report?.(`行为标签 behaviour\t(rules gone)\t-${counts.tagsOrphaned}`);
    return counts;
  }

  /**
   * One key range: every rule's removals first, then every rule's additions, so when two rules give the same tag
   * (one row per customer and tag) and the customer moves from one rule to the other, the tag survives the night.
   */
  private async applyRange(prepared: PreparedRule[], range: KeyRange, input: { now: Date; isDryRun: boolean }): Promise<void> {
    for (const p of prepared) {
      const stale = await this.repo.staleRowIds(p.rule.id, p.tagIds, p.cond, range);
      p.removed += stale.length;
      if (!input.isDryRun && stale.length > 0) await this.repo.deleteRows(stale);
    }
    for (const p of prepared) {
      for (const tagId of p.tagIds) {
        p.added += input.isDryRun ? await this.repo.countMissing(tagId, p.cond, range) : await this.repo.addMissing(p.rule.id, tagId, p.cond, range, input.now);
      }
      if (p.unresolved > 0) p.added += p.unresolved * (await this.repo.countMissing(null, p.cond, range));
    }
  }

  /** The rule's audience, or null (logged) when it does not parse. */
  private parse(rule: TagRule): AudienceExpr | null {
    // A blank audience would mean "everyone": never what a stored behaviour rule meant, so it is not applied.
    if (!rule.audience?.trim()) {
      this.log.warn({ ruleId: rule.id }, 'behaviour rule without an audience skipped');
      return null;
    }
    try {
      return parseAudience(rule.audience);
    } catch (err) {
      this.log.warn({ ruleId: rule.id, err: (err as Error).message }, 'behaviour rule audience invalid; rule skipped');
      return null;
    }
  }

  /** The rule's tags: the library's tag of that name (WeCom's first), else a new local tag (not in a dry run). */
  private async tagsOf(rule: TagRule, isDryRun: boolean, counts: BehaviourTagCounts): Promise<{ tags: Tag[]; unresolved: number }> {
    const tags: Tag[] = [];
    let unresolved = 0;
    for (const ref of new Set(rule.tags)) {
      let tag = await this.library.resolve(ref);
      if (!tag && isDryRun) {
        unresolved += 1;
        continue;
      }
      if (!tag) {
        const { group, name } = parseTagRef(ref);
        tag = await this.library.createTag({ group: group ?? undefined, name, isLocal: true });
        counts.tagsCreated += 1;
      }
      if (!tags.some((t) => t.id === tag.id)) tags.push(tag);
    }
    return { tags, unresolved };
  }
}
