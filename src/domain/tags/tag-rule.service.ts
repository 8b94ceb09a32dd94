import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { TagRuleRepository } from '../../persistence/repositories/tag-rule.repository.js';
import type { TagRule } from './tag-rule.types.js';
import type { TagRepository } from '../../persistence/repositories/tag.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { AppError, ValidationError, invalidField } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { parseAudience } from '../audiences/audience.parser.js';
import { compileRulePattern, matchesKeyword } from './keyword-matcher.js';
import type { TagLibraryService } from './tag-library.service.js';
import type { CustomerTaggingService } from './customer-tagging.service.js';

// The fields without defaults: a PATCH must not reset what it does not mention (zod's partial() keeps defaults).
const ruleFields = {
  name: z.string().trim().min(1).max(100),
  kind: z.enum(['keyword', 'channel', 'behaviour']),
  /** Keyword rules: `价格|多少钱` or a regex. */
  pattern: z.string().max(500),
  matchType: z.enum(['substring', 'regex']),
  /** Behaviour rules: an audience expression (CONTRACT "Audience expressions"), e.g. `activity:dormant`. */
  audience: z.string().max(4000).nullable(),
  tags: z.array(z.string().trim().min(1).max(61)).min(1).max(20),
  enabled: z.boolean(),
};

/** A rule as created through the API (and in config/tag-rules.json). */
export const tagRuleInput = z.object({
  ...ruleFields,
  kind: ruleFields.kind.default('keyword'),
  pattern: ruleFields.pattern.default(''),
  matchType: ruleFields.matchType.default('substring'),
  audience: ruleFields.audience.default(null),
  enabled: ruleFields.enabled.default(true),
});
/** Parsed rule input. */
export type TagRuleInput = z.infer<typeof tagRuleInput>;

/** A PATCH: any subset of the fields, none defaulted. */
export const tagRulePatch = z.object(ruleFields).partial();
/** Parsed rule changes. */
export type TagRulePatch = z.infer<typeof tagRulePatch>;

/**
 * How long the enabled keyword rules are reused without reading them again: a livestream brings many customer messages
 * a second, each run through the same rules (docs/inbox.md §Cheap handlers). A change made on this instance takes
 * effect at once, one made on another instance within this long.
 */
const KEYWORD_RULES_REUSE_MS = 5_000;

/** Manages tag rules and applies keyword rules to incoming customer messages (behaviour rules run in the `scoring` job). */
export class TagRuleService {
  /** The enabled keyword rules as last read, and until when they are reused (KEYWORD_RULES_REUSE_MS). */
  private keywordRules: { rules: Promise<TagRule[]>; until: number } | null = null;

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

  /** Create a rule; a keyword rule's regex must compile, a behaviour rule's audience must parse. */
  async create(input: TagRuleInput): Promise<TagRule> {
    const now = this.clock.now();
    const rule = normalize({
      id: newId(now.getTime()),
      name: input.name,
      kind: input.kind,
      pattern: input.pattern,
      matchType: input.matchType,
      audience: input.audience,
      tags: input.tags,
      isEnabled: input.enabled,
      createdAt: now,
      updatedAt: now,
    });
    this.validate(rule);
    if (!(await this.rules.insert(rule))) throw nameTaken(rule.name);
    this.keywordRules = null;
    return rule;
  }

  /**
   * Change a rule. A keyword rule's customers keep its earlier tags until it matches them again (then they are
   * replaced); a behaviour rule is re-applied to everyone by the next `scoring` run.
   */
  async update(id: string, changes: TagRulePatch): Promise<TagRule> {
    const current = await this.rules.get(id);
    const next = normalize({
      ...current,
      name: changes.name ?? current.name,
      kind: changes.kind ?? current.kind,
      pattern: changes.pattern ?? current.pattern,
      matchType: changes.matchType ?? current.matchType,
      audience: changes.audience !== undefined ? changes.audience : current.audience,
      tags: changes.tags ?? current.tags,
      isEnabled: changes.enabled ?? current.isEnabled,
      updatedAt: this.clock.now(),
    });
    this.validate(next);
    // Names are unique (the table's unique key): a rename onto another rule's name is the caller's 409, not a 500.
    if (next.name !== current.name && (await this.rules.list()).some((r) => r.id !== id && r.name === next.name)) throw nameTaken(next.name);
    await this.rules.update(next);
    this.keywordRules = null;
    return next;
  }

  /** Delete a rule. */
  async remove(id: string): Promise<void> {
    await this.rules.get(id);
    await this.rules.delete(id);
    this.keywordRules = null;
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
        if (!(err instanceof AppError && err.code === 'tag_rule_exists')) throw err;
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
    for (const rule of await this.enabledKeywordRules()) {
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

  /**
   * The enabled keyword rules that would fire for a message, with the tags they would add: the same matcher and
   * the same rules as applyKeywordRules, writing nothing (the console's 测试消息 box).
   */
  async testKeywordRules(text: string): Promise<TagRule[]> {
    return (await this.rules.listEnabled('keyword')).filter((rule) => matchesKeyword(rule, text));
  }

  /** The enabled keyword rules, read at most every KEYWORD_RULES_REUSE_MS; a failed read is not kept. */
  private enabledKeywordRules(): Promise<TagRule[]> {
    const now = Date.now();
    if (!this.keywordRules || this.keywordRules.until <= now) {
      const rules = this.rules.listEnabled('keyword');
      const entry = { rules, until: now + KEYWORD_RULES_REUSE_MS };
      this.keywordRules = entry;
      rules.catch(() => {
        if (this.keywordRules === entry) this.keywordRules = null;
      });
    }
    return this.keywordRules.rules;
  }

  private async tagIdsOfRule(ext: string, ruleId: string): Promise<string[]> {
    return (await this.tags.listForCustomer(ext)).filter((t) => t.ruleId === ruleId && t.source === 'keyword').map((t) => t.tagId);
  }

  private validate(rule: TagRule): void {
    // Each refusal names its field (details.fields), so the console shows it next to that field; the codes stay.
    if (rule.kind === 'behaviour') {
      if (!rule.audience) throw invalidField('audience', '行为规则需要受众表达式 audience / a behaviour rule needs an audience', 'invalid_audience');
      try {
        parseAudience(rule.audience);
      } catch (err) {
        // The parser's AudienceSyntaxError is a 400 `invalid_audience` naming the position and what was expected;
        // those details stay, and the field is named too.
        if (err instanceof AppError && err.status === 400) throw new ValidationError(err.message, { ...(err.details as object), fields: { audience: err.message } }, err.code);
        throw err;
      }
      return;
    }
    if (!rule.pattern.trim()) throw invalidField('pattern', '关键词规则需要 pattern / a keyword rule needs a pattern', 'invalid_pattern');
    if (rule.matchType === 'regex' && compileRulePattern(rule.pattern) === null) throw invalidField('pattern', '正则表达式无效', 'invalid_pattern');
  }
}

/** 409 `tag_rule_exists`, naming the field so a form shows it next to the name. */
function nameTaken(name: string): AppError {
  const message = `规则名已存在：${name}`;
  return new AppError(409, 'tag_rule_exists', message, true, { fields: { name: message } });
}

/** Each kind keeps only its own condition, so a rule switched between kinds carries no stale one. */
function normalize(rule: TagRule): TagRule {
  if (rule.kind === 'behaviour') return { ...rule, pattern: '', matchType: 'substring', audience: rule.audience?.trim() || null };
  return { ...rule, audience: null };
}
