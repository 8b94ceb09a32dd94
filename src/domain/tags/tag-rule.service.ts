import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { TagRule, TagRuleRepository } from '../../persistence/repositories/tag-rule.repository.js';
import type { TagRepository } from '../../persistence/repositories/tag.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { ConflictError, ValidationError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { compileRulePattern, matchesKeyword } from './keyword-matcher.js';
import type { TagLibraryService } from './tag-library.service.js';
import type { CustomerTaggingService } from './customer-tagging.service.js';

/** A rule as created or edited through the API. */
export const tagRuleInput = z.object({
  name: z.string().trim().min(1).max(100),
  kind: z.enum(['keyword', 'channel', 'behaviour']).default('keyword'),
  pattern: z.string().min(1).max(500),
  matchType: z.enum(['substring', 'regex']).default('substring'),
  tags: z.array(z.string().trim().min(1).max(61)).min(1).max(20),
  enabled: z.boolean().default(true),
});
/** Parsed rule input. */
export type TagRuleInput = z.infer<typeof tagRuleInput>;

/** Manages tag rules and applies keyword rules to incoming customer messages. */
export class TagRuleService {
  constructor(
    private readonly rules: TagRuleRepository,
    private readonly tags: TagRepository,
    private readonly library: TagLibraryService,
    private readonly tagging: CustomerTaggingService,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Every rule. */
  list(): Promise<TagRule[]> {
    return this.rules.list();
  }

  /** One rule or NotFoundError. */
  get(id: string): Promise<TagRule> {
    return this.rules.get(id);
  }

  /** Create a rule; a regex must compile. */
  async create(input: TagRuleInput): Promise<TagRule> {
    this.validate(input);
    const now = this.clock.now();
    const rule: TagRule = { id: newId(now.getTime()), name: input.name, kind: input.kind, pattern: input.pattern, matchType: input.matchType, tags: input.tags, isEnabled: input.enabled, createdAt: now, updatedAt: now };
    if (!(await this.rules.insert(rule))) throw new ConflictError(`规则名已存在：${input.name}`, 'tag_rule_exists');
    return rule;
  }

  /** Change a rule. Customers keep its earlier tags until the rule matches them again (then they are replaced). */
  async update(id: string, changes: Partial<TagRuleInput>): Promise<TagRule> {
    const current = await this.rules.get(id);
    const next: TagRule = {
      ...current,
      name: changes.name ?? current.name,
      kind: changes.kind ?? current.kind,
      pattern: changes.pattern ?? current.pattern,
      matchType: changes.matchType ?? current.matchType,
      tags: changes.tags ?? current.tags,
      isEnabled: changes.enabled ?? current.isEnabled,
      updatedAt: this.clock.now(),
    };
    this.validate(next);
    await this.rules.update(next);
    return next;
  }

  /** Delete a rule. */
  async remove(id: string): Promise<void> {
    await this.rules.get(id);
    await this.rules.delete(id);
  }

  /** Seed the default rules from config/tag-rules.json into an empty table (first boot only). */
  async seedDefaults(file: string): Promise<number> {
    if ((await this.rules.count()) > 0) return 0;
    let parsed: { rules: TagRuleInput[] };
    try {
      parsed = z.object({ rules: z.array(tagRuleInput) }).parse(JSON.parse(await readFile(file, 'utf8')));
    } catch (err) {
      this.log.warn({ file, err: (err as Error).message }, 'default tag rules not seeded');
      return 0;
    }
    let n = 0;
    for (const r of parsed.rules) {
      try {
        await this.create(r);
        n++;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    return n;
  }

  /**
   * Run the enabled keyword rules over a customer's message. A matching rule's tags replace that rule's
   * earlier tags on the customer (and nothing else). Returns the names of the rules that matched.
   */
  async applyKeywordRules(externalUserId: string, text: string): Promise<string[]> {
    const matched: string[] = [];
    for (const rule of await this.rules.listEnabled('keyword')) {
      if (!matchesKeyword(rule, text)) continue;
      matched.push(rule.name);
      const want = await this.library.ensureTags(rule.tags);
      const wantIds = new Set(want.map((t) => t.id));
      const had = await this.tagIdsOfRule(externalUserId, rule.id);
      const stale = had.filter((id) => !wantIds.has(id));
      await this.tagging.removeTags({ externalUserId, tagIds: stale, source: 'keyword', ruleId: rule.id });
      const missing = want.filter((t) => !had.includes(t.id));
      await this.tagging.addTags({ externalUserId, tags: missing, source: 'keyword', ruleId: rule.id });
    }
    return matched;
  }

  private async tagIdsOfRule(ext: string, ruleId: string): Promise<string[]> {
    return (await this.tags.listForCustomer(ext)).filter((t) => t.ruleId === ruleId && t.source === 'keyword').map((t) => t.tagId);
  }

  private validate(input: { matchType: string; pattern: string }): void {
    if (input.matchType === 'regex' && compileRulePattern(input.pattern) === null) throw new ValidationError('正则表达式无效', undefined, 'invalid_pattern');
  }
}
